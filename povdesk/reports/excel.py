"""The register (花名册) workbook and its blank template, with columns from the form specs.

One sheet per table: households and members (one row per member, the household's columns
repeated on each of its members' rows so a sheet can be sorted and filtered without losing whose
row it is), income by year, helpers, support measures, the procedure history (read-only), and a
README sheet (说明) saying how to edit and bring it back. Every row carries the system ids that
put it back onto its record. Codes are written as labels, yes/no as 是/否, dates as text
YYYY-MM-DD (Excel cannot reformat them); every text-like column (ID numbers, bank accounts,
phones, household numbers, ids) is written as text in a column formatted as text, so Excel never
turns a typed number into a rounded float. Coded columns carry drop-down lists (kept on a hidden
sheet: Excel caps inline lists at 255 characters). No cell can run as a formula: every string is
written as an inline string, which Excel never evaluates (reports.xlsx_writer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl.utils import get_column_letter

from povdesk.core.codes import code_list
from povdesk.core.forms import FieldSpec, household_form, member_form
from povdesk.core.model import Household, Member
from povdesk.reports.display import status_label
from povdesk.reports.xlsx_writer import HEADER, HEADER_GREY, TITLE, Sheet, Workbook

REGISTER_SHEET = "花名册"
INCOME_SHEET = "收入"
HELPERS_SHEET = "帮扶责任人"
MEASURES_SHEET = "帮扶措施"
HISTORY_SHEET = "程序记录"
README_SHEET = "说明"
CODES_SHEET = "代码表"
# The explicit way to empty a cell on import: a blank cell means "leave the value as it is".
CLEAR_MARKER = "（清空）"
TEMPLATE_ROWS = 2000  # rows of the template formatted and given drop-downs


@dataclass(frozen=True, slots=True)
class RegisterColumn:
    """One column of a register sheet: `target` is household_no, village_code, status,
    household_id, member_id, head_name, head_id_number, year, position, one of the history's
    event.<key>, or household.<key>, member.<key>, income.<key>, helper.<key>, measure.<key>."""

    target: str
    zh: str
    en: str
    spec: FieldSpec | None = None
    width: float = 12.0
    readonly: bool = False  # shown for reading; import never takes it from the sheet

    @property
    def scope(self) -> str:
        return self.target.split(".", 1)[0] if "." in self.target else "household"

    @property
    def key(self) -> str:
        return self.target.split(".", 1)[-1]

    @property
    def text(self) -> bool:
        """Written and formatted as text (Excel must never read it as a number)."""
        if self.spec is None:
            return self.target not in ("year", "position", "status")
        return is_text_like(self.spec)


def is_text_like(spec: FieldSpec) -> bool:
    """ID numbers, phones and digit strings such as bank accounts: text, never numbers."""
    return spec.kind in ("id_number", "phone") or (spec.kind == "text" and (spec.pattern or "").startswith("^[0-9]"))


def _width(spec: FieldSpec) -> float:
    if spec.kind == "id_number":
        return 21
    if spec.kind in ("date", "phone"):
        return 13
    if spec.kind == "yes_no":
        return max(6.0, min(len(spec.zh) * 1.6, 14))
    if spec.kind == "text":
        return min(max(10.0, (spec.max_length or 20) * 0.6), 30)
    if spec.kind == "multi_code":
        return 20
    return max(8.0, min(len(spec.zh) * 1.8, 18))


def _section_cols(scope: str, section: str) -> list[RegisterColumn]:
    return [RegisterColumn(f"{scope}.{s.key}", s.zh, s.en, s, _width(s))
            for s in household_form().section(section).fields]


_HID = RegisterColumn("household_id", "户ID（系统）", "Household id (system)", width=12)
_LINK = (RegisterColumn("household_no", "户编号", "Household number", width=24),
         RegisterColumn("head_name", "户主姓名", "Head of household", width=10),
         RegisterColumn("head_id_number", "户主证件号码", "Head's ID number", width=21))


@cache
def register_columns() -> tuple[RegisterColumn, ...]:
    """The households-and-members sheet: household keys, every plain household field, then every
    member field (both from the form specs), then the record ids that let a sheet import back."""
    cols = [RegisterColumn("household_no", "户编号", "Household number", width=24),
            RegisterColumn("village_code", "村代码", "Village code", width=14),
            RegisterColumn("status", "状态", "Status", width=9, readonly=True)]
    cols += [RegisterColumn(f"household.{s.key}", s.zh, s.en, s, _width(s)) for s in household_form().plain_fields()]
    cols += [RegisterColumn(f"member.{s.key}", s.zh, s.en, s, _width(s)) for s in member_form().plain_fields()]
    cols += [_HID, RegisterColumn("member_id", "成员ID（系统）", "Member id (system)", width=12),
             # The household's version when the register was written: a row of a file older than
             # the workspace's record cannot change it (re-importing an edited file changes nothing).
             RegisterColumn("household_version", "户版本（系统）", "Household version (system)", width=8,
                            readonly=True)]
    return tuple(cols)


@cache
def income_columns() -> tuple[RegisterColumn, ...]:
    return (*_LINK, RegisterColumn("year", "年度", "Year", width=7), *_section_cols("income", "income"), _HID)


@cache
def helper_columns() -> tuple[RegisterColumn, ...]:
    return (*_LINK, RegisterColumn("position", "序号", "No.", width=6), *_section_cols("helper", "helpers"), _HID)


@cache
def measure_columns() -> tuple[RegisterColumn, ...]:
    return (*_LINK, RegisterColumn("year", "年度", "Year", width=7), RegisterColumn("position", "序号", "No.", width=6),
            *_section_cols("measure", "measures"), _HID)


@cache
def history_columns() -> tuple[RegisterColumn, ...]:
    ro = True
    return (RegisterColumn("household_no", "户编号", "Household number", width=24, readonly=ro),
            RegisterColumn("head_name", "户主姓名", "Head of household", width=10, readonly=ro),
            RegisterColumn("event.title", "程序步骤", "Procedure step", width=30, readonly=ro),
            RegisterColumn("event.date", "日期", "Date", width=12, readonly=ro),
            RegisterColumn("event.role", "角色", "Role", width=12, readonly=ro),
            RegisterColumn("event.user", "记录人", "Recorded by", width=12, readonly=ro),
            RegisterColumn("event.evidence", "记录内容", "Evidence", width=50, readonly=ro),
            RegisterColumn("event.status", "步骤后状态", "Status after", width=10, readonly=ro),
            RegisterColumn("household_id", "户ID（系统）", "Household id (system)", width=12, readonly=ro),
            RegisterColumn("event.id", "记录ID（系统）", "Step id (system)", width=12, readonly=ro))


# The sheets import reads, each with its columns (the history is for reading only).
DATA_SHEETS: tuple[tuple[str, Callable[[], tuple[RegisterColumn, ...]]], ...] = (
    (REGISTER_SHEET, register_columns), (INCOME_SHEET, income_columns), (HELPERS_SHEET, helper_columns),
    (MEASURES_SHEET, measure_columns))


def display(spec: FieldSpec, value: Any) -> Any:
    """A stored value as the register writes it: labels for codes, 是/否, text for text-like
    columns, numbers as numbers, None for nothing. Import compares a cell against this to know
    whether the cell was edited."""
    if value is None or value == "" or value == []:
        return None
    kind = spec.kind
    if kind == "code":
        return code_list(spec.codes or "").label(str(value), "zh")
    if kind == "multi_code":
        items = value if isinstance(value, list) else [value]
        lst = code_list(spec.codes or "")
        return "、".join(lst.label(str(v), "zh") for v in items)
    if kind == "yes_no":
        return ("是" if value else "否") if isinstance(value, bool) else str(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return str(value) if is_text_like(spec) or kind in ("text", "date", "id_number", "phone") else value
    if isinstance(value, str):
        return value
    return str(value)  # a list or object where a value belongs: shown, never lost silently


def _sheet(wb: Workbook, title: str, columns: tuple[RegisterColumn, ...], lists: _Lists) -> Sheet:
    """A sheet with its header, widths, text formats and drop-downs (over TEMPLATE_ROWS rows or
    the rows written, whichever is more, so new rows typed below get them too)."""
    sheet = wb.add(Sheet(title, [c.width for c in columns], [c.text for c in columns],
                         freeze="B2" if title == REGISTER_SHEET else "D2"))
    sheet.validations = [(get_column_letter(i), f, c.zh) for i, c in enumerate(columns, 1)
                         if not c.readonly and (f := lists.formula(c)) is not None]
    sheet.append([c.zh for c in columns],
                 [HEADER_GREY if c.readonly or c.target.endswith("_id") else HEADER for c in columns])
    return sheet


def _finish(sheet: Sheet) -> None:
    last = max(sheet.rows, TEMPLATE_ROWS)
    sheet.validations = [(f"{letter}2:{letter}{last}", f, title) for letter, f, title in sheet.validations]


class _Lists:
    """Drop-down lists: code lists on the hidden codes sheet, 是/否 inline."""

    def __init__(self) -> None:
        self.ranges: dict[str, str] = {}
        self.columns: list[list[str]] = []
        self.count = 0

    def formula(self, col: RegisterColumn) -> str | None:
        spec = col.spec
        if spec is None:
            return None
        if spec.kind == "yes_no":
            self.count += 1
            return '"是,否"'
        if spec.kind != "code" or not spec.codes:
            return None
        if spec.codes not in self.ranges:
            lst = code_list(spec.codes)
            letter = get_column_letter(len(self.columns) + 1)
            self.columns.append([lst.zh, *(c.zh for c in lst.codes)])
            self.ranges[spec.codes] = f"'{CODES_SHEET}'!${letter}$2:${letter}${len(lst.codes) + 1}"
        self.count += 1
        return self.ranges[spec.codes]

    def write(self, wb: Workbook) -> None:
        sheet = wb.add(Sheet(CODES_SHEET, [16.0] * len(self.columns), [], hidden=True))
        height = max((len(c) for c in self.columns), default=0)
        for r in range(height):
            sheet.append([col[r] if r < len(col) else None for col in self.columns])


README_LINES = (
    ("povdesk 花名册", "povdesk register"),
    ("", ""),
    ("本工作簿每张表对应一类记录：", "Each sheet holds one kind of record:"),
    (f"  {REGISTER_SHEET}：每个家庭成员一行，户的信息在该户每一行重复；",
     f"  {REGISTER_SHEET}: one row per member; the household's columns repeat on each of its rows"),
    (f"  {INCOME_SHEET}：每户每个收入年度一行；", f"  {INCOME_SHEET}: one row per household and income year"),
    (f"  {HELPERS_SHEET}：每户每位帮扶责任人一行；", f"  {HELPERS_SHEET}: one row per household and helper"),
    (f"  {MEASURES_SHEET}：每户每年每项帮扶措施一行；", f"  {MEASURES_SHEET}: one row per household, year and measure"),
    (f"  {HISTORY_SHEET}：程序记录，只读（状态和程序记录只通过程序步骤和同步包改变，导入时不读此表）。",
     f"  {HISTORY_SHEET}: the procedure history, read-only (status and history change only through "
     "procedure steps and sync bundles; import does not read this sheet)"),
    ("", ""),
    ("修改后导入（povdesk import-xlsx）：", "Editing and importing back (povdesk import-xlsx):"),
    ("  · 只有改动过的单元格会改变记录，其余一律不变；", "  · only the cells you changed change the record; nothing else does"),
    (f"  · 空白单元格表示“不改”；要清空一个值，请在单元格中填写 {CLEAR_MARKER}；",
     f"  · a blank cell means 'unchanged'; to empty a value, type {CLEAR_MARKER} in the cell"),
    ("  · 请勿修改或删除灰色的“户ID（系统）”“成员ID（系统）”列，它们把每一行对应回原记录；",
     "  · do not change or delete the grey system id columns: they put each row back onto its record"),
    ("  · 新增户：在表末尾另起一行，户编号和系统 ID 留空，户主一行“与户主关系”填“户主”，其成员紧接其下（户编号由系统分配）；",
     "  · a new household: new rows at the end, household number and system ids blank, the head's row "
     "first (relation 户主) and the members' rows below it (the household number is assigned)"),
    ("  · 新增收入、帮扶责任人、帮扶措施：新起一行，填户编号或户主证件号码，序号留空；",
     "  · new income, helper or measure rows: give the household number or the head's ID number, leave 序号 blank"),
    ("  · 身份证号、银行账号、电话、户编号列已设为文本格式，请直接输入，不要改成数字格式（Excel 只保留 15 位数字）；",
     "  · ID number, bank account, phone and household number columns are text: type them as they are, never as "
     "numbers (Excel keeps only 15 digits)"),
    ("  · 有问题的户不导入，其余户照常导入；先用 --dry-run 查看哪些户会导入、哪些不会。",
     "  · a household with a problem is not imported, the others are; --dry-run shows which will be"),
    ("", ""),
    ("限制：文件不超过 20 MB，每张表不超过 60,000 行、200 列，全文件不超过 250 万个单元格；公式不导入。",
     "Limits: files up to 20 MB, sheets up to 60,000 rows and 200 columns, 2.5 million cells in all; "
     "formulas are not imported."),
)


def _readme(wb: Workbook) -> None:
    sheet = wb.add(Sheet(README_SHEET, [110.0], []))
    for i, (zh, _en) in enumerate(README_LINES):
        sheet.append([zh or None], [TITLE] if i == 0 else None)
    sheet.append([])
    for _, en in README_LINES:
        sheet.append([en or None])


def _link(hh: Household) -> list[Any]:
    head = hh.head
    return [hh.household_no, head.name if head else None, (head.id_number or None) if head else None]


def _values(cols: tuple[RegisterColumn, ...], source: dict[str, Any]) -> list[Any]:
    return [display(c.spec, source.get(c.key)) for c in cols if c.spec is not None]


def _evidence(evidence: dict[str, Any]) -> str | None:
    if not evidence:
        return None
    return "；".join(f"{k}：{'、'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in evidence.items())


def write_register(households: Iterable[Household], out: str | Path | BinaryIO, *,
                   total: int | None = None, progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> tuple[int, int]:
    """Write the register workbook; returns (households, member rows). Memory stays flat: each
    sheet's rows wait in a temporary file (reports.xlsx_writer)."""
    from povdesk.core.procedures import history

    wb = Workbook()
    lists = _Lists()
    main = _sheet(wb, REGISTER_SHEET, register_columns(), lists)
    inc = _sheet(wb, INCOME_SHEET, income_columns(), lists)
    hel = _sheet(wb, HELPERS_SHEET, helper_columns(), lists)
    mea = _sheet(wb, MEASURES_SHEET, measure_columns(), lists)
    his = _sheet(wb, HISTORY_SHEET, history_columns(), lists)
    his.protect = True  # read-only: Excel asks before anyone edits it
    hh_cols = [c for c in register_columns() if c.scope == "household" and c.spec is not None]
    m_cols = [c for c in register_columns() if c.scope == "member"]
    inc_cols, hel_cols, mea_cols = (tuple(c for c in f() if c.spec is not None)
                                    for f in (income_columns, helper_columns, measure_columns))
    n_hh = n_rows = 0
    for hh in households:
        if cancelled is not None and cancelled():
            break
        head = [hh.household_no, hh.village_code, status_label(hh.status)]
        hh_part = [display(c.spec, hh.fields.get(c.key)) for c in hh_cols if c.spec is not None]
        members: list[Member | None] = list(hh.members) or [None]
        for m in members:
            mf = m.fields if m is not None else {}
            main.append([*head, *hh_part, *(display(c.spec, mf.get(c.key)) for c in m_cols if c.spec is not None),
                         hh.id, m.id if m is not None else None, hh.version])
            n_rows += 1
        link = _link(hh)
        for y in sorted(hh.years):
            rec = hh.years[y]
            if rec.income:
                inc.append([*link, y, *_values(inc_cols, rec.income), hh.id])
            for i, measure in enumerate(rec.measures, 1):
                mea.append([*link, y, i, *_values(mea_cols, measure), hh.id])
        for i, helper in enumerate(hh.helpers, 1):
            hel.append([*link, i, *_values(hel_cols, helper), hh.id])
        for entry in history(hh):
            e = entry.event
            his.append([hh.household_no, link[1], entry.label.zh, e.date, e.role, e.user, _evidence(e.evidence),
                        status_label(entry.status_after), hh.id, e.id])
        n_hh += 1
        if progress is not None and n_hh % 200 == 0:
            progress(n_hh, total or n_hh)
    for sheet in (main, inc, hel, mea, his):
        _finish(sheet)
    _readme(wb)
    lists.write(wb)
    wb.save(out)
    return n_hh, n_rows


def write_template(out: str | Path | BinaryIO) -> int:
    """A blank register (every sheet but the history, with the README), text formats and
    drop-down lists; returns the number of columns with a list."""
    wb = Workbook()
    lists = _Lists()
    for title, cols in DATA_SHEETS:
        _finish(_sheet(wb, title, cols(), lists))
    _readme(wb)
    lists.write(wb)
    wb.save(out)
    return lists.count
