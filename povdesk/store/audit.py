"""The audit log: who changed what and when, chained by sha256 so edited history is detectable."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from povdesk.i18n import Text, tr
from povdesk.store.codec import canonical, encode_str, loads

_COLUMNS = "seq, at, user, action, entity, entity_id, field, old, new, prev_hash, hash"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    user: str
    action: str
    entity: str
    entity_id: str
    field: str | None
    old: Any
    new: Any
    prev_hash: str
    hash: str


def entry_hash(prev_hash: str, seq: int, at: str, user: str, action: str, entity: str,
               entity_id: str, field: str | None, old: str | None, new: str | None) -> str:
    """sha256 over the previous hash and the canonical JSON of the entry (old/new as stored text).

    Hashing the stored JSON text rather than re-encoded values keeps verification independent of
    float formatting; including seq makes reordering detectable, not only editing.
    """
    body = _body(seq, at, user, action, entity, entity_id, field, old, new)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _body(seq: int, at: str, user: str, action: str, entity: str, entity_id: str, field: str | None,
          old: str | None, new: str | None) -> str:
    """canonical() of the entry, written out in its sorted key order when the values have their
    usual types (an import hashes one entry per household); anything else goes through canonical()."""
    if (type(seq) is int and type(at) is str and type(user) is str and type(action) is str
            and type(entity) is str and type(entity_id) is str and (field is None or type(field) is str)
            and (old is None or type(old) is str) and (new is None or type(new) is str)):
        es = encode_str
        return (f'{{"action":{es(action)},"at":{es(at)},"entity":{es(entity)},"entity_id":{es(entity_id)},'
                f'"field":{"null" if field is None else es(field)},"new":{"null" if new is None else es(new)},'
                f'"old":{"null" if old is None else es(old)},"seq":{int.__repr__(seq)},"user":{es(user)}}}')
    return canonical({"seq": seq, "at": at, "user": user, "action": action, "entity": entity,
                      "entity_id": entity_id, "field": field, "old": old, "new": new})


class AuditWriter:
    """Collects the entries of one write transaction and appends them, chained, at flush()."""

    def __init__(self, conn: sqlite3.Connection, user: str, at: str) -> None:
        self._conn = conn
        self.user = user
        self.at = at
        self._seq, self._prev = 0, ""
        self._started = False  # the chain's end is read on first use (the table may not exist yet)
        self._rows: list[tuple[Any, ...]] = []

    def add(self, action: str, entity: str, entity_id: str, field: str | None,
            old: Any = None, new: Any = None) -> None:
        self.add_encoded(action, entity, entity_id, field,
                         None if old is None else canonical(old),
                         None if new is None else canonical(new))

    def add_encoded(self, action: str, entity: str, entity_id: str, field: str | None,
                    old: str | None, new: str | None) -> None:
        if not self._started:
            row = self._conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            self._seq, self._prev = (row[0], row[1]) if row else (0, "")
            self._started = True
        self._seq += 1
        h = entry_hash(self._prev, self._seq, self.at, self.user, action, entity, entity_id, field, old, new)
        self._rows.append((self._seq, self.at, self.user, action, entity, entity_id, field, old, new, self._prev, h))
        self._prev = h

    def __len__(self) -> int:
        return len(self._rows)

    def flush(self) -> None:
        if not self._rows:
            return
        self._conn.executemany(f"INSERT INTO audit ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", self._rows)
        # The head is kept apart so that deleting the newest entries is noticed as well.
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES ('audit_head', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (f"{self._seq}:{self._prev}",),
        )
        self._rows.clear()


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    seq, at, user, action, entity, entity_id, field, old, new, prev_hash, h = row
    return AuditEntry(seq, at, user, action, entity, entity_id, field, loads(old), loads(new), prev_hash, h)


def entries(conn: sqlite3.Connection, entity_id: str | None, limit: int) -> list[AuditEntry]:
    """Newest first."""
    if entity_id is None:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM audit WHERE entity_id = ? ORDER BY seq DESC LIMIT ?", (entity_id, limit)
        )
    return [_entry(r) for r in rows]


def since(conn: sqlite3.Connection, seq: int, batch: int = 1000) -> Iterator[list[AuditEntry]]:
    """Entries after `seq`, oldest first, in batches (keyset, so writes in between are safe)."""
    while True:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (seq, batch)
        ).fetchall()
        if not rows:
            return
        yield [_entry(r) for r in rows]
        seq = rows[-1][0]


def verify(conn: sqlite3.Connection) -> list[Text]:
    """Every break in the chain, named by seq: edited, deleted, inserted or reordered entries."""
    problems: list[Text] = []
    expected_seq = 1
    prev = ""
    cur = conn.execute(
        "SELECT seq, at, user, action, entity, entity_id, field, old, new, prev_hash, hash FROM audit ORDER BY seq"
    )
    for seq, at, user, action, entity, entity_id, field, old, new, prev_hash, h in cur:
        if seq != expected_seq:
            problems.append(tr("审计日志第 {a} 至 {b} 条缺失（被删除？）",
                               "audit entries {a} to {b} are missing (deleted?)", a=expected_seq, b=seq - 1))
        if prev_hash != prev:
            problems.append(tr("审计日志第 {seq} 条与前一条接不上（前面的记录被修改、删除或调换了顺序）",
                               "audit entry {seq} does not follow the one before it (an earlier entry was "
                               "edited, deleted or moved)", seq=seq))
        if entry_hash(prev_hash, seq, at, user, action, entity, entity_id, field, old, new) != h:
            problems.append(tr("审计日志第 {seq} 条的内容被修改过",
                               "audit entry {seq} has been edited", seq=seq))
        prev = h
        expected_seq = seq + 1
    head = conn.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    last = expected_seq - 1
    if head is not None:
        head_seq_text, _, head_hash = head[0].partition(":")
        head_seq = int(head_seq_text)
        if head_seq > last:
            problems.append(tr("审计日志最后的第 {a} 至 {b} 条缺失（被删除？）",
                               "the newest audit entries {a} to {b} are missing (deleted?)", a=last + 1, b=head_seq))
        elif head_seq < last:
            problems.append(tr("审计日志第 {a} 至 {b} 条不是由 povdesk 写入的",
                               "audit entries {a} to {b} were not written by povdesk", a=head_seq + 1, b=last))
        elif head_hash != prev:
            problems.append(tr("审计日志第 {seq} 条与记录的链尾不符",
                               "audit entry {seq} does not match the recorded end of the chain", seq=last))
    return problems
