"""Flags going back down, end to end: two counties, one person registered in both (by ID number)
and one under two ID numbers (same name, sex and birth date, same prefecture); the province loads
both, writes return bundles, both counties import them and list the flags, and a village of one of
them receives its flag in the county's return bundle. A correction withdraws the flags on the
next round; an old or repeated return bundle, or one for another county, changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from povdesk.cli import main
from povdesk.core import idnumber
from povdesk.core.model import Household, Member
from povdesk.errors import BadInput
from povdesk.province import db, export, registry, returns
from povdesk.store import Workspace
from povdesk.sync import service
from tests.province.conftest import CLOCK, PW, CountySite, Province


def _load(province: Province, *paths: Path) -> None:
    engine = province.engine()
    try:
        for p in paths:
            registry.load_bundle(engine, p, CLOCK)
    finally:
        engine.dispose()


def _returns(province: Province, out: Path, **kw) -> list[returns.ReturnResult]:  # type: ignore[no-untyped-def]
    out.mkdir(exist_ok=True)
    engine = province.engine()
    try:
        return returns.export_returns(engine, out, clock=CLOCK, **kw)
    finally:
        engine.dispose()


def _province_flags(ws: Workspace) -> dict[tuple[str, str, str], dict[str, str]]:
    return {(f.household_id, f.rule, f.member_id): f.message for f in service.status(ws).flags
            if f.source == "province"}


def _twins(a: CountySite, b: CountySite) -> tuple[Household, Member, Household, Member, Household, Member,
                                                   Household, Member]:
    """County B gets a member with the ID number of one of A's people, and another with the name,
    sex and birth date of another of A's people under a different (valid) ID number."""
    a_hhs = [h for h in a.ws.load_households(a.ws.household_ids()).values() if h.members]
    a1, a2 = a_hhs[0], a_hhs[1]
    p1, p2 = a1.members[0], a2.members[0]
    b_hhs = [h for h in b.ws.load_households(b.ws.household_ids()).values() if len(h.members) > 1]
    b1, b2 = b_hhs[0], b_hhs[1]
    t1, t2 = b1.members[-1], b2.members[-1]
    t1.fields = {**p1.fields, "relation": t1.fields.get("relation")}
    number = p2.id_number
    other = idnumber.make(b.code, p2.birth_date, int(number[14:17]))  # type: ignore[arg-type]
    assert other != number
    t2.fields = {**p2.fields, "id_number": other, "relation": t2.fields.get("relation")}
    b.ws.save_household(b1, b.user)
    b.ws.save_household(b2, b.user)
    return a1, p1, b1, t1, a2, p2, b2, t2


def test_flags_go_down_to_both_counties_and_a_village(province: Province, counties: list[CountySite],
                                                      tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a, b = counties
    a1, p1, b1, t1, a2, p2, b2, t2 = _twins(a, b)
    _load(province, export.export_province_bundle(a.ws, a.user, tmp_path / "a.pvb").path,
          export.export_province_bundle(b.ws, b.user, tmp_path / "b.pvb").path)

    out = tmp_path / "returns"
    made = {r.county: r for r in _returns(province, out)}
    assert {c: (r.flags, r.seq) for c, r in made.items()} == {"522634": (2, 1), "522633": (2, 1)}
    for site in (a, b):
        r = returns.import_return(site.ws, site.user, made[site.code].path)  # type: ignore[arg-type]
        assert (r.flags, r.added, r.removed, r.skipped) == (2, 2, 0, "")

    got_a, got_b = _province_flags(a.ws), _province_flags(b.ws)
    assert set(got_a) == {(a1.id, db.DUP_RULE, p1.id), (a2.id, db.DUP_NAME_RULE, p2.id)}
    assert set(got_b) == {(b1.id, db.DUP_RULE, t1.id), (b2.id, db.DUP_NAME_RULE, t2.id)}
    msg = got_a[(a1.id, db.DUP_RULE, p1.id)]["en"]
    assert b1.household_no in msg and "522633" in msg and p1.id_number not in msg
    assert idnumber.mask(p1.id_number) in msg
    assert a2.household_no in got_b[(b2.id, db.DUP_NAME_RULE, t2.id)]["en"]
    for m in (*got_a.values(), *got_b.values()):
        assert p1.id_number not in m["zh"] + m["en"] and p2.id_number not in m["zh"] + m["en"]

    # The county lists them with its other flags (bundle status), marked as the province's.
    monkeypatch.setenv("POVDESK_USER", "county")
    monkeypatch.setenv("POVDESK_PASSWORD", PW)
    capsys.readouterr()
    assert main(["bundle", "status", str(a.path)]) == 0
    listed = [line.split("\t") for line in capsys.readouterr().out.splitlines() if line.startswith("province\t")]
    assert sorted((x[1], x[2]) for x in listed) == sorted([(a1.household_no, db.DUP_RULE),
                                                           (a2.household_no, db.DUP_NAME_RULE)])

    # Nothing changed: no new return; the same bundle again, or an older one, changes nothing.
    assert [r.path for r in _returns(province, out)] == [None, None]
    assert returns.import_return(a.ws, a.user, made["522634"].path).skipped == "already"  # type: ignore[arg-type]
    again = _returns(province, out, county="522634", force=True)[0]
    assert again.seq == 2
    assert returns.import_return(a.ws, a.user, again.path).added == 0  # type: ignore[arg-type]
    old = tmp_path / "old.pvb"
    shutil.copy(made["522634"].path, old)  # type: ignore[arg-type]
    # (the same bundle id under another name is still the same bundle)
    assert returns.import_return(a.ws, a.user, old).skipped == "already"

    # A bundle for county A cannot be imported at county B.
    with pytest.raises(BadInput, match="addressed to another workspace"):
        returns.import_return(b.ws, b.user, made["522634"].path)  # type: ignore[arg-type]

    # A village of county A receives its household's flag in the county's return bundle.
    village_code = a1.village_code
    village = Workspace.create(tmp_path / "village.db", region_code=village_code, name="v", level="village",
                               admin_user="admin", admin_password=PW, clock=CLOCK)
    worker = village.add_user(village.authenticate("admin", PW), "worker", PW, "village_worker")
    vkey, ckey = tmp_path / "village.key", tmp_path / "county-a.key"
    service.export_key_file(village, vkey)
    service.export_key_file(a.ws, ckey)
    service.trust(a.ws, a.admin, vkey, "device")
    service.trust(village, village.authenticate("admin", PW), ckey, "county")
    down = tmp_path / "down.pvb"
    service.export_bundle(a.ws, a.user, down, to=village.device_id)
    service.import_bundles(village, worker, [down])
    vflags = {(f.household_id, f.rule, f.member_id): f for f in service.status(village).flags}
    assert (a1.id, db.DUP_RULE, p1.id) in vflags
    assert vflags[(a1.id, db.DUP_RULE, p1.id)].source == "county"
    assert b1.household_no in vflags[(a1.id, db.DUP_RULE, p1.id)].message["en"]
    village.close()

    # County B corrects both records: the next returns withdraw the flags on both sides.
    b1 = b.ws.load_household(b1.id)
    b1.members = [m for m in b1.members if m.id != t1.id]
    b2 = b.ws.load_household(b2.id)
    b2.members = [m for m in b2.members if m.id != t2.id]
    b.ws.save_household(b1, b.user)
    b.ws.save_household(b2, b.user)
    _load(province, export.export_province_bundle(b.ws, b.user, tmp_path / "b2.pvb").path)
    made = {r.county: r for r in _returns(province, out)}
    assert {c: r.flags for c, r in made.items()} == {"522634": 0, "522633": 0}
    for site in (a, b):
        r = returns.import_return(site.ws, site.user, made[site.code].path)  # type: ignore[arg-type]
        assert (r.flags, r.removed) == (0, 2)
        assert _province_flags(site.ws) == {}


def test_the_commands_as_a_user_runs_them(province: Province, counties: list[CountySite], tmp_path: Path,
                                          capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a, b = counties
    _twins(a, b)
    for site in (a, b):
        _load(province, export.export_province_bundle(site.ws, site.user, tmp_path / f"{site.code}.pvb").path)
    out = tmp_path / "returns"
    out.mkdir()
    capsys.readouterr()
    assert main(["province", "returns", "--database", province.url, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "county 522634: wrote the return bundle" in text and "(number 1, 2 flags)" in text
    monkeypatch.setenv("POVDESK_USER", "county")
    monkeypatch.setenv("POVDESK_PASSWORD", PW)
    assert main(["province", "import", str(a.path), str(out / "522634-return-1.pvb")]) == 0
    assert "2 flags from the province (2 new or changed, 0 withdrawn)" in capsys.readouterr().out
    assert main(["bundle", "inspect", str(out / "522633-return-1.pvb")]) == 0
    assert "province → county (flags)" in capsys.readouterr().out
    # Bad input: one line, exit 2 (a county bundle is no return bundle; no output folder).
    assert main(["province", "import", str(a.path), str(tmp_path / "522634.pvb")]) == 2
    err = capsys.readouterr().err
    assert "not a return bundle from the province" in err and len(err.strip().splitlines()) == 1
    assert main(["province", "returns", "--database", province.url, "-o", str(tmp_path / "nowhere")]) == 2
    assert "the output folder does not exist" in capsys.readouterr().err
