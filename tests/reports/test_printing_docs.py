"""What docs/printing.md and the README tell a user about Excel is what the code does: the register's
sheets, the clear marker and the limits of the import are taken from the code, not from memory."""

from __future__ import annotations

from pathlib import Path

from povdesk.reports import excel
from povdesk.reports import xlsx_safety as lim

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


def flat(name: str) -> str:
    """A file of the repository with its line breaks and runs of spaces as one space."""
    return " ".join((ROOT / name).read_text(encoding="utf-8").split())


def docs() -> tuple[str, str]:
    return flat("docs/printing.md"), flat("README.md")


def test_the_docs_name_the_register_sheets_and_the_clear_marker() -> None:
    printing, readme = docs()
    for sheet in (excel.REGISTER_SHEET, excel.INCOME_SHEET, excel.HELPERS_SHEET, excel.MEASURES_SHEET,
                  excel.HISTORY_SHEET, excel.README_SHEET, excel.CODES_SHEET):
        assert f"| {sheet} |" in printing, sheet
    assert excel.CLEAR_MARKER in printing and excel.CLEAR_MARKER in readme
    assert f"on {excel.TEMPLATE_ROWS:,} rows" in printing and f"on {excel.TEMPLATE_ROWS:,} rows" in readme


def test_the_docs_name_the_limits_the_import_enforces() -> None:
    printing, readme = docs()
    assert f"| file size | {lim.MAX_BYTES // MiB} MB " in printing
    assert f"| parts in the zip | {lim.MAX_ENTRIES:,} |" in printing
    assert f"| {lim.MAX_ENTRY_BYTES // MiB} MB / {lim.MAX_TOTAL_BYTES // MiB} MB (shared strings " \
           f"{lim.MAX_SHARED_STRINGS_BYTES // MiB} MB, styles {lim.MAX_STYLES_BYTES // MiB} MB) |" in printing
    assert f"| compression ratio of a part over {lim.RATIO_FLOOR // MiB} MB | {lim.MAX_RATIO} " in printing
    assert f"| {lim.MAX_ROWS:,} / {lim.MAX_COLS} / {lim.MAX_CELLS:,} " in printing
    assert (f"a file up to {lim.MAX_BYTES // MiB} MB, {lim.MAX_ROWS:,} rows and {lim.MAX_COLS} columns a sheet, "
            f"{lim.MAX_CELLS / 1e6:g} million cells") in readme


def test_the_workbooks_own_readme_sheet_names_the_same_limits(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "template.xlsx"
    excel.write_template(path)
    wb = load_workbook(path, read_only=True)
    lines = [str(r[0]) for r in wb[excel.README_SHEET].iter_rows(values_only=True) if r and r[0]]
    wb.close()
    assert (f"Limits: files up to {lim.MAX_BYTES // MiB} MB, sheets up to {lim.MAX_ROWS:,} rows and "
            f"{lim.MAX_COLS} columns, {lim.MAX_CELLS / 1e6:g} million cells in all") in "\n".join(lines)
    assert any(excel.CLEAR_MARKER in line for line in lines)
