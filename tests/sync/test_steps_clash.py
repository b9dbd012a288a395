"""Clashing procedure steps: the village and the county both record a step for the same household.
The clash is a conflict in the queue with both histories; the county keeps one side, the other is
voided, and the decision goes down; `bundle status` lists what waits on a decision on both sides."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from povdesk.errors import BadInput
from povdesk.ops.procedures import record_step
from povdesk.sync import service
from tests.sync.conftest import PW, Pair, make_pair, ready_to_propose_exit


@pytest.fixture
def clash(tmp_path: Path) -> tuple[Pair, str]:
    """A registered household for which the village worker and a township official working at the
    county both record an exit proposal, neither having seen the other's."""
    p = make_pair(tmp_path, 20, register=True)
    hh = ready_to_propose_exit(p.village)
    day = p.village.clock.today().isoformat()
    record_step(p.village, p.worker, hh, "exit", "proposal", date=day, evidence={"reason": "收入稳定超过标准"})
    town = p.county.add_user(p.county.authenticate("admin", PW), "town", PW, "township_official")
    record_step(p.county, town, p.county.load_household(hh.id), "exit", "proposal", date=day,
                evidence={"reason": "乡镇核查提出"})
    yield p, hh.id
    p.village.close()
    p.county.close()


def _move(src, src_user, dst, dst_user, path: Path) -> service.BundleReport:  # type: ignore[no-untyped-def]
    assert service.export_bundle(src, src_user, path).written
    (rep,) = service.import_bundles(dst, dst_user, [path])
    return rep


def _steps(ws, hid: str) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(e.procedure, e.step, e.user) for e in ws.load_household(hid).events]


@pytest.mark.parametrize("take", ["remote", "local"])
def test_clashing_steps_are_a_conflict_the_county_decides(clash: tuple[Pair, str], take: str) -> None:
    p, hid = clash
    county_before = _steps(p.county, hid)
    up = _move(p.village, p.worker, p.county, p.coordinator, p.dir / "up1.pvb")
    (rec,) = [r for r in up.records if r.id == hid]
    assert rec.result != "rejected" and [c["path"] for c in rec.conflicts] == [service.STEPS]
    assert _steps(p.county, hid) == county_before  # the county's history stays as it was meanwhile
    (cf,) = service.list_conflicts(p.county)
    assert cf.path == service.STEPS
    assert [d["user"] for d in cf.local] == ["town"] and [d["user"] for d in cf.remote] == ["worker"]
    assert "Exit" in service.steps_summary(cf.remote, "en") and "worker" in service.steps_summary(cf.remote, "en")
    (waiting,) = service.status(p.county).waiting
    assert waiting.household_id == hid and waiting.steps
    # Sent again (even in full), the clash is the same conflict, not a new one and not a rejection.
    again = service.export_bundle(p.village, p.worker, p.dir / "full.pvb", full=True)
    (rep,) = service.import_bundles(p.county, p.coordinator, [again.path])
    assert all(r.result != "rejected" for r in rep.records) and len(service.list_conflicts(p.county)) == 1
    # The county's return bundle, before any decision: the village holds the clash too, waiting.
    _move(p.county, p.coordinator, p.village, p.worker, p.dir / "down1.pvb")
    (vw,) = service.status(p.village).waiting
    assert vw.household_id == hid and vw.steps
    (vcf,) = service.list_conflicts(p.village)
    with pytest.raises(BadInput, match="the county decides"):
        service.resolve_conflict(p.village, p.worker, vcf.id, "local")
    with pytest.raises(BadInput, match="keeps one side"):
        service.resolve_conflict(p.county, p.coordinator, cf.id, None, ["anything"])
    # The decision: one side kept, the other voided, the status derived again.
    done = service.resolve_conflict(p.county, p.coordinator, cf.id, take)
    assert done.status == "resolved" and done.resolution == take
    hh = p.county.load_household(hid)
    marks = [e for e in hh.events if e.procedure == "void"]
    voided_user = "town" if take == "remote" else "worker"
    (voided,) = [e for e in hh.events if e.id == marks[0].evidence["event"]]
    assert len(marks) == 1 and voided.user == voided_user and marks[0].user == "county"
    assert "clash" in marks[0].evidence["reason"] or "冲突" in marks[0].evidence["reason"]
    assert service.status(p.county).waiting == ()
    # It goes down: the village's copy agrees, and its waiting clash is settled.
    down = _move(p.county, p.coordinator, p.village, p.worker, p.dir / "down2.pvb")
    assert all(r.result != "rejected" for r in down.records)
    assert sorted(_steps(p.village, hid)) == sorted(_steps(p.county, hid))
    assert p.village.load_household(hid).status == p.county.load_household(hid).status
    assert service.list_conflicts(p.village) == [] and service.status(p.village).waiting == ()
    # And back up: nothing clashes any more.
    hv = p.village.load_household(hid)
    hv.fields["phone"] = "13900000077"
    p.village.save_household(hv, p.worker)
    up2 = _move(p.village, p.worker, p.county, p.coordinator, p.dir / "up2.pvb")
    assert [r.conflicts for r in up2.records if r.id == hid] == [[]]
    assert service.list_conflicts(p.county) == []


def test_a_history_illegal_in_itself_is_still_rejected(clash: tuple[Pair, str]) -> None:
    """Only two legal histories that cannot follow each other are a clash; a record whose own
    history is broken is rejected with its reason, as before."""
    p, hid = clash
    import sqlite3

    with sqlite3.connect(p.village.path) as conn:  # a second exit proposal written behind the app's back
        cols = "household_id, procedure, step, date, role, user, evidence, recorded_at"
        row = conn.execute(f"SELECT {cols} FROM events WHERE household_id = ? AND procedure = 'exit'",
                           (hid,)).fetchone()
        conn.execute(f"INSERT INTO events (id, {cols}) VALUES (?,?,?,?,?,?,?,?,?)", (str(uuid.uuid4()), *row))
    up = _move(p.village, p.worker, p.county, p.coordinator, p.dir / "up1.pvb")
    (rec,) = [r for r in up.records if r.id == hid]
    assert rec.result == "rejected" and rec.reasons
    assert service.list_conflicts(p.county) == []
