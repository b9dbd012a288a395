"""The village's audit entries continue its hash chain across bundles; what the county sends down is listed."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from povdesk.core.procedures import next_steps, perform_step
from povdesk.store import Workspace
from povdesk.sync import service
from povdesk.sync.bundle import BundleRefused
from tests.sync.conftest import Pair, make_pair


def up(p: Pair, name: str, **kw: object) -> service.BundleReport:
    path = p.dir / name
    service.export_bundle(p.village, p.worker, path, **kw)  # type: ignore[arg-type]
    (rep,) = service.import_bundles(p.county, p.coordinator, [path])
    return rep


def edit(p: Pair, n: int) -> None:
    hh = next(p.village.iter_households())
    for i in range(n):
        hh = p.village.load_household(hh.id)
        hh.fields["address"] = f"三组{i}号"
        p.village.save_household(hh, p.worker)


def county_status(p: Pair) -> service.PeerStatus:
    (peer,) = service.status(p.county).peers
    return peer


def test_chain_continues_across_bundles(pair: Pair) -> None:
    first = up(pair, "b1.pvb")
    edit(pair, 2)
    second = up(pair, "b2.pvb")
    assert first.audit_received and second.audit_received
    assert first.audit_problems == [] and second.audit_problems == []
    peer = county_status(pair)
    assert peer.audit_breaks == ()
    with sqlite3.connect(pair.village.path) as c:
        # Everything up to the export of b2 has arrived (b2's own export entry travels with b3).
        sent_up_to = c.execute("SELECT max(audit_last) FROM sync_sent").fetchone()[0]
    assert peer.audit_received_up_to == sent_up_to
    assert second.to_dict()["audit"] == {"received": second.audit_received, "problems": []}


def test_an_edited_entry_is_flagged_not_refused(pair: Pair) -> None:
    up(pair, "b1.pvb")
    edit(pair, 1)
    with sqlite3.connect(pair.village.path) as c:  # someone edits the village's history behind povdesk's back
        seq = c.execute("SELECT max(seq) FROM audit WHERE entity = 'household'").fetchone()[0]
        c.execute("DROP TRIGGER audit_no_update")
        c.execute("UPDATE audit SET new = '\"改过的\"' WHERE seq = ?", (seq,))
    rep = up(pair, "b2.pvb")
    assert rep.summary().applied == 1  # the records still arrive
    assert any("does not match its own hash" in p["en"] for p in rep.audit_problems)
    breaks = county_status(pair).audit_breaks
    assert breaks and breaks[0].bundle == rep.bundle_id and "edited" in breaks[0].message["en"]
    assert pair.county.verify_audit() == []  # the county's own log stays whole
    # The next bundle continues from the stored (edited) entry without a new complaint.
    edit(pair, 1)
    edit(pair, 2)  # something new to send, so the next bundle is written
    assert up(pair, "b3.pvb").audit_problems == []


def test_a_lost_bundle_leaves_a_gap_that_a_full_bundle_fills(pair: Pair) -> None:
    up(pair, "b1.pvb")
    admin = pair.village.authenticate("admin", "pw-1234")
    pair.village.add_user(admin, "helper", "pw-1234", "village_worker")  # audited, not in the outbox
    service.export_bundle(pair.village, pair.worker, pair.dir / "lost.pvb")
    edit(pair, 1)
    rep = up(pair, "b3.pvb")
    assert any("have not been received" in p["en"] for p in rep.audit_problems)
    full = up(pair, "full.pvb", full=True)
    assert full.audit_problems == []


def test_a_village_restored_from_a_backup_is_noticed(pair: Pair, tmp_path: Path) -> None:
    up(pair, "b1.pvb")
    backup = pair.village.backup(tmp_path / "village-backup.db")
    edit(pair, 2)
    up(pair, "b2.pvb")
    path = pair.village.path
    pair.village.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, path)
    pair.village = Workspace.open(path)
    edit(pair, 4)  # more than b2 held, so the bundle's range reaches past what the county has
    path = pair.dir / "b3.pvb"
    service.export_bundle(pair.village, pair.worker, path)
    # Its past contradicts the head b2 signed: refused as altered, naming the device, nothing written.
    with pytest.raises(BundleRefused, match="audit history of device .* was rewritten") as refused:
        service.import_bundles(pair.county, pair.coordinator, [path])
    assert pair.village.device_id in str(refused.value)
    before = county_status(pair)
    assert before.received_up_to < pair.village.last_outbox_seq() and before.audit_breaks == ()
    # The coordinator, having looked into it with the village, takes its history as it now is.
    (rep,) = service.import_bundles(pair.county, pair.coordinator, [path], accept_history=[pair.village.device_id])
    assert rep.note.startswith("sequences") and "already received" in rep.note
    assert any("differs from the copy received before" in p["en"] for p in rep.audit_problems)
    assert "sync.history_accepted" in [e.action for e in pair.county.audit_entries(pair.village.device_id, 20)]
    assert pair.county.verify_audit() == []


def test_duplicates_and_county_steps_are_listed_in_the_village(tmp_path: Path) -> None:
    """A register the county brought in and sent down: one person entered again in a second
    household flags both (the first was not in the bundle), and a county step comes down."""
    pair = make_pair(tmp_path, 40, register=True)
    a, b = list(pair.village.iter_households())[:2]
    b.members[-1].fields["id_number"] = a.members[0].fields["id_number"]  # one person in two households
    pair.village.save_household(b, pair.worker)
    rep = up(pair, "b1.pvb")
    assert [r.id for r in rep.records] == [b.id] and rep.flags
    county_hh = None
    for hh in pair.county.iter_households():
        if any(step.key == "announcement" for _spec, step in next_steps(hh)):
            county_hh = hh
            break
    assert county_hh is not None
    last = dt.date.fromisoformat(max(e.date for e in county_hh.events))
    start, end = last + dt.timedelta(days=1), last + dt.timedelta(days=7)
    event = perform_step(county_hh, "identification", "announcement", role="county_coordinator", user="county",
                         date=end.isoformat(), error_count=0, today=end + dt.timedelta(days=1),
                         evidence={"start_date": start.isoformat(), "end_date": end.isoformat(),
                                   "posted_at": "县政府公告栏"})
    pair.county.append_event(county_hh, event, pair.coordinator)
    down = pair.dir / "r1.pvb"
    service.export_bundle(pair.county, pair.coordinator, down)
    (rep,) = service.import_bundles(pair.village, pair.worker, [down])
    assert [s["event_id"] for s in rep.county_steps] == [event.id]
    assert "the county recorded" in rep.county_steps[0]["message"]["en"]
    flags = service.status(pair.village).flags
    steps = [f for f in flags if f.rule == "COUNTY-STEP"]
    assert len(steps) == 1 and steps[0].household_no == county_hh.household_no
    assert steps[0].source == "county" and steps[0].member_id == event.id
    dups = [f for f in flags if f.rule == "DUP-PERSON"]
    assert {f.household_no for f in dups} >= {a.household_no, b.household_no}
    assert all(f.source == "county" for f in dups)
    assert pair.village.load_household(county_hh.id).status == county_hh.status


def test_bundle_status_lists_what_the_county_sent_down(pair: Pair) -> None:
    import json
    import os
    import subprocess
    import sys

    a, b = list(pair.village.iter_households())[:2]
    b.members[-1].fields["id_number"] = a.members[0].fields["id_number"]
    pair.village.save_household(b, pair.worker)
    up(pair, "b1.pvb")
    down = pair.dir / "r1.pvb"
    service.export_bundle(pair.county, pair.coordinator, down)
    service.import_bundles(pair.village, pair.worker, [down])
    path = str(pair.village.path)
    pair.village.close()
    env = dict(os.environ, POVDESK_LANG="en", POVDESK_USER="worker", POVDESK_PASSWORD="pw-1234",
               POVDESK_DATA_DIR=str(pair.dir / "data"))
    out = subprocess.run([sys.executable, "-m", "povdesk", "bundle", "status", path], capture_output=True,
                         text=True, env=env, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert f"county\t{a.household_no}\tDUP-PERSON\t" in out.stdout
    out = subprocess.run([sys.executable, "-m", "povdesk", "bundle", "status", path, "--json"],
                         capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    st = json.loads(out.stdout)
    assert {f["rule"] for f in st["flags"]} == {"DUP-PERSON"} and st["peers"][0]["audit_breaks"] == []
    pair.village = Workspace.open(path)
