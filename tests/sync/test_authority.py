"""Authority follows the level that signs: what an enrolled but malicious village device, a worker
with sqlite3 beside the app, and an import file can and cannot do at the county."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date
from pathlib import Path

import pytest

from povdesk.clock import FixedClock
from povdesk.core.demo import generate
from povdesk.core.exchange import write_jsonl
from povdesk.core.model import Household
from povdesk.errors import AuthError, NotPermitted, ProcedureRefused
from povdesk.ops.importing import import_jsonl
from povdesk.ops.procedures import record_step
from povdesk.store import Workspace
from povdesk.sync import service
from tests.sync.conftest import PW, VILLAGE, Pair, make_workspace, village_stage

OTHER_VILLAGE = "522634100202"


def _sql(ws: Workspace, *statements: tuple[str, tuple[object, ...]]) -> None:
    """What a worker with sqlite3 can do to the workspace file beside the app."""
    with sqlite3.connect(ws.path) as conn:
        for sql, args in statements:
            conn.execute(sql, args)


def _forge_event(ws: Workspace, hh: Household, procedure: str, step: str, role: str, user: str,
                 status: str) -> str:
    eid = str(uuid.uuid4())
    _sql(ws, ("INSERT INTO events (id, household_id, procedure, step, date, role, user, evidence, recorded_at) "
              "VALUES (?,?,?,?,?,?,?,?,?)", (eid, hh.id, procedure, step, "2025-05-20", role, user, "{}",
                                             "2025-05-20T10:00:00Z")),
         ("UPDATE households SET status = ? WHERE id = ?", (status, hh.id)))
    return eid


def _up(p: Pair, name: str, **kw: object) -> service.BundleReport:
    path = p.dir / name
    service.export_bundle(p.village, p.worker, path, **kw)  # type: ignore[arg-type]
    (rep,) = service.import_bundles(p.county, p.coordinator, [path])
    return rep


def _outcome(rep: service.BundleReport, hid: str) -> service.RecordOutcome:
    return next(r for r in rep.records if r.id == hid)


def test_a_village_device_cannot_bring_a_county_approval(pair: Pair) -> None:
    """The village's administrator has no way to record 县级审批 (no account of that role, no step
    above its level); written into the file by hand, the step reaches the county, which rejects
    that household with the reason and applies the rest."""
    forged, honest = list(pair.village.iter_households())[:2]
    eid = _forge_event(pair.village, forged, "identification", "county_approval", "county_coordinator", "county",
                       "registered")
    rep = _up(pair, "b1.pvb")
    out = _outcome(rep, forged.id)
    assert out.result == "rejected"
    assert any("'Identification: County approval' may be recorded only at county level" in r["en"] and
               "a village device" in r["en"] for r in out.reasons)
    assert _outcome(rep, honest.id).result == "inserted"
    assert rep.summary().inserted == len(rep.records) - 1
    assert pair.county.find_household_by_no(forged.household_no) is None
    with sqlite3.connect(pair.county.path) as conn:
        assert conn.execute("SELECT count(*) FROM events WHERE id = ?", (eid,)).fetchone()[0] == 0


def test_a_recorded_step_cannot_be_rewritten_nor_a_household_moved(pair: Pair) -> None:
    _up(pair, "b1.pvb")
    a, b = [h for h in pair.village.iter_households() if h.events][:2]
    _sql(pair.village, ("DROP TRIGGER events_no_update", ()),  # the triggers stop accidents, not an editor
         ("UPDATE events SET date = '2020-01-01', user = 'someone' WHERE id = ?", (a.events[0].id,)),
         ("UPDATE households SET village_code = ? WHERE id = ?", (OTHER_VILLAGE, b.id)))
    rep = _up(pair, "b2.pvb", full=True)
    assert any("cannot be rewritten" in r["en"] for r in _outcome(rep, a.id).reasons)
    assert b.id not in {r.id for r in rep.records}  # outside the village's own region: not even sent
    assert pair.county.load_household(a.id).events[0].date == a.events[0].date
    assert pair.county.load_household(b.id).village_code == VILLAGE


def test_a_village_cannot_overwrite_another_villages_household(pair: Pair, tmp_path: Path) -> None:
    """Village A imports one of village B's records under A's code and sends it: the county holds
    that household as B's and rejects A's copy; B's data stays as B sent it."""
    other, other_worker = make_workspace(tmp_path / "b.db", OTHER_VILLAGE, "village", "worker-b", "village_worker")
    key = tmp_path / "b.key"
    service.export_key_file(other, key)
    service.trust(pair.county, pair.county.authenticate("admin", PW), key, "device")
    service.export_key_file(pair.county, tmp_path / "county.key")
    service.trust(other, other.authenticate("admin", PW), tmp_path / "county.key", "county")
    other.import_households(village_stage(generate(OTHER_VILLAGE, count=3, seed=8, today=date(2025, 6, 1))),
                            other_worker, source="register")
    service.export_key_file(other, key)
    path = tmp_path / "from-b.pvb"
    service.export_bundle(other, other_worker, path)
    service.import_bundles(pair.county, pair.coordinator, [path])
    victim = next(iter(other.iter_households()))
    stolen = victim.to_dict()
    stolen["village_code"] = VILLAGE
    stolen["household_no"] = f"{VILLAGE}-X-0001"
    stolen["fields"]["bank_account"] = "6217000000000000001"
    src = tmp_path / "stolen.jsonl"
    src.write_text(json.dumps(stolen, ensure_ascii=False) + "\n", encoding="utf-8")
    import_jsonl(pair.village, pair.worker, src)
    rep = _up(pair, "b1.pvb")
    reasons = " | ".join(r["en"] for r in _outcome(rep, victim.id).reasons)
    assert f"village {OTHER_VILLAGE} is not one the sending device serves" in reasons
    assert f"belongs to village {OTHER_VILLAGE} here and the record says village {VILLAGE}" in reasons
    kept = pair.county.load_household(victim.id)
    assert kept.village_code == OTHER_VILLAGE and kept.fields.get("bank_account") == victim.fields.get("bank_account")
    other.close()


def _file_with_history(tmp_path: Path, village: str) -> tuple[Path, list[Household]]:
    households = generate(village, count=30, seed=4, today=date(2025, 6, 1))
    path = tmp_path / "register.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        write_jsonl(households, fh)
    return path, households


def test_import_json_trusts_a_history_only_up_to_the_workspaces_level(pair: Pair, tmp_path: Path) -> None:
    path, households = _file_with_history(tmp_path, VILLAGE)
    above = {h.id for h in households if any(e.step in ("township_review", "second_publicity", "county_approval",
                                                         "announcement", "county_announcement") for e in h.events)}
    assert above and len(above) < len(households)
    fresh = Workspace.create(tmp_path / "v2.db", region_code=VILLAGE, name="村", level="village",
                             admin_user="admin", admin_password=PW, clock=FixedClock(date(2025, 6, 1)))
    worker = fresh.add_user(fresh.authenticate("admin", PW), "w", PW, "village_worker")
    result = import_jsonl(fresh, worker, path)
    rejected = {e["id"] for e in result.report if e["result"] == "rejected"}
    assert rejected == above
    entry = next(e for e in result.report if e["result"] == "rejected")
    assert any("may be recorded only at" in p["en"] and "comes down from the county" in p["en"]
               for p in entry["reasons"])
    fresh.close()
    # The county brings its register in whole: that is the migration path.
    assert import_jsonl(pair.county, pair.coordinator, path).imported == len(households)


def test_a_step_above_the_workspaces_level_is_refused_in_both_layers(pair: Pair, tmp_path: Path) -> None:
    """The operation refuses it with every reason; the store refuses it too, for a caller that
    goes around the operation."""
    _, households = _file_with_history(tmp_path, VILLAGE)
    village_hh = next(iter(pair.village.iter_households()))
    with pytest.raises(ProcedureRefused) as err:
        record_step(pair.village, pair.worker, village_hh, "identification", "township_review",
                    date="2025-06-01", evidence={"opinion": "同意"})
    assert any("may be recorded only at township level, not at village level" in r.en for r in err.value.reasons)
    county_event = next(e for h in households for e in h.events if e.step == "county_approval")
    with pytest.raises(NotPermitted, match="only at county level"):
        pair.village.append_event(village_hh, county_event, pair.worker)
    assert pair.village.load_household(village_hh.id).events == village_hh.events


def test_an_account_above_the_level_written_into_the_file_cannot_sign_in(pair: Pair) -> None:
    from povdesk.store.users import hash_password

    _sql(pair.village, ("INSERT INTO users (name, role, display_name, active, password_hash, created_at, updated_at)"
                        " VALUES ('boss', 'county_coordinator', '', 1, ?, '', '')", (hash_password(PW),)))
    with pytest.raises(AuthError, match="cannot hold a 'County coordinator' account"):
        pair.village.authenticate("boss", PW)


def test_a_revoked_device_is_refused_and_cannot_be_enrolled_again(pair: Pair, tmp_path: Path) -> None:
    """A stolen village laptop: the county revokes it; what it sends afterwards is refused, its key
    cannot be enrolled again, and the revocation is in the county's audit log with the reason."""
    from povdesk.sync import bundle as fmt

    service.export_bundle(pair.village, pair.worker, tmp_path / "after-theft.pvb")
    with pytest.raises(NotPermitted):  # a coordinator exchanges bundles; the admin manages keys
        service.revoke(pair.county, pair.county.add_user(pair.county.authenticate("admin", PW), "vw", PW,
                                                         "village_worker"), VILLAGE, "stolen")
    admin = pair.county.authenticate("admin", PW)
    peer = service.revoke(pair.county, admin, VILLAGE, "笔记本电脑被盗")
    assert peer.region_code == VILLAGE and not pair.county.sync_peer(peer.device_id).active
    before = pair.county.path.read_bytes()
    with pytest.raises(fmt.BundleRefused, match="revoked device"):
        service.import_bundles(pair.county, pair.coordinator, [tmp_path / "after-theft.pvb"])
    assert pair.county.path.read_bytes() == before
    with pytest.raises(service.BadInput, match="revoked and cannot be enrolled again"):
        service.trust(pair.county, admin, tmp_path / "village.key", "device")
    with sqlite3.connect(pair.county.path) as conn:
        (new,) = conn.execute("SELECT new FROM audit WHERE action = 'sync.revoke'").fetchone()
    assert "笔记本电脑被盗" in new
    with pytest.raises(service.BadInput, match="no enrolled device"):
        service.revoke(pair.county, admin, VILLAGE, "again")


def test_the_store_itself_writes_no_imported_step_above_its_level(pair: Pair) -> None:
    """Beneath the import pipeline, the store's bulk import refuses a history holding a step above
    the workspace's level (a caller that skipped the pipeline's check writes nothing)."""
    register = generate(VILLAGE, count=20, seed=11, today=date(2025, 6, 1))
    assert any(e.role == "county_coordinator" for h in register for e in h.events)
    before = pair.village.count_households()
    with pytest.raises(NotPermitted, match="may be recorded only at"):
        pair.village.import_households(register, pair.worker, source="test")
    with pytest.raises(NotPermitted, match="may be recorded only at"), \
            pair.village.bulk_import(pair.worker, source="test") as s:
        s.write(register)
    assert pair.village.count_households() == before
    pair.county.import_households(register, pair.coordinator, source="register")  # the county may


def test_the_county_moves_a_household_and_the_old_village_is_told(pair: Pair, tmp_path: Path) -> None:
    """Moving a household between villages is an explicit county operation: a new official number
    of the new village, audited with the reason; the old village hears of it in its next return
    bundle, and what it sends of its stale copy afterwards is rejected with the reason."""
    from povdesk.ops.households import move_household

    _up(pair, "b1.pvb")
    hh = next(pair.county.iter_households())
    with pytest.raises(service.BadInput, match="moved by the county"):
        move_household(pair.village, pair.worker, pair.village.load_household(hh.id), OTHER_VILLAGE, "x")
    town = pair.county.add_user(pair.county.authenticate("admin", PW), "town", PW, "township_official")
    with pytest.raises(NotPermitted):
        move_household(pair.county, town, hh, OTHER_VILLAGE, "x")
    with pytest.raises(service.BadInput, match="not a 12-digit village code of this county"):
        move_household(pair.county, pair.coordinator, hh, "530102100201", "x")
    with pytest.raises(service.BadInput, match="already in village"):
        move_household(pair.county, pair.coordinator, hh, VILLAGE, "x")
    moved = move_household(pair.county, pair.coordinator, hh, OTHER_VILLAGE, "户籍迁入邻村")
    assert moved.village_code == OTHER_VILLAGE and moved.household_no.startswith(OTHER_VILLAGE + "-")
    assert all(m.fields == o.fields for m, o in zip(moved.members, hh.members, strict=True))
    (entry,) = [e for e in pair.county.audit_entries(hh.id) if e.action == "household.move"]
    assert "户籍迁入邻村" in json.dumps(entry.new, ensure_ascii=False)
    # The old village is told, on its copy.
    down = pair.dir / "r1.pvb"
    service.export_bundle(pair.county, pair.coordinator, down)
    service.import_bundles(pair.village, pair.worker, [down])
    (flag,) = [f for f in service.status(pair.village).flags if f.rule == "MOVED"]
    assert flag.household_id == hh.id and OTHER_VILLAGE in flag.message["en"] and moved.household_no in \
        flag.message["en"]
    # Its stale copy edited and sent: rejected, the county's record stays as moved.
    stale = pair.village.load_household(hh.id)
    stale.fields["phone"] = "13900003333"
    pair.village.save_household(stale, pair.worker)
    rep = _up(pair, "b2.pvb")
    assert _outcome(rep, hh.id).result == "rejected"
    assert pair.county.load_household(hh.id).village_code == OTHER_VILLAGE
