"""The county anchors each village's audit trail: every bundle carries the chain's head signed with
the device key, and a bundle whose past contradicts the heads the county received (rewritten or cut
short, with `sqlite3` on a plain workspace or SQLCipher and the key on an encrypted one) is
reported as altered, naming the device, and refused with nothing written. An honest sequence of
bundles passes; `povdesk audit` checks the chain against the last head the workspace signed."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from povdesk.core.demo import DEMO_PASSWORD, generate
from povdesk.core.procedures import as_held_at
from povdesk.store import Workspace, keys
from povdesk.store.audit import entry_hash, sign_head
from tests.security.conftest import cli, ok

ADMIN = {"POVDESK_USER": "admin", "POVDESK_PASSWORD": DEMO_PASSWORD}
COUNTY = {"POVDESK_USER": "county", "POVDESK_PASSWORD": DEMO_PASSWORD}
NEW_PW = {**ADMIN, "POVDESK_NEW_PASSWORD": DEMO_PASSWORD}
VILLAGE_CODE = "522634100201"


@dataclass
class Desk:
    root: Path
    plain: bool

    @property
    def village(self) -> Path:
        return self.root / "village.db"

    @property
    def county(self) -> Path:
        return self.root / "county.db"


@pytest.fixture(params=["plain", "encrypted"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Desk:
    d = Desk(tmp_path, request.param == "plain")
    plain = ("--plain",) if d.plain else ()
    ok(cli(tmp_path, "init", str(d.county), "--region", "522634", "--name", "雷山县", *plain, env=ADMIN))
    ok(cli(tmp_path, "users", "add", str(d.county), "county", "--role", "county_coordinator", env=NEW_PW))
    ok(cli(tmp_path, "init", str(d.village), "--region", VILLAGE_CODE, "--name", "东门村", *plain, env=ADMIN))
    ok(cli(tmp_path, "users", "add", str(d.village), "worker", "--role", "village_worker", env=NEW_PW))
    ok(cli(tmp_path, "keys", "export", str(d.county), "-o", str(tmp_path / "county.key"), env=ADMIN))
    ok(cli(tmp_path, "keys", "export", str(d.village), "-o", str(tmp_path / "village.key"), env=ADMIN))
    ok(cli(tmp_path, "keys", "enrol", str(d.county), str(tmp_path / "village.key"), env=ADMIN))
    ok(cli(tmp_path, "keys", "set-county", str(d.village), str(tmp_path / "county.key"), env=ADMIN))
    assert keys.is_plain_sqlite(d.village) == d.plain
    ws = _open(d.village)
    try:
        made = generate(VILLAGE_CODE, count=6, seed=11, today=date(2026, 5, 1))
        ws.import_households(list(as_held_at(made, "village")), ws.authenticate("worker", DEMO_PASSWORD),
                             source="register")
    finally:
        ws.close()
    return d


def _open(db: Path) -> Workspace:
    keys.forget_all()
    return Workspace.open(db)


def edit(d: Desk, n: int, tag: str) -> str:
    """`n` saves of one household's address through povdesk; returns the household id."""
    ws = _open(d.village)
    try:
        worker = ws.authenticate("worker", DEMO_PASSWORD)
        hh = next(ws.iter_households())
        for i in range(n):
            hh = ws.load_household(hh.id)
            hh.fields["address"] = f"{tag}{i}号"
            ws.save_household(hh, worker)
        return hh.id
    finally:
        ws.close()
        keys.forget_all()


def up(d: Desk, name: str, *more: str) -> Any:
    ok(cli(d.root, "bundle", "export", str(d.village), "-o", str(d.root / name), *more, env={
        "POVDESK_USER": "worker", "POVDESK_PASSWORD": DEMO_PASSWORD}))
    return cli(d.root, "bundle", "import", str(d.county), str(d.root / name), "--json", env=COUNTY)


def county_state(d: Desk, household: str) -> tuple[int, str, int]:
    """(received up to, the household's address at the county, audit entries the county holds)."""
    res = ok(cli(d.root, "bundle", "status", str(d.county), "--json", env=COUNTY))
    (peer,) = json.loads(res.stdout)["peers"]
    ws = _open(d.county)
    try:
        ws.authenticate("county", DEMO_PASSWORD)
        hh = ws.load_household(household) if ws.count_households() else None
        return peer["received_up_to"], (hh.fields.get("address", "") if hh else ""), peer["audit_received_up_to"]
    finally:
        ws.close()
        keys.forget_all()


def attacker(db: Path) -> Any:
    """The file opened with plain tools: sqlite3, or SQLCipher with the data key unwrapped from the
    key file with a worker's password (what a worker with a password can do)."""
    if keys.is_plain_sqlite(db):
        conn: Any = sqlite3.connect(db, isolation_level=None)
    else:
        kf = keys.KeyFile.load(keys.key_file_for(db))
        key, _entry = kf.unwrap("worker", DEMO_PASSWORD)
        conn = sqlcipher3.connect(str(db), isolation_level=None)
        keys.give_key(conn, key, kf.cipher)  # with the file's SQLCipher settings, named in its key file
    for op in ("update", "delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS audit_no_{op}")
    return conn


def _rechain(conn: Any, from_seq: int) -> None:
    """Every hash from `from_seq` on recomputed, the recorded end and the last signed head made to
    match, signed again with the device key from the file: a thorough rewrite."""
    rows = conn.execute("SELECT seq, at, user, action, entity, entity_id, field, old, new FROM audit "
                        "WHERE seq >= ? ORDER BY seq", (from_seq,)).fetchall()
    prev_row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (from_seq - 1,)).fetchone()
    prev = prev_row[0] if prev_row else ""
    for seq, at, user, action, entity, entity_id, fld, old, new in rows:
        h = entry_hash(prev, seq, at, user, action, entity, entity_id, fld, old, new)
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
        prev = h
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{last[0]}:{last[1]}",))
    signed = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'audit_signed_head'").fetchone()[0])
    seq = min(signed["seq"], last[0])
    h = conn.execute("SELECT hash FROM audit WHERE seq = ?", (seq,)).fetchone()[0]
    private = conn.execute("SELECT private_key FROM device_keys WHERE kind = 'sign'").fetchone()[0]
    device = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
    head = sign_head(device, seq, h, bytes(private), signed["bundle_id"], signed["at"])
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_signed_head'", (json.dumps(head.to_dict()),))


def _audit(d: Desk) -> Any:
    return cli(d.root, "audit", str(d.village), "--json", env=ADMIN)


def _refused_as_altered(res: Any, d: Desk, how: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line, line
    assert "audit history of device" in line and how in line and "nothing was written" in line, line
    assert "东门村" in line and VILLAGE_CODE in line  # the device is named


def test_an_honest_sequence_of_bundles_passes(desk: Desk) -> None:
    hid = edit(desk, 1, "一组")
    assert up(desk, "b1.pvb").returncode == 0
    edit(desk, 2, "二组")
    assert up(desk, "b2.pvb").returncode == 0
    stale = desk.root / "stale-full.pvb"
    ok(cli(desk.root, "bundle", "export", str(desk.village), "-o", str(stale), "--full",
           env={"POVDESK_USER": "worker", "POVDESK_PASSWORD": DEMO_PASSWORD}))
    edit(desk, 1, "三组")
    res = up(desk, "b3.pvb")
    assert res.returncode in (0, 1), res.stderr
    # Applied; the entries only the stale full bundle carried are missing for now (a gap, not an alteration).
    (report,) = json.loads(res.stdout)["bundles"]
    assert report["result"] == "applied"
    assert all("have not been received" in p["en"] for p in report["audit"]["problems"]), report["audit"]
    assert up(desk, "full.pvb", "--full").returncode in (0, 1)  # a full bundle re-sends the whole chain
    # A full bundle made before the last one, arriving late, is only stale.
    late = cli(desk.root, "bundle", "import", str(desk.county), str(stale), env=COUNTY)
    assert late.returncode in (0, 1), late.stderr
    assert county_state(desk, hid)[1] == "三组0号"
    assert json.loads(ok(_audit(desk)).stdout)["ok"] is True
    res = ok(cli(desk.root, "audit", str(desk.county), "--json", env=ADMIN))
    assert json.loads(res.stdout)["ok"] is True


def test_a_rewritten_audit_chain_is_reported_at_the_county(desk: Desk) -> None:
    hid = edit(desk, 2, "一组")
    assert up(desk, "b1.pvb").returncode == 0
    before = county_state(desk, hid)
    conn = attacker(desk.village)
    # The village hides who registered the households: the import's entries say someone else did it,
    # and the whole chain from there is recomputed and its last signed head signed again.
    first = conn.execute("SELECT min(seq) FROM audit WHERE entity = 'household'").fetchone()[0]
    conn.execute("UPDATE audit SET user = 'nobody' WHERE seq >= ? AND entity = 'household'", (first,))
    _rechain(conn, first)
    conn.close()
    # Locally the thorough rewrite passes (the key is in the file) ...
    assert json.loads(ok(_audit(desk)).stdout)["ok"] is True
    edit(desk, 1, "二组")
    res = up(desk, "b2.pvb")
    # ... but its next bundle contradicts the head the county received.
    _refused_as_altered(res, desk, "was rewritten")
    assert county_state(desk, hid) == before  # nothing written
    # Refused again on every try, until the coordinator takes the history as it now is.
    assert cli(desk.root, "bundle", "import", str(desk.county), str(desk.root / "b2.pvb"), env=COUNTY).returncode == 2
    res = cli(desk.root, "bundle", "import", str(desk.county), str(desk.root / "b2.pvb"), "--accept-history",
              VILLAGE_CODE, "--json", env=COUNTY)
    assert res.returncode in (0, 1), res.stderr
    assert county_state(desk, hid)[1] == "二组0号"


def test_a_clumsy_rewrite_is_found_locally(desk: Desk) -> None:
    edit(desk, 1, "一组")
    assert up(desk, "b1.pvb").returncode == 0
    conn = attacker(desk.village)
    seq, h = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    conn.execute("UPDATE audit SET user = 'nobody' WHERE seq = 2")
    # The chain recomputed, but the signed head left as it was (the attacker has no signing tool).
    signed = conn.execute("SELECT value FROM meta WHERE key = 'audit_signed_head'").fetchone()[0]
    _rechain(conn, 2)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_signed_head'", (signed,))
    conn.close()
    res = _audit(desk)
    assert res.returncode == 1
    problems = [p["en"] for p in json.loads(res.stdout)["problems"]]
    assert any("differs from the one signed into a bundle" in p for p in problems), problems
    # Forging the record of the signed head breaks its signature.
    conn = attacker(desk.village)
    head = json.loads(signed)
    head["hash"] = conn.execute("SELECT hash FROM audit WHERE seq = ?", (head["seq"],)).fetchone()[0]
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_signed_head'", (json.dumps(head),))
    conn.close()
    problems = [p["en"] for p in json.loads(_audit(desk).stdout)["problems"]]
    assert any("signature of the last signed audit head" in p for p in problems), problems
    # Deleting the record is noticed too.
    conn = attacker(desk.village)
    conn.execute("DELETE FROM meta WHERE key = 'audit_signed_head'")
    conn.close()
    problems = [p["en"] for p in json.loads(_audit(desk).stdout)["problems"]]
    assert any("last signed audit head is missing" in p for p in problems), problems
    del seq, h


def test_a_truncated_audit_chain_is_reported_at_the_county(desk: Desk) -> None:
    hid = edit(desk, 1, "一组")
    assert up(desk, "b1.pvb").returncode == 0
    edit(desk, 3, "二组")
    assert up(desk, "b2.pvb").returncode == 0
    before = county_state(desk, hid)
    conn = attacker(desk.village)
    # The village deletes the last entries the county has already received (three saves and the
    # export), as if they had never happened, and makes the rest look whole.
    keep = conn.execute("SELECT min(seq) FROM audit WHERE new LIKE '%二组0号%'").fetchone()[0] - 1
    conn.execute("DELETE FROM audit WHERE seq > ?", (keep,))
    _rechain(conn, keep + 1)
    conn.close()
    assert json.loads(ok(_audit(desk)).stdout)["ok"] is True  # locally it looks whole
    edit(desk, 1, "三组")
    res = up(desk, "b3.pvb")
    _refused_as_altered(res, desk, "")
    assert county_state(desk, hid) == before
