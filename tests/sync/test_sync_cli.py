"""The exchange as users type it, exit codes, and an import killed at random points."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from povdesk.core.demo import DEMO_PASSWORD, generate
from povdesk.core.exchange import write_jsonl
from tests.sync.conftest import VILLAGE, make_pair, village_stage

ADMIN = {"POVDESK_USER": "admin", "POVDESK_PASSWORD": DEMO_PASSWORD}
WORKER = {"POVDESK_USER": "worker", "POVDESK_PASSWORD": DEMO_PASSWORD}
COUNTY = {"POVDESK_USER": "county", "POVDESK_PASSWORD": DEMO_PASSWORD}


def run(env: dict[str, str], *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, POVDESK_LANG="en", POVDESK_DATA_DIR=str(cwd / "data"), **env)
    return subprocess.run([sys.executable, "-m", "povdesk", *argv], capture_output=True, text=True, env=full,
                          cwd=cwd, stdin=subprocess.DEVNULL)


def ok(result: subprocess.CompletedProcess[str], code: int = 0) -> str:
    assert result.returncode == code, result.stderr + result.stdout
    return result.stdout


def test_village_county_village_in_commands(tmp_path: Path) -> None:
    d = tmp_path
    register = d / "applicants.jsonl"
    with register.open("w", encoding="utf-8") as fh:
        write_jsonl(village_stage(generate(VILLAGE, count=200, seed=5, today=date(2025, 6, 1))), fh)
    ok(run(ADMIN, "init", "village.db", "--region", VILLAGE, "--name", "东门村", cwd=d))
    ok(run({**ADMIN, "POVDESK_NEW_PASSWORD": DEMO_PASSWORD}, "users", "add", "village.db", "worker",
           "--role", "village_worker", cwd=d))
    ok(run(WORKER, "import-json", "village.db", str(register), cwd=d), code=1)  # 1: findings to look at
    ok(run(ADMIN, "init", "county.db", "--region", "522634", "--name", "雷山县", cwd=d))
    ok(run({**ADMIN, "POVDESK_NEW_PASSWORD": DEMO_PASSWORD}, "users", "add", "county.db", "county",
           "--role", "county_coordinator", cwd=d))
    fp = ok(run(WORKER, "keys", "show", "village.db", cwd=d)).split("fingerprint: ")[1].split()[0]
    ok(run(WORKER, "keys", "export", "village.db", "-o", "village.key", cwd=d))
    ok(run(ADMIN, "keys", "export", "county.db", "-o", "county.key", cwd=d))
    assert fp in ok(run(COUNTY, "keys", "enrol", "county.db", "village.key", cwd=d))
    ok(run(ADMIN, "keys", "set-county", "village.db", "county.key", cwd=d))
    ok(run(WORKER, "bundle", "export", "village.db", "-o", "up1.pvb", cwd=d))
    assert "village → county" in ok(run({}, "bundle", "inspect", "up1.pvb", cwd=d))
    out = run(COUNTY, "bundle", "import", "county.db", "up1.pvb", "--json", "--workers", "1", cwd=d)
    assert out.returncode in (0, 1), out.stderr
    import json

    report = json.loads(out.stdout)
    assert report["bundles"][0]["summary"]["inserted"] == 200
    again = run(COUNTY, "bundle", "import", "county.db", "up1.pvb", cwd=d)
    assert again.returncode == 0 and "already been imported" in again.stdout and not again.stderr
    ok(run(COUNTY, "bundle", "export", "county.db", "-o", "down1.pvb", cwd=d))
    ok(run(WORKER, "bundle", "import", "village.db", "down1.pvb", cwd=d))
    status = ok(run(WORKER, "bundle", "status", "village.db", cwd=d))
    assert "0 households not yet acknowledged" in status
    ok(run(COUNTY, "conflicts", "list", "county.db", cwd=d))
    bad = d / "bad.pvb"
    bad.write_bytes(b"POVDBNDL\x01garbage")
    res = run(COUNTY, "bundle", "import", "county.db", str(bad), cwd=d)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


_IMPORT = """
import sys
from pathlib import Path
from povdesk.store import Workspace
from povdesk.sync import service
ws = Workspace.open(sys.argv[1])
service.import_bundles(ws, ws.authenticate("county", "pw-1234"), [Path(sys.argv[2])])
ws.close()
print("done")
"""


def test_import_killed_at_random_points_is_all_or_nothing(tmp_path: Path) -> None:
    """Killed anywhere, the county holds all of the bundle or none of it, and is intact."""
    pair = make_pair(tmp_path, 300)
    from povdesk.sync import service

    bundle = tmp_path / "b.pvb"
    service.export_bundle(pair.village, pair.worker, bundle)
    pair.village.close()
    pair.county.close()
    county = pair.county.path
    rng = random.Random(4)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    outcomes = set()
    for _ in range(10):
        proc = subprocess.Popen([sys.executable, "-c", _IMPORT, str(county), str(bundle)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(county) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            n = conn.execute("SELECT count(*) FROM households").fetchone()[0]
            received = conn.execute("SELECT count(*) FROM sync_received").fetchone()[0]
        assert (n, received) in ((0, 0), (300, 1))
        outcomes.add(n)
        if n:
            break
    assert outcomes


def test_round_trip_1000_households(tmp_path: Path) -> None:
    from tests.sync.test_sync import content, exchange_down, exchange_up

    pair = make_pair(tmp_path, 1000)
    exchange_up(pair, "b1.pvb")
    exchange_down(pair, "r1.pvb")
    ids = [h.id for h in pair.village.iter_households()]
    for i, hid in enumerate(ids[:30]):
        hh = pair.village.load_household(hid)
        hh.fields["phone"] = f"1390000{i:04d}"
        pair.village.save_household(hh, pair.worker)
    for i, hid in enumerate(ids[20:50]):
        hh = pair.county.load_household(hid)
        hh.fields["phone" if i < 10 else "address"] = f"县{i}"
        pair.county.save_household(hh, pair.coordinator)
    exchange_up(pair, "b2.pvb")
    exchange_down(pair, "r2.pvb")
    v, c = content(pair.village), content(pair.county)
    diff = {(h, k) for h in v for k in v[h].keys() | c[h].keys() if v[h].get(k) != c[h].get(k)}
    assert diff == {(h, "fields.phone") for h in ids[20:30]}
    from povdesk.sync import service

    assert {(x.household_id, x.path) for x in service.list_conflicts(pair.county)} == {
        (h, "fields.phone") for h in ids[20:30]}
    pair.village.close()
    pair.county.close()
