"""The register workbook edited in Excel and brought back: exactly the edited cells change, a new
household from the template gets its number, a village's own sheet is filled down, and one bad
household never stops the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from povdesk.reports.excel import (
    CLEAR_MARKER,
    HELPERS_SHEET,
    HISTORY_SHEET,
    INCOME_SHEET,
    MEASURES_SHEET,
    README_SHEET,
    REGISTER_SHEET,
    helper_columns,
    income_columns,
    measure_columns,
    register_columns,
)

from .conftest import VILLAGE, Run
from .test_excel import fresh_workspace, load_all, valid_id

RECORD = ("fields", "members", "years", "helpers", "household_no", "village_code")


def columns(ws: Any) -> dict[str, int]:
    return {c.value: c.column for c in ws[1] if c.value}


def rows_of(ws: Any, hid: str) -> list[int]:
    col = columns(ws)["户ID（系统）"]
    return [r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=col).value == hid]


def test_a_demo_village_comes_back_field_by_field_into_an_empty_workspace(db: Path, run: Run,
                                                                          tmp_path: Path) -> None:
    out = tmp_path / "register.xlsx"
    assert run("export-xlsx", db, "-o", out)[0] == 0
    before = load_all(db)
    assert any(h["years"] for h in before.values()) and any(h["helpers"] for h in before.values())
    assert any(y["measures"] for h in before.values() for y in h["years"])
    target = fresh_workspace(tmp_path / "fresh.db")
    code, stdout, err = run("import-xlsx", target, out, "--json", "--yes")
    rep = json.loads(stdout)
    assert rep["summary"]["refused"] == 0 and rep["summary"]["imported"] == len(before), rep["refused"][:3]
    after = load_all(target)
    assert set(after) == set(before)
    for hid, old in before.items():
        new = after[hid]
        for key in RECORD:
            assert new[key] == old[key], (old["household_no"], key)
        # status and history come only from a trusted source (steps, bundles), never a sheet
        assert new["status"] == "applicant" and new["events"] == []


def test_the_register_imported_onto_itself_changes_nothing(db: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "register.xlsx"
    assert run("export-xlsx", db, "-o", out)[0] == 0
    before = load_all(db)
    code, stdout, err = run("import-xlsx", db, out, "--json")
    rep = json.loads(stdout)
    assert rep["summary"]["unchanged"] == len(before) and rep["summary"]["imported"] == 0, err
    assert load_all(db) == before  # not even a version moved


def test_edits_on_any_row_of_any_sheet_change_exactly_those_values(db: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "register.xlsx"
    assert run("export-xlsx", db, "-o", out)[0] == 0
    before = load_all(db)
    hid, hh = next((k, h) for k, h in before.items()
                   if len(h["members"]) >= 3 and h["helpers"] and any(y["measures"] for y in h["years"])
                   and h["fields"].get("phone") and h["fields"].get("bank_account"))
    wb = load_workbook(out)
    main = wb[REGISTER_SHEET]
    col = columns(main)
    rows = rows_of(main, hid)
    main.cell(row=rows[1], column=col["家庭住址"]).value = "东门村新址 8 号"  # a household value, on its 2nd row
    third = rows[2]
    main.cell(row=third, column=col["文化程度"]).value = "高中"  # a member's value
    main.cell(row=third, column=col["证件号码"]).value = None  # blank: unchanged, never deleted
    main.cell(row=rows[0], column=col["联系电话"]).value = CLEAR_MARKER  # the explicit clear
    inc = wb[INCOME_SHEET]
    year_row = rows_of(inc, hid)[-1]
    year = inc.cell(row=year_row, column=columns(inc)["年度"]).value
    inc.cell(row=year_row, column=columns(inc)["工资性收入"]).value = 4321
    hel = wb[HELPERS_SHEET]
    hel.cell(row=rows_of(hel, hid)[0], column=columns(hel)["职务"]).value = "驻村队员"
    mea = wb[MEASURES_SHEET]
    m_row = rows_of(mea, hid)[0]
    m_year = mea.cell(row=m_row, column=columns(mea)["年度"]).value
    mea.cell(row=m_row, column=columns(mea)["金额（元）"]).value = 999.5
    wb.save(out)

    code, stdout, err = run("import-xlsx", db, out, "--json")
    rep = json.loads(stdout)
    assert rep["summary"]["imported"] == 1 and rep["summary"]["updated"] == 1, (rep["problems"], err)
    after = load_all(db)
    for other in set(before) - {hid}:
        assert after[other] == before[other]
    new, old = after[hid], before[hid]
    expected = json.loads(json.dumps(old))
    expected["fields"]["address"] = "东门村新址 8 号"
    del expected["fields"]["phone"]
    member = next(m for m in expected["members"] if m["id"] == main.cell(row=third, column=col["成员ID（系统）"]).value)
    member["fields"]["education"] = "4"
    next(y for y in expected["years"] if y["year"] == year)["income"]["wage_income"] = 4321.0
    expected["helpers"][0]["position"] = "驻村队员"
    next(y for y in expected["years"] if y["year"] == m_year)["measures"][0]["amount"] = 999.5
    for key in ("fields", "members", "years", "helpers", "events", "status", "household_no"):
        assert new[key] == expected[key], key
    assert member["fields"]["id_number"]  # the blank cell left the ID number as it was


def test_an_edited_file_imported_again_changes_nothing_more(db: Path, run: Run, tmp_path: Path) -> None:
    """A household value edited on one of its rows comes in once; the same file imported again
    (or any file written before the household changed) cannot take it back: each row remembers
    the household's version, and a change from an older file is refused with its cell named."""
    out = tmp_path / "register.xlsx"
    assert run("export-xlsx", db, "-o", out)[0] == 0
    before = load_all(db)
    hid = next(k for k, h in before.items() if len(h["members"]) >= 2 and h["fields"].get("phone"))
    wb = load_workbook(out)
    main = wb[REGISTER_SHEET]
    col = columns(main)
    rows = rows_of(main, hid)
    assert {str(main.cell(row=r, column=col["户版本（系统）"]).value) for r in rows} == {str(before[hid]["version"])}
    main.cell(row=rows[1], column=col["联系电话"]).value = "13900004444"
    wb.save(out)
    code, stdout, err = run("import-xlsx", db, out, "--json")
    assert json.loads(stdout)["summary"]["updated"] == 1, err
    assert load_all(db)[hid]["fields"]["phone"] == "13900004444"
    for _ in range(2):  # again and again: the value stays, never flips back to the other rows' value
        code, stdout, err = run("import-xlsx", db, out, "--json", "--yes")
        rep = json.loads(stdout)
        assert load_all(db)[hid]["fields"]["phone"] == "13900004444"
        (refused,) = rep["refused"]
        assert refused["reasons"] and all(
            p["field"] == "联系电话" and p["row"] in rows and "changed in the workspace after this file was written"
            in p["message"]["en"] for p in refused["reasons"]), refused
    # A register written now imports onto itself without a word.
    fresh = tmp_path / "fresh.xlsx"
    assert run("export-xlsx", db, "-o", fresh)[0] == 0
    rep = json.loads(run("import-xlsx", db, fresh, "--json")[1])
    assert rep["summary"]["imported"] == 0 and rep["summary"]["refused"] == 0


def test_rows_of_one_household_that_disagree_refuse_it(db: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "register.xlsx"
    assert run("export-xlsx", db, "-o", out)[0] == 0
    before = load_all(db)
    hid = next(k for k, h in before.items() if len(h["members"]) >= 3)
    wb = load_workbook(out)
    main = wb[REGISTER_SHEET]
    col = columns(main)
    rows = rows_of(main, hid)
    main.cell(row=rows[1], column=col["家庭住址"]).value = "甲地"
    main.cell(row=rows[2], column=col["家庭住址"]).value = "乙地"
    wb.save(out)
    code, stdout, err = run("import-xlsx", db, out, "--json", "--dry-run")
    rep = json.loads(stdout)
    assert rep["summary"]["refused"] == 1
    (problem,) = rep["refused"][0]["reasons"]
    assert (problem["sheet"], problem["row"], problem["field"]) == (REGISTER_SHEET, rows[2], "家庭住址")
    assert str(rows[1]) in problem["message"]["en"]


def _fill(ws: Any, cols: tuple[Any, ...], values: dict[str, Any], row: int) -> None:
    at = {c.zh: i for i, c in enumerate(cols, 1)}
    for header, v in values.items():
        ws.cell(row=row, column=at[header]).value = v


def test_new_households_from_the_template_get_numbers_and_their_income_and_helpers(
        db: Path, run: Run, tmp_path: Path) -> None:
    tpl = tmp_path / "template.xlsx"
    assert run("template", "-o", tpl, env={})[0] == 0
    wb = load_workbook(tpl)
    main, inc, hel = wb[REGISTER_SHEET], wb[INCOME_SHEET], wb[HELPERS_SHEET]
    cols = register_columns()
    head_a, head_b = valid_id("52263419700101123"), valid_id("52263419750505124")
    people = [
        {"姓名": "潘老大", "与户主关系": "户主", "证件号码": head_a, "性别": "男", "家庭住址": "东门村一组",
         "贫困户属性": "一般贫困户", "主要致贫原因": "因病"},
        {"姓名": "杨大妹", "与户主关系": "妻", "证件号码": valid_id("52263419720202122"), "性别": "女"},
        {"姓名": "潘小宝", "与户主关系": "孙子", "证件号码": valid_id("52263420150303111"), "性别": "男"},
        {"姓名": "吴二", "与户主关系": "本人", "证件号码": head_b, "性别": "女", "家庭住址": "东门村二组",
         "贫困户属性": "低保户", "主要致贫原因": "缺技术"},
        {"姓名": "吴小二", "与户主关系": "女儿", "证件号码": valid_id("52263420050909102"), "性别": "女"},
    ]
    for r, values in enumerate(people, 2):
        _fill(main, cols, values, r)
    _fill(inc, income_columns(), {"户主证件号码": head_a, "年度": 2025, "工资性收入": 3000}, 2)
    _fill(hel, helper_columns(), {"户主证件号码": head_b, "姓名": "张帮扶", "联系电话": "13800001111",
                                  "帮扶单位名称": "县农业农村局", "帮扶开始时间": "2025-03-01"}, 2)
    wb.save(tpl)
    n_before = len(load_all(db))
    code, stdout, err = run("import-xlsx", db, tpl, "--json")
    rep = json.loads(stdout)
    assert rep["summary"]["imported"] == 2 and rep["summary"]["refused"] == 0, (rep["refused"], err)
    after = load_all(db)
    assert len(after) == n_before + 2
    new = {h["members"][0]["fields"]["name"]: h for h in after.values()
           if h["members"] and h["members"][0]["fields"].get("name") in ("潘老大", "吴二")}
    a, b = new["潘老大"], new["吴二"]
    assert a["household_no"] and b["household_no"] and a["household_no"] != b["household_no"]
    assert a["household_no"].startswith(VILLAGE) and "新" not in a["household_no"]
    assert [m["fields"]["relation"] for m in a["members"]] == ["01", "02", "07"]  # 妻, 孙子 through synonyms
    assert [m["fields"]["relation"] for m in b["members"]] == ["01", "04"]  # 本人, 女儿
    assert b["fields"]["attribute"] == "02"
    assert a["years"] == [{"year": 2025, "income": {"wage_income": 3000.0}, "measures": []}]
    assert b["helpers"][0]["name"] == "张帮扶" and b["helpers"][0]["phone"] == "13800001111"


def village_sheet(path: Path, *, bank: Any = "6217991234567890001") -> dict[str, str]:
    """A village's own register: number on the head's row only, a sub-header under the header, a
    totals row with formulas, a signature row, apostrophes, everyday relation words."""
    ids = {k: valid_id(v) for k, v in {"a": "52263419650312123", "a2": "52263419680105224",
                                        "b": "52263419700101123", "b2": "52263419990101102"}.items()}
    wb = Workbook()
    ws = wb.active
    ws.title = "东门村"
    ws.append(["东门村贫困户花名册"])
    ws.append(["户号", "姓名", "与户主关系", "身份证号", "家庭住址", "银行账号", "贫困户属性"])
    ws.append(["（户主填本人）", "（每人一行）", "（户主填“本人”）", "（18 位）", None, None, None])
    ws.append(["DM-01", "龙老大", "本人", "'" + ids["a"], "东门村三组", bank, "一般户"])
    ws.append([None, "杨二妹", "妻", ids["a2"], None, None, None])
    ws.append(["DM-02", "吴四", "户主", ids["b"], "东门村四组", "6217990000000001", "低保户"])
    ws.append([None, "吴小妹", "孙女", ids["b2"], None, None, None])
    ws.append(["合计", "=COUNTA(B4:B7)", None, None, None, None, None])
    ws.append([None, "=COUNTA(B4:B7)", None, None, None, None, None])
    ws.append(["填表人：", "龙支书", None, "审核人：", "吴主任", None, None])
    wb.save(path)
    return ids


def test_a_village_sheet_is_filled_down_and_its_furniture_skipped(db: Path, run: Run, tmp_path: Path) -> None:
    src = tmp_path / "village.xlsx"
    ids = village_sheet(src)
    code, stdout, err = run("import-xlsx", db, src, "--json", "--village", VILLAGE)
    rep = json.loads(stdout)
    assert rep["summary"]["imported"] == 2 and rep["summary"]["refused"] == 0, (rep["problems"], err)
    notes = {(p["row"], p["severity"]) for p in rep["problems"]}
    assert notes == {(3, "note"), (8, "note"), (9, "note"), (10, "note")}, rep["problems"]
    after = load_all(db)
    a = next(h for h in after.values() if h["fields"].get("own_no") == "DM-01")
    b = next(h for h in after.values() if h["fields"].get("own_no") == "DM-02")
    assert [m["fields"]["name"] for m in a["members"]] == ["龙老大", "杨二妹"]
    assert [m["fields"]["relation"] for m in a["members"]] == ["01", "02"]
    assert a["members"][0]["fields"]["id_number"] == ids["a"]  # the apostrophe dropped
    assert a["fields"]["bank_account"] == "6217991234567890001"
    assert [m["fields"]["relation"] for m in b["members"]] == ["01", "08"] and b["fields"]["attribute"] == "02"


def test_a_rounded_bank_account_refuses_only_its_household(db: Path, run: Run, tmp_path: Path) -> None:
    src = tmp_path / "village.xlsx"
    village_sheet(src, bank=6217991234567890000)  # typed as a number: Excel kept 15 digits
    before = load_all(db)
    code, stdout, err = run("import-xlsx", db, src, "--json", "--village", VILLAGE)
    assert code == 2 and "--yes" in err and len(err.strip().splitlines()) == 1  # asked, no terminal: nothing
    assert load_all(db) == before
    code, stdout, err = run("import-xlsx", db, src, "--json", "--village", VILLAGE, "--yes")
    rep = json.loads(stdout)
    assert rep["summary"]["imported"] == 1 and rep["summary"]["refused"] == 1
    (refused,) = rep["refused"]
    assert refused["household_no"] == "DM-01" and refused["row"] == 4
    (why,) = refused["reasons"]
    assert (why["column"], why["row"], why["value"]) == ("F", 4, "6217991234567890000")
    assert "15" in why["message"]["en"] or "digits" in why["message"]["en"]
    after = load_all(db)
    assert len(after) == len(before) + 1
    assert not any(h["fields"].get("own_no") == "DM-01" for h in after.values())


def test_findings_point_at_the_member_cell_in_the_report_and_the_marked_copy(db: Path, run: Run,
                                                                            tmp_path: Path) -> None:
    src = tmp_path / "village.xlsx"
    ids = village_sheet(src)
    wb = load_workbook(src)
    bad = ids["b2"][:-1] + ("0" if ids["b2"][-1] != "0" else "1")  # a wrong check digit, row 7
    wb.active["D7"] = bad
    wb.save(src)
    marked = tmp_path / "marked.xlsx"
    code, stdout, err = run("import-xlsx", db, src, "--json", "--village", VILLAGE, "--dry-run", "--report", marked)
    rep = json.loads(stdout)
    hits = [f for f in rep["findings"] if f["rule"] == "ID-INVALID"]
    assert [(f["sheet"], f["row"], f["column"]) for f in hits] == [("东门村", 7, "D")]
    copy = load_workbook(marked)["东门村"]
    assert copy["D7"].comment is not None and "ID-INVALID" in copy["D7"].comment.text
    assert bad not in stdout + err  # no message prints a full ID number


def test_mapping_file_synonyms_add_to_the_table(db: Path, run: Run, tmp_path: Path) -> None:
    src = tmp_path / "village.xlsx"
    village_sheet(src)
    wb = load_workbook(src)
    wb.active["C5"] = "堂客"  # a local word for a wife
    wb.save(src)
    code, stdout, _ = run("import-xlsx", db, src, "--json", "--village", VILLAGE, "--dry-run")
    assert json.loads(stdout)["summary"]["refused"] == 1
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"户号" = "household_no"\n\n[synonyms.relation]\n"堂客" = "配偶"\n', encoding="utf-8")
    code, stdout, err = run("import-xlsx", db, src, "--json", "--village", VILLAGE, "--dry-run", "--mapping", mapping)
    assert json.loads(stdout)["summary"]["refused"] == 0, err


def test_the_workbook_as_a_user_opens_it(db: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "register.xlsx"
    assert run("export-xlsx", db, "-o", out)[0] == 0
    wb = load_workbook(out)
    assert wb.sheetnames[:6] == [REGISTER_SHEET, INCOME_SHEET, HELPERS_SHEET, MEASURES_SHEET, HISTORY_SHEET,
                                 README_SHEET]
    assert wb["代码表"].sheet_state == "hidden"
    assert wb[HISTORY_SHEET].protection.sheet and wb[HISTORY_SHEET].max_row > 1
    assert CLEAR_MARKER in "".join(str(c.value) for c in wb[README_SHEET]["A"])
    for title, cols in ((REGISTER_SHEET, register_columns()), (INCOME_SHEET, income_columns()),
                        (HELPERS_SHEET, helper_columns()), (MEASURES_SHEET, measure_columns())):
        ws = wb[title]
        assert [c.value for c in ws[1]] == [c.zh for c in cols]
        for i, c in enumerate(cols, 1):
            letter = get_column_letter(i)
            if c.text:
                assert ws.column_dimensions[letter].number_format == "@", (title, c.zh)
                assert all(cell.data_type == "s" and cell.number_format == "@"
                           for cell in ws[letter][1:] if cell.value is not None), (title, c.zh)
        lists = {str(dv.sqref).split(":")[0].rstrip("0123456789") for dv in ws.data_validations.dataValidation}
        coded = {get_column_letter(i) for i, c in enumerate(cols, 1)
                 if c.spec is not None and c.spec.kind in ("code", "yes_no")}
        assert lists == coded, title
    text_cols = {c.zh for c in register_columns() if c.text}
    assert {"证件号码", "银行账号", "联系电话", "户编号", "村代码"} <= text_cols
    assert {"证件号码", "联系电话"} <= {c.zh for c in helper_columns() if c.text}
