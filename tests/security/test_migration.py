"""A plain workspace encrypted in place (`povdesk encrypt`): everything kept, every account still
signs in with its own password, and a SIGKILL at any step leaves either the plain workspace as it
was or the encrypted one complete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from povdesk.core.demo import DEMO_PASSWORD
from povdesk.store import Workspace, keys
from tests.security.conftest import cli, ok, secrets_of

ADMIN = {"POVDESK_USER": "admin", "POVDESK_PASSWORD": DEMO_PASSWORD}
STAGES = ("locked", "exported", "checked", "backed-up", "keys-written", "replaced")

_KILL_AT = """
import os, signal, sys
from povdesk.store import Workspace
stage = sys.argv[2]
def checkpoint(at):
    if at == stage:
        os.kill(os.getpid(), signal.SIGKILL)
Workspace.encrypt_file(sys.argv[1], "admin", sys.argv[3], checkpoint=checkpoint)
"""


@pytest.fixture(scope="module")
def plain_village(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("plain")
    ok(cli(d, "demo", "p.db", "--plain", "--households", "30", "--seed", "6"))
    return d / "p.db"


def _export(d: Path, db: Path, name: str) -> str:
    out = d / name
    ok(cli(d, "export-json", str(db), "-o", str(out)))
    return out.read_text(encoding="utf-8")


def test_encrypt_keeps_everything_and_every_password(plain_village: Path, tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    db.write_bytes(plain_village.read_bytes())
    before = _export(tmp_path, db, "before.jsonl")
    ids, names = secrets_of(db)
    res = ok(cli(tmp_path, "encrypt", str(db), env=ADMIN))
    assert "NOT encrypted" in res.stdout
    data = db.read_bytes()
    assert data[:16] != keys.SQLITE_MAGIC and not any(i.encode() in data for i in ids)
    assert not any(n.encode() in data for n in names if len(n) >= 2)
    assert _export(tmp_path, db, "after.jsonl") == before
    # Accounts whose passwords the administrator never typed still sign in with their own.
    for user in ("worker", "township", "county"):
        ok(cli(tmp_path, "users", "list", str(db), env={"POVDESK_USER": user, "POVDESK_PASSWORD": DEMO_PASSWORD}))
    kf = keys.KeyFile.load(keys.key_file_for(db))
    for user in ("admin", "worker", "township", "county"):
        kf.unwrap(user, DEMO_PASSWORD)  # the administrator's own wrap, the others' from their login hashes
    res = ok(cli(tmp_path, "audit", str(db)))
    assert "intact" in res.stdout
    backups = list(tmp_path.glob("v.plain-backup-*.db"))
    assert len(backups) == 1 and backups[0].read_bytes()[:16] == keys.SQLITE_MAGIC
    again = cli(tmp_path, "encrypt", str(db), env=ADMIN)
    assert again.returncode == 2 and "already encrypted" in again.stderr
    worker = cli(tmp_path, "encrypt", str(backups[0]), env={"POVDESK_USER": "worker", "POVDESK_PASSWORD": DEMO_PASSWORD})
    assert worker.returncode == 2 and "Traceback" not in worker.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_encrypt_killed_at_each_step(plain_village: Path, tmp_path: Path, stage: str) -> None:
    db = tmp_path / "v.db"
    db.write_bytes(plain_village.read_bytes())
    before = _export(tmp_path, db, "before.jsonl")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), POVDESK_LANG="en")
    proc = subprocess.run([sys.executable, "-c", _KILL_AT, str(db), stage, DEMO_PASSWORD], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    encrypted = db.read_bytes()[:16] != keys.SQLITE_MAGIC
    assert encrypted == (stage == "replaced")
    # Whatever the step, the workspace opens and holds what it held.
    assert _export(tmp_path, db, "after.jsonl") == before
    if not encrypted:  # run again to the end: the leftovers of the killed run are no obstacle
        ok(cli(tmp_path, "encrypt", str(db), env=ADMIN))
        assert _export(tmp_path, db, "again.jsonl") == before
    ws = Workspace.open(db)
    try:
        ws.authenticate("worker", DEMO_PASSWORD)
        assert ws.encrypted and ws.check_integrity() == [] and ws.verify_audit() == []
    finally:
        ws.close()
