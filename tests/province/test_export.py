"""A county's province bundle: signed by the county, encrypted to the province, carrying its
changed households (with members, years and events) and its audit head."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from povdesk.core.exchange import parse_line
from povdesk.errors import BadInput
from povdesk.province import db, export, registry
from povdesk.sync import bundle as fmt
from povdesk.sync import service
from tests.province.conftest import CountySite, Province


def _open(province: Province, path: Path) -> tuple[dict, list[dict]]:  # type: ignore[type-arg]
    engine = province.engine()
    try:
        with engine.connect() as conn:
            keys = db.get_keys(conn)
    finally:
        engine.dispose()
    assert keys is not None
    raw = fmt.read(path)
    payload = fmt.open_payload(raw, keys.box_private, keys.box_public)
    lines = [orjson.loads(x) for x in payload.split(b"\n") if x]
    return raw.manifest, lines


def test_province_bundle_carries_changed_households_and_the_audit_head(province: Province,
                                                                        counties: list[CountySite]) -> None:
    site = counties[0]
    first = export.export_province_bundle(site.ws, site.user, site.path.parent / "p1.pvb")
    manifest, lines = _open(province, first.path)
    assert manifest["kind"] == "province" and first.households == 60
    assert manifest["recipient"]["fingerprint"] == export.province_peer(site.ws).fingerprint
    assert manifest["sender"]["fingerprint"] == service.my_fingerprint(site.ws)
    header, body = lines[0], lines[1:]
    assert header["county"] == "522634" and header["households"] == 60
    assert header["audit_head"] == manifest["audit_head"] and header["audit_head"]["seq"] > 0
    held = site.ws.load_households(site.ws.household_ids())
    for line in body:
        hh = parse_line(orjson.dumps(line), "x")
        assert hh.to_dict() == held[hh.id].to_dict()  # members, years, helpers and events as the county holds them
    assert sum(len(x["members"]) for x in body) == manifest["counts"]["members"] > 60
    assert sum(len(x["events"]) for x in body) == manifest["counts"]["events"] > 0

    # Nothing changed since: nothing to send. One household changed: only that one.
    assert not export.export_province_bundle(site.ws, site.user, site.path.parent / "p2.pvb").written
    assert not (site.path.parent / "p2.pvb").exists()
    hh = next(iter(held.values()))
    hh.fields["phone"] = "13800000000"
    site.ws.save_household(hh, site.user)
    second = export.export_province_bundle(site.ws, site.user, site.path.parent / "p3.pvb")
    manifest2, lines2 = _open(province, second.path)
    assert second.households == 1 and lines2[1]["id"] == hh.id and lines2[1]["fields"]["phone"] == "13800000000"
    assert manifest2["seq"]["first"] == manifest["seq"]["last"] + 1
    # --full: every household again.
    full = export.export_province_bundle(site.ws, site.user, site.path.parent / "p4.pvb", full=True)
    assert full.households == 60 and full.manifest["full"] is True


def test_the_province_key_is_checked_and_needed(province: Province, tmp_path: Path) -> None:
    from tests.province.conftest import make_county

    site = make_county(tmp_path, "522635", 0, 3)
    try:
        with pytest.raises(BadInput, match="does not know its province's key"):
            export.export_province_bundle(site.ws, site.user, tmp_path / "x.pvb")
        with pytest.raises(BadInput, match="not a province's key"):
            export.set_province_key(site.ws, site.admin, site.key_file)  # a county's own kind of key file
        engine = province.engine()
        try:
            card, made = registry.ensure_keys(engine, None, None)
        finally:
            engine.dispose()
        assert not made and card.region_code == "52" and card.level == "province"
    finally:
        site.ws.close()
