"""Bundle import with the helper process (optimistic write, decided before the commit) gives
exactly what the plain loop gives: the same reports, records, received bases, conflicts and flags,
including when a record is rejected (rolled back, planned again) and when a household comes in
two bundles of one import."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from povdesk.core.model import ProcedureEvent
from povdesk.store import Workspace
from povdesk.sync import service
from tests.sync.conftest import PW, Pair
from tests.sync.test_sync import content

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the helper is a fork (Linux)"),
              pytest.mark.parametrize("pair", [60], indirect=True)]

_TABLES = ("sync_base", "conflicts", "sync_flags", "peer_audit", "sync_received", "sync_acks")


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """The sync tables, without times (the two imports run at different moments)."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for t in _TABLES:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({t})") if not r[1].endswith("_at")
                    and r[1] not in ("id", "at")]
            out[t] = sorted(conn.execute(f"SELECT {', '.join(cols)} FROM {t}").fetchall(), key=repr)
        return out
    finally:
        conn.close()


def _import_both_ways(pair: Pair, bundles: list[Path]) -> tuple[dict[bool, tuple[str, dict, dict]], dict]:
    """Import into two copies of the county, plain and with the helper: (report, content, sync
    rows) for each, and how the helper's run shared the work."""
    pair.county.close()
    out = {}
    for parallel in (False, True):
        copy = pair.dir / f"county-{parallel}.db"
        shutil.copyfile(pair.county.path, copy)
        ws = Workspace.open(copy)
        try:
            stats: dict[str, object] = {}
            reports = service.import_bundles(ws, ws.authenticate("county", PW), bundles, parallel=parallel,
                                             stats=stats)
            assert stats["helper"] is parallel
            if parallel:
                assert stats["helper_did"] + stats["parent_did"] > 0  # type: ignore[operator]
            assert ws.verify_audit() == []
            out[parallel] = (json.dumps([r.to_dict() for r in reports], ensure_ascii=False), content(ws))
        finally:
            ws.close()
        out[parallel] += (_rows(copy),)
    pair.county = Workspace.open(pair.county.path)
    return out, stats


def test_all_accepted_commits_what_the_plain_loop_commits(pair: Pair) -> None:
    service.export_bundle(pair.village, pair.worker, pair.dir / "b1.pvb")
    got, stats = _import_both_ways(pair, [pair.dir / "b1.pvb"])
    assert got[True] == got[False] and "planned_again" not in stats
    assert json.loads(got[True][0])[0]["summary"]["inserted"] == 60


def test_a_rejected_record_rolls_back_and_plans_again(pair: Pair) -> None:
    """A record whose status does not follow from its history: rejected in both, nothing else lost."""
    bad = next(h for h in pair.village.iter_households() if h.status == "applicant")
    bad.status = "registered"
    pair.village.import_households([bad], pair.worker, source="test")
    service.export_bundle(pair.village, pair.worker, pair.dir / "b1.pvb")
    got, stats = _import_both_ways(pair, [pair.dir / "b1.pvb"])
    assert got[True] == got[False] and stats["planned_again"]
    summary = json.loads(got[True][0])[0]["summary"]
    assert summary["rejected"] == 1 and summary["inserted"] == 59
    assert bad.id not in got[True][1]


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
    got, _stats = _import_both_ways(pair, [pair.dir / "b2.pvb", pair.dir / "b3.pvb"])
    assert got[True] == got[False]
    reports = json.loads(got[True][0])
    first = {r["id"]: r for r in reports[0]["records"]}
    assert [c["path"] for c in first[ids[0]]["conflicts"]] == ["fields.address"]
    assert first[ids[1]]["result"] == "merged"
    assert {r["id"]: r for r in reports[1]["records"]}[ids[1]]["result"] == "merged"
    assert got[True][1][ids[1]]["fields.phone"] == "13900001111"
    assert got[True][1][ids[1]]["fields.address"] == "村:B"
