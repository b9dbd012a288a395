"""The same ID number in two counties: a flag row for each household, cleared when one county
corrects its record; listed with the ID number masked."""

from __future__ import annotations

from pathlib import Path

from povdesk.cli import main
from povdesk.province import export, registry
from tests.province.conftest import CLOCK, CountySite, Province


def _load(province: Province, *paths: Path) -> None:
    engine = province.engine()
    try:
        for p in paths:
            registry.load_bundle(engine, p, CLOCK)
    finally:
        engine.dispose()


def _flags(province: Province, county: str | None = None) -> list[dict]:  # type: ignore[type-arg]
    engine = province.engine()
    try:
        return registry.flags(engine, county)
    finally:
        engine.dispose()


def test_a_person_registered_in_two_counties_is_flagged_to_both(province: Province, counties: list[CountySite],
                                                                tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    a, b = counties
    a_hh = next(iter(a.ws.load_households(a.ws.household_ids()[:1]).values()))
    person = a_hh.members[0]
    b_hh = next(h for h in b.ws.load_households(b.ws.household_ids()).values() if len(h.members) > 1)
    twin = b_hh.members[-1]
    kept = twin.fields.get("relation")
    twin.fields = {**person.fields, "relation": kept}
    b.ws.save_household(b_hh, b.user)
    _load(province, export.export_province_bundle(a.ws, a.user, tmp_path / "a.pvb").path)
    assert _flags(province) == []  # county B has not reported yet
    _load(province, export.export_province_bundle(b.ws, b.user, tmp_path / "b.pvb").path)

    rows = _flags(province)
    assert {(r["county_code"], r["household_id"], r["member_id"], r["other_county"], r["other_household_id"])
            for r in rows} == {("522634", a_hh.id, person.id, "522633", b_hh.id),
                               ("522633", b_hh.id, twin.id, "522634", a_hh.id)}
    assert [r["household_no"] for r in _flags(province, "522633")] == [b_hh.household_no]

    capsys.readouterr()
    assert main(["province", "flags", "--database", province.url]) == 0
    text = capsys.readouterr().out
    assert person.id_number not in text and person.id_number[:6] + "********" + person.id_number[-4:] in text
    assert b_hh.household_no in text and a_hh.household_no in text

    # County B corrects its record: both sides' flags go with its next bundle.
    b_hh = b.ws.load_household(b_hh.id)
    b_hh.members = [m for m in b_hh.members if m.id != twin.id]
    b.ws.save_household(b_hh, b.user)
    _load(province, export.export_province_bundle(b.ws, b.user, tmp_path / "b2.pvb").path)
    assert _flags(province) == []


def test_the_check_from_scratch_finds_what_the_loads_found(province: Province, counties: list[CountySite],
                                                           tmp_path: Path) -> None:
    """db.recheck_flags (the audit: every person against every other, from candidate keys first)
    gives the very rows the loads made bundle by bundle, for both rules."""
    from povdesk.province import db

    a, b = counties
    a_all = list(a.ws.load_households(a.ws.household_ids()).values())
    b_all = [h for h in b.ws.load_households(b.ws.household_ids()).values() if len(h.members) > 1]
    same_id, same_name = a_all[0].members[0], a_all[1].members[0]
    b1, b2 = b_all[0], b_all[1]
    b1.members[-1].fields = {**same_id.fields, "relation": b1.members[-1].fields.get("relation")}
    # The same name, sex and birth date under another ID number (one of county B's own people).
    b2.members[-1].fields = {**same_name.fields, "relation": b2.members[-1].fields.get("relation"),
                             "id_number": b2.members[0].id_number}
    b.ws.save_household(b1, b.user)
    b.ws.save_household(b2, b.user)
    _load(province, export.export_province_bundle(a.ws, a.user, tmp_path / "a.pvb").path,
          export.export_province_bundle(b.ws, b.user, tmp_path / "b.pvb").path)

    def rows() -> list[tuple[object, ...]]:
        return sorted(tuple(v for k, v in r.items() if k != "created_at") for r in _flags(province))

    loaded = rows()
    assert {(r[0], r[3]) for r in loaded} >= {("522634", db.DUP_RULE), ("522633", db.DUP_RULE),
                                             ("522634", db.DUP_NAME_RULE), ("522633", db.DUP_NAME_RULE)}
    engine = province.engine()
    try:
        with engine.begin() as conn:
            assert db.recheck_flags(conn, "2026-06-02T00:00:00") == len(loaded)
    finally:
        engine.dispose()
    assert rows() == loaded
