"""Hostile and broken workbooks: refused before or while they are read, with one clear line naming
the file, never a traceback, the workspace untouched."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from povdesk.errors import BadInput
from povdesk.reports.xlsx_import import is_formula
from povdesk.reports.xlsx_safety import CellBudget, check_file, sheet_rows

from .conftest import VILLAGE, WORKER, Run
from .test_excel import load_all, valid_id

SHEET = "xl/worksheets/sheet1.xml"


def base(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(["姓名", "与户主关系", "证件号码", "家庭住址"])
    ws.append(["龙老大", "户主", valid_id("52263419650312123"), "东门村"])
    wb.save(path)
    return path


def patched(src: Path, out: Path, entry: str, change: object) -> Path:
    """A copy of `src` with one zip entry replaced (a function of its bytes) or added."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        names = zin.namelist()
        for name in names:
            data = zin.read(name)
            if name == entry:
                data = change(data) if callable(change) else change  # type: ignore[assignment]
            zout.writestr(name, data)
        if entry not in names:
            zout.writestr(entry, change if isinstance(change, bytes) else b"")
    return out


def rows_added(xml: str) -> object:
    return lambda data: data.replace(b"</sheetData>", xml.encode() + b"</sheetData>")


def refused(run: Run, db: Path, path: Path, words: str) -> str:
    before = load_all(db)
    code, out, err = run("import-xlsx", db, path, "--dry-run")
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert words in err, err
    assert path.name in err
    assert load_all(db) == before
    return err


def test_a_zip_bomb_is_refused_before_it_is_opened(db: Path, run: Run, tmp_path: Path) -> None:
    src = base(tmp_path / "a.xlsx")
    bomb = patched(src, tmp_path / "bomb.xlsx", "xl/sharedStrings.xml", b"<sst>" + b" " * 30_000_000 + b"</sst>")
    assert bomb.stat().st_size < 200_000
    refused(run, db, bomb, "zip bomb")


def test_entity_declarations_are_refused(db: Path, run: Run, tmp_path: Path) -> None:
    src = base(tmp_path / "a.xlsx")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    refused(run, db, patched(src, tmp_path / "lol.xlsx", SHEET, laughs), "entities")


def test_declared_dimensions_beyond_the_limits_are_refused(db: Path, run: Run, tmp_path: Path) -> None:
    src = base(tmp_path / "a.xlsx")
    wide = patched(src, tmp_path / "dim.xlsx", SHEET,
                   lambda d: d.replace(b'<dimension ref="A1:D2" />', b'<dimension ref="A1:XFD1048576" />'))
    refused(run, db, wide, "columns")


def test_a_row_numbered_a_hundred_million_stops_the_read(db: Path, run: Run, tmp_path: Path) -> None:
    src = base(tmp_path / "a.xlsx")
    far = patched(src, tmp_path / "far.xlsx", SHEET, rows_added(
        '<row r="100000000"><c r="A100000000" t="inlineStr"><is><t>x</t></is></c></row>'))
    refused(run, db, far, "rows")


def test_a_cell_in_column_xfd_stops_the_read(db: Path, run: Run, tmp_path: Path) -> None:
    src = base(tmp_path / "a.xlsx")
    wide = patched(src, tmp_path / "xfd.xlsx", SHEET, rows_added(
        '<row r="3"><c r="A3" t="inlineStr"><is><t>吴四</t></is></c><c r="XFD3"><v>1</v></c></row>'))
    refused(run, db, wide, "column")


def test_the_cell_budget_stops_a_sheet_with_too_many_cells(tmp_path: Path) -> None:
    src = base(tmp_path / "a.xlsx")
    check_file(src)
    wb = load_workbook(src, read_only=True)
    try:
        with pytest.raises(BadInput) as caught:
            list(sheet_rows(wb["花名册"], CellBudget(5)))
        assert "cells" in caught.value.text.en and "row 2" in caught.value.text.en
    finally:
        wb.close()


def test_a_formula_after_spaces_or_control_characters_is_caught(db: Path, run: Run, tmp_path: Path) -> None:
    for text in (" =1+2", "\t=cmd|' /C calc'!A0", "\u200b=HYPERLINK(\"http://x\")", "\u3000＝1+1"):
        assert is_formula(text), repr(text)
    assert not is_formula("a=b") and not is_formula("1+2")
    src = base(tmp_path / "a.xlsx")
    wb = load_workbook(src)
    wb.active.append(["  =HYPERLINK(\"http://evil\",\"吴五\")", "之子", valid_id("52263419900101101"), None])
    wb.save(src)
    import json
    code, out, err = run("import-xlsx", db, src, "--dry-run", "--json", "--village", VILLAGE)
    rep = json.loads(out)
    assert [(p["column"], p["row"]) for p in rep["problems"]] == [("A", 3)]
    assert rep["summary"]["refused"] == 1 and rep["summary"]["to_import"] == 0


def test_a_file_under_the_size_limit_with_a_broken_part_is_one_clear_line(db: Path, run: Run,
                                                                           tmp_path: Path) -> None:
    src = base(tmp_path / "a.xlsx")
    broken = patched(src, tmp_path / "broken.xlsx", SHEET, lambda d: d[: len(d) // 2])
    refused(run, db, broken, "xlsx")


def _register_file(path: Path, rows: list[dict[str, object]]) -> Path:
    """A 花名册 sheet with the register's headings and these rows (heading -> value)."""
    from povdesk.reports.excel import REGISTER_SHEET, register_columns

    wb = Workbook()
    ws = wb.active
    ws.title = REGISTER_SHEET
    headers = [c.zh for c in register_columns()]
    ws.append(headers)
    for values in rows:
        ws.append([values.get(h) for h in headers])
    wb.save(path)
    return path


def test_a_file_with_thousands_of_problems_is_refused_in_one_line(db: Path, run: Run, tmp_path: Path) -> None:
    """Not a register with a few mistakes (every row wrong): refused as a whole, naming the first
    problem, instead of listing thousands of lines."""
    from povdesk.reports.xlsx_import import MAX_BLOCKING_PROBLEMS

    # Each row: a relation that is no code, and an ID number stored as a number.
    path = _register_file(tmp_path / "wrong.xlsx", [
        {"姓名": f"某{r}", "与户主关系": "邻居", "证件号码": 522634200001011234 + r}
        for r in range(MAX_BLOCKING_PROBLEMS // 2 + 10)])
    before = load_all(db)
    code, out, err = run("import-xlsx", db, path, "--village", VILLAGE, "--yes")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"more than {MAX_BLOCKING_PROBLEMS:,} problems" in err and "The first: 花名册!" in err
    assert len(out.strip().splitlines()) <= 1  # not thousands of lines
    assert load_all(db) == before


def test_an_id_number_mangled_by_excel_is_never_printed_whole(db: Path, run: Run, tmp_path: Path) -> None:
    path = _register_file(tmp_path / "mangled.xlsx",
                          [{"姓名": "王某", "与户主关系": "户主", "证件号码": 522634200001011234}])
    code, out, err = run("import-xlsx", db, path, "--village", VILLAGE, "--yes")
    text = out + err
    assert "证件号码" in text or "ID number" in text
    assert "52263420000101" not in text and "5.22634200001011e+17" not in text, text


def _dense(rows: range, cols: int, *, text: bool = False) -> str:
    """Rows of numbers (or words) in `cols` columns: a table of figures, not a register."""
    def cell(r: int, j: int) -> str:
        ref = f"{chr(65 + j)}{r}"
        if text:
            return f'<c r="{ref}" t="inlineStr"><is><t>字{r}-{j}</t></is></c>'
        return f'<c r="{ref}"><v>{r * 1000 + j}</v></c>'
    return "".join(f'<row r="{r}">' + "".join(cell(r, j) for j in range(cols)) + "</row>" for r in rows)


def test_a_dense_sheet_of_numbers_under_a_header_is_refused_after_its_first_rows(db: Path, run: Run,
                                                                                 tmp_path: Path) -> None:
    """The bench's 10 MB table of random numbers, in small: a few known column names above rows of
    figures is not a register. Refused once the first rows are seen, naming the file, the sheet, the
    header's row and a cell; a cell in column XFD far below is never reached (it would be refused
    with another message if the sheet were read to its end)."""
    from povdesk.reports.xlsx_import import SAMPLE_ROWS

    src = base(tmp_path / "a.xlsx")
    dense = patched(src, tmp_path / "dense.xlsx", SHEET, rows_added(
        _dense(range(3, 3 + 4 * SAMPLE_ROWS), 20) + '<row r="5000"><c r="XFD5000"><v>1</v></c></row>'))
    err = refused(run, db, dense, "does not look like a register")
    assert "sheet '花名册'" in err and "(row 1)" in err and "e.g. row 3, column A" in err, err
    assert "number as the name" in err
    code, _out, err = run("import-xlsx", db, dense, "--dry-run", env={"POVDESK_LANG": "zh", **WORKER})
    assert code == 2 and "工作表“花名册”不像花名册" in err and "第 3 行 A 列" in err and dense.name in err, err


def test_rows_with_data_under_no_header_are_refused_as_not_a_register(db: Path, run: Run, tmp_path: Path) -> None:
    src = base(tmp_path / "a.xlsx")
    wide = patched(src, tmp_path / "wide.xlsx", SHEET, rows_added(_dense(range(3, 120), 12, text=True)))
    err = refused(run, db, wide, "does not look like a register")
    assert "columns without a header" in err and "row 3, column E" in err, err


def test_a_register_with_notes_in_a_column_without_a_header_still_imports(db: Path, run: Run,
                                                                          tmp_path: Path) -> None:
    """The sample refuses only a sheet whose rows are nearly all unlike records: a village's sheet
    with a note typed beside some rows, in a column without a header, is read as usual."""
    import json

    from povdesk.reports.xlsx_import import SAMPLE_ROWS

    n = SAMPLE_ROWS + 10
    path = _register_file(tmp_path / "notes.xlsx", [
        {"姓名": f"某{r}", "与户主关系": "户主", "证件号码": valid_id(f"5226341965{r:03d}1234")} for r in range(n)])
    wb = load_workbook(path)
    ws = wb.active
    far = ws.max_column + 2
    for r in range(2, 2 + n, 3):
        ws.cell(row=r, column=far, value="已核实")
    wb.save(path)
    code, out, err = run("import-xlsx", db, path, "--dry-run", "--json", "--village", VILLAGE)
    assert code in (0, 1), err
    assert json.loads(out)["summary"]["to_import"] == n


def test_the_refusal_for_thousands_of_problems_names_the_file(db: Path, run: Run, tmp_path: Path) -> None:
    from povdesk.reports.xlsx_import import MAX_BLOCKING_PROBLEMS

    path = _register_file(tmp_path / "wrong-again.xlsx", [
        {"姓名": f"某{r}", "与户主关系": "邻居"} for r in range(MAX_BLOCKING_PROBLEMS + 10)])
    code, _out, err = run("import-xlsx", db, path, "--village", VILLAGE, "--dry-run")
    assert code == 2 and len(err.strip().splitlines()) == 1 and path.name in err, err


def test_cells_are_read_whatever_order_or_form_their_parts_take(tmp_path: Path) -> None:
    """The reader's quick path (a cell holding one value) and the others give what they always did:
    a formula after its cached value is still the formula, rich text runs are joined, an empty
    cell with a style only is no value, a cell without a reference follows the one before."""
    src = base(tmp_path / "a.xlsx")
    cells = patched(src, tmp_path / "cells.xlsx", SHEET, rows_added(
        '<row r="3"><c r="A3" t="str"><v>3</v><f>1+2</f></c>'
        '<c r="B3" t="inlineStr"><is><r><t>之</t></r><r><t>子</t></r></is></c>'
        '<c r="C3" s="0"/><c><v>7</v></c><c r="F3"><f>SUM(1)</f></c><c r="G3" t="b"><v>1</v></c></row>'))
    check_file(cells)
    wb = load_workbook(cells, read_only=True)
    try:
        rows = dict(sheet_rows(wb["花名册"], CellBudget()))
    finally:
        wb.close()
    assert rows[3] == ("=1+2", "之子", None, 7, None, "=SUM(1)", True)


def test_the_same_multi_code_cell_gives_each_household_its_own_list(tmp_path: Path) -> None:
    from povdesk.reports.xlsx_import import read_register

    path = _register_file(tmp_path / "causes.xlsx", [
        {"姓名": "甲", "与户主关系": "户主", "证件号码": valid_id("52263419650312123"), "其他致贫原因": "因病、因学"},
        {"姓名": "乙", "与户主关系": "户主", "证件号码": valid_id("52263419660312123"), "其他致贫原因": "因病、因学"}])
    plan = read_register(path, village=VILLAGE)
    a, b = (h.fields["other_causes"] for h in plan.households)
    assert a == b == ["01", "03"] and a is not b
    a.append("04")
    assert b == ["01", "03"]


def test_findings_are_located_on_the_members_row_and_the_fields_column(tmp_path: Path) -> None:
    """Where a finding points, kept in small tables (a row per member, a column per field) instead
    of a cell per value: the member's own cell, the first row showing a household field, else the
    household's first row."""
    from openpyxl.utils import get_column_letter

    from povdesk.reports.excel import register_columns
    from povdesk.reports.xlsx_import import read_register

    path = _register_file(tmp_path / "where.xlsx", [
        {"姓名": "甲", "与户主关系": "户主", "证件号码": valid_id("52263419650312123")},
        {"姓名": "甲妻", "与户主关系": "妻", "证件号码": valid_id("52263419670312123"), "联系电话": "13800000000"}])
    headers = [c.zh for c in register_columns()]
    letter = {h: get_column_letter(i + 1) for i, h in enumerate(headers)}
    plan = read_register(path, village=VILLAGE)
    (hh,) = plan.households
    wife = next(m for m in hh.members if m.name == "甲妻")
    assert plan.locate(hh.id, wife.id, "id_number") == ("花名册", 3, letter["证件号码"])
    assert plan.locate(hh.id, wife.id, None) == ("花名册", 3, "")
    assert plan.locate(hh.id, None, "phone") == ("花名册", 3, letter["联系电话"])
    assert plan.locate(hh.id, wife.id, "no_such_field") == ("花名册", 3, "")
    assert plan.locate(hh.id, "another", "no_such_field") == ("花名册", 2, "")
    assert plan.locate("unknown", None, None) == ("花名册", 0, "")


def test_a_finding_about_a_years_income_points_at_that_years_row_and_column(tmp_path: Path) -> None:
    """A finding on one year's income (the message names the year) lands on the income sheet's row of
    that year: the income field's own column when it has one, else the 年度 column, never no column."""
    from povdesk.core.model import YearRecord
    from povdesk.reports.excel import INCOME_SHEET, write_register
    from povdesk.reports.xlsx_import import read_register
    from tests.factories import valid_household

    hh = valid_household("registered")
    hh.years[2016] = YearRecord(2016, income={"wage_income": 3000.0})
    years = sorted(hh.years)
    path = tmp_path / "register.xlsx"
    write_register([hh], path)
    sheet = load_workbook(path, read_only=True)[INCOME_SHEET]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    year_letter = chr(ord("A") + header.index("年度"))
    wage_letter = chr(ord("A") + next(i for i, h in enumerate(header) if str(h).startswith("工资性收入")))
    row_of = {int(r[header.index("年度")]): n for n, r in enumerate(rows[1:], 2) if r[header.index("年度")]}
    plan = read_register(path, village=hh.village_code)
    (read,) = plan.households
    last = years[-1]
    assert plan.locate(read.id, None, "income", f"{last} 年人均纯收入低于标准") == (INCOME_SHEET, row_of[last], year_letter)
    assert plan.locate(read.id, None, "wage_income", f"{years[0]} 年") == (INCOME_SHEET, row_of[years[0]], wage_letter)
