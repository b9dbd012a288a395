"""Summary report (建档立卡统计表) of a village, township or county as xlsx or PDF.

Households and people by status, attribute and main cause (store.summary.summarize), the
households identified, exited and removed in the year (store.summary.changes_in_year), and,
above village level, one row per village (and per township for a county). The numbers come
from SQL in the store; this module only lays them out. Printed in Chinese, like the cards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from povdesk.core.codes import code_list
from povdesk.core.forms import household_form
from povdesk.core.model import STATUSES
from povdesk.core.regions import level_of, lookup
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.reports.display import status_label, village_name
from povdesk.reports.pdf import PAGE_W, Column, MissingGlyphs, PdfDocument
from povdesk.store.summary import (
    YEAR_STEPS,
    MonitoringSummary,
    Summary,
    VillageCounts,
    monitoring_summary,
    summarize,
    village_counts,
)

LEVELS: dict[str, int] = {"village": 12, "township": 9, "county": 6}
LEVEL_ZH = {"village": "村", "township": "乡镇", "county": "县", "city": "市（州）", "province": "省"}
UNFILLED = "未填写"
YEAR_LABELS = {"identified": "识别", "exited": "脱贫", "removed": "清退"}
SUMMARY_SHEET, TOWNSHIP_SHEET, VILLAGE_SHEET = "汇总", "各乡镇", "各村"


def report_region(level: str | None, region: str | None, workspace_region: str) -> tuple[str, str]:
    """(level, region code) of a report: `region` (default the workspace's) cut to `level` (default
    the region's own level). A township report of a village code is the report of its township."""
    code = (region or workspace_region).strip()
    own = level_of(code)
    level = level or own
    if level not in LEVELS:
        raise BadInput(tr("统计层级应为 village、township 或 county：“{l}”",
                          "the level is village, township or county: '{l}'", l=level))
    need = LEVELS[level]
    if len(code) < need:
        raise BadInput(tr("{lz}级统计表需要 {n} 位的区划代码（--region），“{code}”是{oz}级代码",
                          "a {level} report needs a {n}-digit region code (--region); '{code}' is a {own} code",
                          lz=LEVEL_ZH[level], level=level, n=need, code=code, oz=LEVEL_ZH[own], own=own))
    return level, code[:need]


@dataclass
class SummaryReport:
    level: str
    region: str
    region_name: str
    year: int
    today: date
    summary: Summary
    in_year: dict[str, int]
    villages: list[VillageCounts] = field(default_factory=list)  # above village level only
    townships: list[VillageCounts] = field(default_factory=list)  # county level only
    # Further sheets after the region tables (the province's per-city, per-county and quality tables)
    extra: list[Table] = field(default_factory=list)
    # 防止返贫动态监测 (from a workspace; None where the source holds no monitoring section)
    monitoring: MonitoringSummary | None = None

    @property
    def title(self) -> str:
        return f"{self.region_name}建档立卡统计表"


def _merge(code: str, rows: Sequence[VillageCounts]) -> VillageCounts:
    by_status: dict[str, int] = {}
    people: dict[str, int] = {}
    in_year = {k: 0 for k in YEAR_STEPS}
    for r in rows:
        for k, v in r.by_status.items():
            by_status[k] = by_status.get(k, 0) + v
        for k, v in r.people_by_status.items():
            people[k] = people.get(k, 0) + v
        for k, v in r.in_year.items():
            in_year[k] = in_year.get(k, 0) + v
    return VillageCounts(code, sum(r.households for r in rows), sum(r.people for r in rows), by_status, people,
                         in_year)


def build_report(ws: Any, level: str | None = None, region: str | None = None, *, today: date,
                 year: int | None = None) -> SummaryReport:
    """The numbers of a summary report, read from the workspace (a few GROUP BY queries)."""
    level, code = report_region(level, region, ws.region_code)
    year = year or today.year
    rows = village_counts(ws, code, year)
    total = _merge(code, rows)
    report = SummaryReport(level=level, region=code, region_name=village_name(code), year=year, today=today,
                           summary=summarize(ws, code), in_year=total.in_year,
                           monitoring=monitoring_summary(ws, code, today, year))
    if level != "village":
        report.villages = rows
    if level == "county":
        towns: dict[str, list[VillageCounts]] = {}
        for r in rows:
            towns.setdefault(r.village_code[:9], []).append(r)
        report.townships = [_merge(t, group) for t, group in sorted(towns.items())]
    return report


# ---------------------------------------------------------------- tables (shared by xlsx and PDF)


def _short_name(code: str) -> str:
    region = lookup(code)
    return region.name if region else code


def _breakdown(households: dict[str, int], people: dict[str, int], list_key: str) -> list[tuple[str, int, int]]:
    """(label, households, people) in code-list order, then codes not in the list, then 未填写."""
    lst = code_list(list_key)
    out = [(c.zh, households.get(c.code, 0), people.get(c.code, 0)) for c in lst.codes]
    known = {c.code for c in lst.codes}
    for k in sorted(households):
        if k and k not in known:
            out.append((k, households[k], people.get(k, 0)))
    if households.get(""):
        out.append((UNFILLED, households[""], people.get("", 0)))
    return out


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]  # the last row is the total when `total` is set
    total: bool = True
    key_columns: int = 1  # leading text columns (frozen in xlsx)


def overview_tables(report: SummaryReport) -> list[Table]:
    s = report.summary
    hf = household_form().by_key
    y = report.year
    tables = [Table("总体情况", ["项目", "数量"], [
        ["户数", s.households], ["人数", s.people],
        *[[f"{y}年{label}（户）", report.in_year.get(k, 0)] for k, label in YEAR_LABELS.items()],
    ], total=False)]
    status_rows: list[list[Any]] = [[status_label(st), s.by_status.get(st, 0), s.people_by_status.get(st, 0)]
                                    for st in STATUSES]
    for st in sorted(set(s.by_status) - set(STATUSES)):
        status_rows.append([st, s.by_status[st], s.people_by_status.get(st, 0)])
    tables.append(Table("按状态", ["状态", "户数", "人数"], status_rows + [["合计", s.households, s.people]]))
    for key, title, hh, pp in (("attribute", "按贫困户属性", s.by_attribute, s.people_by_attribute),
                               ("main_cause", "按主要致贫原因", s.by_main_cause, s.people_by_main_cause)):
        spec = hf[key]
        rows: list[list[Any]] = [list(r) for r in _breakdown(hh, pp, spec.codes or "")]
        tables.append(Table(title, [spec.zh, "户数", "人数"], rows + [["合计", s.households, s.people]]))
    if report.monitoring is not None:
        tables += monitoring_tables(report.monitoring)
    return tables


def monitoring_tables(m: MonitoringSummary) -> list[Table]:
    """防止返贫动态监测: where the households stand, the objects by type (households and people),
    by risk (a household once per risk it has) and the eliminated by mode."""
    from povdesk.core.monitoring import MONITORING_STATES, STATE_LABELS

    y = m.year
    overview: list[list[Any]] = [
        ["监测对象（户）", m.objects], ["监测对象（人）", m.people],
        *[[f"{STATE_LABELS[st][0]}（户）", m.by_state.get(st, 0)] for st in MONITORING_STATES if st != "none"],
        [f"{y}年纳入监测（户）", m.in_year.get("identified", 0)],
        [f"{y}年风险消除（户）", m.in_year.get("eliminated", 0)],
        ["识别超过时限（户）", len(m.overdue)],
    ]
    tables = [Table("防止返贫监测", ["项目", "数量"], overview, total=False)]
    types = [[c.zh, m.by_type.get(c.code, 0), m.people_by_type.get(c.code, 0)]
             for c in code_list("monitoring_type").codes]
    tables.append(Table("按监测对象类型", ["监测对象类型", "户数", "人数"], types + [["合计", m.objects, m.people]]))
    risks = [[c.zh, m.by_risk.get(c.code, 0)] for c in code_list("monitoring_risk").codes]
    tables.append(Table("按风险类型（一户可有多项）", ["风险类型", "户数"], risks, total=False))
    modes = [[c.zh, m.by_mode.get(c.code, 0)] for c in code_list("elimination_mode").codes]
    tables.append(Table("风险已消除按消除方式", ["消除方式", "户数"],
                        modes + [["合计", sum(m.by_mode.values())]]))
    return tables


def count_header(kind: str, year: int) -> list[str]:
    return ([f"{kind}代码", kind, "户数", "人数"] + [status_label(st) for st in STATUSES]
            + [f"{year}年{label}" for label in YEAR_LABELS.values()])


def count_row(r: VillageCounts, name: str) -> list[Any]:
    code = "" if name == "合计" else r.village_code
    return ([code, name, r.households, r.people] + [r.by_status.get(st, 0) for st in STATUSES]
            + [r.in_year.get(k, 0) for k in YEAR_STEPS])


def region_tables(report: SummaryReport) -> list[Table]:
    """Per township (county level) and per village (above village level) rows with a total row."""
    out: list[Table] = []
    total = _merge(report.region, report.villages)
    for title, kind, rows in ((TOWNSHIP_SHEET, "乡镇", report.townships), (VILLAGE_SHEET, "村", report.villages)):
        if not rows:
            continue
        body = [count_row(r, _short_name(r.village_code)) for r in rows]
        header, body = count_header(kind, report.year), body + [count_row(total, "合计")]
        m = report.monitoring
        if m is not None:  # the monitoring objects of each row: a village, or a township's villages
            header = header + ["监测对象"]
            body = [row + [sum(n for v, n in m.by_village.items() if v.startswith(r.village_code))]
                    for row, r in zip(body[:-1], rows, strict=True)] + [body[-1] + [m.objects]]
        out.append(Table(title, header, body, key_columns=2))
    return out + report.extra


# ---------------------------------------------------------------- xlsx


def write_report_xlsx(report: SummaryReport, out: str | Path | BinaryIO) -> None:
    """汇总 sheet (the overview tables one under another), then 各乡镇 and 各村 with a frozen header."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F0")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SUMMARY_SHEET
    ws.append([report.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"统计范围：{report.region_name}（{LEVEL_ZH[report.level]}级，{report.region}）　"
               f"统计年度：{report.year}　制表日期：{report.today.isoformat()}"])
    ws.freeze_panes = "A3"
    for t in overview_tables(report):
        ws.append([])
        ws.append([t.title])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=12)
        ws.append(t.header)
        for c in ws[ws.max_row]:
            c.font, c.fill, c.alignment = bold, fill, centre
        for i, row in enumerate(t.rows):
            ws.append(row)
            if t.total and i == len(t.rows) - 1:
                for c in ws[ws.max_row]:
                    c.font = bold
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 10
    ws.column_dimensions["C"].width = 10
    for t in region_tables(report):
        sheet = wb.create_sheet(t.title)
        sheet.append(t.header)
        for c in sheet[1]:
            c.font, c.fill, c.alignment = bold, fill, centre
        for row in t.rows:
            sheet.append(row)
        for c in sheet[sheet.max_row]:
            c.font = bold
        sheet.freeze_panes = f"{get_column_letter(t.key_columns + 1)}2"
        sheet.row_dimensions[1].height = 32
        for i, head in enumerate(t.header, 1):
            width = 15 if i == 1 else 14 if i == 2 else max(7.0, len(head) * 2.0 + 1)
            sheet.column_dimensions[get_column_letter(i)].width = width
    wb.save(out)


# ---------------------------------------------------------------- PDF


@dataclass
class ReportResult:
    pages: int = 0
    missing: list[MissingGlyphs] = field(default_factory=list)


def render_report_pdf(report: SummaryReport, out: str | Path | BinaryIO, *,
                      progress: Callable[[int, int], None] | None = None,
                      cancelled: Callable[[], bool] | None = None) -> ReportResult:
    """The report through the one PDF renderer (bundled font embedded, pages numbered)."""
    doc = PdfDocument(out, title=report.title, subject="povdesk summary report", footer_left="povdesk 统计表")
    doc.context = report.region_name
    doc.bookmark(report.title)
    doc.y -= 20
    doc.text(PAGE_W / 2, doc.y, report.title, 16, "center")
    doc.y -= 8
    doc.paragraph(f"统计范围：{report.region_name}（{LEVEL_ZH[report.level]}级，{report.region}）　"
                  f"统计年度：{report.year}　制表日期：{report.today.isoformat()}", 9.5)
    tables = overview_tables(report)
    regions = region_tables(report)
    steps = len(tables) + len(regions)
    for n, t in enumerate(tables, 1):
        if cancelled is not None and cancelled():
            break
        doc.heading(t.title)
        widths = [3.0] + [1.0] * (len(t.header) - 1)
        cols = [Column(h, w, "left" if i == 0 else "right") for i, (h, w) in enumerate(zip(t.header, widths, strict=True))]
        doc.table(cols, [[str(v) for v in row] for row in t.rows], size=9, width=300)
        if progress is not None:
            progress(n, steps)
    for n, t in enumerate(regions, len(tables) + 1):
        if cancelled is not None and cancelled():
            break
        doc.new_page()
        doc.bookmark(f"{report.title}·{t.title}")
        doc.heading(t.title, 12, before=0)
        cols = [Column(t.header[0], 2.2), Column(t.header[1], 2.0)]
        cols += [Column(h, 1.0, "right") for h in t.header[2:]]
        doc.table(cols, [[str(v) for v in row] for row in t.rows], size=7.5)
        if progress is not None:
            progress(n, steps)
    return ReportResult(pages=doc.close(), missing=doc.missing)


def write_report(report: SummaryReport, out: str | Path, fmt: str | None = None, *,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> ReportResult:
    """xlsx or pdf, by `fmt` or the file's suffix."""
    kind = (fmt or Path(out).suffix.lstrip(".")).lower()
    if kind == "xlsx":
        write_report_xlsx(report, out)
        return ReportResult()
    if kind == "pdf":
        return render_report_pdf(report, out, progress=progress, cancelled=cancelled)
    raise BadInput(tr("统计表的文件名应以 .xlsx 或 .pdf 结尾：“{f}”",
                      "the report file must end in .xlsx or .pdf: '{f}'", f=str(out)))
