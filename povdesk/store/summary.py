"""Aggregate counts for the dashboard and summary reports, computed in SQL (a county is 100,000 households)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from povdesk.core.model import Household
from povdesk.core.monitoring import MonitoringSummary
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


def monitoring_summary(ws: Workspace, village_prefix: str | None, today: date,
                       year: int | None = None) -> MonitoringSummary:
    """Reads only the households that have a monitoring type or a monitoring step (a small share of
    a county), then tallies them with core.monitoring and the workspace's own thresholds and time
    limits (store.thresholds)."""
    from povdesk.core import monitoring as mon
    from povdesk.store.thresholds import workspace_thresholds

    where, args = _filters(village_prefix)
    marks = ", ".join("?" for _ in mon.PROCEDURES)
    conds = [f"(json_extract(fields, '$.monitoring_type') IS NOT NULL OR id IN "
             f"(SELECT household_id FROM events WHERE procedure IN ({marks})))", *where]
    with ws._read(tr("统计监测对象", "counting monitoring objects")) as conn:
        ids = [str(r[0]) for r in conn.execute(
            f"SELECT id FROM households WHERE {' AND '.join(conds)} ORDER BY household_no",
            [*mon.PROCEDURES, *args])]

    def households() -> Iterator[Household]:
        for start in range(0, len(ids), 500):
            yield from ws.load_households(ids[start:start + 500]).values()

    return mon.tally(households(), today, year or today.year, workspace_thresholds(ws))
