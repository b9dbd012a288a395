"""The register out to xlsx and back, the template, and messy village sheets coming in."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook

from povdesk.core.demo import DEMO_PASSWORD
from povdesk.reports.excel import register_columns
from povdesk.store import Workspace

from .conftest import VILLAGE, Run


def valid_id(first17: str) -> str:
    from povdesk.core.idnumber import check_digit
    return first17 + check_digit(first17)


def fresh_workspace(path: Path) -> Path:
    ws = Workspace.create(path, region_code=VILLAGE, name="东门村", level="village", admin_user="admin",
                          admin_password=DEMO_PASSWORD)
    admin = ws.authenticate("admin", DEMO_PASSWORD)
    ws.add_user(admin, "worker", DEMO_PASSWORD, "village_worker", "村工作人员")
    ws.close()
    return path


def load_all(db: Path) -> dict[str, dict]:
    ws = Workspace.open(db, readonly=True)
    try:
        return {h.id: h.to_dict() for h in ws.iter_households()}
    finally:
        ws.close()


def test_register_round_trip_gives_the_same_households(db: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "register.xlsx"
    code, stdout, err = run("export-xlsx", db, "-o", out)
    assert code == 0, err
    before = load_all(db)
    wb = load_workbook(out, read_only=True)
    sheet = wb["花名册"]
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    assert list(header) == [c.zh for c in register_columns()]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    wb.close()
    assert load_workbook(out)["花名册"].freeze_panes == "B2"
    assert len(rows) == sum(max(1, len(h["members"])) for h in before.values())
    assert "一般贫困户" in {str(v) for r in rows for v in r} or "低保贫困户" in {str(v) for r in rows for v in r}
    target = fresh_workspace(tmp_path / "fresh.db")
    code, stdout, err = run("import-xlsx", target, out, "--json")
    report = json.loads(stdout)
    assert report["summary"]["blocking"] == 0, report["problems"][:5]
    assert report["summary"]["imported"] == len(before)
    after = load_all(target)
    assert set(after) == set(before)
    for hid, old in before.items():
        new = after[hid]
        assert new["fields"] == old["fields"], old["household_no"]
        assert new["members"] == old["members"], old["household_no"]
        assert new["household_no"] == old["household_no"] and new["village_code"] == old["village_code"]


def test_formula_looking_values_stay_text(db: Path, run: Run, tmp_path: Path) -> None:
    nasty = ["=HYPERLINK(\"http://x\",\"点我\")", "+1+2", "-3+4", "@SUM(A1)", "=1+2"]
    ws = Workspace.open(db)
    try:
        worker = ws.authenticate("worker", DEMO_PASSWORD)
        hh = next(iter(ws.iter_households()))
        for m, text in zip(hh.members, nasty, strict=False):
            m.fields["name"] = text
        hh.fields["address"] = "=cmd|' /C calc'!A0"
        ws.save_household(hh, worker)
    finally:
        ws.close()
    out = tmp_path / "r.xlsx"
    assert run("export-xlsx", db, "-o", out)[0] == 0
    wb = load_workbook(out)  # full mode: data_type tells formulas apart
    cells = [c for row in wb["花名册"].iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value for c in cells}
    assert hh.fields["address"] in values
    for text in nasty[: len(hh.members)]:
        assert text in values
    with zipfile.ZipFile(out) as zf:
        assert "<f>" not in zf.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_template_has_drop_downs_on_a_hidden_sheet(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    code, stdout, err = run("template", "-o", out, env={})
    assert code == 0, err
    wb = load_workbook(out)
    assert wb["代码表"].sheet_state == "hidden"
    sheet = wb["花名册"]
    dvs = sheet.data_validations.dataValidation
    cols = register_columns()
    coded = [c for c in cols if c.spec is not None and c.spec.kind in ("code", "yes_no")]
    assert len(dvs) == len(coded) and all(dv.type == "list" for dv in dvs)
    by_col = {str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1 for dv in dvs}
    attr = next(i for i, c in enumerate(cols, 1) if c.target == "household.attribute")
    from openpyxl.utils import get_column_letter
    formula = by_col[get_column_letter(attr)]
    assert formula.startswith("'代码表'!$")
    assert all(len(dv.formula1) < 255 for dv in dvs)


def legacy_sheet(path: Path) -> dict[str, str]:
    """A village's own sheet: merged title, two-row header, messy values."""
    head = valid_id("52263419650312123")
    wife = valid_id("52263419680105224")
    son = valid_id("52263420000101101")
    wb = Workbook()
    ws = wb.active
    ws.title = "东门村花名册"
    ws["A1"] = "东门村建档立卡贫困户花名册（2016年）"
    ws.merge_cells("A1:J1")
    ws["A2"], ws["B2"], ws["C2"], ws["H2"] = "户号", "户主", "家庭成员情况", "家庭住址"
    ws.merge_cells("C2:G2")
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    for col, text in zip("CDEFG", ("姓名", "与户主关系", "身份证号", "出生日期", "是否享受低保"), strict=True):
        ws[f"{col}3"] = text
    ws["I2"], ws["J2"] = "主要致贫原因", "贫困户属性"
    rows = [
        ("ＤＭ－１", "龙老大", "龙老大", "户主", head, datetime(1965, 3, 12), "是", "丹江镇东门村三组", "因病", "一般贫困户"),
        ("ＤＭ－１", "龙老大", "杨二妹", "配偶", wife, "1968.01.05", "Y", None, None, None),
        ("ＤＭ－１", "龙老大", "龙小三", "之子", son, 36526, "否", None, None, None),
        ("ＤＭ－２", "吴四", "吴四", "户主", 5.22634196503121e17, "1965年3月12日", "N", "丹江镇东门村四组", "缺技术", "低保贫困户"),
        ("ＤＭ－２", "吴四", '=HYPERLINK("http://evil","吴五")', "之子", None, "1990-13-40", "也许", None, None, None),
    ]
    for r, values in enumerate(rows, 4):
        for c, v in enumerate(values, 1):
            ws.cell(row=r, column=c, value=v)
    wb.save(path)
    return {"head": head, "wife": wife, "son": son}


MAPPING = """
[columns]
"户号" = "household_no"
"户主" = "head_name"
"是否享受低保" = "member.dibao"

[options]
village = "522634100201"
"""


def test_legacy_sheet_dry_run_reports_every_problem_by_cell(db: Path, run: Run, tmp_path: Path) -> None:
    src = tmp_path / "legacy.xlsx"
    legacy_sheet(src)
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    before = load_all(db)
    report_xlsx = tmp_path / "problems.xlsx"
    code, stdout, err = run("import-xlsx", db, src, "--mapping", mapping, "--dry-run", "--json",
                            "--report", report_xlsx)
    assert code == 1, err
    rep = json.loads(stdout)
    assert rep["summary"]["households"] == 2 and rep["summary"]["members"] == 3
    assert rep["summary"]["to_import"] == 1 and rep["summary"]["refused"] == 1  # DM-2 only, not the file
    assert [r["household_no"] for r in rep["refused"]] == ["DM-2"] and rep["refused"][0]["row"] == 7
    where = {(p["sheet"], p["column"], p["row"]) for p in rep["problems"]}
    assert ("东门村花名册", "E", 7) in where  # the ID number Excel turned into a float
    assert ("东门村花名册", "C", 8) in where  # a formula instead of a name
    assert ("东门村花名册", "F", 8) in where  # 1990-13-40 is no date
    assert ("东门村花名册", "G", 8) in where  # 也许 is neither 是 nor 否
    assert len(rep["problems"]) == 4, rep["problems"]
    mangled = next(p for p in rep["problems"] if p["column"] == "E")
    assert "Text" in mangled["message"]["en"]
    assert load_all(db) == before  # a dry run writes nothing
    marked = load_workbook(report_xlsx)["东门村花名册"]
    assert marked["E7"].comment is not None and marked["E7"].fill.fgColor.rgb.endswith("FF9999")
    assert marked["C8"].comment is not None


def test_legacy_sheet_values_are_normalised(db: Path, run: Run, tmp_path: Path) -> None:
    from povdesk.reports.xlsx_import import load_mapping, read_register

    src = tmp_path / "legacy.xlsx"
    ids = legacy_sheet(src)
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    plan = read_register(src, load_mapping(mapping))
    assert plan.header_row == 3 and plan.rows == 5
    (first,) = plan.households
    (second,) = plan.refused
    # A village's own number is not an official one: kept beside it, the store assigns the number.
    assert first.household_no == "" and first.fields["own_no"] == "DM-1"  # full-width normalised
    assert first.village_code == VILLAGE and first.fields["attribute"] == "01"
    assert second.household_no == "DM-2" and second.head_name == "吴四"
    assert {(p.column, p.row) for p in second.problems} == {("E", 7), ("C", 8), ("F", 8), ("G", 8)}
    people = {m.name: m.fields for m in first.members}
    assert people["龙老大"]["birth_date"] == "1965-03-12" and people["龙老大"]["relation"] == "01"
    assert people["杨二妹"]["birth_date"] == "1968-01-05" and people["杨二妹"]["dibao"] is True
    assert people["龙小三"]["birth_date"] == "2000-01-01" and people["龙小三"]["dibao"] is False
    assert people["龙老大"]["id_number"] == ids["head"]
    mangled = next(p for p in second.problems if p.column == "E")
    assert mangled.value == "522634********1000"  # the cell as Excel shows it, masked as everywhere


def test_import_without_problems_writes_one_transaction(db: Path, run: Run, tmp_path: Path) -> None:
    src = tmp_path / "clean.xlsx"
    legacy_sheet(src)
    wb = load_workbook(src)
    ws = wb.active
    ws.delete_rows(7, 2)  # drop the household with problems
    wb.save(src)
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    n_before = len(load_all(db))
    code, stdout, err = run("import-xlsx", db, src, "--mapping", mapping)
    assert "imported 1 households, 3 people" in stdout, stdout + err
    after = load_all(db)
    assert len(after) == n_before + 1
    new = next(h for h in after.values() if h["fields"].get("own_no") == "DM-1")
    assert new["household_no"].startswith(VILLAGE)  # assigned by the store
    assert [m["fields"]["name"] for m in new["members"]] == ["龙老大", "杨二妹", "龙小三"]
    assert code == 1  # the rules still have things to say (missing required fields), as import-json


def test_encrypted_truncated_and_foreign_files_are_refused(db: Path, run: Run, tmp_path: Path) -> None:
    before = load_all(db)
    ole = tmp_path / "locked.xlsx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    good = tmp_path / "good.xlsx"
    assert run("export-xlsx", db, "-o", good)[0] == 0
    truncated = tmp_path / "cut.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.xlsx"
    text.write_text("姓名,身份证号\n", encoding="utf-8")
    for path, words in ((ole, "password"), (truncated, "xlsx"), (text, "xlsx")):
        code, out, err = run("import-xlsx", db, path, "--report", tmp_path / "rep.xlsx")
        assert code == 2, (path, out, err)
        assert words in err and len(err.strip().splitlines()) == 1
    assert load_all(db) == before
    assert not (tmp_path / "rep.xlsx").exists()


def test_no_header_found_is_a_clear_error(db: Path, run: Run, tmp_path: Path) -> None:
    src = tmp_path / "odd.xlsx"
    wb = Workbook()
    wb.active.append(["甲", "乙", "丙"])
    wb.save(src)
    code, _, err = run("import-xlsx", db, src, "--dry-run")
    assert code == 2 and "--mapping" in err
