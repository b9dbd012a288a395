"""Recording a procedure step through povdesk.ops, on a real village workspace on a fixed day."""

from __future__ import annotations

import pytest

from povdesk.core.model import Household
from povdesk.core.procedures import VOID, history, next_steps
from povdesk.errors import ProcedureRefused
from povdesk.ops.changes import OpChanges
from povdesk.ops.procedures import evidence_from_text, record_step, void_step
from povdesk.store import Workspace
from povdesk.store.errors import VersionConflict
from tests.ops.conftest import TODAY, account, days_after_last_event, household_at, publicity


def test_a_step_is_recorded_and_named_in_the_changes(village: Workspace) -> None:
    worker = account(village, "worker")
    hh = household_at(village, "identification", "first_publicity")
    before = hh.to_dict()
    day = days_after_last_event(hh)
    done = record_step(village, worker, hh, "identification", "first_publicity", date=day(8),
                       evidence=publicity(day(1), day(7)))
    assert hh.to_dict() == before  # the caller's copy is left alone
    assert done.event.step == "first_publicity" and done.event.user == "worker" and done.event.recorded_at
    assert done.household.version == hh.version + 1
    assert done.status_before == done.status == "applicant"
    assert done.changes == OpChanges(household_ids=frozenset({hh.id}), procedures=True)
    stored = village.load_household(hh.id)
    assert stored.to_dict() == done.household.to_dict()
    assert [(s.key, st.key) for s, st in next_steps(stored)] == [("identification", "township_review")]
    assert village.audit_entries(hh.id, limit=1)[0].action == "household.event"


def test_the_last_step_moves_the_status(village: Workspace) -> None:
    county = account(village, "county")
    hh = household_at(village, "identification", "announcement")
    registered = village.count_households(status="registered")
    day = days_after_last_event(hh)
    done = record_step(village, county, hh, "identification", "announcement", date=day(8),
                       evidence={"start_date": day(1), "end_date": day(7), "posted_at": "县政府公告栏"})
    assert (done.status_before, done.status) == ("applicant", "registered")
    assert done.changes.status and done.changes.procedures and done.changes.touches(hh.id)
    assert village.load_household(hh.id).status == "registered"
    assert village.count_households(status="registered") == registered + 1


def test_a_refused_step_gives_every_reason_and_writes_nothing(village: Workspace) -> None:
    worker = account(village, "worker")
    hh = household_at(village, "identification", "township_review")
    audit_before = village.audit_entries(limit=1)[0].seq
    with pytest.raises(ProcedureRefused) as refused:
        record_step(village, worker, hh, "identification", "township_review", date=TODAY.replace(year=TODAY.year + 1)
                    .isoformat(), evidence={})
    text = [r.en for r in refused.value.reasons]
    assert any("may not perform" in r for r in text), text  # a village worker, not the township
    assert any("after today" in r for r in text), text  # the workspace's today, not the machine's
    assert any("is missing" in r for r in text), text
    assert village.load_household(hh.id).to_dict() == hh.to_dict()
    assert village.audit_entries(limit=1)[0].seq == audit_before


def test_a_household_changed_since_it_was_read_is_not_stepped(village: Workspace) -> None:
    worker = account(village, "worker")
    hh = household_at(village, "identification", "first_publicity")
    other = village.load_household(hh.id)
    other.fields["phone"] = "13900000000"
    village.save_household(other, worker)
    day = days_after_last_event(hh)
    with pytest.raises(VersionConflict):
        record_step(village, worker, hh, "identification", "first_publicity", date=day(8),
                    evidence=publicity(day(1), day(7)))
    assert len(village.load_household(hh.id).events) == len(hh.events)


def test_evidence_typed_as_text_takes_the_kinds_of_the_fields() -> None:
    typed = evidence_from_text("identification", "first_publicity",
                               {"start_date": "2026-05-01", "objections": "2", "objections_resolved": "1"})
    assert typed == {"start_date": "2026-05-01", "objections": 2, "objections_resolved": 1}
    assert evidence_from_text("identification", "no_such_step", {"x": "1"}) == {"x": "1"}
    assert evidence_from_text("no_such_procedure", "step", {"x": "1"}) == {"x": "1"}


def _registered(ws: Workspace) -> Household:
    return next(h for h in ws.iter_households() if h.status == "registered"
                and h.events[-1].step == "announcement")


def test_a_mistaken_step_is_voided_kept_in_the_history_and_the_status_derived_again(village: Workspace) -> None:
    worker, county = account(village, "worker"), account(village, "county")
    hh = _registered(village)
    last = hh.events[-1]
    with pytest.raises(ProcedureRefused) as refused:  # recorded by the county: a village worker cannot void it
        void_step(village, worker, hh, last.id, reason="登记错了")
    assert any("only that role or a higher level" in r.en for r in refused.value.reasons)
    with pytest.raises(ProcedureRefused) as refused:
        void_step(village, county, hh, last.id, reason="  ")
    assert [r.en for r in refused.value.reasons] == ["voiding a step needs a reason"]
    with pytest.raises(ProcedureRefused) as refused:  # a step in the middle: the later ones would hang
        void_step(village, county, hh, hh.events[-3].id, reason="登记错了")
    assert any("void the later steps first" in r.en for r in refused.value.reasons)
    assert village.load_household(hh.id).to_dict() == hh.to_dict()

    done = void_step(village, county, hh, last.id, reason="公告日期登记错了")
    assert (done.status_before, done.status) == ("registered", "applicant") and done.changes.status
    stored = village.load_household(hh.id)
    assert stored.status == "applicant" and len(stored.events) == len(hh.events) + 1
    assert [(s.key, st.key) for s, st in next_steps(stored)] == [("identification", "announcement")]
    entry = history(stored)[-1]
    assert entry.event.id == last.id and entry.voided is not None
    assert entry.voided.evidence == {"event": last.id, "reason": "公告日期登记错了"} and entry.voided.user == "county"
    assert village.audit_entries(hh.id, limit=2)[0].action == "household.status"
    payload = next(e.payload for e in reversed(list(village.outbox_since(0))) if e.entity_id == hh.id)
    assert payload["events"][-1]["procedure"] == VOID  # it travels in bundles like any step
    with pytest.raises(ProcedureRefused) as refused:
        void_step(village, county, stored, last.id, reason="再作废一次")
    assert [r.en for r in refused.value.reasons] == ["this step has already been voided"]
    # The step is recorded again, correctly, after the void.
    again = record_step(village, county, stored, "identification", "announcement", date=last.date,
                        evidence=last.evidence)
    assert again.status == "registered"
    assert village.verify_audit() == []


def test_an_exclusion_blocks_exit_but_not_the_removal_meant_for_it(village: Workspace) -> None:
    """Rules say what they block: a registered household found to meet an exclusion criterion (a
    member is a public servant) cannot exit with that error, and the refusal names it, but its
    removal (清退) can be proposed, which is what the finding calls for."""
    worker = account(village, "worker")
    hh = next(h for h in village.iter_households() if h.status == "registered" and not any(
        e.procedure in ("exit", "removal") for e in h.events))
    hh.members[0].fields["public_servant"] = True
    village.save_household(hh, worker)
    hh = village.load_household(hh.id)
    day = days_after_last_event(hh)
    with pytest.raises(ProcedureRefused) as refused:
        record_step(village, worker, hh, "exit", "proposal", date=day(1), evidence={"reason": "收入稳定"})
    (blocked,) = [r for r in refused.value.reasons if "block this step" in r.en]
    assert "exclusion criterion" in blocked.en and "符合不得纳入情形" in blocked.zh
    done = record_step(village, worker, hh, "removal", "proposal", date=day(1),
                       evidence={"reason_codes": ["01"], "explanation": "家庭成员为公职人员"})
    assert done.event.procedure == "removal" and village.load_household(hh.id).events[-1].id == done.event.id
