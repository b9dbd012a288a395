"""Saving a household and finding people already registered, through povdesk.ops on a real workspace."""

from __future__ import annotations

import pytest

from povdesk.core.model import Household, Member
from povdesk.errors import BadInput
from povdesk.ops.changes import OpChanges
from povdesk.ops.households import possible_duplicates, save_household
from povdesk.store import Workspace
from tests.factories import VILLAGE, valid_household
from tests.ops.conftest import account


def test_a_new_household_is_added(village: Workspace) -> None:
    worker = account(village, "worker")
    before = village.count_households()
    hh = valid_household()
    hh.household_no = ""
    saved = save_household(village, worker, hh)
    assert saved.created and saved.changed
    assert saved.changes == OpChanges(household_ids=frozenset({hh.id}), household=True, households_added=True)
    assert saved.household.household_no.startswith(VILLAGE) and saved.household.version == 1
    assert hh.household_no == "" and hh.version == 0  # the caller's copy is left alone
    assert village.count_households() == before + 1


def test_an_edit_changes_the_household_and_nothing_to_save_changes_nothing(village: Workspace) -> None:
    worker = account(village, "worker")
    hh = next(village.iter_households())
    hh.fields["phone"] = "13900000000"
    saved = save_household(village, worker, hh)
    assert not saved.created
    assert saved.changes == OpChanges(household_ids=frozenset({hh.id}), household=True)
    again = save_household(village, worker, saved.household)
    assert not again.changed and again.changes.empty and again.household.version == saved.household.version


def test_people_already_registered_are_found_by_number_and_by_name(village: Workspace) -> None:
    first, second = list(village.iter_households())[:2]
    registered = first.members[0]
    entering = Household(village_code=second.village_code)

    by_number = Member(fields={"name": "某人", "id_number": registered.id_number.lower()})
    (dup,) = possible_duplicates(village, entering, by_number)
    assert (dup.household_id, dup.member_id, dup.reason) == (first.id, registered.id, "id_number")
    assert dup.household_no == first.household_no and dup.name == registered.name
    assert dup.id_number == registered.id_number

    same_person = Member(fields={"name": registered.name, "birth_date": registered.fields["birth_date"]})
    found = possible_duplicates(village, entering, same_person)
    assert any(d.member_id == registered.id and d.reason == "name_birth" for d in found), found
    other_day = Member(fields={"name": registered.name, "birth_date": "1901-01-01"})
    assert all(d.member_id != registered.id for d in possible_duplicates(village, entering, other_day))

    # Entering the household itself again finds nobody: a member is not a duplicate of itself.
    assert possible_duplicates(village, first, registered) == []


def test_a_status_its_steps_do_not_lead_to_is_refused(village: Workspace) -> None:
    worker = account(village, "worker")
    hh = next(h for h in village.iter_households() if h.status == "registered")
    hh.status = "exited"  # as if the exit had been done, without its steps
    with pytest.raises(BadInput) as refused:
        save_household(village, worker, hh)
    assert "its steps lead to 'registered', not 'exited'" in refused.value.text.en
    assert village.load_household(hh.id).status == "registered"
