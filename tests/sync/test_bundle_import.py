"""Bundle import: a rejected record is reported and the rest applied; merges against the county's
copies, a clash, and a household in two bundles of one import (the second merges onto the first)."""

from __future__ import annotations

import pytest

from povdesk.core.model import ProcedureEvent
from povdesk.sync import service
from tests.sync.conftest import Pair
from tests.sync.test_sync import content

pytestmark = [pytest.mark.parametrize("pair", [60], indirect=True)]


def _import(pair: Pair, bundles: list) -> tuple[list[dict], dict]:
    reports = service.import_bundles(pair.county, pair.coordinator, bundles)
    assert pair.county.verify_audit() == []
    return [r.to_dict() for r in reports], content(pair.county)


def test_a_rejected_record_is_reported_and_the_rest_applied(pair: Pair) -> None:
    """A record whose status does not follow from its history: rejected, nothing else lost."""
    bad = next(h for h in pair.village.iter_households() if h.status == "applicant")
    bad.status = "registered"
    pair.village.import_households([bad], pair.worker, source="test")
    service.export_bundle(pair.village, pair.worker, pair.dir / "b1.pvb")
    reports, held = _import(pair, [pair.dir / "b1.pvb"])
    summary = reports[0]["summary"]
    assert summary["rejected"] == 1 and summary["inserted"] == 59
    assert bad.id not in held


def test_merges_conflicts_and_a_household_in_two_bundles(pair: Pair) -> None:
    """Second exchange: merges against the county's copies, a clash, and one household edited in
    both of two bundles imported together (the second merges onto the first)."""
    service.export_bundle(pair.village, pair.worker, pair.dir / "b1.pvb")
    service.import_bundles(pair.county, pair.coordinator, [pair.dir / "b1.pvb"])
    ids = [h.id for h in pair.village.iter_households()]
    county_side = pair.county.load_household(ids[0])
    county_side.fields["address"] = "县里改的"
    pair.county.save_household(county_side, pair.coordinator)
    for hid, address in ((ids[0], "村里改的"), (ids[1], "村:B")):
        hh = pair.village.load_household(hid)
        hh.fields["address"] = address
        pair.village.save_household(hh, pair.worker)
    service.export_bundle(pair.village, pair.worker, pair.dir / "b2.pvb")
    hh = pair.village.load_household(ids[1])
    hh.fields["phone"] = "13900001111"
    hh.events.append(ProcedureEvent("identification", "apply", "2025-06-01", "village_worker", "worker"))
    pair.village.save_household(hh, pair.worker)
    service.export_bundle(pair.village, pair.worker, pair.dir / "b3.pvb")
    reports, held = _import(pair, [pair.dir / "b2.pvb", pair.dir / "b3.pvb"])
    first = {r["id"]: r for r in reports[0]["records"]}
    assert [c["path"] for c in first[ids[0]]["conflicts"]] == ["fields.address"]
    assert first[ids[1]]["result"] == "merged"
    assert {r["id"]: r for r in reports[1]["records"]}[ids[1]]["result"] == "merged"
    assert held[ids[1]]["fields.phone"] == "13900001111"
    assert held[ids[1]]["fields.address"] == "村:B"


def test_export_in_batches_writes_the_same_payload(pair: Pair) -> None:
    """Read a batch at a time and spooled, the records are those read whole."""
    from povdesk.sync import bundle as fmt

    box = pair.county.device_keys()["box"]
    payloads = []
    for batch, name in ((7, "small.pvb"), (5000, "whole.pvb")):
        service.export_bundle(pair.village, pair.worker, pair.dir / name, full=True, batch=batch)
        payloads.append(fmt.open_payload(fmt.read(pair.dir / name), box[0], box[1]))
    records = [payload.split(b"\n")[1:61] for payload in payloads]  # the second also carries the first's audit entry
    assert records[0] == records[1] and all(r.startswith(b'{"id"') for r in records[0])
    reports, held = _import(pair, [pair.dir / "small.pvb"])
    assert reports[0]["summary"]["inserted"] == 60 and len(held) == 60


def test_a_worker_process_changes_nothing_in_a_bundle_import(pair: Pair) -> None:
    """The same bundles imported into two copies of the county, one of them with a spawned worker
    judging new records and a batch of 7: the same reports, records and sync tables."""
    import multiprocessing
    import shutil
    import sqlite3
    from concurrent.futures import ProcessPoolExecutor

    from povdesk.store import Workspace
    from tests.sync.conftest import PW

    bad = next(h for h in pair.village.iter_households() if h.status == "applicant")
    bad.status = "registered"  # rejected in both
    pair.village.import_households([bad], pair.worker, source="test")
    service.export_bundle(pair.village, pair.worker, pair.dir / "b1.pvb")
    pair.county.close()
    got = []
    for use_pool in (False, True):
        copy = pair.dir / f"county-{use_pool}.db"
        shutil.copyfile(pair.county.path, copy)
        ws = Workspace.open(copy)
        try:
            actor = ws.authenticate("county", PW)
            if use_pool:
                with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                    reports = service.import_bundles(ws, actor, [pair.dir / "b1.pvb"], executor=pool, batch=7)
            else:
                reports = service.import_bundles(ws, actor, [pair.dir / "b1.pvb"])
            held = content(ws)
        finally:
            ws.close()
        with sqlite3.connect(copy) as conn:
            bases = sorted(conn.execute("SELECT household_id, received FROM sync_base").fetchall())
        got.append(([r.to_dict() for r in reports], held, bases))
    pair.county = Workspace.open(pair.county.path)
    assert got[0] == got[1]
    assert got[0][0][0]["summary"]["rejected"] == 1 and got[0][0][0]["summary"]["inserted"] == 59
