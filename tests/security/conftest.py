"""Encrypted workspaces made the way a user makes them (the `povdesk` command in a real process),
read back byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from povdesk.core.demo import DEMO_PASSWORD
from povdesk.store import Workspace, keys

TODAY = "2026-06-01"
WORKER = {"POVDESK_USER": "worker", "POVDESK_PASSWORD": DEMO_PASSWORD}


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("POVDESK_LANG", "en")
    yield
    keys.forget_all()  # a key this test unlocked in its process does not open the next test's files


def cli(cwd: Path, *argv: str, env: dict[str, str] | None = None, today: str = TODAY) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("POVDESK_")}
    full.update(POVDESK_LANG="en", POVDESK_DATA_DIR=str(cwd / "data"), **(env if env is not None else WORKER))
    return subprocess.run([sys.executable, "-m", "povdesk", "--today", today, *argv], capture_output=True, text=True,
                          env=full, cwd=cwd, stdin=subprocess.DEVNULL, timeout=300)


def ok(res: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert res.returncode == 0, (res.returncode, res.stdout, res.stderr)
    return res


@pytest.fixture(scope="session")
def demo_village(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`povdesk demo` as a user runs it: an encrypted village of 40 households."""
    d = tmp_path_factory.mktemp("village")
    ok(cli(d, "demo", "v.db", "--households", "40", "--seed", "5"))
    return d / "v.db"


def copy_workspace(src: Path, dest: Path) -> Path:
    """The workspace with its key file, as a worker copies both to a USB stick."""
    shutil.copy(src, dest)
    shutil.copy(keys.key_file_for(src), keys.key_file_for(dest))
    return dest


def secrets_of(db: Path, user: str = "worker", password: str = DEMO_PASSWORD) -> tuple[list[str], list[str]]:
    """(ID numbers, names) held in the workspace, read through povdesk with a password."""
    ws = Workspace.open(db, readonly=True)
    try:
        ws.authenticate(user, password)
        ids, names = [], []
        for hh in ws.iter_households():
            for m in hh.members:
                if m.id_number:
                    ids.append(m.id_number)
                names.append(m.name)
        return ids, names
    finally:
        ws.close()
        keys.forget_all()
