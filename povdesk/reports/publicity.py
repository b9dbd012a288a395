"""Publicity lists (公示名单) to post in the village: who is up for a publicity step, and how to object.

A household is on the list of a step when that step is the NEXT step of its open procedure: the
list is printed and posted before the publicity is recorded (whose evidence is the period printed
here). The list is public, so it prints only fields that are not `private` in the form specs and
the head's ID number masked (idnumber.mask); never health, disability or bank details.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from povdesk.core.forms import FieldSpec, household_form, member_form
from povdesk.core.idnumber import mask
from povdesk.core.income import household_size
from povdesk.core.model import Household
from povdesk.core.procedures import load_procedures, next_steps
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.reports.display import show, village_name
from povdesk.reports.pdf import (
    CONTENT_W,
    MARGIN_X,
    PAGE_H,
    PAGE_W,
    SUPERVISION_HOTLINE,
    Column,
    MissingGlyphs,
    PdfDocument,
)


@dataclass(frozen=True, slots=True)
class PublicityStep:
    key: str  # "<procedure>.<step>", e.g. identification.first_publicity
    procedure: str
    step: str
    zh: str  # e.g. 贫困户识别·第一次公示
    en: str


def publicity_steps() -> dict[str, PublicityStep]:
    """Every step of kind `publicity` in resources/procedures.toml, keyed `procedure.step`."""
    out: dict[str, PublicityStep] = {}
    for spec in load_procedures().values():
        for st in spec.steps:
            if st.kind == "publicity":
                key = f"{spec.key}.{st.key}"
                out[key] = PublicityStep(key, spec.key, st.key, f"{spec.zh}·{st.zh}", f"{spec.en}: {st.en}")
    return out


def resolve_step(name: str) -> PublicityStep:
    steps = publicity_steps()
    if name not in steps:
        raise BadInput(tr("未知的公示步骤“{name}”，可选：{choices}", "unknown publicity step '{name}'; one of: {choices}",
                          name=name, choices=", ".join(steps)))
    return steps[name]


def at_step(hh: Household, step: PublicityStep) -> bool:
    """Whether `step` is the household's next step (its open procedure has reached it)."""
    return any(spec.key == step.procedure and st.key == step.step for spec, st in next_steps(hh))


def public(spec: FieldSpec, value: Any) -> str:
    """A field value for a public list; private fields can never come out of here."""
    if spec.private:
        raise ValueError(f"{spec.key} is private and is never printed on a public list")
    return show(spec, value)


@dataclass
class PublicityOptions:
    start: date
    end: date
    contact: str = ""  # township contact (person and phone) for objections
    township: str = ""  # name of the township government, printed in the text


@dataclass
class PublicityResult:
    pages: int = 0
    households: int = 0
    people: int = 0
    villages: int = 0
    missing: list[MissingGlyphs] = field(default_factory=list)


def _row(n: int, hh: Household) -> list[str]:
    hf = household_form().by_key
    head = hh.head
    id_shown = mask(head.id_number) if head and head.id_number else ""
    return [str(n), public(hf["group"], hh.fields.get("group")), hh.head_name, id_shown,
            str(household_size(hh)), public(hf["attribute"], hh.fields.get("attribute")),
            public(hf["main_cause"], hh.fields.get("main_cause"))]


def _village_list(doc: PdfDocument, step: PublicityStep, village: str, households: list[Household],
                  opts: PublicityOptions) -> int:
    name = village_name(village)
    doc.context = name
    doc.bookmark(f"{name} {step.zh}")
    doc.y = PAGE_H - 60
    doc.text(PAGE_W / 2, doc.y, f"{step.zh}名单", 18, "center")
    doc.y -= 22
    doc.text(PAGE_W / 2, doc.y, name, 11, "center")
    doc.y -= 10
    people = sum(household_size(h) for h in households)
    days = (opts.end - opts.start).days + 1
    doc.paragraph(
        f"根据建档立卡工作程序，现将本村{step.zh}名单予以公示（共 {len(households)} 户 {people} 人）。"
        f"公示期 {days} 天：{opts.start:%Y年%m月%d日} 至 {opts.end:%Y年%m月%d日}。", 10.5)
    doc.y -= 6
    hf = household_form().by_key
    mf = member_form().by_key
    cols = [Column("序号", 0.5, "center"), Column(hf["group"].zh, 1.5), Column("户主姓名", 1.1),
            Column(f"户主{mf['id_number'].zh}", 2.1, "center"), Column("家庭人口", 0.8, "center"),
            Column(hf["attribute"].zh, 1.4), Column(hf["main_cause"].zh, 1.3)]
    doc.on_new_page = lambda d: setattr(d, "y", d.y - 10)
    doc.table(cols, [_row(i + 1, h) for i, h in enumerate(households)], size=9.5)
    doc.y -= 8
    where = opts.township + "人民政府" if opts.township else "乡镇人民政府"
    contact = f"（联系人及电话：{opts.contact}）" if opts.contact else ""
    doc.paragraph(
        f"公示期间，对名单如有异议，可以书面或口头形式向村民委员会、驻村工作队或{where}{contact}反映，"
        f"也可拨打扶贫监督举报电话 {SUPERVISION_HOTLINE}。反映情况请实事求是，提供具体事实和线索。", 10)
    doc.ensure(70)
    doc.y -= 36
    third = CONTENT_W / 3
    for i, who in enumerate(("村民委员会（盖章）", "驻村工作队（签字）", f"{opts.township or '乡镇'}人民政府（盖章）")):
        doc.text(MARGIN_X + i * third, doc.y, who, 10)
        doc.text(MARGIN_X + i * third, doc.y - 22, "________________", 10)
    doc.y -= 40
    doc.text(PAGE_W - MARGIN_X, doc.y, f"{opts.start:%Y年%m月%d日}", 10, "right")
    return people


def render_publicity(households: Iterable[Household], step: PublicityStep, out: str | Path | BinaryIO,
                     opts: PublicityOptions, *, progress: Callable[[int, int], None] | None = None,
                     cancelled: Callable[[], bool] | None = None) -> PublicityResult:
    """One list per village (each from a new page) of the households at `step`.

    `households` may be a whole workspace: only those whose next step is `step` are listed.
    """
    by_village: dict[str, list[Household]] = {}
    for seen, hh in enumerate(households, 1):
        if cancelled is not None and cancelled():
            break
        if at_step(hh, step):
            by_village.setdefault(hh.village_code, []).append(hh)
        if progress is not None and seen % 500 == 0:
            progress(seen, 0)
    result = PublicityResult()
    doc = PdfDocument(out, title=f"{step.zh}名单", subject="povdesk publicity list", footer_left="povdesk 公示名单")
    result.missing = doc.missing
    for n, village in enumerate(sorted(by_village)):
        if n:
            doc.new_page()
        group = by_village[village]
        result.people += _village_list(doc, step, village, group, opts)
        result.households += len(group)
        result.villages += 1
    result.pages = doc.close()
    return result
