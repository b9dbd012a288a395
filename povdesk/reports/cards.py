"""Household cards (扶贫手册 / 明白卡): one or many households in one A4 PDF, a bookmark each.

What a card shows comes from the form specs: every plain section of the household form except
the internal review notes, labels and code labels from the specs, so a field added to a form is
printed without touching this module. The card is the household's own document: full ID numbers
and health are shown; the bank account is shown by its last four digits only (cards hang on
walls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

from povdesk.core.forms import household_form, member_form, with_context
from povdesk.core.income import household_size, summarize
from povdesk.core.model import OWN_NUMBER_FIELD, ROLE_LABELS, Household, Member
from povdesk.core.monitoring import STATE_LABELS, monitoring_state
from povdesk.core.procedures import history, initial_status
from povdesk.reports.display import age, code_label, mask_tail, money, show, status_label, village_name
from povdesk.reports.pdf import (
    CONTENT_W,
    MARGIN_X,
    PAGE_H,
    PAGE_W,
    SUPERVISION_HOTLINE,
    Column,
    MissingGlyphs,
    PdfDocument,
    Sign,
)

QR_SCHEME = "povdesk:household"
# Plain sections of the household form that are internal working notes, not for the household.
CARD_SKIP_SECTIONS = frozenset({"review"})
INCOME_YEARS = 2  # the latest income years printed
QR_SIDE = 78.0


def qr_payload(hh: Household, sign: Sign | None = None) -> str:
    """What the card's QR code says: `povdesk:household:<uuid>:<household number>`.

    Hook for device keys: with `sign`, `:sig=<signature of the payload so far>` is appended so
    a card can be checked offline against the issuing workspace's public key.
    """
    payload = f"{QR_SCHEME}:{hh.id}:{hh.household_no}"
    if sign is not None:
        payload += ":sig=" + sign(payload.encode("utf-8"))
    return payload


@dataclass
class CardsResult:
    pages: int = 0
    households: int = 0
    missing: list[MissingGlyphs] = field(default_factory=list)


def _member_health(m: Member) -> str:
    f = m.fields
    text = code_label("health", f.get("health"))
    if f.get("disability_type") or f.get("disability_grade"):
        detail = code_label("disability_type", f.get("disability_type")) + code_label(
            "disability_grade", f.get("disability_grade"))
        text += f"（{detail}）" if detail else ""
    return text


def _schooling(m: Member) -> str:
    f = m.fields
    if f.get("student_status"):
        return code_label("student_status", f.get("student_status"))
    return code_label("education", f.get("education"))


def number_line(hh: Household) -> str:
    """The official number, and beside it the village's own number when it has one."""
    own = str(hh.fields.get(OWN_NUMBER_FIELD) or "").strip()
    return f"{hh.household_no}（村内户号 {own}）" if own else hh.household_no


def _draw_header(doc: PdfDocument, hh: Household, sign: Sign | None) -> None:
    top = PAGE_H - 40
    state = monitoring_state(hh)
    ordinary = initial_status(hh.fields) == "not_identified"
    doc.text(MARGIN_X, top - 16, "防止致贫监测对象明白卡" if ordinary else "建档立卡贫困户明白卡", 17)
    doc.text(MARGIN_X, top - 36, f"户编号：{number_line(hh)}", 10)
    doc.text(MARGIN_X, top - 52, f"所在村：{village_name(hh.village_code)}", 10)
    head = hh.head_name or "（未登记户主）"
    line = f"户主：{head}    家庭人口：{household_size(hh)} 人    状态：{status_label(hh.status)}"
    if state != "none":  # 防止返贫动态监测: where the household stands
        line += f"    监测：{STATE_LABELS[state][0]}"
    doc.text(MARGIN_X, top - 68, line, 10)
    doc.qr(PAGE_W - MARGIN_X - QR_SIDE, top - QR_SIDE + 4, QR_SIDE, qr_payload(hh, sign))
    doc.y = top - 80
    doc.rule(1.0)
    doc.y -= 2


def _continued(hh: Household) -> Callable[[PdfDocument], None]:
    def header(doc: PdfDocument) -> None:
        doc.text(MARGIN_X, doc.y - 10, f"户编号：{number_line(hh)}    户主：{hh.head_name}（续）", 9)
        doc.y -= 18
    return header


def draw_card(doc: PdfDocument, hh: Household, today: date, sign: Sign | None = None) -> None:
    """One household's card, starting on a fresh page of `doc`."""
    doc.context = hh.household_no or hh.id
    doc.on_new_page = None
    doc.bookmark(f"{hh.household_no} {hh.head_name}".strip())
    _draw_header(doc, hh, sign)
    doc.on_new_page = _continued(hh)

    hform = household_form()
    shown = with_context(hh.fields, hh.status)
    for section in hform.sections:
        if section.per_year or section.repeating or section.key in CARD_SKIP_SECTIONS:
            continue
        pairs: list[tuple[str, str]] = []
        for spec in section.fields:
            if not spec.visible(shown):
                continue
            value = hh.fields.get(spec.key)
            text = show(spec, value)
            if spec.private and text:
                text = mask_tail(text)
            pairs.append((spec.zh, text))
        if pairs:
            doc.heading(section.zh)
            doc.grid(pairs, per_row=2, size=8.5)

    mform = member_form()
    mf = mform.by_key
    doc.heading("家庭成员")
    cols = [Column(mf["name"].zh, 1.3), Column("关系", 0.9, "center"), Column(mf["sex"].zh, 0.5, "center"),
            Column("年龄", 0.5, "center"), Column("文化程度/在校", 1.5), Column(mf["labour"].zh, 1.3),
            Column(mf["health"].zh, 1.4), Column(mf["id_number"].zh, 2.1)]
    rows = []
    for m in hh.members:
        name = m.name
        change = m.fields.get("change")
        if change:
            name += f"（{code_label('member_change', change)}）"
        rows.append([name, code_label("relation", m.relation), code_label("sex", m.fields.get("sex")),
                     age(m, today), _schooling(m), code_label("labour", m.fields.get("labour")),
                     _member_health(m), m.id_number])
    doc.table(cols, rows, size=8.5)

    if hform.by_key["main_cause"].visible(shown):  # not for an ordinary household (监测对象 of 防止致贫)
        causes = show(hform.by_key["main_cause"], hh.fields.get("main_cause"))
        others = show(hform.by_key["other_causes"], hh.fields.get("other_causes"))
        doc.heading("致贫原因")
        doc.grid([(hform.by_key["main_cause"].zh, causes), (hform.by_key["other_causes"].zh, others)], 2, 8.5)

    years = sorted((y for y in hh.years if summarize(hh, y) is not None), reverse=True)[:INCOME_YEARS]
    if years:
        inc = hform.section("income")
        labels = {f.key: f.zh for f in inc.fields}
        doc.heading("家庭收入（元）")
        cols = [Column("年度", 0.6, "center"), Column(labels["wage_income"], 1.0, "right"),
                Column(labels["business_income"], 1.2, "right"), Column("财产性收入", 1.0, "right"),
                Column("转移性收入", 1.0, "right"), Column(labels["business_costs"], 1.2, "right"),
                Column("纯收入", 1.0, "right"), Column("人口", 0.5, "center"), Column("人均纯收入", 1.1, "right")]
        rows = []
        for y in sorted(years):
            s = summarize(hh, y)
            assert s is not None
            rows.append([str(y), money(s.wages), money(s.business), money(s.property), money(s.transfers),
                         money(s.costs), money(s.net), str(s.size), money(s.per_capita)])
        doc.table(cols, rows, size=8.5)

    if hh.helpers:
        hs = {f.key: f for f in hform.section("helpers").fields}
        doc.heading(hform.section("helpers").zh)
        keys = ("name", "unit_name", "position", "phone", "start_date", "end_date")
        widths = (1.0, 2.4, 1.4, 1.3, 1.1, 1.1)
        cols = [Column(hs[k].zh, w) for k, w in zip(keys, widths, strict=True)]
        doc.table(cols, [[show(hs[k], h.get(k)) for k in keys] for h in hh.helpers], size=8.5)

    measures = [(y, m) for y in sorted(hh.years) for m in hh.years[y].measures]
    if measures:
        ms = {f.key: f for f in hform.section("measures").fields}
        doc.heading(hform.section("measures").zh)
        measures.sort(key=lambda ym: (str(ym[1].get("date") or ""), ym[0]))
        mkeys = ("date", "measure_type", "content", "unit", "amount")
        mwidths = (1.0, 1.2, 3.0, 2.0, 0.9)
        cols = [Column(ms[k].zh, w, "right" if k == "amount" else "left") for k, w in zip(mkeys, mwidths, strict=True)]
        doc.table(cols, [[show(ms[k], m.get(k)) for k in mkeys] for _, m in measures], size=8.5)

    entries = history(hh)
    if entries:
        doc.heading("办理记录")
        cols = [Column("日期", 1.0), Column("程序·步骤", 3.2), Column("办理人", 1.8), Column("办理后状态", 1.2)]
        rows = []
        for e in entries:
            ev = e.event
            label = e.label.zh
            start, end = ev.evidence.get("start_date"), ev.evidence.get("end_date")
            if start and end:
                label += f"（{start} 至 {end}）"
            role = ROLE_LABELS.get(ev.role, (ev.role, ev.role))[0]
            if e.voided is not None:  # kept in the history, marked; it moved no status
                label += f"〔已作废：{e.voided.evidence.get('reason', '')}〕"
                rows.append([ev.date, label, f"{ev.user}（{role}）", "—"])
                continue
            rows.append([ev.date, label, f"{ev.user}（{role}）", status_label(e.status_after)])
        doc.table(cols, rows, size=8.5)

    doc.ensure(46)
    doc.y -= 22
    doc.text(MARGIN_X, doc.y, f"扶贫监督举报电话：{SUPERVISION_HOTLINE}", 10)
    doc.text(MARGIN_X + CONTENT_W * 0.45, doc.y, "户主签字：____________    日期：____________", 10)
    doc.y -= 14
    doc.text(MARGIN_X, doc.y, f"打印日期：{today.isoformat()}", 8)


def render_cards(households: Iterable[Household], out: str | Path | BinaryIO, *, today: date,
                 total: int | None = None, sign: Sign | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> CardsResult:
    """Draw the cards of `households` into one PDF (a bookmark per household).

    Returns pages, households and every text with characters the font cannot draw (printed as 〓).
    When `cancelled()` turns true, stops and returns what was drawn so far (the caller discards it).
    """
    doc = PdfDocument(out, title="建档立卡贫困户明白卡", subject="povdesk household cards",
                      footer_left="povdesk 建档立卡")
    result = CardsResult(missing=doc.missing)
    expected = total or 0
    for n, hh in enumerate(households):
        if cancelled is not None and cancelled():
            break
        if n:
            doc.new_page()
        draw_card(doc, hh, today, sign)
        result.households += 1
        if progress is not None:
            progress(n + 1, max(expected, n + 1))
    result.pages = doc.close()
    return result
