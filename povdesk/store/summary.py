"""Aggregate counts for the dashboard and summary reports, computed in SQL (a county is 100,000 households)."""

from __future__ import annotations

from dataclasses import dataclass, field
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
            funnel=funnel,
        )
