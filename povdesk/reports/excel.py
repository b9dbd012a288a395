"""The register (花名册) as xlsx and its blank template, with columns from the form specs.

One row per member; the household's columns are repeated on each of its members' rows (so a
sheet can be sorted and filtered without losing whose row it is, and so it imports back). Codes
are written as labels, yes/no as 是/否, dates as text YYYY-MM-DD (Excel cannot reformat them).
No cell can run as a formula: openpyxl turns a string starting with "=" into a formula, so such
strings are written with the string type forced; a string cell is never evaluated by Excel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from povdesk.core.codes import code_list
from povdesk.core.forms import FieldSpec, household_form, member_form
from povdesk.core.model import Household
from povdesk.reports.display import show, status_label

REGISTER_SHEET = "花名册"
CODES_SHEET = "代码表"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class RegisterColumn:
    """One column of the register: `target` is household_no, village_code, status, household_id,
    member_id, household.<key> or member.<key>."""

    target: str
    zh: str
    en: str
    spec: FieldSpec | None = None
    width: float = 12.0

    @property
    def scope(self) -> str:
        return self.target.split(".", 1)[0] if "." in self.target else "household"

    @property
    def key(self) -> str:
        return self.target.split(".", 1)[-1]


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


@cache
def register_columns() -> tuple[RegisterColumn, ...]:
    """The register's columns: household keys, every plain household field, then every member
    field (both from the form specs), then the record ids that let a sheet import back."""
    cols = [RegisterColumn("household_no", "户编号", "Household number", width=24),
            RegisterColumn("village_code", "村代码", "Village code", width=14),
            RegisterColumn("status", "状态", "Status", width=9)]
    cols += [RegisterColumn(f"household.{s.key}", s.zh, s.en, s, _width(s)) for s in household_form().plain_fields()]
    cols += [RegisterColumn(f"member.{s.key}", s.zh, s.en, s, _width(s)) for s in member_form().plain_fields()]
    cols += [RegisterColumn("household_id", "户ID（系统）", "Household id (system)", width=12),
             RegisterColumn("member_id", "成员ID（系统）", "Member id (system)", width=12)]
    return tuple(cols)


def _text_cell(ws: Any, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"  # never "f": the text is shown as typed and never evaluated
    return cell


def _row_values(ws: Any, hh: Household, member_fields: dict[str, Any] | None, member_id: str,
                columns: tuple[RegisterColumn, ...]) -> list[Any]:
    row: list[Any] = []
    for col in columns:
        t = col.target
        if t == "household_no":
            v: Any = hh.household_no
        elif t == "village_code":
            v = hh.village_code
        elif t == "status":
            v = status_label(hh.status)
        elif t == "household_id":
            v = hh.id
        elif t == "member_id":
            v = member_id
        else:
            assert col.spec is not None
            source = hh.fields if col.scope == "household" else (member_fields or {})
            raw = source.get(col.key)
            v = show(col.spec, raw) if col.spec.kind in ("code", "multi_code", "yes_no") else raw
            if isinstance(v, list):
                v = "、".join(str(x) for x in v)
        if isinstance(v, str):
            if v.startswith(FORMULA_START):
                row.append(_text_cell(ws, v))
                continue
            if not v:
                v = None
        row.append(v)
    return row


def _header(ws: Any, columns: tuple[RegisterColumn, ...]) -> list[WriteOnlyCell]:
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F0")
    wrap = Alignment(wrap_text=True, vertical="center", horizontal="center")
    cells = []
    for col in columns:
        c = WriteOnlyCell(ws, value=col.zh)
        c.font, c.fill, c.alignment = bold, fill, wrap
        cells.append(c)
    return cells


def write_register(households: Iterable[Household], out: str | Path | BinaryIO, *,
                   total: int | None = None, progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> tuple[int, int]:
    """Write the register; returns (households, rows). write_only mode: memory stays flat."""
    columns = register_columns()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(REGISTER_SHEET)
    ws.freeze_panes = "B2"
    for i, col in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.append(_header(ws, columns))
    n_hh = n_rows = 0
    for hh in households:
        if cancelled is not None and cancelled():
            break
        members = hh.members or []
        if not members:
            ws.append(_row_values(ws, hh, None, "", columns))
            n_rows += 1
        for m in members:
            ws.append(_row_values(ws, hh, m.fields, m.id, columns))
            n_rows += 1
        n_hh += 1
        if progress is not None and n_hh % 200 == 0:
            progress(n_hh, total or n_hh)
    wb.save(out)
    return n_hh, n_rows


def write_template(out: str | Path | BinaryIO) -> int:
    """A blank register with drop-down lists for every coded and yes/no column; returns the
    number of columns with a list. Lists live on a hidden sheet (Excel caps inline lists at 255
    characters)."""
    columns = register_columns()
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = REGISTER_SHEET
    codes_ws = wb.create_sheet(CODES_SHEET)
    codes_ws.sheet_state = "hidden"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F0")
    ranges: dict[str, str] = {}
    lists = 0
    for i, col in enumerate(columns, 1):
        letter = get_column_letter(i)
        cell = ws.cell(row=1, column=i, value=col.zh)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        ws.column_dimensions[letter].width = col.width
        spec = col.spec
        formula: str | None = None
        if spec is not None and spec.kind == "code" and spec.codes:
            if spec.codes not in ranges:
                lst = code_list(spec.codes)
                ci = len(ranges) + 1
                cl = get_column_letter(ci)
                codes_ws.cell(row=1, column=ci, value=lst.zh)
                for r, code in enumerate(lst.codes, 2):
                    codes_ws.cell(row=r, column=ci, value=code.zh)
                ranges[spec.codes] = f"'{CODES_SHEET}'!${cl}$2:${cl}${len(lst.codes) + 1}"
            formula = ranges[spec.codes]
        elif spec is not None and spec.kind == "yes_no":
            formula = '"是,否"'
        elif col.target == "status":
            continue
        if formula is None:
            if spec is not None and spec.kind in ("id_number", "phone"):
                # Text format, so Excel keeps all 18 digits of an ID number as typed.
                for r in range(2, 1002):
                    ws.cell(row=r, column=i).number_format = "@"
            continue
        dv = DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False)
        dv.error = "请从下拉列表中选择"
        dv.errorTitle = col.zh
        dv.add(f"{letter}2:{letter}5000")
        ws.add_data_validation(dv)
        lists += 1
    ws.freeze_panes = "B2"
    wb.save(out)
    return lists
