"""Checking a whole workspace, and bringing a check up to date after a few households changed."""

from __future__ import annotations

import pytest

from povdesk.core.model import HEAD_RELATION
from povdesk.errors import Cancelled
from povdesk.ops.households import save_household
from povdesk.ops.procedures import record_step
from povdesk.ops.scan import ScanResult, rescan, scan
from povdesk.store import Workspace
from tests.ops.conftest import VILLAGE_HOUSEHOLDS, account, days_after_last_event, household_at, publicity


def _quiet(_done: int, _total: int) -> None:
    pass


def _scan(ws: Workspace) -> ScanResult:
    return scan(ws, None, _quiet, lambda: False)


def test_a_scan_sees_every_household_and_the_step_each_awaits(village: Workspace) -> None:
    result = _scan(village)
    assert result.households == VILLAGE_HOUSEHOLDS
    waiting = household_at(village, "identification", "township_review")
    assert waiting.id in result.due["identification.township_review"]
    assert not result.with_warnings & result.with_errors


def test_rescan_after_changes_is_what_a_fresh_scan_finds(village: Workspace) -> None:
    worker = account(village, "worker")
    before = _scan(village)
    stepped = household_at(village, "identification", "first_publicity")
    a, b, c = [hh for hh in village.iter_households()
               if hh.id not in before.with_errors | {stepped.id} and len(hh.members) > 1][:3]

    # a: two heads (its own error); b and c: one person in both (an across-household error)
    for m in a.members[1:2]:
        m.fields["relation"] = HEAD_RELATION
    save_household(village, worker, a)
    own_number = c.members[-1].fields["id_number"]
    c.members[-1].fields["id_number"] = b.members[0].fields["id_number"]
    save_household(village, worker, c)
    day = days_after_last_event(stepped)
    record_step(village, worker, stepped, "identification", "first_publicity", date=day(8),
                evidence=publicity(day(1), day(7)))

    after = rescan(village, before, {a.id, c.id, stepped.id})
    assert after == _scan(village)
    assert {a.id, b.id, c.id} <= after.with_errors
    assert a.id in after.own_errors and {b.id, c.id} <= after.cross_errors
    assert stepped.id in after.due["identification.township_review"]
    assert stepped.id not in after.due.get("identification.first_publicity", frozenset())

    # Mended: c's member gets their own number back, and b is no longer flagged although b did not change.
    c = village.load_household(c.id)
    c.members[-1].fields["id_number"] = own_number
    save_household(village, worker, c)
    mended = rescan(village, after, {c.id})
    assert mended == _scan(village)
    assert b.id not in mended.with_errors and c.id not in mended.with_errors


def test_a_cancelled_scan_stops(village: Workspace) -> None:
    with pytest.raises(Cancelled):
        scan(village, None, _quiet, lambda: True)
