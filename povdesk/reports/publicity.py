"""Publicity lists (公示名单) to post in the village: who is up for a publicity step, and how to object.

A household is on the list of a step when that step is the NEXT step of its open procedure: the
list is printed and posted before the publicity is recorded (whose evidence is the period printed
here). The list is public, so it prints an allow-list of columns and nothing else (`public_columns`,
`public_row`): the villagers' group, the head's name, the head's ID number masked (idnumber.mask, of
the 18-digit number only: a disability certificate's category and grade digits never print), the
family size, the household's attribute (a monitoring object's type on a monitoring list), and the
step's own column: the reasons for a removal, the per-capita net income for an exit. Never health
or the cause of poverty (因病, 因残), disability, phone or bank details. Households are listed by
villagers' group (一组, 二组 … 十组 in that order), then by number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from povdesk.core.forms import FieldSpec, household_form, member_form
from povdesk.core.idnumber import mask, normalize
from povdesk.core.income import household_size, summarize
from povdesk.core.model import Household
from povdesk.core.monitoring import PROCEDURES as MONITORING_PROCEDURES
from povdesk.core.procedures import load_procedures, next_steps, open_procedure
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.reports.display import code_label, money, show, village_name
from povdesk.reports.pdf import (
    CONTENT_W,
    MARGIN_X,
    PAGE_H,
    PAGE_W,
    SUPERVISION_HOTLINE,
    Column,
    MissingGlyphs,
    PdfDocument,
    text_width,
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


TABLE_SIZE = 9.5
PAD = 3.0  # PdfDocument.table's cell padding


def masked_id(number: str | None) -> str:
    """The head's ID number as a public list prints it: only the 18 digits of the resident ID, masked
    (a disability certificate's number adds the category and grade digits, which never print)."""
    if not number:
        return ""
    return mask(normalize(str(number))[:18])


def _attribute_key(step: PublicityStep) -> str:
    return "monitoring_type" if step.procedure in MONITORING_PROCEDURES else "attribute"


def removal_reasons(hh: Household) -> str:
    """The reasons of the removal under way (its proposal's 清退原因), as labels."""
    current = open_procedure(hh)
    if current is None or current[0].key != "removal":
        return ""
    for event in reversed(current[1]):
        codes = event.evidence.get("reason_codes")
        if event.step == "proposal" and codes:
            items = codes if isinstance(codes, list) else [codes]
            return "；".join(code_label("exclusion", c) for c in items)
    return ""


def exit_income(hh: Household) -> str:
    """Per-capita net income of the latest income year (the one the exit verification judges)."""
    for year in sorted(hh.years, reverse=True):
        summary = summarize(hh, year)
        if summary is not None:
            return "" if summary.per_capita is None else f"{money(summary.per_capita)}（{year}年）"
    return ""


def step_column(step: PublicityStep) -> tuple[str, Callable[[Household], str]] | None:
    """The step-specific column of a list (title, value), if its procedure has one."""
    if step.procedure == "removal":
        return "清退原因", removal_reasons
    if step.procedure == "exit":
        return "人均纯收入（元）", exit_income
    return None


def public_columns(step: PublicityStep) -> list[str]:
    """The titles of the columns a list of `step` prints: the whole allow-list."""
    hf = household_form().by_key
    mf = member_form().by_key
    titles = ["序号", hf["group"].zh.split("（")[0], "户主姓名", f"户主{mf['id_number'].zh}", "家庭人口",
              hf[_attribute_key(step)].zh]
    extra = step_column(step)
    return titles + ([extra[0]] if extra else [])


def public_row(n: int, hh: Household, step: PublicityStep) -> list[str]:
    """One household's cells, in the order of public_columns: nothing outside the allow-list."""
    hf = household_form().by_key
    head = hh.head
    key = _attribute_key(step)
    cells = [str(n), public(hf["group"], hh.fields.get("group")), hh.head_name,
             masked_id(head.id_number if head else None), str(household_size(hh)),
             public(hf[key], hh.fields.get(key))]
    extra = step_column(step)
    return cells + ([extra[1](hh)] if extra else [])


_NUMERALS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
_GROUP_NO = re.compile(r"^第?([0-9]+|[零〇一二两三四五六七八九十百]+)")


def _chinese_number(text: str) -> int:
    total, digit = 0, 0
    for ch in text:
        if ch == "百":
            total += (digit or 1) * 100
            digit = 0
        elif ch == "十":
            total += (digit or 1) * 10
            digit = 0
        else:
            digit = _NUMERALS[ch]
    return total + digit


def group_order(group: object) -> tuple[int, int, str]:
    """Sort key of a villagers' group: 一组 … 九组, 十组, 十一组 (or 1组 … 12组) by their number,
    named groups (e.g. a natural village's name) after them by name, a household without one last."""
    text = str(group or "").strip()
    if not text:
        return (2, 0, "")
    found = _GROUP_NO.match(text)
    if found is None:
        return (1, 0, text)
    raw = found.group(1)
    return (0, int(raw) if raw.isdigit() else _chinese_number(raw), text)


def _widths(titles: list[str], rows: list[list[str]]) -> list[float]:
    """Column widths in points: each allow-listed column as wide as its longest cell (names and ID
    numbers never wrap), the step's own column (long reasons wrap) taking what is left."""
    def need(i: int, cap: float) -> float:
        longest = max([text_width(r[i], TABLE_SIZE) for r in rows] + [text_width(titles[i], TABLE_SIZE)])
        return min(longest, cap) + 2 * PAD + 1

    caps = (40.0, 110.0, 8 * TABLE_SIZE, 200.0, 40.0, 120.0)
    widths = [need(i, cap) for i, cap in enumerate(caps)]
    spare = CONTENT_W - sum(widths)
    if len(titles) > len(caps):
        return widths + [max(spare, 80.0)]
    for i in (1, 2, 5):
        widths[i] += spare / 3
    return widths


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
        f"根据建档立卡工作程序，现将本村{step.zh}名单予以公示（共 {len(households)} 户 {people} 人）。", 10.5)
    doc.paragraph(f"公示期：{opts.start:%Y年%m月%d日}至{opts.end:%Y年%m月%d日}（共 {days} 天）。", 10.5)
    doc.y -= 6
    titles = public_columns(step)
    ordered = sorted(households, key=lambda h: (group_order(h.fields.get("group")), h.household_no))
    rows = [public_row(i + 1, h, step) for i, h in enumerate(ordered)]
    aligns = ["center", "left", "left", "center", "center", "left", "left"]
    if step.procedure == "exit":
        aligns[6] = "right"
    cols = [Column(t, w, a) for t, w, a in zip(titles, _widths(titles, rows), aligns, strict=False)]
    doc.on_new_page = lambda d: setattr(d, "y", d.y - 10)
    doc.table(cols, rows, size=TABLE_SIZE)
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
