"""The column mapping of a village's own sheet, for the import wizard to show and change on screen.

`detect_columns` reads only the head of the workbook (the first rows of the sheet the import would
read) and says how each column is read: its heading and the register field it goes to, found by the
same header synonyms (and mapping file) the import uses. The wizard lets the user pick another
target per column, and `write_mapping` turns the choice into a mapping file (TOML, the format
`povdesk import-xlsx --mapping` takes), which the check and the import then read: one pipeline, the
same as on the command line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from povdesk.i18n import Text, tr

IGNORE = "ignore"  # the target of a column the import leaves out


@dataclass(frozen=True)
class SheetColumn:
    index: int  # 0-based
    letter: str  # A, B, … as Excel shows it
    header: str  # the heading as written in the sheet
    target: str  # the register field it is read as ("household.x", "member.x", household_no…), or IGNORE


@dataclass(frozen=True)
class SheetColumns:
    sheet: str
    header_row: int  # 1-based row of the heading (the lower row of a two-row heading)
    columns: tuple[SheetColumn, ...]
    recognised: bool  # False: no row had three known headings; the first filled row is shown instead


def target_choices() -> list[tuple[str, Text]]:
    """Every target a column of the households-and-members sheet can be read as, with its label, in
    the register's order; IGNORE first."""
    from povdesk.reports.excel import register_columns

    out: list[tuple[str, Text]] = [(IGNORE, tr("（不导入）", "(not imported)"))]
    seen = {IGNORE}
    for col in register_columns():
        if col.readonly or col.target in seen:
            continue
        seen.add(col.target)
        out.append((col.target, Text(col.zh, col.en)))
    out.append(("head_name", tr("户主姓名", "Head of household")))
    return out


def detect_columns(file: str | Path, mapping_file: str | Path | None = None) -> SheetColumns:
    """How the import would read the sheet's columns (BadInput naming the file when it cannot be
    read). Without three recognised headings in any sheet, the first filled row of the first
    visible sheet is offered, every column not imported, for the user to map by hand."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    from povdesk.errors import BadInput
    from povdesk.reports import xlsx_import as xi
    from povdesk.reports.xlsx_safety import CellBudget, check_file, sheet_rows

    check_file(file)
    mapping = xi.load_mapping(mapping_file) if mapping_file else None
    known = xi._main_targets()
    if mapping is not None:
        known.update(mapping.columns)
    try:
        wb = load_workbook(Path(file), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise BadInput(tr("无法读取 Excel 文件：{e}", "cannot read the Excel file: {e}", e=str(exc) or type(exc).__name__),
                       where=str(file)) from None
    try:
        names: list[str] = [str(n) for n in wb.sheetnames]
        if mapping is not None and mapping.sheet and mapping.sheet in names:
            candidates = [str(mapping.sheet)]
        elif xi.REGISTER_SHEET in names:
            candidates = [xi.REGISTER_SHEET]
        else:
            candidates = names
        fallback: SheetColumns | None = None
        for name in candidates:
            sheet = wb[name]
            if getattr(sheet, "sheet_state", "visible") != "visible":
                continue
            head = xi._head(sheet_rows(sheet, CellBudget()))
            at, height, cols, texts = xi._find_header(head, known)
            if at >= 0:
                row = head[at + height - 1][0]
                columns = tuple(SheetColumn(j, get_column_letter(j + 1), text, cols.get(j, IGNORE))
                                for j, text in enumerate(texts) if text.strip() or j in cols)
                return SheetColumns(name, row, columns, True)
            if fallback is None:
                filled = next(((r, cells) for r, cells in head if any(c not in (None, "") for c in cells)), None)
                if filled is not None:
                    r, cells = filled
                    fallback = SheetColumns(name, r, tuple(
                        SheetColumn(j, get_column_letter(j + 1), str(c).strip(), IGNORE)
                        for j, c in enumerate(cells) if c not in (None, "") and str(c).strip()), False)
    finally:
        wb.close()
    if fallback is None:
        raise BadInput(tr("文件中没有可读的工作表", "the file has no sheet with anything in it"), where=str(file))
    return fallback


def write_mapping(path: str | Path, found: SheetColumns, targets: dict[int, str], *,
                  village: str | None = None) -> Path:
    """A mapping file for the sheet: every shown column's heading = the target chosen for it
    (`targets` by column index; a column not named keeps its detected target), the sheet, and the
    village of rows without a village code when given."""
    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # a TOML basic string

    lines = ["# written by the import wizard: the sheet's columns as chosen on screen", "[options]",
             f"sheet = {q(found.sheet)}"]
    if village:
        lines.append(f"village = {q(village)}")
    lines.append("[columns]")
    seen: set[str] = set()
    for col in found.columns:
        if not col.header.strip() or col.header in seen:
            continue
        seen.add(col.header)
        lines.append(f"{q(col.header)} = {q(targets.get(col.index, col.target))}")
    out = Path(path)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
