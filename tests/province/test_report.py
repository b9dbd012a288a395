"""`povdesk report --level province|city` from the province registry: the xlsx read back and the
PDF parsed back (pdftotext), the numbers checked against each county's own report and against the
households the counties hold; a report of another province or of a city outside it is refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from povdesk.cli import main
from povdesk.province import db, export, registry
from povdesk.province.report import build_province_report
from povdesk.reports.report import build_report
from tests.province.conftest import CLOCK, TODAY, CountySite, Province, join, make_county

YEAR = "2019"  # the demo histories have identifications and exits that year


def _sheet(path: Path, name: str) -> list[list[object]]:
    wb = load_workbook(path, read_only=True)
    try:
        return [list(r) for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()


@pytest.fixture
def loaded(province: Province, counties: list[CountySite], tmp_path: Path) -> list[CountySite]:
    third = make_county(tmp_path, "520102", 20, 5)  # 贵阳市南明区: another city
    join(province, third)
    sites = [*counties, third]
    # A quality problem to rank by: a household of 南明区 without a main cause.
    hh = third.ws.load_household(third.ws.household_ids()[0])
    hh.fields.pop("main_cause", None)
    third.ws.save_household(hh, third.user)
    engine = province.engine()
    try:
        for s in sites:
            registry.load_bundle(engine, export.export_province_bundle(s.ws, s.user, tmp_path / f"{s.code}.pvb").path,
                                 CLOCK)
    finally:
        engine.dispose()
    yield sites
    third.ws.close()


def _report(*args: str) -> int:
    return main(["--today", TODAY.isoformat(), "report", *args, "--year", YEAR])


def test_province_report_as_xlsx_matches_the_counties(province: Province, loaded: list[CountySite],
                                                      tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "province.xlsx"
    assert _report("--level", "province", "--database", province.url, "-o", str(out)) == 0
    own = {s.code: build_report(s.ws, today=TODAY, year=int(YEAR)) for s in loaded}
    households = sum(r.summary.households for r in own.values())
    people = sum(r.summary.people for r in own.values())
    assert f"{households} households, {people} people" in capsys.readouterr().out

    overview = _sheet(out, "汇总")
    assert overview[0][0] == "贵州省建档立卡统计表"
    values = {r[0]: r[1] for r in overview if r and r[0] in ("户数", "人数")}
    assert values == {"户数": households, "人数": people}

    counties = _sheet(out, "各县")
    header = counties[0]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in counties[1:] if r[0]}
    assert set(rows) == {"522633", "522634", "520102"}
    assert rows["522634"]["县"] == "雷山县" and counties[-1][1] == "合计"
    for code, rep in own.items():
        row = rows[code]
        assert (row["户数"], row["人数"]) == (rep.summary.households, rep.summary.people)
        for label, kind in (("识别", "identified"), ("脱贫", "exited"), ("清退", "removed")):
            assert row[f"{YEAR}年{label}"] == rep.in_year[kind], (code, label)
    assert sum(r.in_year["identified"] + r.in_year["exited"] for r in own.values()) > 0
    cities = _sheet(out, "各市州")
    assert [(r[0], r[1]) for r in cities[1:]] == [("5201", "贵阳市"), ("5226", "黔东南苗族侗族自治州"), (None, "合计")]
    assert cities[2][2] == own["522633"].summary.households + own["522634"].summary.households

    # Data quality: each county's problem households are those the loader's checks or a flag find.
    quality = _sheet(out, "各县数据质量")
    qh = quality[0]
    q = {r[0]: dict(zip(qh, r, strict=True)) for r in quality[1:] if r[0]}
    for s in loaded:
        hhs = s.ws.load_households(s.ws.household_ids()).values()
        expected = sum(1 for h in hhs if registry.issues(h))
        assert q[s.code]["问题户"] == expected, s.code
        assert q[s.code]["缺主要致贫原因"] == sum(1 for h in hhs if registry.issues(h) & db.ISSUES["no_main_cause"])
    assert q["520102"]["缺主要致贫原因"] >= 1
    shares = [float(str(r[4]).rstrip("%")) for r in quality[1:] if r[0]]
    assert shares == sorted(shares) and [r[5] for r in quality[1:] if r[0]] == [1, 2, 3]

    # 防止返贫监测 adds up to the counties' own, state by state, type by type, risk by risk.
    mine = [r.monitoring for r in own.values()]
    assert all(m is not None for m in mine)
    engine = province.engine()
    try:
        theirs = build_province_report(engine, "province", today=TODAY, year=int(YEAR)).monitoring
    finally:
        engine.dispose()
    assert theirs is not None and theirs.objects == sum(m.objects for m in mine) > 0  # type: ignore[union-attr]

    def added(attr: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in mine:
            for k, v in getattr(m, attr).items():
                out[k] = out.get(k, 0) + v
        return out

    for attr in ("by_type", "people_by_type", "by_risk", "by_state", "by_mode", "in_year"):
        assert getattr(theirs, attr) == added(attr), attr
    assert set(theirs.by_state) >= {"identifying", "monitored", "eliminating"}
    assert theirs.overdue == tuple(sorted(h for m in mine for h in m.overdue))  # type: ignore[union-attr]
    sheet = {r[0]: r[1] for r in overview if r and isinstance(r[0], str)}
    assert sheet["监测对象（户）"] == theirs.objects and sheet["识别中（户）"] == theirs.by_state["identifying"]


def test_city_report_as_pdf_and_the_scope(province: Province, loaded: list[CountySite], tmp_path: Path,
                                          capsys) -> None:  # type: ignore[no-untyped-def]
    xlsx = tmp_path / "city.xlsx"
    assert _report("--level", "city", "--region", "522634", "--database", province.url, "-o", str(xlsx)) == 0
    wb = load_workbook(xlsx, read_only=True)
    assert "各市州" not in wb.sheetnames and "各县数据质量" in wb.sheetnames
    wb.close()
    assert {r[0] for r in _sheet(xlsx, "各县")[1:] if r[0]} == {"522633", "522634"}

    if shutil.which("pdftotext") is None:
        pytest.skip("needs pdftotext")
    pdf = tmp_path / "city.pdf"
    assert _report("--level", "city", "--region", "5226", "--database", province.url, "-o", str(pdf)) == 0
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "黔东南苗族侗族自治州建档立卡统计表" in text
    for needle in ("各县数据质量", "雷山县", "从江县", "按主要致贫原因", "问题户"):
        assert needle in text, needle
    assert "南明区" not in text

    # Another province, a city outside this one, no database: one line, exit 2.
    capsys.readouterr()
    for args, needle in ((["--level", "province", "--region", "53"], "holds province 52 only"),
                         (["--level", "city", "--region", "5301"], "holds province 52 only"),
                         (["--level", "city", "--region", "52"], "at least 4 digits")):
        assert _report(*args, "--database", province.url, "-o", str(tmp_path / "x.xlsx")) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1
    assert _report("--level", "province", "-o", str(tmp_path / "x.xlsx")) == 2
    assert "--database" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()


def test_an_older_database_gains_the_monitoring_index_at_init(province: Province,
                                                               loaded: list[CountySite]) -> None:
    """A province database made before the monitoring tables' index: `province init` again adds it,
    and the monitoring households read are the same with it as without it."""
    from sqlalchemy import text

    from povdesk.core import monitoring as mon
    from povdesk.core.procedures import VOID

    engine = province.engine()
    try:
        with engine.begin() as conn:
            before = db.monitoring_households(conn, "52", mon.PROCEDURES, VOID)
            conn.execute(text("DROP INDEX province_households_monitoring"))
        registry.init(engine)
        with engine.begin() as conn:
            names = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename LIKE "
                                          "'province_households%'")).scalars())
            after = db.monitoring_households(conn, "52", mon.PROCEDURES, VOID)
    finally:
        engine.dispose()
    assert "province_households_monitoring" in names
    assert before == after and before[0], "no monitoring household in the demo counties"
