"""Aggregate counts for the dashboard and summary reports, computed in SQL (a county is 100,000 households)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from povdesk.i18n import tr
from povdesk.store.households import _filters

if TYPE_CHECKING:
    from povdesk.store.workspace import Workspace


@dataclass(frozen=True)
class Summary:
    households: int
    people: int
    by_status: dict[str, int] = field(default_factory=dict)
    people_by_status: dict[str, int] = field(default_factory=dict)
    by_attribute: dict[str, int] = field(default_factory=dict)
    by_main_cause: dict[str, int] = field(default_factory=dict)
    people_by_attribute: dict[str, int] = field(default_factory=dict)
    people_by_main_cause: dict[str, int] = field(default_factory=dict)
    # procedure -> step -> households that performed it (the identification and exit funnels)
    funnel: dict[str, dict[str, int]] = field(default_factory=dict)


def summarize(ws: Workspace, village_prefix: str | None = None) -> Summary:
    where, args = _filters(village_prefix)
    cond = f"WHERE {' AND '.join(where)}" if where else ""
    with ws._guard(tr("统计", "counting")):
        conn = ws._conn

        def grouped(column: str, value: str = "count(*)") -> dict[str, int]:
            rows = conn.execute(f"SELECT {column}, {value} FROM households {cond} GROUP BY {column}", args)
            return {str(k) if k is not None else "": int(v or 0) for k, v in rows}

        by_status = grouped("status")
        people_by_status = grouped("status", "sum(member_count)")
        funnel: dict[str, dict[str, int]] = {}
        events_cond = (f"WHERE e.household_id IN (SELECT id FROM households {cond})" if where else "")
        for procedure, step, n in conn.execute(
                f"SELECT e.procedure, e.step, count(DISTINCT e.household_id) FROM events e {events_cond} "
                "GROUP BY e.procedure, e.step", args):
            funnel.setdefault(procedure, {})[step] = int(n)
        return Summary(
            households=sum(by_status.values()),
            people=sum(people_by_status.values()),
            by_status=by_status,
            people_by_status=people_by_status,
            by_attribute=grouped("attribute"),
            by_main_cause=grouped("main_cause"),
            people_by_attribute=grouped("attribute", "sum(member_count)"),
            people_by_main_cause=grouped("main_cause", "sum(member_count)"),
            funnel=funnel,
        )


# The step whose date counts a household as identified, exited or removed in a year: the step that
# makes the decision public or final (identification: the announcement 公告; exit: the county's
# announcement; removal: the county's approval).
YEAR_STEPS: dict[str, tuple[str, str]] = {
    "identified": ("identification", "announcement"),
    "exited": ("exit", "county_announcement"),
    "removed": ("removal", "county_approval"),
}


@dataclass(frozen=True)
class VillageCounts:
    """One village's row of a summary report."""

    village_code: str
    households: int = 0
    people: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    people_by_status: dict[str, int] = field(default_factory=dict)
    # identified / exited / removed in the year asked for (see YEAR_STEPS)
    in_year: dict[str, int] = field(default_factory=dict)


def changes_in_year(ws: Workspace, village_prefix: str | None, year: int) -> dict[str, dict[str, int]]:
    """village code -> {"identified", "exited", "removed"} -> households whose deciding step
    (YEAR_STEPS) is dated in `year`; a household is counted once per kind however often recorded."""
    where, args = _filters(village_prefix)
    conds = ["e.procedure = ?", "e.step = ?", "e.date >= ?", "e.date < ?"]
    conds += where  # households.village_code: events have no such column, so it is unambiguous
    sql = ("SELECT h.village_code, count(DISTINCT e.household_id) FROM events e "
           "JOIN households h ON h.id = e.household_id "
           f"WHERE {' AND '.join(conds)} GROUP BY h.village_code")
    out: dict[str, dict[str, int]] = {}
    with ws._read(tr("统计本年变动", "counting the year's changes")) as conn:
        for kind, (procedure, step) in YEAR_STEPS.items():
            bounds = [procedure, step, f"{year:04d}-01-01", f"{year + 1:04d}-01-01"]
            for village, n in conn.execute(sql, bounds + args):
                out.setdefault(str(village), {k: 0 for k in YEAR_STEPS})[kind] = int(n)
    return out


def village_counts(ws: Workspace, village_prefix: str | None, year: int) -> list[VillageCounts]:
    """One row per village that has households under `village_prefix`, in code order: households and
    people by status, and the year's identified / exited / removed (one GROUP BY each)."""
    where, args = _filters(village_prefix)
    cond = f"WHERE {' AND '.join(where)}" if where else ""
    with ws._read(tr("按村统计", "counting by village")) as conn:
        rows = conn.execute(f"SELECT village_code, status, count(*), sum(member_count) FROM households {cond} "
                            "GROUP BY village_code, status ORDER BY village_code", args).fetchall()
        changes = changes_in_year(ws, village_prefix, year)
    by_village: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for village, status, n, people in rows:
        hh, pp = by_village.setdefault(str(village), ({}, {}))
        hh[str(status)] = int(n)
        pp[str(status)] = int(people or 0)
    empty = {k: 0 for k in YEAR_STEPS}
    return [VillageCounts(village, sum(hh.values()), sum(pp.values()), hh, pp, changes.get(village, dict(empty)))
            for village, (hh, pp) in sorted(by_village.items())]


@dataclass(frozen=True)
class MonitoringSummary:
    """防止返贫动态监测 in a region: the monitoring objects by type and risk, where each household
    stands in monitoring (core.monitoring.MONITORING_STATES), the identifications and risk
    eliminations completed in `year`, and the identifications past their time limit on `today`."""

    objects: int = 0  # households with a monitoring type
    people: int = 0  # their members
    by_type: dict[str, int] = field(default_factory=dict)
    people_by_type: dict[str, int] = field(default_factory=dict)
    by_risk: dict[str, int] = field(default_factory=dict)  # a household counts once per risk it has
    by_state: dict[str, int] = field(default_factory=dict)  # "none" left out
    by_mode: dict[str, int] = field(default_factory=dict)  # elimination mode of the eliminated
    overdue: tuple[str, ...] = ()  # household ids
    year: int = 0
    in_year: dict[str, int] = field(default_factory=dict)  # "identified", "eliminated": completed in `year`
    by_village: dict[str, int] = field(default_factory=dict)  # monitoring objects per village code


def monitoring_summary(ws: Workspace, village_prefix: str | None, today: date,
                       year: int | None = None) -> MonitoringSummary:
    """Reads only the households that have a monitoring type or a monitoring step (a small share of
    a county), then judges them with core.monitoring and the workspace's own thresholds and time
    limits (store.thresholds)."""
    from povdesk.core import monitoring as mon
    from povdesk.core.procedures import effective, load_procedures
    from povdesk.store.thresholds import workspace_thresholds

    year = year or today.year
    table = workspace_thresholds(ws)
    specs = load_procedures()
    where, args = _filters(village_prefix)
    marks = ", ".join("?" for _ in mon.PROCEDURES)
    conds = [f"(json_extract(fields, '$.monitoring_type') IS NOT NULL OR id IN "
             f"(SELECT household_id FROM events WHERE procedure IN ({marks})))", *where]
    with ws._read(tr("统计监测对象", "counting monitoring objects")) as conn:
        ids = [str(r[0]) for r in conn.execute(
            f"SELECT id FROM households WHERE {' AND '.join(conds)} ORDER BY household_no",
            [*mon.PROCEDURES, *args])]
    by_type: dict[str, int] = {}
    people_by_type: dict[str, int] = {}
    by_risk: dict[str, int] = {}
    by_state: dict[str, int] = {}
    by_mode: dict[str, int] = {}
    by_village: dict[str, int] = {}
    in_year = {"identified": 0, "eliminated": 0}
    overdue: list[str] = []
    objects = people = 0
    prefix = str(year)
    for start in range(0, len(ids), 500):
        for hid, hh in ws.load_households(ids[start:start + 500]).items():
            facts = mon.facts(hh)
            if facts.is_object:
                assert facts.object_type is not None
                objects += 1
                people += len(hh.members)
                by_type[facts.object_type] = by_type.get(facts.object_type, 0) + 1
                people_by_type[facts.object_type] = people_by_type.get(facts.object_type, 0) + len(hh.members)
                by_village[hh.village_code] = by_village.get(hh.village_code, 0) + 1
                for risk in dict.fromkeys(facts.risks):
                    by_risk[risk] = by_risk.get(risk, 0) + 1
            state = mon.monitoring_state(hh)
            if state != "none":
                by_state[state] = by_state.get(state, 0) + 1
            mode = mon.elimination_mode(hh) if state == "eliminated" else None
            if mode is not None:
                by_mode[mode] = by_mode.get(mode, 0) + 1
            done = {e.procedure for e in effective(hh.events)
                    if e.procedure in mon.PROCEDURES and e.procedure in specs
                    and e.step == specs[e.procedure].last.key and str(e.date).startswith(prefix)}
            in_year["identified"] += bool(done & set(mon.IDENTIFICATIONS))
            in_year["eliminated"] += bool(done & set(mon.ELIMINATIONS))
            if mon.is_overdue(hh, today, table):
                overdue.append(hid)
    return MonitoringSummary(objects, people, by_type, people_by_type, by_risk, by_state, by_mode,
                             tuple(sorted(overdue)), year, in_year, by_village)
