"""Saving, loading, numbering, versions, audit, outbox, events, import and lists of households."""

from __future__ import annotations

import re

import pytest

from povdesk.core.model import Household, Member, ProcedureEvent, YearRecord
from povdesk.errors import BadInput, NotPermitted
from povdesk.store import User, VersionConflict, Workspace

from .factories import OTHER_VILLAGE, VILLAGE, household


def _without_stamps(d: dict) -> dict:
    return {k: v for k, v in d.items() if k not in ("version", "updated_at", "updated_by", "household_no",
                                                    "form_version", "rule_version")}


def test_save_load_round_trip(ws: Workspace, worker: User) -> None:
    hh = household(VILLAGE, "张三", "李四", "张小明", ids=("430105199001011234",))
    hh.years[2025] = YearRecord(2025, {"wage_income": 5000.5}, [])
    saved = ws.save_household(hh, worker)
    loaded = ws.load_household(hh.id)
    assert loaded.to_dict() == saved.to_dict()
    assert _without_stamps(loaded.to_dict()) == _without_stamps(hh.to_dict())
    assert (saved.version, saved.updated_by) == (1, "worker")
    assert saved.form_version.startswith("household:") and saved.rule_version
    assert hh.version == 0 and hh.household_no == ""  # the caller's copy is not modified
    assert ws.find_household_by_no(saved.household_no).to_dict() == saved.to_dict()  # type: ignore[union-attr]
    assert ws.find_household_by_no("nope") is None
    with pytest.raises(BadInput):
        ws.load_household("no-such-id")


def test_household_numbers(ws: Workspace, worker: User) -> None:
    nos = [ws.save_household(household(VILLAGE), worker).household_no for _ in range(3)]
    nos.append(ws.save_household(household(OTHER_VILLAGE), worker).household_no)
    prefix = ws.device_prefix
    assert nos == [f"{VILLAGE}-{prefix}-0001", f"{VILLAGE}-{prefix}-0002", f"{VILLAGE}-{prefix}-0003",
                   f"{OTHER_VILLAGE}-{prefix}-0001"]
    assert all(re.fullmatch(r"\d{12}-[A-Z0-9]{4}-\d{4}", n) for n in nos)
    # A number typed in by hand that the counter would hand out next is skipped, not reused.
    ws.save_household(household(VILLAGE, no=f"{VILLAGE}-{prefix}-0004"), worker)
    assert ws.save_household(household(VILLAGE), worker).household_no == f"{VILLAGE}-{prefix}-0005"
    # An official number is kept; a taken one is refused.
    official = ws.save_household(household(VILLAGE, no="4301050010010099"), worker)
    assert official.household_no == "4301050010010099"
    with pytest.raises(BadInput, match="already used"):
        ws.save_household(household(VILLAGE, no="4301050010010099"), worker)
    # Saving again without a number keeps the stored one.
    official.household_no = ""
    official.fields["address"] = "三组"
    assert ws.save_household(official, worker).household_no == "4301050010010099"


def test_a_villages_own_numbers_never_clash(ws: Workspace, worker: User) -> None:
    """Two villages whose sheets both number households 1, 2, 3: each keeps its own number beside an
    official one, by save and by import, and nothing is refused."""
    saved = ws.save_household(household(VILLAGE, "张三", no="1"), worker)
    assert saved.household_no.startswith(f"{VILLAGE}-") and saved.fields["own_no"] == "1"
    imported = [household(OTHER_VILLAGE, name, no=str(n)) for n, name in ((1, "李一"), (2, "李二"))]
    result = ws.import_households(imported, worker, source="sheet")
    assert (result.inserted, result.numbers_assigned) == (2, 2)
    again = [ws.load_household(h.id) for h in imported]
    assert [h.fields["own_no"] for h in again] == ["1", "2"]
    assert all(h.household_no.startswith(f"{OTHER_VILLAGE}-") for h in again)
    # The same household brought again with its own number keeps its official number.
    back = Household.from_dict(again[0].to_dict())
    back.household_no, back.fields["address"] = "1", "二组"
    ws.import_households([back], worker, source="sheet")
    assert ws.load_household(back.id).household_no == again[0].household_no
    # An own number already recorded wins over the one a record brings.
    edited = ws.load_household(saved.id)
    edited.household_no, edited.fields["own_no"] = "7", "1"
    assert ws.save_household(edited, worker).fields["own_no"] == "1"


def test_version_conflict(ws: Workspace, worker: User) -> None:
    saved = ws.save_household(household(), worker)
    mine, theirs = ws.load_household(saved.id), ws.load_household(saved.id)
    theirs.fields["phone"] = "13900000000"
    ws.save_household(theirs, worker)
    mine.fields["address"] = "五组"
    with pytest.raises(VersionConflict) as err:
        ws.save_household(mine, worker)
    assert "changed by someone else since you opened it" in err.value.message("en")
    assert ws.load_household(saved.id).fields["address"] == "一组"


def test_status_only_through_events(ws: Workspace, worker: User) -> None:
    saved = ws.save_household(household(), worker)
    saved.status = "registered"
    with pytest.raises(BadInput, match="procedure steps"):
        ws.save_household(saved, worker)


def test_the_store_derives_the_status_and_refuses_another(ws: Workspace, worker: User) -> None:
    """The status follows from the events; a status the caller passes that says otherwise is refused
    (not written, not quietly replaced), for a new household, an edit and a step alike."""
    audit_before = ws.audit_entries(limit=1)[0].seq
    exited = household()
    exited.status = "exited"  # no steps at all: an applicant
    with pytest.raises(BadInput, match="its steps lead to 'applicant', not 'exited'"):
        ws.save_household(exited, worker)
    assert ws.count_households() == 0 and ws.audit_entries(limit=1)[0].seq == audit_before

    hh = ws.save_household(household(), worker)
    assert hh.status == "applicant"
    application = ProcedureEvent("identification", "application", "2025-03-01", "village_worker", "worker")
    hh.status = "exited"  # an identification step does not lead there
    with pytest.raises(BadInput, match="its steps lead to 'applicant', not 'exited'"):
        ws.append_event(hh, application, worker)
    stored = ws.load_household(hh.id)
    assert (stored.status, stored.events, stored.version) == ("applicant", [], 1)

    hh = stored
    ws.append_event(hh, application, worker)  # the status the step leads to: accepted
    stored = ws.load_household(hh.id)
    assert stored.status == "applicant" and [e.step for e in stored.events] == ["application"]
    stored.status = "registered"
    stored.fields["address"] = "二组"
    with pytest.raises(BadInput, match="its steps lead to 'applicant', not 'registered'"):
        ws.save_household(stored, worker)
    assert ws.load_household(hh.id).fields["address"] == "一组"


def test_admin_cannot_edit_households(ws: Workspace, admin: User) -> None:
    with pytest.raises(NotPermitted):
        ws.save_household(household(), admin)


def test_audit_entry_per_changed_field(ws: Workspace, worker: User) -> None:
    saved = ws.save_household(household(VILLAGE, "张三", "李四"), worker)
    head, other = saved.members
    saved.fields["address"] = "二组"
    saved.fields["phone"] = "13700000000"
    del saved.fields["relocated"]
    head.fields["name"] = "张叁"
    saved.members.remove(other)
    newcomer = Member(fields={"name": "王五", "relation": "10"})
    saved.members.append(newcomer)
    saved.years[2024].income["wage_income"] = 3500.0
    before = ws.audit_entries(limit=1)[0].seq
    after = ws.save_household(saved, worker)
    entries = {e.field: e for e in ws.audit_entries(saved.id) if e.seq > before}
    assert set(entries) == {"fields.address", "fields.phone", "fields.relocated",
                            f"members[{head.id}].fields.name", f"members[{other.id}]",
                            f"members[{newcomer.id}]", "years[2024].income.wage_income"}
    assert (entries["fields.address"].old, entries["fields.address"].new) == ("一组", "二组")
    assert (entries["fields.phone"].old, entries["fields.phone"].new) == (None, "13700000000")
    assert (entries["fields.relocated"].old, entries["fields.relocated"].new) == (False, None)
    assert entries[f"members[{other.id}]"].action == "household.member_remove"
    assert entries[f"members[{other.id}]"].old["fields"]["name"] == "李四"
    assert entries[f"members[{newcomer.id}]"].new["fields"]["name"] == "王五"
    assert all(e.user == "worker" and e.entity == "household" for e in entries.values())
    assert after.version == 2
    # Saving without a change writes nothing: no version, no audit, no outbox entry.
    seq, outbox = ws.audit_entries(limit=1)[0].seq, ws.last_outbox_seq()
    again = ws.save_household(after, worker)
    assert again.version == 2 and ws.audit_entries(limit=1)[0].seq == seq and ws.last_outbox_seq() == outbox
    assert ws.verify_audit() == []


def test_search_follows_edits(ws: Workspace, worker: User) -> None:
    saved = ws.save_household(household(VILLAGE, "张三", "李四"), worker)
    saved.members[1].fields["name"] = "赵六"
    ws.save_household(saved, worker)
    assert ws.search("李四") == []
    assert [h.name for h in ws.search("赵六")] == ["赵六"]


def test_outbox_sequence(ws: Workspace, worker: User) -> None:
    assert ws.last_outbox_seq() == 0
    a = ws.save_household(household(), worker)
    a.fields["address"] = "x"
    ws.save_household(a, worker)
    b = ws.save_household(household(OTHER_VILLAGE), worker)
    entries = list(ws.outbox_since(0))
    assert [e.seq for e in entries] == [1, 2, 3]
    assert [(e.entity_id, e.version) for e in entries] == [(a.id, 1), (a.id, 2), (b.id, 1)]
    assert all(e.device_id == ws.device_id and e.entity == "household" for e in entries)
    assert Household.from_dict(entries[2].payload).to_dict() == b.to_dict()
    assert [e.seq for e in ws.outbox_since(2)] == [3]
    assert ws.last_outbox_seq() == 3


def test_append_event(ws: Workspace, worker: User) -> None:
    hh = ws.save_household(household(), worker)
    event = ProcedureEvent(procedure="identification", step="application", date="2025-03-01",
                           role="village_worker", user="worker", evidence={"form": "申请书"})
    hh.status = "applicant"
    ws.append_event(hh, event, worker)
    assert hh.version == 2 and hh.events[-1].id == event.id and hh.events[-1].recorded_at
    stored = ws.load_household(hh.id)
    assert stored.to_dict() == hh.to_dict()
    # A lost vote closes the identification: the store moves the status as the steps say.
    lost = ProcedureEvent("identification", "appraisal", "2025-04-01", "village_worker", "worker",
                          evidence={"representatives_present": 10, "votes_for": 2})
    hh.status = "not_identified"
    ws.append_event(hh, lost, worker)
    stored = ws.load_household(hh.id)
    assert stored.status == "not_identified" and len(stored.events) == 2
    assert ws.list_households(status="not_identified")[0].id == hh.id
    entries = {e.field: e for e in ws.audit_entries(hh.id)}
    assert entries["status"].old == "applicant" and entries["status"].new == "not_identified"
    assert list(ws.outbox_since(0))[-1].payload["events"][1]["step"] == "appraisal"
    # Saving the form afterwards keeps the events.
    stored.fields["address"] = "六组"
    assert len(ws.save_household(stored, worker).events) == 2
    # A stale copy cannot record a step.
    stale = ws.load_household(hh.id)
    stale.version -= 1
    with pytest.raises(VersionConflict):
        ws.append_event(stale, ProcedureEvent("exit", "proposal", "2025-05-01", "village_worker", "worker"), worker)


def test_import_is_one_transaction(ws: Workspace, worker: User) -> None:
    existing = ws.save_household(household(), worker)
    audit_before, outbox_before = ws.audit_entries(limit=1)[0].seq, ws.last_outbox_seq()
    good = [household(VILLAGE, f"王{i}") for i in range(50)]
    bad = household(VILLAGE, "坏")
    bad.members[0].id = existing.members[0].id  # belongs to another household
    with pytest.raises(BadInput, match="registered in another household"):
        ws.import_households([*good, bad], worker, source="test.jsonl")
    unserializable = household(VILLAGE, "坏")
    unserializable.fields["when"] = object()
    with pytest.raises(BadInput, match="cannot be stored"):
        ws.import_households([*good, unserializable], worker, source="test.jsonl")
    assert ws.count_households() == 1
    assert ws.audit_entries(limit=1)[0].seq == audit_before and ws.last_outbox_seq() == outbox_before
    assert ws.search("王1") == []


def test_import_inserts_and_replaces(ws: Workspace, worker: User) -> None:
    first = ws.save_household(household(VILLAGE, "张三"), worker)
    hh = ws.load_household(first.id)
    hh.status = "applicant"
    ws.append_event(hh, ProcedureEvent("identification", "application", "2025-01-01", "village_worker",
                                       "worker"), worker)
    incoming = Household.from_dict(first.to_dict())
    incoming.fields["address"] = "来自导入"
    incoming.members[0].fields["name"] = "张叁"
    incoming.events = []
    fresh = [household(VILLAGE, "赵一", ids=("430105198001010011",)), household(OTHER_VILLAGE, "钱二", no=f"{OTHER_VILLAGE}-X-0001")]
    result = ws.import_households([incoming, *fresh], worker, source="bundle")
    assert (result.inserted, result.replaced, result.numbers_assigned) == (2, 1, 1)
    assert result.outbox_last - result.outbox_first == 2
    replaced = ws.load_household(first.id)
    assert replaced.fields["address"] == "来自导入" and replaced.version == hh.version + 1
    assert len(replaced.events) == 1  # events are never dropped by an import
    assert [h.name for h in ws.search("张叁")] == ["张叁"] and ws.search("张三") == []
    assert ws.find_household_by_no(f"{OTHER_VILLAGE}-X-0001") is not None
    numbered = ws.load_household(fresh[0].id)
    assert numbered.household_no.startswith(f"{VILLAGE}-{ws.device_prefix}-")
    audit = [e for e in ws.audit_entries() if e.action == "household.import"]
    assert len(audit) == 3 and all(e.field is None and e.new["source"] == "bundle" for e in audit)
    payloads = {e.entity_id: e.payload for e in ws.outbox_since(0) if e.seq >= result.outbox_first}
    assert payloads[fresh[0].id] == numbered.to_dict()
    assert payloads[first.id] == replaced.to_dict()
    assert ws.verify_audit() == []


def test_import_writes_in_slices_with_one_outcome(ws: Workspace, worker: User,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are written a slice at a time (here every 7 households): the same records, one outbox
    range, one audit entry each, and a failure in a late slice still leaves nothing."""
    from povdesk.store import households as repo

    monkeypatch.setattr(repo, "_WRITE_EVERY", 7)
    first = ws.save_household(household(VILLAGE, "张三"), worker)
    incoming = Household.from_dict(first.to_dict())
    incoming.fields["address"] = "来自导入"
    many = [household(VILLAGE, f"李{i}") for i in range(29)]
    result = ws.import_households([*many[:10], incoming, *many[10:]], worker, source="slices")
    assert (result.inserted, result.replaced) == (29, 1)
    assert result.outbox_last - result.outbox_first == 29 and result.outbox_last == ws.last_outbox_seq()
    assert ws.count_households() == 30 and ws.load_household(first.id).fields["address"] == "来自导入"
    assert [h.name for h in ws.search("李28")] == ["李28"]
    assert len([e for e in ws.audit_entries(limit=100) if e.action == "household.import"]) == 30
    assert ws.verify_audit() == []
    late = household(VILLAGE, "坏")
    late.fields["when"] = object()  # cannot be stored: found in the fifth slice
    before = (ws.count_households(), ws.last_outbox_seq(), ws.audit_entries(limit=1)[0].seq)
    with pytest.raises(BadInput, match="cannot be stored"):
        ws.import_households([*(household(VILLAGE, f"周{i}") for i in range(30)), late], worker, source="x")
    assert (ws.count_households(), ws.last_outbox_seq(), ws.audit_entries(limit=1)[0].seq) == before
    assert ws.search("周1") == []


def test_import_refuses_number_of_another_household(ws: Workspace, worker: User) -> None:
    taken = ws.save_household(household(), worker)
    with pytest.raises(BadInput, match="already used"):
        ws.import_households([household(VILLAGE, no=taken.household_no)], worker, source="x")


def test_iter_households_batches(ws: Workspace, worker: User) -> None:
    households = [household(VILLAGE if i % 2 else OTHER_VILLAGE, f"李{i}", "王芳") for i in range(23)]
    for i, hh in enumerate(households):
        hh.years[2023] = YearRecord(2023, {"wage_income": i}, [])
    ws.import_households(households, worker, source="t")
    got = list(ws.iter_households(batch=5))
    assert len(got) == 23 and len({h.id for h in got}) == 23
    assert [h.household_no for h in got] == sorted(h.household_no for h in got)
    by_id = {h.id: h for h in got}
    for hh in households:
        assert _without_stamps(by_id[hh.id].to_dict()) == _without_stamps(hh.to_dict())
    assert len(list(ws.iter_households(village_prefix=VILLAGE, batch=4))) == 11
    assert len(list(ws.iter_households(village_prefix="4301050", batch=1000))) == 23


def test_iter_households_without_events_leaves_only_the_history_out(ws: Workspace, worker: User) -> None:
    households = [household(VILLAGE, f"李{i}", "王芳") for i in range(7)]
    ws.import_households(households, worker, source="t")
    hh = ws.load_household(households[3].id)
    ws.append_event(hh, ProcedureEvent("identification", "application", "2025-03-01", "village_worker",
                                       "worker"), worker)
    full = list(ws.iter_households(batch=3))
    light = list(ws.iter_households(batch=3, events=False))
    assert sum(len(h.events) for h in full) == 1 and all(h.events == [] for h in light)
    for a, b in zip(full, light, strict=True):
        assert {**a.to_dict(), "events": []} == b.to_dict()


def test_list_households_keyset(ws: Workspace, worker: User) -> None:
    names = ["张三", "李四", "王五", "赵六", "钱七", "孙八", "周九"]
    households = [household(VILLAGE if i < 4 else OTHER_VILLAGE, n) for i, n in enumerate(names)]
    households[0].fields["attribute"] = "2"
    ws.import_households(households, worker, source="t")
    pages, after = [], None
    while rows := ws.list_households(after, 3):
        pages.append(rows)
        after = rows[-1].cursor
    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [r for p in pages for r in p]
    assert [r.household_no for r in flat] == sorted(r.household_no for r in flat)
    assert flat[0].member_count == 1 and flat[0].head_name
    by_name = ws.list_households(None, 10, order="head_name")
    assert [r.head_name for r in by_name] == ["李四", "钱七", "孙八", "王五", "张三", "赵六", "周九"]
    second = ws.list_households(by_name[2].cursor, 2, order="head_name")
    assert [r.head_name for r in second] == ["王五", "张三"]
    assert [r.head_name for r in ws.list_households(None, 10, attribute="2")] == ["张三"]
    assert len(ws.list_households(None, 10, village_prefix=OTHER_VILLAGE)) == 3
    assert ws.count_households() == 7 and ws.count_households(VILLAGE) == 4
    assert ws.count_households(status="registered") == 0
    assert len(ws.household_ids(village_prefix=VILLAGE)) == 4
    with pytest.raises(BadInput):
        ws.list_households(None, 10, order="nonsense")


def test_duplicate_id_numbers(ws: Workspace, worker: User) -> None:
    same = "430105199001011234"
    a = household(VILLAGE, "张三", ids=(same,))
    b = household(OTHER_VILLAGE, "张三", ids=(same.lower(),))
    c = household(VILLAGE, "李四", ids=("430105199202022345",))
    ws.import_households([a, b, c], worker, source="t")
    assert ws.duplicate_id_numbers() == [(same, sorted([a.id, b.id]))]
    # A village hears about a duplicate even when the other household is in another village.
    assert ws.duplicate_id_numbers(OTHER_VILLAGE) == [(same, sorted([a.id, b.id]))]
    assert ws.duplicate_id_numbers("430105009") == []
    found = ws.households_with_person(same)
    assert sorted(h[0] for h in found) == sorted([a.id, b.id])
    assert {h[3] for h in found} == {VILLAGE, OTHER_VILLAGE}


def test_the_light_scan_gives_the_across_household_findings_of_the_full_one(ws: Workspace, worker: User) -> None:
    """households_for_cross_checks holds exactly what CrossChecker reads: same findings, same order."""
    from datetime import date

    from povdesk.core.demo import generate, plant_mistakes
    from povdesk.core.rules import CrossChecker

    households = generate("430105", count=120, seed=6, today=date(2025, 6, 1))
    planted = {p.rule for p in plant_mistakes(households, 6)}
    assert {"DUP-PERSON", "HELPER-PHONE"} <= planted
    a = next(h for h in households[20:] if h.status == "applicant")
    b, c = [h for h in households[20:] if h is not a][:2]
    b.members[-1].fields.update(id_number=a.members[0].fields["id_number"], change="01")  # died: does not count
    c.helpers.append({"name": "帮扶人", "id_number": a.members[0].fields["id_number"], "phone": "13800001234"})
    ws.import_households(households, worker, source="test")

    def findings(source: list) -> list[dict]:
        cross = CrossChecker()
        for hh in source:
            cross.add(hh)
        return [f.to_dict() for f in cross.findings()]

    full = findings(list(ws.iter_households()))
    light = findings(ws.households_for_cross_checks())
    assert light == full
    assert {f["rule"] for f in full} >= {"DUP-PERSON", "HELPER-PHONE", "HELPER-IS-POOR"}
    skipped = ws.households_for_cross_checks(skip={a.id, b.id})
    assert len(skipped) == 118 and not {a.id, b.id} & {h.id for h in skipped}
