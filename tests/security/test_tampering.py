"""An encrypted workspace changed outside povdesk: a flipped bit, two pages swapped, bytes written
over with a hex editor, a stale page put back. Each command ends in one clear line (never exit 3),
`povdesk audit` reads every page and says "damaged or altered"."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from povdesk.core.demo import DEMO_PASSWORD
from tests.security.conftest import cli, copy_workspace, ok, secrets_of

PAGE = 4096


def _commands_stay_clear(db: Path, ids: list[str]) -> None:
    for argv in (("validate", str(db)), ("export-json", str(db), "-o", str(db.with_suffix(".jsonl"))),
                 ("search", str(db), "张")):
        res = cli(db.parent, *argv)
        assert res.returncode in (0, 1, 2), (argv, res.returncode, res.stderr)
        assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) <= 1, res.stderr
        assert not any(n in res.stderr for n in ids)
        if res.returncode == 2 and "sign in" not in res.stderr:
            assert "damaged or was altered" in res.stderr, res.stderr


def _audit_says_damaged(db: Path) -> None:
    res = cli(db.parent, "audit", str(db))
    assert res.returncode in (1, 2), (res.returncode, res.stdout, res.stderr)
    assert "damaged or was altered" in res.stdout + res.stderr, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr


@pytest.fixture(scope="module")
def ids(demo_village: Path) -> list[str]:
    return secrets_of(demo_village)[0]


@pytest.mark.parametrize("seed", range(4))
def test_a_bit_flipped_anywhere(demo_village: Path, ids: list[str], tmp_path: Path, seed: int) -> None:
    db = copy_workspace(demo_village, tmp_path / "flip.db")
    data = bytearray(db.read_bytes())
    rng = random.Random(seed)
    pos = rng.randrange(0, len(data)) if seed else 40  # seed 0: the first page, read at every open
    data[pos] ^= 1 << rng.randrange(8)
    db.write_bytes(bytes(data))
    _commands_stay_clear(db, ids)
    _audit_says_damaged(db)


def test_two_pages_swapped(demo_village: Path, ids: list[str], tmp_path: Path) -> None:
    db = copy_workspace(demo_village, tmp_path / "swap.db")
    data = bytearray(db.read_bytes())
    a, b = 3, len(data) // PAGE - 2
    pa, pb = data[a * PAGE:(a + 1) * PAGE], data[b * PAGE:(b + 1) * PAGE]
    data[a * PAGE:(a + 1) * PAGE], data[b * PAGE:(b + 1) * PAGE] = pb, pa
    db.write_bytes(bytes(data))
    _commands_stay_clear(db, ids)
    _audit_says_damaged(db)


def test_bytes_written_over_and_an_old_page_put_back(demo_village: Path, ids: list[str], tmp_path: Path) -> None:
    db = copy_workspace(demo_village, tmp_path / "edit.db")
    old = db.read_bytes()
    # A change through povdesk, then page 2 of the old file put back (a rollback of one page).
    ok(cli(tmp_path, "users", "passwd", str(db), "worker", env={"POVDESK_USER": "admin",
                                                                "POVDESK_PASSWORD": DEMO_PASSWORD,
                                                                "POVDESK_NEW_PASSWORD": DEMO_PASSWORD}))
    data = bytearray(db.read_bytes())
    changed = [i for i in range(min(len(old), len(data)) // PAGE) if old[i * PAGE:(i + 1) * PAGE] != data[i * PAGE:(i + 1) * PAGE]]
    assert changed
    p = changed[-1]
    data[p * PAGE:(p + 1) * PAGE] = old[p * PAGE:(p + 1) * PAGE]
    # ... and ten bytes overwritten as a hex editor would, in the middle of the file.
    mid = len(data) // 2
    data[mid:mid + 10] = b"0123456789"
    db.write_bytes(bytes(data))
    _commands_stay_clear(db, ids)
    _audit_says_damaged(db)


def test_a_truncated_file(demo_village: Path, ids: list[str], tmp_path: Path) -> None:
    db = copy_workspace(demo_village, tmp_path / "cut.db")
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2 + 100])
    _commands_stay_clear(db, ids)
    _audit_says_damaged(db)
