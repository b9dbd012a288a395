"""The summary report as a township official runs it: xlsx read back, PDF parsed back, numbers checked
against the workspace itself."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook

from povdesk.core.codes import code_list
from povdesk.store import Workspace
from tests.factories import TODAY

from .conftest import VILLAGE, Run, pdffonts, pdftext

COUNTY = {"POVDESK_USER": "county", "POVDESK_PASSWORD": "demo1234"}


def truth(db: Path, year: int) -> dict[str, object]:
    """What the report must say, counted from the households themselves (not through store.summary)."""
    ws = Workspace.open(db, readonly=True)
    try:
        hhs = list(ws.iter_households())
    finally:
        ws.close()
    steps = {"identified": ("identification", "announcement"), "exited": ("exit", "county_announcement"),
             "removed": ("removal", "county_approval")}
    in_year = {kind: sum(1 for h in hhs if any((e.procedure, e.step) == ps and e.date.startswith(f"{year}-")
                                               for e in h.events))
               for kind, ps in steps.items()}
    return {"households": len(hhs), "people": sum(len(h.members) for h in hhs),
            "status": Counter(h.status for h in hhs), "in_year": in_year}


def rows_of(sheet) -> list[list[object]]:  # type: ignore[no-untyped-def]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def section(rows: list[list[object]], title: str) -> list[list[object]]:
    """The rows of one table of the 汇总 sheet: from under its header to the blank row after it."""
    start = next(i for i, r in enumerate(rows) if r[0] == title) + 2
    out = []
    for r in rows[start:]:
        if r[0] is None:
            break
        out.append(r)
    return out


def record_this_year(db: Path, run: Run) -> None:
    """An identification announcement and an exit announcement dated today (their periods just over)."""
    today = TODAY
    start, end = (today - timedelta(days=7)).isoformat(), (today - timedelta(days=1)).isoformat()
    evidence = ["--set", f"start_date={start}", "--set", f"end_date={end}", "--set", "posted_at=村委会公示栏",
                "--set", "objections=0"]
    ws = Workspace.open(db, readonly=True)
    try:
        from povdesk.core.procedures import next_steps

        due: dict[tuple[str, str], list[str]] = {}
        for hh in ws.iter_households():
            for spec, step in next_steps(hh):
                due.setdefault((spec.key, step.key), []).append(hh.household_no)
    finally:
        ws.close()
    todo = [(no, "identification", "announcement") for no in due[("identification", "announcement")][:1]]
    todo += [(no, "exit", "county_announcement") for no in due[("exit", "county_announcement")][:1]]
    assert len(todo) == 2, due  # the demo has a household waiting at every step
    for no, procedure, step in todo:
        code, _, err = run("step", db, no, procedure, step, "--date", today.isoformat(), *evidence, env=COUNTY)
        assert code == 0, err


def test_county_report_xlsx_adds_up_to_the_workspace(db: Path, run: Run, tmp_path: Path) -> None:
    record_this_year(db, run)
    year = TODAY.year
    want = truth(db, year)
    assert want["in_year"] == {"identified": 1, "exited": 1, "removed": 0}
    out = tmp_path / "county.xlsx"
    code, stdout, err = run("report", db, "--level", "county", "-o", out)
    assert code == 0, err
    assert f"{want['households']} households, {want['people']} people" in stdout
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "各乡镇", "各村"]
    rows = rows_of(wb["汇总"])
    assert "雷山县" in str(rows[0][0]) and f"统计年度：{year}" in str(rows[1][0])
    overview = dict((r[0], r[1]) for r in section(rows, "总体情况"))
    assert overview["户数"] == want["households"] and overview["人数"] == want["people"]
    assert overview[f"{year}年识别（户）"] == 1 and overview[f"{year}年脱贫（户）"] == 1
    assert overview[f"{year}年清退（户）"] == 0
    for title in ("按状态", "按贫困户属性", "按主要致贫原因"):
        body = section(rows, title)
        *parts, total = body
        assert total[0] == "合计" and total[1:] == [want["households"], want["people"]], title
        assert sum(int(r[1]) for r in parts) == want["households"], title  # type: ignore[arg-type]
        assert sum(int(r[2]) for r in parts) == want["people"], title  # type: ignore[arg-type]
    by_status = {r[0]: r[1] for r in section(rows, "按状态")}
    assert by_status["未脱贫"] == want["status"]["registered"]  # type: ignore[index]
    assert by_status["已脱贫"] == want["status"]["exited"]  # type: ignore[index]
    causes = [r[0] for r in section(rows, "按主要致贫原因")][:-1]
    assert causes[:len(code_list("poverty_cause").codes)] == [c.zh for c in code_list("poverty_cause").codes]

    villages = wb["各村"]
    assert villages.freeze_panes == "C2"
    assert villages.column_dimensions["A"].width >= 14
    header, *body = rows_of(villages)
    assert header[:4] == ["村代码", "村", "户数", "人数"] and header[-4:] == [f"{year}年识别", f"{year}年脱贫",
                                                                       f"{year}年清退", "监测对象"]
    *village_rows, total = body
    assert [r[0] for r in village_rows] == [VILLAGE] and village_rows[0][1] == "东门村"
    assert total[1] == "合计"
    col = {h: i for i, h in enumerate(header)}
    assert sum(r[col["户数"]] for r in village_rows) == total[col["户数"]] == want["households"]  # type: ignore[misc]
    assert total[col["人数"]] == want["people"]
    assert sum(total[col[h]] for h in header[4:-4]) == want["households"]  # type: ignore[misc]
    assert sum(r[col["监测对象"]] for r in village_rows) == total[col["监测对象"]]  # type: ignore[misc]
    assert total[col[f"{year}年识别"]] == 1 and total[col[f"{year}年脱贫"]] == 1
    townships = rows_of(wb["各乡镇"])
    assert townships[1][:4] == [VILLAGE[:9], "丹江镇", want["households"], want["people"]]


def test_report_of_another_year_and_the_village_level(db: Path, run: Run, tmp_path: Path) -> None:
    want = truth(db, 2018)
    out = tmp_path / "v.xlsx"
    code, stdout, err = run("report", db, "--year", "2018", "-o", out)  # the workspace is a village
    assert code == 0, err
    assert (f"in 2018 identified {want['in_year']['identified']}, exited {want['in_year']['exited']}, "  # type: ignore[index]
            f"removed {want['in_year']['removed']}") in stdout  # type: ignore[index]
    assert load_workbook(out).sheetnames == ["汇总"]  # no per-village rows for one village
    code, _, err = run("report", db, "--level", "township", "--region", VILLAGE, "-o", tmp_path / "t.xlsx")
    assert code == 0, err
    assert load_workbook(tmp_path / "t.xlsx").sheetnames == ["汇总", "各村"]


def test_report_pdf_has_labels_and_totals_in_the_embedded_font(db: Path, run: Run, tmp_path: Path) -> None:
    want = truth(db, 2018)
    out = tmp_path / "county.pdf"
    code, _, err = run("report", db, "--level", "county", "--year", "2018", "-o", out)
    assert code == 0, err
    text = pdftext(out)
    for label in ("建档立卡统计表", "雷山县", "总体情况", "按状态", "按贫困户属性", "按主要致贫原因", "各乡镇", "各村",
                  "东门村", "丹江镇", "2018年识别", "合计", "防止返贫监测", "按监测对象类型", "边缘易致贫户",
                  "按风险类型（一户可有多项）", "因病", "风险已消除按消除方式", "帮扶消除", "监测对象"):
        assert label in text, label
    assert re.search(r"第\s*1\s*页\s*共\s*4\s*页", text)  # the summary (two pages), townships, villages
    assert re.search(rf"^户数\s+{want['households']}$", text, re.M)
    assert re.search(rf"^人数\s+{want['people']}$", text, re.M)
    assert re.search(rf"^2018年脱贫（户）\s+{want['in_year']['exited']}$", text, re.M)  # type: ignore[index]
    assert re.search(rf"^合计\s+{want['households']}\s+{want['people']}$", text, re.M)
    fonts = [line for line in pdffonts(out) if "NotoSansSC" in line]
    assert fonts and all(" yes yes " in line for line in fonts), fonts


def test_report_refuses_bad_input_and_writes_nothing(db: Path, run: Run, tmp_path: Path) -> None:
    code, _, err = run("report", db, "-o", tmp_path / "r.txt")
    assert code == 2 and ".xlsx or .pdf" in err
    code, _, err = run("report", db, "--level", "village", "--region", VILLAGE[:6], "-o", tmp_path / "r.pdf")
    assert code == 2 and "12-digit" in err
    code, _, err = run("report", db, "--year", "18", "-o", tmp_path / "r.pdf")
    assert code == 2
    assert not list(tmp_path.glob("r.*"))
