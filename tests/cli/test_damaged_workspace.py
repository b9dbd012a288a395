"""A damaged workspace file, as a laptop's disk or a worker with sqlite3 leaves it: every command
ends with one clear line (exit 1 or 2), never an internal error or a traceback, and no message
prints a full ID number."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from povdesk.core.demo import DEMO_PASSWORD

TODAY = "2026-06-01"


def _run(d: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, POVDESK_LANG="en", POVDESK_DATA_DIR=str(d / "data"), POVDESK_USER="worker",
               POVDESK_PASSWORD=DEMO_PASSWORD)
    return subprocess.run([sys.executable, "-m", "povdesk", "--today", TODAY, *argv], capture_output=True,
                          text=True, env=env, cwd=d, stdin=subprocess.DEVNULL, timeout=120)


@pytest.fixture(scope="module")
def village(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("damaged")
    res = _run(d, "demo", "v.db", "--plain", "--households", "25", "--seed", "4")
    assert res.returncode == 0, res.stderr
    return d / "v.db"


def _id_numbers(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT id_number FROM members WHERE id_number != ''")]


def _check_commands(db: Path, ids: list[str], *, cards: bool = False) -> set[int]:
    codes = set()
    commands = [("validate", str(db)), ("export-json", str(db), "-o", str(db.with_suffix(".jsonl")))]
    if cards:
        commands.append(("cards", str(db), "-o", str(db.with_suffix(".pdf"))))
    for argv in commands:
        res = _run(db.parent, *argv)
        assert res.returncode in (0, 1, 2), (argv, res.returncode, res.stderr)
        assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) <= 1, res.stderr
        assert not any(n in res.stderr for n in ids), res.stderr
        codes.add(res.returncode)
    return codes


def test_a_stored_value_edited_with_sqlite3_into_broken_json(village: Path, tmp_path: Path) -> None:
    db = tmp_path / "edited.db"
    shutil.copy(village, db)
    ids = _id_numbers(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE years SET measures = '{\"broken' WHERE rowid = (SELECT min(rowid) FROM years)")
        conn.execute("UPDATE members SET fields = '[1,' WHERE rowid = (SELECT max(rowid) FROM members)")
    assert 2 in _check_commands(db, ids, cards=True)
    res = _run(tmp_path, "export-json", str(db), "-o", str(tmp_path / "x.jsonl"))
    assert "damaged data" in res.stderr and "restore the latest backup" in res.stderr


@pytest.mark.parametrize("seed", range(6))
def test_bit_flips_anywhere_in_the_file(village: Path, tmp_path: Path, seed: int) -> None:
    data = bytearray(village.read_bytes())
    rng = random.Random(seed)
    for _ in range(1 + seed % 3):
        pos = rng.randrange(100, len(data))
        data[pos] ^= 1 << rng.randrange(8)
    db = tmp_path / "flipped.db"
    db.write_bytes(bytes(data))
    _check_commands(db, _id_numbers(village))


@pytest.mark.parametrize("damage", ["truncated", "empty", "foreign", "header"])
def test_a_truncated_empty_or_foreign_file(village: Path, tmp_path: Path, damage: str) -> None:
    data = village.read_bytes()
    blob = {"truncated": data[: len(data) // 3], "empty": b"", "foreign": b"PK\x03\x04" + b"x" * 5000,
            "header": b"\0" * 100 + data[100:]}[damage]
    db = tmp_path / f"{damage}.db"
    db.write_bytes(blob)
    assert _check_commands(db, _id_numbers(village)) <= {1, 2}
