"""Loading province bundles into PostgreSQL: partitions made on first load, each bundle once, newer
versions over older ones and never the reverse, refused bundles writing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from povdesk.province import db, export, registry
from povdesk.sync import bundle as fmt
from tests.province.conftest import CLOCK, CountySite, Province, join, make_county


def _counts(province: Province, county: str | None = None) -> dict[str, int]:
    engine = province.engine()
    try:
        with engine.connect() as conn:
            return db.count_rows(conn, county)
    finally:
        engine.dispose()


def _load(province: Province, path: Path) -> registry.LoadResult:
    engine = province.engine()
    try:
        return registry.load_bundle(engine, path, CLOCK)
    finally:
        engine.dispose()


def test_load_once_then_newer_versions_only(province: Province, counties: list[CountySite]) -> None:
    site = counties[0]
    held = site.ws.load_households(site.ws.household_ids())
    members = sum(len(h.members) for h in held.values())
    events = sum(len(h.events) for h in held.values())
    years = sum(len(h.years) for h in held.values())
    b1 = export.export_province_bundle(site.ws, site.user, site.path.parent / "b1.pvb").path

    r = _load(province, b1)
    assert (r.households, r.applied, r.already, r.partitions_made) == (60, 60, False, 5)
    want = {"households": 60, "members": members, "years": years, "events": events, "flags": 0, "bundles": 1}
    assert _counts(province) == want
    engine = province.engine()
    try:
        with engine.connect() as conn:
            assert db.partitions(conn) == ["522634"]
            one = next(iter(held.values()))
            row = conn.execute(select(db.households).where(db.households.c.household_id == one.id)).mappings().one()
            assert row["county_code"] == "522634" and row["version"] == one.version and row["fields"] == one.fields
            got = conn.execute(select(db.members.c.member_id, db.members.c.id_number).where(
                db.members.c.household_id == one.id).order_by(db.members.c.position)).all()
            assert [tuple(x) for x in got] == [(m.id, m.id_number) for m in one.members]
    finally:
        engine.dispose()

    # The same bundle again: a no-op.
    again = _load(province, b1)
    assert again.already and again.applied == 0
    assert _counts(province) == want

    # A newer version of one household (a member dropped), then an older full bundle loaded late.
    old_full = export.export_province_bundle(site.ws, site.user, site.path.parent / "full-old.pvb", full=True).path
    hh = next(h for h in held.values() if len(h.members) > 1 and h.head is not h.members[-1])
    hh.members = hh.members[:-1]
    hh.fields["phone"] = "13900000000"
    site.ws.save_household(hh, site.user)
    b2 = export.export_province_bundle(site.ws, site.user, site.path.parent / "b2.pvb").path
    r2 = _load(province, b2)
    assert (r2.households, r2.applied) == (1, 1)
    assert _counts(province)["members"] == members - 1
    r3 = _load(province, old_full)  # every household at the version already held, one older: nothing written
    assert (r3.households, r3.applied, r3.already) == (60, 0, False)
    engine = province.engine()
    try:
        with engine.connect() as conn:
            versions = db.household_versions(conn, "522634")
            phone = conn.execute(select(db.households.c.fields).where(
                db.households.c.household_id == hh.id)).scalar_one()["phone"]
    finally:
        engine.dispose()
    assert versions == {h: v.version for h, v in site.ws.load_households(site.ws.household_ids()).items()}
    assert phone == "13900000000"
    assert _counts(province)["members"] == members - 1 and _counts(province)["bundles"] == 3


def test_refused_bundles_write_nothing(province: Province, counties: list[CountySite], tmp_path: Path,
                                       postgres) -> None:  # type: ignore[no-untyped-def]
    site = counties[0]
    good = export.export_province_bundle(site.ws, site.user, tmp_path / "good.pvb").path
    empty = _counts(province)

    # A county the province never enrolled (it knows the province's key, but the province not its).
    stranger = make_county(tmp_path, "522636", 5, 9)
    try:
        export.set_province_key(stranger.ws, stranger.admin, province.key_file)
        unknown = export.export_province_bundle(stranger.ws, stranger.user, tmp_path / "unknown.pvb").path
    finally:
        stranger.ws.close()
    with pytest.raises(fmt.BundleRefused, match="county this province does not know"):
        _load(province, unknown)

    # Addressed to another province's database.
    other_url = postgres.new_database()
    engine = registry.connect(other_url)
    try:
        registry.init(engine)
        registry.ensure_keys(engine, "52", "另一个", CLOCK)
        registry.enrol_county(engine, site.key_file, CLOCK)
        with pytest.raises(fmt.BundleRefused, match="addressed to another province"):
            registry.load_bundle(engine, good, CLOCK)
    finally:
        engine.dispose()

    # Altered on the way (one byte of the ciphertext), or cut short.
    data = bytearray(good.read_bytes())
    data[-100] ^= 1
    (tmp_path / "altered.pvb").write_bytes(bytes(data))
    with pytest.raises(fmt.BundleRefused, match="signature is invalid"):
        _load(province, tmp_path / "altered.pvb")
    (tmp_path / "short.pvb").write_bytes(good.read_bytes()[:-10])
    with pytest.raises(fmt.BundleRefused, match="cut short"):
        _load(province, tmp_path / "short.pvb")
    assert _counts(province) == empty
    r = _load(province, good)
    assert r.applied == 60


def test_a_county_enrolled_elsewhere_is_refused(province: Province, tmp_path: Path) -> None:
    site = make_county(tmp_path, "522634", 3, 4)
    try:
        join(province, site)
        out = export.export_province_bundle(site.ws, site.user, tmp_path / "a.pvb").path
        # The county replaced its laptop: the province enrols the new key; bundles of the old are refused.
        (tmp_path / "new").mkdir()
        replacement = make_county(tmp_path / "new", "522634", 0, 5)
        try:
            join(province, replacement)
        finally:
            replacement.ws.close()
        with pytest.raises(fmt.BundleRefused, match="county this province does not know"):
            _load(province, out)
    finally:
        site.ws.close()


def test_load_through_a_worker_process(province: Province, counties: list[CountySite], tmp_path: Path) -> None:
    """With a worker parsing the batches (as `province load` does for large files), the same rows
    land, a later bundle goes through the upsert, and a bad line found in the worker refuses the
    bundle whole."""
    from povdesk.ops.importing import decision_pool
    from povdesk.sync.service import my_fingerprint

    a, b = counties
    first = export.export_province_bundle(a.ws, a.user, tmp_path / "a1.pvb").path
    for hh in a.ws.load_households(a.ws.household_ids()[:7]).values():
        hh.fields["phone"] = "13900000000"
        a.ws.save_household(hh, a.user)
    second = export.export_province_bundle(a.ws, a.user, tmp_path / "a2.pvb").path
    # County A's key signing a household of county B: refused, wherever the line is parsed.
    peer = export.province_peer(a.ws)
    keys = a.ws.device_keys()
    stray = export.write_bundle(
        tmp_path / "stray.pvb", [*a.ws.load_households(a.ws.household_ids()[:3]).values(),
                                 b.ws.load_household(b.ws.household_ids()[0])], 4,
        sender={"device_id": a.ws.device_id, "workspace_id": a.ws.workspace_id, "region_code": a.code,
                "level": "county", "name": a.ws.name, "fingerprint": my_fingerprint(a.ws)},
        sign_private=keys["sign"][0], recipient={"device_id": peer.device_id, "fingerprint": peer.fingerprint,
                                                 "region_code": peer.region_code},
        box_public=peer.box_public, full=False, seq=(90, 90), audit_head={"seq": 0, "hash": ""},
        schema_version=a.ws.schema_version)
    engine = province.engine()
    try:
        with decision_pool([], 1) as pool:
            assert pool is not None
            r1 = registry.load_bundle(engine, first, CLOCK, batch=16, executor=pool)
            r2 = registry.load_bundle(engine, second, CLOCK, batch=4, executor=pool)
            with pytest.raises(fmt.BundleRefused, match="belongs to village"):
                registry.load_bundle(engine, tmp_path / "stray.pvb", CLOCK, batch=2, executor=pool)
    finally:
        engine.dispose()
    assert stray["counts"]["households"] == 4
    assert (r1.applied, r2.households, r2.applied) == (60, 7, 7)
    counts = _counts(province, a.code)
    members = sum(len(h.members) for h in a.ws.load_households(a.ws.household_ids()).values())
    assert (counts["households"], counts["members"], counts["bundles"]) == (60, members, 2)
