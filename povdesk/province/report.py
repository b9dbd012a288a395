"""Summary reports of the province or one of its cities (市州) from the province registry.

The same report as a county's (povdesk.reports.report): households and people by status,
attribute and main cause, the households identified, exited and removed in a year, written as
xlsx or PDF by the same writers. Above county level, one row per city (province level) and per
county, and a data-quality table per county, ranked: the households with a problem found at load
(no attribute, no main cause, a member without an ID number, an ID number whose birth date or sex is
not the recorded one, not exactly one head) or a cross-county flag, over all its households;
rank 1 has the smallest share.

The province database serves one province (its keys name it): a report of another province, or of
a city outside it, is refused. The numbers are a few GROUP BY queries (povdesk.province.db).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from povdesk.core.monitoring import MonitoringSummary
from povdesk.core.regions import lookup
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.province import db
from povdesk.reports.report import (
    LEVEL_ZH,
    SummaryReport,
    Table,
    count_header,
    count_row,
)
from povdesk.store.summary import YEAR_STEPS, Summary, VillageCounts

LEVELS = {"province": 2, "city": 4}
CITY_SHEET, COUNTY_SHEET, QUALITY_SHEET = "各市州", "各县", "各县数据质量"
QUALITY_HEADER = ["县代码", "县", "户数", "问题户", "问题户占比", "质量排名", "缺贫困户属性", "缺主要致贫原因",
                  "有成员缺身份证号", "身份证号与出生日期或性别不符", "户主不是一人", "跨县标记户", "最近报送"]
ISSUE_ORDER = ("no_attribute", "no_main_cause", "member_without_id", "id_mismatch", "not_one_head")


def _name(code: str) -> str:
    region = lookup(code)
    return region.name if region else code


def report_scope(engine: Engine, level: str, region: str | None) -> tuple[str, str]:
    """(level, prefix) of a report: the province of the database, or a city (4 digits) of it."""
    if level not in LEVELS:
        raise BadInput(tr("省级库的统计层级应为 province 或 city：“{l}”", "a province report's level is province or "
                          "city: '{l}'", l=level))
    with engine.connect() as conn:
        db.require_schema(conn)
        k = db.get_keys(conn)
    if k is None:
        raise BadInput(tr("还没有省级密钥：请先运行 povdesk province keys", "there are no province keys yet: run "
                          "povdesk province keys first"))
    own = k.region_code
    code = (region or own).strip()
    if not code.isdigit() or len(code) < LEVELS[level]:
        raise BadInput(tr("{lz}级统计表需要至少 {n} 位的区划代码（--region）：“{c}”",
                          "a {l} report needs a region code of at least {n} digits (--region): '{c}'",
                          lz=LEVEL_ZH[level], l=level, n=LEVELS[level], c=code))
    code = code[:LEVELS[level]]
    if not code.startswith(own):
        raise BadInput(tr("本数据库只有省 {p} 的数据，不能统计 {c}", "this database holds province {p} only; it "
                          "cannot report on {c}", p=own, c=code))
    return level, code


@dataclass(frozen=True)
class _Counts:
    summary: Summary
    counties: list[VillageCounts]


def _counts(groups: list[tuple[str, str, str | None, str | None, int, int]],
            changes: dict[str, dict[str, int]]) -> _Counts:
    maps: list[dict[str, int]] = [{} for _ in range(6)]
    per: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    total_hh = total_people = 0
    for county, status, attribute, cause, n, people in groups:
        total_hh += n
        total_people += people
        for i, key in enumerate((status, attribute or "", cause or "")):
            maps[2 * i][key] = maps[2 * i].get(key, 0) + n
            maps[2 * i + 1][key] = maps[2 * i + 1].get(key, 0) + people
        hh_, pp_ = per.setdefault(county, ({}, {}))
        hh_[status] = hh_.get(status, 0) + n
        pp_[status] = pp_.get(status, 0) + people
    s = Summary(total_hh, total_people, by_status=maps[0], people_by_status=maps[1], by_attribute=maps[2],
                people_by_attribute=maps[3], by_main_cause=maps[4], people_by_main_cause=maps[5])
    empty = {k: 0 for k in YEAR_STEPS}
    counties = [VillageCounts(c, sum(hh.values()), sum(pp.values()), hh, pp, changes.get(c, dict(empty)))
                for c, (hh, pp) in sorted(per.items())]
    return _Counts(s, counties)


def _merge(code: str, rows: list[VillageCounts]) -> VillageCounts:
    by_status: dict[str, int] = {}
    people: dict[str, int] = {}
    in_year = {k: 0 for k in YEAR_STEPS}
    for r in rows:
        for src, dst in ((r.by_status, by_status), (r.people_by_status, people), (r.in_year, in_year)):
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v
    return VillageCounts(code, sum(r.households for r in rows), sum(r.people for r in rows), by_status, people,
                         in_year)


def _count_table(title: str, kind: str, year: int, rows: list[VillageCounts], region: str) -> Table:
    body = [count_row(r, _name(r.village_code)) for r in rows]
    return Table(title, count_header(kind, year), body + [count_row(_merge(region, rows), "合计")], key_columns=2)


def _share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "0.0%"


def quality_table(quality: dict[str, dict[str, int | str]]) -> Table:
    """One row per county, the smallest share of households with a problem first (rank 1)."""
    def share(q: dict[str, int | str]) -> float:
        return int(q["problem"]) / int(q["households"]) if q["households"] else 0.0

    ranked = sorted(quality.items(), key=lambda kv: (share(kv[1]), kv[0]))
    rows: list[list[object]] = []
    total = {k: 0 for k in ("households", "problem", *ISSUE_ORDER, "flagged")}
    for rank, (county, q) in enumerate(ranked, 1):
        rows.append([county, _name(county), q["households"], q["problem"],
                     _share(int(q["problem"]), int(q["households"])), rank, *[q[k] for k in ISSUE_ORDER],
                     q["flagged"], str(q["last_loaded"])[:10]])
        for k in total:
            total[k] += int(q[k])
    rows.append(["", "合计", total["households"], total["problem"], _share(total["problem"], total["households"]), "",
                 *[total[k] for k in ISSUE_ORDER], total["flagged"], ""])
    return Table(QUALITY_SHEET, QUALITY_HEADER, rows, key_columns=2)


def build_province_report(engine: Engine, level: str, region: str | None = None, *, today: date,
                          year: int | None = None) -> SummaryReport:
    level, code = report_scope(engine, level, region)
    year = year or today.year
    with engine.connect() as conn:
        groups = db.household_groups(conn, code)
        changes = db.year_changes(conn, code, YEAR_STEPS, year)
        quality = db.quality_counts(conn, code)
    counts = _counts(groups, changes)
    total = _merge(code, counts.counties)
    report = SummaryReport(level=level, region=code, region_name=_name(code), year=year, today=today,
                           summary=counts.summary, in_year=total.in_year,
                           monitoring=_monitoring(engine, code, today, year))
    if level == "province":
        cities: dict[str, list[VillageCounts]] = {}
        for r in counts.counties:
            cities.setdefault(r.village_code[:4], []).append(r)
        report.extra.append(_count_table(CITY_SHEET, "市州", year, [_merge(c, rows) for c, rows in
                                                                  sorted(cities.items())], code))
    report.extra.append(_count_table(COUNTY_SHEET, "县", year, counts.counties, code))
    report.extra.append(quality_table({c: dict(q) for c, q in quality.items()}))
    return report


def _monitoring(engine: Engine, code: str, today: date, year: int) -> MonitoringSummary:
    """防止返贫动态监测 of the region, counted as a county counts its own (core.monitoring.tally)
    from the households the province holds and their monitoring steps, by the bundled thresholds
    and time limits."""
    from povdesk.core import monitoring as mon
    from povdesk.core.model import Household, Member, ProcedureEvent
    from povdesk.core.procedures import VOID

    with engine.connect() as conn:
        rows, steps = db.monitoring_households(conn, code, mon.PROCEDURES, VOID)
    nobody = Member()  # only the number of members counts

    def households() -> Iterator[Household]:
        for county, hid, village, fields, members in rows:
            events = [ProcedureEvent(procedure=e["procedure"], step=e["step"], date=e["step_date"], role=e["role"],
                                     user=e["user_name"], evidence=dict(e["evidence"]), id=e["event_id"])
                      for e in steps.get((county, hid), [])]
            yield Household(village_code=village, id=hid, fields=fields, members=[nobody] * members, events=events)

    return mon.tally(households(), today, year)
