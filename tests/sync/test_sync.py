"""Keys, bundles, verified import, field-level merge, conflicts, return bundles and acknowledgements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from povdesk.errors import BadInput, NotPermitted
from povdesk.store import Workspace
from povdesk.sync import bundle as fmt
from povdesk.sync import service
from povdesk.sync.keys import read_key_file
from povdesk.sync.merge import flatten, merge3
from tests.sync.conftest import PW, Pair, make_workspace


def content(ws: Workspace) -> dict[str, dict]:
    """Every record's mergeable content, status and events (not versions or stamps)."""
    out = {}
    for hh in ws.iter_households():
        flat = flatten(hh)
        flat["#status"] = hh.status
        flat["#events"] = sorted(e.id for e in hh.events)
        out[hh.id] = flat
    return out


def exchange_up(p: Pair, name: str, **kw: object) -> list[service.BundleReport]:
    path = p.dir / name
    service.export_bundle(p.village, p.worker, path, **kw)  # type: ignore[arg-type]
    return service.import_bundles(p.county, p.coordinator, [path])


def exchange_down(p: Pair, name: str) -> list[service.BundleReport]:
    path = p.dir / name
    service.export_bundle(p.county, p.coordinator, path)
    return service.import_bundles(p.village, p.worker, [path])


def test_every_workspace_has_two_keys_and_a_readable_fingerprint(pair: Pair, tmp_path: Path) -> None:
    keys = pair.village.device_keys()
    assert set(keys) == {"sign", "box"} and all(len(k[0]) == 32 and len(k[1]) == 32 for k in keys.values())
    assert keys["sign"][1] != keys["box"][1]
    fp = service.my_fingerprint(pair.village)
    assert len(fp.split("-")) == 8 and all(len(g) == 4 for g in fp.split("-"))
    card = read_key_file(tmp_path / "village.key")
    assert card.fingerprint == fp and card.region_code == "522634100201" and card.level == "village"
    assert [p.fingerprint for p in pair.county.sync_peers("device")] == [fp]


def test_key_file_tampering_and_roles(pair: Pair, tmp_path: Path) -> None:
    data = json.loads((tmp_path / "village.key").read_text())
    data["region_code"] = "522634100202"
    (tmp_path / "forged.key").write_text(json.dumps(data))
    with pytest.raises(BadInput, match="signature is invalid"):
        read_key_file(tmp_path / "forged.key")
    vw = pair.county.add_user(pair.county.authenticate("admin", PW), "vw", PW, "village_worker")
    with pytest.raises(NotPermitted):
        service.trust(pair.county, vw, tmp_path / "village.key", "device")
    with pytest.raises(BadInput, match="only a county"):
        service.trust(pair.village, pair.village.authenticate("admin", PW), tmp_path / "county.key", "device")


def test_export_needs_the_county_key(tmp_path: Path) -> None:
    ws, worker = make_workspace(tmp_path / "v.db", "522634100201", "village", "worker", "village_worker")
    with pytest.raises(BadInput, match="set-county"):
        service.export_bundle(ws, worker, tmp_path / "b.pvb")
    ws.close()


def test_first_exchange_then_idempotent(pair: Pair) -> None:
    (rep,) = exchange_up(pair, "b1.pvb")
    assert rep.summary().inserted == 40 and rep.summary().rejected == 0
    assert content(pair.county) == content(pair.village)
    before = pair.county.path.read_bytes()
    (again,) = service.import_bundles(pair.county, pair.coordinator, [pair.dir / "b1.pvb"])
    assert again.result == "skipped" and "already been imported" in again.note and not again.records
    assert pair.county.path.read_bytes() == before
    # Nothing new: nothing is written.
    res = service.export_bundle(pair.village, pair.worker, pair.dir / "b2.pvb")
    assert not res.written and not (pair.dir / "b2.pvb").exists() and res.seq == (41, 40)
    # The county has an acknowledgement to send: written, then nothing more.
    assert service.export_bundle(pair.county, pair.coordinator, pair.dir / "r1.pvb").written
    (down,) = service.import_bundles(pair.village, pair.worker, [pair.dir / "r1.pvb"])
    assert down.summary().applied == 0
    assert not service.export_bundle(pair.county, pair.coordinator, pair.dir / "r2.pvb").written
    assert not (pair.dir / "r2.pvb").exists()
    # The village now has the county's bundle to acknowledge.
    assert service.export_bundle(pair.village, pair.worker, pair.dir / "b3.pvb").written


def test_a_batch_with_bundles_already_imported_imports_the_rest(pair: Pair) -> None:
    """A folder holding the bundles of the last weeks beside a new one: the old ones are skipped,
    each with a note, and the new one is imported."""
    service.export_bundle(pair.village, pair.worker, pair.dir / "b1.pvb")
    service.import_bundles(pair.county, pair.coordinator, [pair.dir / "b1.pvb"])
    hh = next(pair.village.iter_households())
    hh.fields["phone"] = "13900000009"
    pair.village.save_household(hh, pair.worker)
    service.export_bundle(pair.village, pair.worker, pair.dir / "b2.pvb")
    service.import_bundles(pair.county, pair.coordinator, [pair.dir / "b2.pvb"])
    hh = pair.village.load_household(hh.id)
    hh.fields["address"] = "新地址"
    pair.village.save_household(hh, pair.worker)
    service.export_bundle(pair.village, pair.worker, pair.dir / "b3.pvb")
    reports = service.import_bundles(pair.county, pair.coordinator,
                                     [pair.dir / "b3.pvb", pair.dir / "b1.pvb", pair.dir / "b2.pvb"])
    assert [(r.file, r.result) for r in reports] == [("b1.pvb", "skipped"), ("b2.pvb", "skipped"),
                                                     ("b3.pvb", "applied")]
    assert all("already been imported" in r.note for r in reports[:2])
    assert reports[2].summary().merged == 1
    assert pair.county.load_household(hh.id).fields["address"] == "新地址"


def test_gap_is_refused_and_full_bundle_recovers(pair: Pair) -> None:
    exchange_up(pair, "b1.pvb")
    hh = next(pair.village.iter_households())
    hh.fields["phone"] = "13900000001"
    pair.village.save_household(hh, pair.worker)
    service.export_bundle(pair.village, pair.worker, pair.dir / "b2.pvb")  # lost on the way
    hh = pair.village.load_household(hh.id)
    hh.fields["address"] = "新地址"
    pair.village.save_household(hh, pair.worker)
    service.export_bundle(pair.village, pair.worker, pair.dir / "b3.pvb")
    with pytest.raises(fmt.BundleRefused, match="earlier bundle is missing"):
        service.import_bundles(pair.county, pair.coordinator, [pair.dir / "b3.pvb"])
    # Given together, in any order, they are sorted by sequence.
    service.import_bundles(pair.county, pair.coordinator, [pair.dir / "b3.pvb", pair.dir / "b2.pvb"])
    assert content(pair.county) == content(pair.village)
    service.export_bundle(pair.village, pair.worker, pair.dir / "full.pvb", full=True)
    (rep,) = service.import_bundles(pair.county, pair.coordinator, [pair.dir / "full.pvb"])
    assert rep.summary().unchanged == 40


def test_merge_combines_fields_and_keeps_clashes(pair: Pair) -> None:
    exchange_up(pair, "b1.pvb")
    exchange_down(pair, "r1.pvb")
    ids = [h.id for h in pair.village.iter_households()][:3]
    a, b, c = ids
    # Village edits
    for hid, changes in ((a, {"phone": "13911111111", "address": "村里改的"}), (b, {"address": "村:B"})):
        hh = pair.village.load_household(hid)
        hh.fields.update(changes)
        pair.village.save_household(hh, pair.worker)
    # County edits: a different field of a (combines), the same field of a differently (conflict)
    for hid, changes in ((a, {"address": "县里改的", "bank_account": "6222000011112222"}), (c, {"address": "县:C"})):
        hh = pair.county.load_household(hid)
        hh.fields.update(changes)
        pair.county.save_household(hh, pair.coordinator)
    (up,) = exchange_up(pair, "b2.pvb")
    conflicted = [r for r in up.records if r.conflicts]
    assert [(r.id, [c["path"] for c in r.conflicts]) for r in conflicted] == [(a, ["fields.address"])]
    ca = pair.county.load_household(a)
    assert ca.fields["phone"] == "13911111111" and ca.fields["bank_account"] == "6222000011112222"
    assert ca.fields["address"] == "县里改的"  # local value kept, remote kept in the queue
    (cf,) = service.list_conflicts(pair.county)
    assert (cf.local, cf.remote, cf.path) == ("县里改的", "村里改的", "fields.address")
    assert pair.county.load_household(b).fields["address"] == "村:B"
    exchange_down(pair, "r2.pvb")
    va, vc = pair.village.load_household(a), pair.village.load_household(c)
    assert va.fields["bank_account"] == "6222000011112222" and va.fields["address"] == "村里改的"
    assert vc.fields["address"] == "县:C"
    # Both agree on everything except the clashing field.
    vcon, ccon = content(pair.village), content(pair.county)
    diff = {(hid, k) for hid in vcon for k in vcon[hid].keys() | ccon[hid].keys()
            if vcon[hid].get(k) != ccon[hid].get(k)}
    assert diff == {(a, "fields.address")}
    # Resolve at the county; the resolution travels down.
    service.resolve_conflict(pair.county, pair.coordinator, cf.id, "remote")
    assert pair.county.load_household(a).fields["address"] == "村里改的"
    assert service.list_conflicts(pair.county) == []
    exchange_down(pair, "r3.pvb")
    exchange_up(pair, "b3.pvb")
    assert content(pair.village) == content(pair.county)


def test_county_approval_goes_down_and_ack_reaches_the_village(pair: Pair) -> None:
    exchange_up(pair, "b1.pvb")
    st = service.status(pair.village)
    assert st.peers[0].acknowledged_up_to == 0 and st.peers[0].not_yet_acknowledged_households == 40
    exchange_down(pair, "r1.pvb")
    st = service.status(pair.village)
    assert st.peers[0].acknowledged_up_to == pair.village.last_outbox_seq()
    assert st.peers[0].not_yet_acknowledged_households == 0


def test_bad_bundles_leave_the_county_byte_identical(pair: Pair, tmp_path: Path) -> None:
    good = tmp_path / "good.pvb"
    service.export_bundle(pair.village, pair.worker, good)
    data = good.read_bytes()
    pair.county.close()
    path = pair.county.path
    snapshot = (path.read_bytes(), Path(f"{path}-wal").exists())
    cases: dict[str, bytes] = {}
    for cut in (0, 3, 8, 12, 40, len(data) // 2, len(data) - 70, len(data) - 1):
        cases[f"cut{cut}"] = data[:cut]
    for pos in (9, 20, 200, len(data) // 3, len(data) // 2, len(data) - 80, len(data) - 10):
        flipped = bytearray(data)
        flipped[pos] ^= 0x40
        cases[f"flip{pos}"] = bytes(flipped)
    cases["appended"] = data + b"extra"
    messages = {}
    for name, blob in cases.items():
        f = tmp_path / f"{name}.pvb"
        f.write_bytes(blob)
        with Workspace.open(path) as county:
            coordinator = county.authenticate("county", PW)
            with pytest.raises(BadInput) as err:
                service.import_bundles(county, coordinator, [f])
            messages[name] = str(err.value)
        assert (path.read_bytes(), Path(f"{path}-wal").exists()) == snapshot, name
    assert "cut short" in messages["cut40"] and "not a povdesk" in messages["cut3"]
    assert "unexpected bytes" in messages["appended"]
    pair.county = Workspace.open(path)


def test_decompression_bomb_is_refused(pair: Pair, tmp_path: Path) -> None:
    import hashlib
    import uuid

    body = b"\n" * (300 * 1024 * 1024)
    raw = fmt.read(_export(pair, tmp_path / "ok.pvb"))
    bundle_id = str(uuid.uuid4())
    ct, section = fmt.seal(body, pair.county.device_keys()["box"][1], bundle_id, pair.village.device_id)
    for size in (len(body), 1000):  # an honest huge size, and a lie about it
        m = {**raw.manifest, "bundle_id": bundle_id, "payload": {**section, "size": size}}
        fmt.write(tmp_path / "bomb.pvb", m, ct, pair.village.device_keys()["sign"][0])
        with pytest.raises(BadInput, match="decompression bomb"):
            service.import_bundles(pair.county, pair.coordinator, [tmp_path / "bomb.pvb"])
    assert hashlib.sha256(body).hexdigest() == section["sha256"]


def _export(pair: Pair, path: Path) -> Path:
    service.export_bundle(pair.village, pair.worker, path)
    return path


def test_merge3_rules() -> None:
    base = {"a": 1, "b": 1, "c": 1}
    res = merge3(base, {"a": 2, "b": 1, "c": 3}, {"a": 1, "b": 5, "c": 4, "d": 9})
    assert res.flat == {"a": 2, "b": 5, "c": 3, "d": 9}
    assert res.conflicts == [("c", 1, 3, 4)]
    assert merge3(None, {"a": 2}, {"a": 3}).conflicts == [("a", None, 2, 3)]


def test_an_older_full_bundle_imported_late_changes_nothing(pair: Pair) -> None:
    """Versions only move forward: a full bundle exported earlier and imported after a newer one
    does not take back a phone number or a bank account."""
    hh = next(pair.village.iter_households())
    hh.fields["phone"] = "13900000001"
    pair.village.save_household(hh, pair.worker)
    service.export_bundle(pair.village, pair.worker, pair.dir / "old.pvb", full=True)
    hh = pair.village.load_household(hh.id)
    hh.fields["phone"], hh.fields["bank_account"] = "13900000002", "6222000033334444"
    pair.village.save_household(hh, pair.worker)
    service.export_bundle(pair.village, pair.worker, pair.dir / "new.pvb", full=True)
    service.import_bundles(pair.county, pair.coordinator, [pair.dir / "new.pvb"])
    (rep,) = service.import_bundles(pair.county, pair.coordinator, [pair.dir / "old.pvb"])
    held = pair.county.load_household(hh.id)
    assert (held.fields["phone"], held.fields["bank_account"]) == ("13900000002", "6222000033334444")
    assert rep.summary().applied == 0 and rep.summary().unchanged == 40
    (mine,) = [r for r in rep.records if r.id == hh.id]
    assert "older" in mine.reasons[0]["en"]
    assert content(pair.county) == content(pair.village)
