"""The outbox: every change as a numbered record version, in order; it is what sync exports."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from povdesk.store.codec import loads

_COLUMNS = "seq, device_id, entity, entity_id, version, payload, created_at"
INSERT_SQL = "INSERT INTO outbox (device_id, entity, entity_id, version, payload, created_at) VALUES (?,?,?,?,?,?)"


@dataclass(frozen=True)
class OutboxEntry:
    seq: int  # per device, monotonic, never reused (AUTOINCREMENT), so a receiver can spot gaps
    device_id: str
    entity: str
    entity_id: str
    version: int
    payload: dict[str, Any]
    created_at: str


def since(conn: sqlite3.Connection, seq: int, batch: int = 500) -> Iterator[list[OutboxEntry]]:
    """Entries after `seq`, oldest first, in batches (keyset, not a long-lived cursor)."""
    while True:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (seq, batch)
        ).fetchall()
        if not rows:
            return
        yield [OutboxEntry(r[0], r[1], r[2], r[3], r[4], loads(r[5]), r[6]) for r in rows]
        seq = rows[-1][0]


def last_seq(conn: sqlite3.Connection) -> int:
    # sqlite_sequence remembers the highest seq ever handed out, even if rows were removed later.
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    return int(row[0]) if row else 0
