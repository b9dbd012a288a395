"""Voiding a household registered by mistake, and the county restoring it, through povdesk.ops on a real workspace."""

from __future__ import annotations

import pytest

from povdesk.core.model import VOIDED_FIELD, void_mark
from povdesk.errors import BadInput, NotPermitted
from povdesk.ops.households import creator_role, restore_household, void_household
from povdesk.ops.listing import ListFilters, count_found, find_households
from povdesk.ops.scan import scan
from povdesk.store import Workspace
from povdesk.store.households import VOIDED
from povdesk.store.summary import summarize
from tests.ops.conftest import TODAY, account


def _by_creator(ws: Workspace, role: str | None):  # noqa: ANN202
    return next(h for h in ws.iter_households() if creator_role(h) == role)


def test_a_voided_household_is_kept_marked_audited_and_left_out(village: Workspace) -> None:
    worker = account(village, "worker")
    hh = _by_creator(village, "village_worker")
    before = village.count_households()
    people = summarize(village).people
    done = void_household(village, worker, hh, "  重复登记，与另一户是同一家  ")
    assert done.changes.households_removed and done.changes.household_ids == {hh.id}
    stored = village.load_household(hh.id)  # kept, with who, when and why
    mark = void_mark(stored)
    assert mark is not None and mark["reason"] == "重复登记，与另一户是同一家"
    assert mark["user"] == "worker" and mark["role"] == "village_worker" and mark["date"] == TODAY.isoformat()
    assert VOIDED_FIELD not in hh.fields  # the caller's copy is left alone
    # left out of the list, counts, search, the dashboard and the check; the voided filter shows it
    assert village.count_households() == before - 1
    assert hh.id not in {h.id for h in village.iter_households()}
    assert hh.id not in {r.id for r in village.list_households(limit=1000)}
    assert [r.id for r in village.list_households(status=VOIDED)] == [hh.id]
    assert village.count_households(status=VOIDED) == 1
    assert summarize(village).households == before - 1
    assert summarize(village).people < people
    assert scan(village, None, lambda *_: None, lambda: False).households == before - 1
    head = hh.head_name
    assert hh.id not in {f.row.id for f in find_households(village, head, ListFilters())}
    assert [f.row.id for f in find_households(village, head, ListFilters(status=VOIDED))] == [hh.id]
    assert count_found(village, "", ListFilters(status=VOIDED)) == 1
    entries = village.audit_entries(hh.id)
    assert any(e.field and VOIDED_FIELD in e.field for e in entries)


def test_who_may_void_and_restore(village: Workspace) -> None:
    worker, township, county = (account(village, n) for n in ("worker", "township", "county"))
    hh = _by_creator(village, "village_worker")
    with pytest.raises(BadInput, match="原因|reason"):
        void_household(village, worker, hh, "   ")
    with pytest.raises(NotPermitted):
        void_household(village, account(village, "admin"), hh, "错")
    done = void_household(village, township, hh, "不存在的户")  # a higher level may
    with pytest.raises(BadInput, match="已经作废|already voided"):
        void_household(village, worker, done.household, "again")
    with pytest.raises(NotPermitted, match="县|county"):  # a village workspace cannot restore
        restore_household(village, county, done.household, "弄错了")


def test_a_village_worker_cannot_void_what_the_township_registered(village: Workspace) -> None:
    worker = account(village, "worker")
    hh = _by_creator(village, "village_worker")
    hh.events[0].role = "township_official"  # as if the township had registered it
    with pytest.raises(NotPermitted, match="乡镇|township"):
        void_household(village, worker, hh, "重复")


def test_voiding_a_duplicate_clears_the_duplicate_finding(village: Workspace) -> None:
    """A household entered twice: both carry the duplicate-person error until the second is voided."""
    import copy

    from povdesk.core.model import Household, Member, new_id
    from povdesk.ops.households import save_household
    from povdesk.ops.scan import rescan

    worker = account(village, "worker")
    original = _by_creator(village, "village_worker")
    twice = Household(village_code=original.village_code, fields=copy.deepcopy(original.fields),
                      members=[Member(id=new_id(), fields=dict(m.fields)) for m in original.members])
    twice.fields.pop("own_no", None)
    again = save_household(village, worker, twice).household

    def check():  # noqa: ANN202
        return scan(village, None, lambda *_: None, lambda: False)

    first = check()
    assert {original.id, again.id} <= first.cross_errors
    void_household(village, worker, again, "同一户登记了两次")
    assert original.id not in rescan(village, first, [again.id]).with_errors - first.own_errors
    assert not {original.id, again.id} & check().cross_errors
