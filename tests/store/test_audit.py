"""The hash-chained audit log detects edited, deleted and reordered entries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from povdesk.store import User, Workspace

from .factories import household


@pytest.fixture
def logged(ws: Workspace, worker: User) -> Workspace:
    saved = ws.save_household(household(), worker)
    saved.fields["address"] = "二组"
    ws.save_household(saved, worker)
    assert ws.verify_audit() == []
    return ws


def _raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for op in ("update", "delete"):  # a tamperer can drop the guards; the chain still tells
        conn.execute(f"DROP TRIGGER audit_no_{op}")
    return conn


def test_triggers_stop_casual_edits(logged: Workspace) -> None:
    conn = sqlite3.connect(logged.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET user = 'someone' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 2")
    conn.close()


def test_edited_entry_is_named(logged: Workspace) -> None:
    conn = _raw(logged.path)
    seq = conn.execute("SELECT seq FROM audit WHERE field = 'fields.address'").fetchone()[0]
    conn.execute("UPDATE audit SET new = '\"三组\"' WHERE seq = ?", (seq,))
    conn.close()
    problems = [p.en for p in logged.verify_audit()]
    assert problems == [f"audit entry {seq} has been edited"]
    assert logged.verify_audit()[0].zh


def test_deleted_entry_is_named(logged: Workspace) -> None:
    conn = _raw(logged.path)
    conn.execute("DELETE FROM audit WHERE seq = 3")
    conn.close()
    problems = " | ".join(p.en for p in logged.verify_audit())
    assert "audit entries 3 to 3 are missing" in problems


def test_deleted_newest_entry_is_noticed(logged: Workspace) -> None:
    conn = _raw(logged.path)
    last = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
    conn.execute("DELETE FROM audit WHERE seq = ?", (last,))
    conn.close()
    assert any(f"{last} to {last} are missing" in p.en for p in logged.verify_audit())


def test_reordered_entries_are_detected(logged: Workspace) -> None:
    conn = _raw(logged.path)
    conn.execute("UPDATE audit SET seq = -1 WHERE seq = 2")
    conn.execute("UPDATE audit SET seq = 2 WHERE seq = 3")
    conn.execute("UPDATE audit SET seq = 3 WHERE seq = -1")
    conn.close()
    problems = " | ".join(p.en for p in logged.verify_audit())
    assert "audit entry 2" in problems and "audit entry 3" in problems


def test_entries_filter_by_entity(logged: Workspace) -> None:
    hid = logged.list_households()[0].id
    entries = logged.audit_entries(entity_id=hid)
    assert entries and all(e.entity_id == hid for e in entries)
    assert entries[0].seq > entries[-1].seq  # newest first
    assert [e.seq for e in logged.audit_since(entries[-1].seq - 1)][0] == entries[-1].seq
