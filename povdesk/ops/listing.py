"""The household list's search: the households a query finds, as list rows under the list's filters, counted and paged."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

from povdesk.store import HouseholdRow, Workspace
from povdesk.store import search as search_index

Interrupt = search_index.Interrupt  # count_found(..., interrupt=) stops when called: InterruptedError
VOIDED = search_index.VOIDED  # the status filter's value that lists the voided households, and only them


@dataclass(frozen=True, slots=True)
class FoundHousehold:
    """One household a search found: its list row, and the member whose name or ID number matched
    (None when the household number did)."""

    row: HouseholdRow  # row.cursor is what to pass as `after` for the next page
    found_member: str | None


@dataclass(frozen=True, slots=True)
class ListFilters:
    village_prefix: str | None = None
    status: str | None = None
    attribute: str | None = None
    main_cause: str | None = None


def find_households(ws: Workspace, query: str, filters: ListFilters, *, after: tuple[str, ...] | None = None,
                    limit: int = 200) -> list[FoundHousehold]:
    """One page (household-number order) of the households whose member names, pinyin initials,
    ID numbers or household number (anywhere in it) match the query, under the list's filters."""
    # sync_read is the workspace's one public read snapshot: the page is read at one moment.
    with ws.sync_read() as c:
        rows = search_index.search_rows(c, query, village_prefix=filters.village_prefix, status=filters.status,
                                        attribute=filters.attribute, main_cause=filters.main_cause,
                                        after=after[0] if after else None, limit=limit)
    return [FoundHousehold(HouseholdRow(r[0], r[1], r[2], r[3] or "", r[4], r[5], r[6], r[7] or 0, cursor=(r[1],)),
                           r[8]) for r in rows]


def count_found(ws: Workspace, query: str, filters: ListFilters, *, interrupt: Interrupt | None = None) -> int:
    """How many households find_households lists over all its pages (with no query: the whole list
    under the filters). `interrupt`, called from another thread, stops it (InterruptedError)."""
    with ws.sync_read() as c, interrupt.watching(c) if interrupt is not None else nullcontext():
        return search_index.search_count(c, query, village_prefix=filters.village_prefix, status=filters.status,
                                         attribute=filters.attribute, main_cause=filters.main_cause)
