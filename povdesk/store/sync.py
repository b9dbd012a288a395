"""Sync tables: device keys, trusted peers, bundle ranges, merge bases, conflicts and flags (SQL only)."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from povdesk.store.codec import dumps, loads, now_utc

SCHEMA: tuple[str, ...] = (
    # This device's own keys. kind 'sign' = Ed25519 (signs bundles and key files), 'box' = X25519
    # (receives encrypted bundles). Two independent keys, not one converted into the other.
    """CREATE TABLE IF NOT EXISTS device_keys (
        kind TEXT PRIMARY KEY,
        private_key BLOB NOT NULL,
        public_key BLOB NOT NULL,
        created_at TEXT NOT NULL
    )""",
    # Devices this workspace trusts: relation 'device' (a county enrolled a village laptop) or
    # 'county' (a village learned its county's keys; one active at a time).
    """CREATE TABLE IF NOT EXISTS peers (
        device_id TEXT PRIMARY KEY,
        relation TEXT NOT NULL,
        sign_public BLOB NOT NULL,
        box_public BLOB NOT NULL,
        fingerprint TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        region_code TEXT NOT NULL,
        level TEXT NOT NULL,
        name TEXT NOT NULL,
        active INTEGER NOT NULL,
        added_at TEXT NOT NULL,
        added_by TEXT NOT NULL
    )""",
    # Bundles received: the sender's outbox sequence range. The highest last_seq per peer is the
    # acknowledgement sent back; bundle_id makes a replay recognisable even with a new range.
    """CREATE TABLE IF NOT EXISTS sync_received (
        peer TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        bundle_id TEXT NOT NULL UNIQUE,
        digest TEXT NOT NULL,
        records INTEGER NOT NULL,
        imported_at TEXT NOT NULL,
        imported_by TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS sync_received_peer ON sync_received (peer, last_seq)",
    # Bundles made for a peer, with the range of this device's outbox they cover.
    """CREATE TABLE IF NOT EXISTS sync_sent (
        peer TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        bundle_id TEXT NOT NULL UNIQUE,
        records INTEGER NOT NULL,
        audit_last INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS sync_sent_peer ON sync_sent (peer, last_seq)",
    # How far each peer says it has received this device's outbox (from the ack in its bundles).
    """CREATE TABLE IF NOT EXISTS sync_acks (
        peer TEXT PRIMARY KEY,
        acked_seq INTEGER NOT NULL,
        at TEXT NOT NULL
    )""",
    # Merge bases per peer and household: the state last received from the peer, and the state
    # last sent to it with the outbox seq of that bundle (used once the peer acknowledged it).
    # Stored as zlib-compressed flattened JSON (see povdesk.sync.merge).
    """CREATE TABLE IF NOT EXISTS sync_base (
        peer TEXT NOT NULL,
        household_id TEXT NOT NULL,
        received BLOB,
        received_at TEXT,
        sent BLOB,
        sent_seq INTEGER,
        sent_at TEXT,
        PRIMARY KEY (peer, household_id)
    )""",
    # A field changed differently on both sides: both values kept, the record keeps the local
    # one until a coordinator resolves it.
    """CREATE TABLE IF NOT EXISTS conflicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        household_id TEXT NOT NULL,
        household_no TEXT NOT NULL,
        path TEXT NOT NULL,
        peer TEXT NOT NULL,
        base TEXT,
        local TEXT,
        remote TEXT,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        resolved_at TEXT,
        resolved_by TEXT,
        resolution TEXT,
        value TEXT
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS conflicts_open ON conflicts (household_id, path) WHERE status = 'open'",
    "CREATE INDEX IF NOT EXISTS conflicts_status ON conflicts (status, id)",
    # Cross-household findings found at import (e.g. DUP-PERSON) or sent down by the county.
    """CREATE TABLE IF NOT EXISTS sync_flags (
        household_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        member_id TEXT NOT NULL,
        message TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (household_id, rule, member_id)
    )""",
    # The audit entries peers sent, kept as they came (their own hash chain).
    """CREATE TABLE IF NOT EXISTS peer_audit (
        peer TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        entity TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        field TEXT,
        old TEXT,
        new TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (peer, seq)
    )""",
)


def ensure_device_keys(conn: sqlite3.Connection) -> None:
    """Generate this device's key pairs if the workspace has none (new files and old ones alike)."""
    have = {r[0] for r in conn.execute("SELECT kind FROM device_keys")}
    now = now_utc()
    raw = (Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    if "sign" not in have:
        sk = Ed25519PrivateKey.generate()
        conn.execute("INSERT INTO device_keys (kind, private_key, public_key, created_at) VALUES ('sign',?,?,?)",
                     (sk.private_bytes(*raw), sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), now))
    if "box" not in have:
        bk = X25519PrivateKey.generate()
        conn.execute("INSERT INTO device_keys (kind, private_key, public_key, created_at) VALUES ('box',?,?,?)",
                     (bk.private_bytes(*raw), bk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), now))


def device_keys(conn: sqlite3.Connection) -> dict[str, tuple[bytes, bytes]]:
    """kind -> (private, public) raw bytes."""
    return {r[0]: (bytes(r[1]), bytes(r[2])) for r in conn.execute(
        "SELECT kind, private_key, public_key FROM device_keys")}


# ---------------------------------------------------------------------------------------------
# Peers


@dataclass(frozen=True)
class Peer:
    device_id: str
    relation: str  # 'device' (enrolled by a county) or 'county' (this village's county)
    sign_public: bytes
    box_public: bytes
    fingerprint: str
    workspace_id: str
    region_code: str
    level: str
    name: str
    active: bool
    added_at: str
    added_by: str


_PEER_COLUMNS = ("device_id, relation, sign_public, box_public, fingerprint, workspace_id, region_code, level, "
                 "name, active, added_at, added_by")


def _peer(row: Sequence[Any]) -> Peer:
    return Peer(row[0], row[1], bytes(row[2]), bytes(row[3]), row[4], row[5], row[6], row[7], row[8],
                bool(row[9]), row[10], row[11])


def peers(conn: sqlite3.Connection, relation: str | None = None) -> list[Peer]:
    sql = f"SELECT {_PEER_COLUMNS} FROM peers"
    args: list[Any] = []
    if relation:
        sql += " WHERE relation = ?"
        args.append(relation)
    return [_peer(r) for r in conn.execute(sql + " ORDER BY region_code, device_id", args)]


def peer(conn: sqlite3.Connection, device_id: str) -> Peer | None:
    row = conn.execute(f"SELECT {_PEER_COLUMNS} FROM peers WHERE device_id = ?", (device_id,)).fetchone()
    return _peer(row) if row else None


def put_peer(conn: sqlite3.Connection, p: Peer) -> Peer | None:
    """Insert or replace a peer; a new county deactivates the previous one. Returns the old row."""
    old = peer(conn, p.device_id)
    if p.relation == "county":
        conn.execute("UPDATE peers SET active = 0 WHERE relation = 'county' AND device_id != ?", (p.device_id,))
    conn.execute(
        f"INSERT OR REPLACE INTO peers ({_PEER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (p.device_id, p.relation, p.sign_public, p.box_public, p.fingerprint, p.workspace_id, p.region_code,
         p.level, p.name, int(p.active), p.added_at, p.added_by),
    )
    return old


def set_peer_active(conn: sqlite3.Connection, device_id: str, active: bool) -> None:
    conn.execute("UPDATE peers SET active = ? WHERE device_id = ?", (int(active), device_id))


# ---------------------------------------------------------------------------------------------
# Ranges and acknowledgements


def received_high(conn: sqlite3.Connection, peer_id: str) -> int:
    row = conn.execute("SELECT max(last_seq) FROM sync_received WHERE peer = ?", (peer_id,)).fetchone()
    return int(row[0] or 0)


def bundle_seen(conn: sqlite3.Connection, bundle_id: str) -> bool:
    return conn.execute("SELECT 1 FROM sync_received WHERE bundle_id = ?", (bundle_id,)).fetchone() is not None


def sent_high(conn: sqlite3.Connection, peer_id: str) -> int:
    row = conn.execute("SELECT max(last_seq) FROM sync_sent WHERE peer = ?", (peer_id,)).fetchone()
    return int(row[0] or 0)


def acked(conn: sqlite3.Connection, peer_id: str) -> int:
    row = conn.execute("SELECT acked_seq FROM sync_acks WHERE peer = ?", (peer_id,)).fetchone()
    return int(row[0]) if row else 0


def set_ack(conn: sqlite3.Connection, peer_id: str, seq: int, at: str) -> None:
    """Acknowledgements only move forward (an old bundle imported late cannot take one back)."""
    conn.execute("INSERT INTO sync_acks (peer, acked_seq, at) VALUES (?,?,?) ON CONFLICT(peer) DO UPDATE SET "
                 "acked_seq = max(acked_seq, excluded.acked_seq), at = excluded.at", (peer_id, seq, at))


def record_received(conn: sqlite3.Connection, peer_id: str, first: int, last: int, bundle_id: str, digest: str,
                    records: int, at: str, user: str) -> None:
    conn.execute("INSERT INTO sync_received (peer, first_seq, last_seq, bundle_id, digest, records, imported_at, "
                 "imported_by) VALUES (?,?,?,?,?,?,?,?)", (peer_id, first, last, bundle_id, digest, records, at, user))


def record_sent(conn: sqlite3.Connection, peer_id: str, first: int, last: int, bundle_id: str, records: int,
                audit_last: int, at: str, user: str) -> None:
    conn.execute("INSERT OR REPLACE INTO sync_sent (peer, first_seq, last_seq, bundle_id, records, audit_last, "
                 "created_at, created_by) VALUES (?,?,?,?,?,?,?,?)",
                 (peer_id, first, last, bundle_id, records, audit_last, at, user))


def audit_sent(conn: sqlite3.Connection, peer_id: str) -> int:
    row = conn.execute("SELECT max(audit_last) FROM sync_sent WHERE peer = ?", (peer_id,)).fetchone()
    return int(row[0] or 0)


def received_ranges(conn: sqlite3.Connection, peer_id: str) -> list[tuple[int, int, str]]:
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT first_seq, last_seq, imported_at FROM sync_received WHERE peer = ? ORDER BY last_seq", (peer_id,))]


# ---------------------------------------------------------------------------------------------
# Merge bases (flattened records, see povdesk.sync.merge)


def pack(flat: dict[str, Any]) -> bytes:
    return zlib.compress(dumps(flat).encode("utf-8"), 1)


def unpack(blob: bytes | None) -> dict[str, Any] | None:
    return None if blob is None else loads(zlib.decompress(blob).decode("utf-8"))


@dataclass(frozen=True)
class Base:
    received: dict[str, Any] | None
    received_at: str | None
    sent: dict[str, Any] | None
    sent_seq: int | None
    sent_at: str | None

    @property
    def received_seq(self) -> int:
        """The sender's outbox sequence the received state was taken at (0: not known)."""
        return int((self.received or {}).get("#seq", 0))

    def common(self, acked: int) -> dict[str, Any] | None:
        """The newest state both sides are known to hold: what was last received from the peer,
        or what was last sent to it once the peer has acknowledged that bundle."""
        sent_ok = self.sent is not None and self.sent_seq is not None and acked >= self.sent_seq
        if sent_ok and (self.received is None or (self.sent_at or "") >= (self.received_at or "")):
            return self.sent
        return self.received


def bases(conn: sqlite3.Connection, peer_id: str, household_ids: Sequence[str]) -> dict[str, Base]:
    out: dict[str, Base] = {}
    for i in range(0, len(household_ids), 900):
        chunk = list(household_ids[i:i + 900])
        marks = ",".join("?" * len(chunk))
        for hid, received, received_at, sent, sent_seq, sent_at in conn.execute(
            f"SELECT household_id, received, received_at, sent, sent_seq, sent_at FROM sync_base WHERE peer = ? "
            f"AND household_id IN ({marks})", [peer_id, *chunk]
        ):
            out[hid] = Base(unpack(received), received_at, unpack(sent), sent_seq, sent_at)
    return out


def put_received(conn: sqlite3.Connection, peer_id: str, at: str, rows: Iterable[tuple[str, bytes]]) -> None:
    conn.executemany(
        "INSERT INTO sync_base (peer, household_id, received, received_at) VALUES (?,?,?,?) "
        "ON CONFLICT(peer, household_id) DO UPDATE SET received = excluded.received, "
        "received_at = excluded.received_at",
        [(peer_id, hid, blob, at) for hid, blob in rows],
    )


def put_sent(conn: sqlite3.Connection, peer_id: str, seq: int, at: str, rows: Iterable[tuple[str, bytes]]) -> None:
    conn.executemany(
        "INSERT INTO sync_base (peer, household_id, sent, sent_seq, sent_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(peer, household_id) DO UPDATE SET sent = excluded.sent, sent_seq = excluded.sent_seq, "
        "sent_at = excluded.sent_at",
        [(peer_id, hid, blob, seq, at) for hid, blob in rows],
    )


def resolved_since_sent(conn: sqlite3.Connection, peer_id: str) -> list[str]:
    """Households with a conflict resolved after the last bundle made for the peer."""
    row = conn.execute("SELECT max(created_at) FROM sync_sent WHERE peer = ?", (peer_id,)).fetchone()
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT household_id FROM conflicts WHERE status = 'resolved' AND resolved_at > ?", (row[0] or "",))]


def all_household_ids(conn: sqlite3.Connection, village_prefix: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT id FROM households WHERE village_code >= ? AND village_code < ? ORDER BY household_no",
        (village_prefix, village_prefix + "\U0010ffff"))]


# ---------------------------------------------------------------------------------------------
# Conflicts


@dataclass(frozen=True)
class Conflict:
    id: int
    household_id: str
    household_no: str
    path: str
    peer: str
    base: Any
    local: Any
    remote: Any
    status: str
    created_at: str
    updated_at: str
    resolved_at: str | None
    resolved_by: str | None
    resolution: str | None
    value: Any


_CONFLICT_COLUMNS = ("id, household_id, household_no, path, peer, base, local, remote, status, created_at, "
                     "updated_at, resolved_at, resolved_by, resolution, value")


def _conflict(r: Sequence[Any]) -> Conflict:
    return Conflict(r[0], r[1], r[2], r[3], r[4], loads(r[5]), loads(r[6]), loads(r[7]), r[8], r[9], r[10], r[11],
                    r[12], r[13], loads(r[14]))


def conflicts(conn: sqlite3.Connection, status: str | None = "open", household_id: str | None = None) -> list[Conflict]:
    where, args = [], []
    if status:
        where.append("status = ?")
        args.append(status)
    if household_id:
        where.append("household_id = ?")
        args.append(household_id)
    sql = f"SELECT {_CONFLICT_COLUMNS} FROM conflicts" + (f" WHERE {' AND '.join(where)}" if where else "")
    return [_conflict(r) for r in conn.execute(sql + " ORDER BY id", args)]


def conflict(conn: sqlite3.Connection, conflict_id: int) -> Conflict | None:
    row = conn.execute(f"SELECT {_CONFLICT_COLUMNS} FROM conflicts WHERE id = ?", (conflict_id,)).fetchone()
    return _conflict(row) if row else None


def open_conflict_paths(conn: sqlite3.Connection, household_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """household_id -> {path: remote value} of open conflicts."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(household_ids), 900):
        chunk = list(household_ids[i:i + 900])
        for hid, path, remote in conn.execute(
            f"SELECT household_id, path, remote FROM conflicts WHERE status = 'open' AND household_id IN "
            f"({','.join('?' * len(chunk))})", chunk
        ):
            out.setdefault(hid, {})[path] = loads(remote)
    return out


def put_conflict(conn: sqlite3.Connection, household_id: str, household_no: str, path: str, peer_id: str,
                 base: Any, local: Any, remote: Any, at: str) -> None:
    """Open a conflict, or bring an open one on the same field up to date with the newest remote value."""
    enc = [None if v is None else dumps(v) for v in (base, local, remote)]
    conn.execute(
        "INSERT INTO conflicts (household_id, household_no, path, peer, base, local, remote, status, created_at, "
        "updated_at) VALUES (?,?,?,?,?,?,?,'open',?,?) ON CONFLICT(household_id, path) WHERE status = 'open' "
        "DO UPDATE SET remote = excluded.remote, local = excluded.local, peer = excluded.peer, "
        "updated_at = excluded.updated_at",
        (household_id, household_no, path, peer_id, *enc, at, at),
    )


def close_conflict(conn: sqlite3.Connection, conflict_id: int, resolution: str, value: Any, at: str,
                   user: str) -> None:
    conn.execute("UPDATE conflicts SET status = 'resolved', resolution = ?, value = ?, resolved_at = ?, "
                 "resolved_by = ?, updated_at = ? WHERE id = ?",
                 (resolution, None if value is None else dumps(value), at, user, at, conflict_id))


def close_steps_conflict(conn: sqlite3.Connection, household_id: str, resolution: str, at: str, user: str) -> None:
    """Close a household's open clash of procedure steps that a decision from elsewhere settled."""
    conn.execute("UPDATE conflicts SET status = 'resolved', resolution = ?, resolved_at = ?, resolved_by = ?, "
                 "updated_at = ? WHERE household_id = ? AND path = '#steps' AND status = 'open'",
                 (resolution, at, user, at, household_id))


# ---------------------------------------------------------------------------------------------
# Flags and peer audit


def put_flags(conn: sqlite3.Connection, rows: Iterable[tuple[str, str, str, Any, str, str]]) -> None:
    """(household_id, rule, member_id, message dict, source, at)."""
    conn.executemany(
        "INSERT OR REPLACE INTO sync_flags (household_id, rule, member_id, message, source, created_at) "
        "VALUES (?,?,?,?,?,?)", [(h, r, m, dumps(msg), src, at) for h, r, m, msg, src, at in rows])


def delete_flags(conn: sqlite3.Connection, keys: Iterable[tuple[str, str, str]]) -> None:
    """Remove the flags named by (household_id, rule, member_id) (a set replaced by a newer one)."""
    conn.executemany("DELETE FROM sync_flags WHERE household_id = ? AND rule = ? AND member_id = ?", list(keys))


def id_numbers_of(conn: sqlite3.Connection, member_ids: Sequence[str]) -> dict[str, str]:
    """Member id -> ID number, for the members named."""
    out: dict[str, str] = {}
    for start in range(0, len(member_ids), 900):
        chunk = list(member_ids[start:start + 900])
        out.update(conn.execute(f"SELECT id, id_number FROM members WHERE id IN ({','.join('?' * len(chunk))})",
                                chunk).fetchall())
    return out


def last_sent_at(conn: sqlite3.Connection, peer_id: str) -> str:
    """When the last bundle to this peer was made ("" if none was)."""
    row = conn.execute("SELECT max(created_at) FROM sync_sent WHERE peer = ?", (peer_id,)).fetchone()
    return str(row[0] or "")


def moves_out(conn: sqlite3.Connection, village_prefix: str, since: str) -> list[dict[str, Any]]:
    """Households the county moved out of the villages under `village_prefix` after `since`:
    {household_id, from_village, from_no, to_village, to_no, reason, at} (from the audit log)."""
    out = []
    for hid, old, new, at in conn.execute(
        "SELECT entity_id, old, new, at FROM audit WHERE action = 'household.move' AND at > ? ORDER BY seq", (since,)
    ):
        before, after = loads(old) or {}, loads(new) or {}
        src, dst = str(before.get("village_code", "")), str(after.get("village_code", ""))
        if src.startswith(village_prefix) and not dst.startswith(village_prefix):
            out.append({"household_id": hid, "from_village": src, "from_no": before.get("household_no", ""),
                        "to_village": dst, "to_no": after.get("household_no", ""),
                        "reason": after.get("reason", ""), "at": at})
    return out


def last_received_at(conn: sqlite3.Connection, peer_id: str) -> str:
    """When a bundle from this peer was last imported ("" if none was)."""
    row = conn.execute("SELECT max(imported_at) FROM sync_received WHERE peer = ?", (peer_id,)).fetchone()
    return str(row[0] or "")


def flags(conn: sqlite3.Connection, household_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    sql = "SELECT household_id, rule, member_id, message, source, created_at FROM sync_flags"
    rows = conn.execute(sql + " ORDER BY household_id, rule, member_id").fetchall()
    wanted = set(household_ids) if household_ids is not None else None
    return [{"household_id": r[0], "rule": r[1], "member_id": r[2], "message": loads(r[3]), "source": r[4],
             "created_at": r[5]} for r in rows if wanted is None or r[0] in wanted]


def put_peer_audit(conn: sqlite3.Connection, peer_id: str, rows: Iterable[Sequence[Any]]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO peer_audit (peer, seq, at, user, action, entity, entity_id, field, old, new, "
        "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [(peer_id, *r) for r in rows])


def peer_audit_head(conn: sqlite3.Connection, peer_id: str) -> tuple[int, str]:
    row = conn.execute("SELECT seq, hash FROM peer_audit WHERE peer = ? ORDER BY seq DESC LIMIT 1",
                       (peer_id,)).fetchone()
    return (int(row[0]), row[1]) if row else (0, "")


def outbox_household_ids(conn: sqlite3.Connection, first: int, last: int) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT entity_id FROM outbox WHERE seq >= ? AND seq <= ? AND entity = 'household'", (first, last))]


def audit_rows(conn: sqlite3.Connection, after: int) -> list[tuple[Any, ...]]:
    """Raw audit rows after `after` (the stored text, so the receiver can check the hash chain)."""
    return conn.execute(
        "SELECT seq, at, user, action, entity, entity_id, field, old, new, prev_hash, hash FROM audit "
        "WHERE seq > ? ORDER BY seq", (after,)).fetchall()


def peer_audit_range(conn: sqlite3.Connection, peer_id: str, lo: int, hi: int) -> dict[int, tuple[str, str]]:
    """seq -> (prev_hash, hash) of a peer's stored audit entries with lo <= seq <= hi."""
    return {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT seq, prev_hash, hash FROM peer_audit WHERE peer = ? AND seq >= ? AND seq <= ?", (peer_id, lo, hi))}


def peer_audit_before(conn: sqlite3.Connection, peer_id: str, seq: int) -> int:
    """The highest stored seq of a peer's audit entries below `seq` (0 when none)."""
    row = conn.execute("SELECT max(seq) FROM peer_audit WHERE peer = ? AND seq < ?", (peer_id, seq)).fetchone()
    return int(row[0] or 0)


def audit_breaks(conn: sqlite3.Connection, peer_id: str) -> list[dict[str, Any]]:
    """Breaks in a peer's audit chain noticed at import (this workspace's own `sync.audit_break` entries)."""
    return [{"at": r[0], **(loads(r[1]) or {})} for r in conn.execute(
        "SELECT at, new FROM audit WHERE action = 'sync.audit_break' AND entity = 'device' AND entity_id = ? "
        "ORDER BY seq", (peer_id,))]


def flag_list(conn: sqlite3.Connection, source: str | None = None) -> list[dict[str, Any]]:
    """Flags with the household number, newest first (for `bundle status` and the sync centre)."""
    sql = ("SELECT f.household_id, coalesce(h.household_no, ''), f.rule, f.member_id, f.message, f.source, "
           "f.created_at FROM sync_flags f LEFT JOIN households h ON h.id = f.household_id")
    args: list[Any] = []
    if source:
        sql += " WHERE f.source = ?"
        args.append(source)
    return [{"household_id": r[0], "household_no": r[1], "rule": r[2], "member_id": r[3], "message": loads(r[4]),
             "source": r[5], "created_at": r[6]}
            for r in conn.execute(sql + " ORDER BY f.created_at DESC, h.household_no, f.rule, f.member_id", args)]


# ---------------------------------------------------------------------------------------------
# The relay (migration 0003): where this workspace uploads and fetches, and what it has queued


RELAY_SCHEMA: tuple[str, ...] = (
    # The relay this workspace talks to, with the relay's signing key pinned when it was set (its
    # receipts are checked against it) and, for HTTPS, the relay's own certificate (the only one
    # trusted). fetched_after: the relay's cursor of the last bundle fetched and imported.
    """CREATE TABLE IF NOT EXISTS relay_link (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        url TEXT NOT NULL,
        relay_public BLOB NOT NULL,
        fingerprint TEXT NOT NULL,
        tls_cert TEXT,
        fetched_after INTEGER NOT NULL DEFAULT 0,
        set_at TEXT NOT NULL,
        set_by TEXT NOT NULL
    )""",
    # Bundles made for upload, kept (with their file) whatever happens: state queued, uploading,
    # at_relay (a receipt whose signature was checked), held (the relay holds it after a gap) or
    # refused (reason). "Received by the county" is not stored: it is the county's acknowledgement
    # (sync_acks) reaching seq_last.
    """CREATE TABLE IF NOT EXISTS relay_outbox (
        bundle_id TEXT PRIMARY KEY,
        peer TEXT NOT NULL,
        file TEXT NOT NULL,
        seq_first INTEGER NOT NULL,
        seq_last INTEGER NOT NULL,
        ack INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        state TEXT NOT NULL,
        sent_bytes INTEGER NOT NULL DEFAULT 0,
        receipt TEXT,
        reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS relay_outbox_peer ON relay_outbox (peer, seq_last)",
)


@dataclass(frozen=True)
class RelayLink:
    url: str
    relay_public: bytes
    fingerprint: str
    tls_cert: str | None
    fetched_after: int
    set_at: str
    set_by: str


def relay_link(conn: sqlite3.Connection) -> RelayLink | None:
    row = conn.execute("SELECT url, relay_public, fingerprint, tls_cert, fetched_after, set_at, set_by "
                       "FROM relay_link WHERE id = 1").fetchone()
    return None if row is None else RelayLink(row[0], bytes(row[1]), row[2], row[3], int(row[4]), row[5], row[6])


def put_relay_link(conn: sqlite3.Connection, url: str, relay_public: bytes, fingerprint: str, tls_cert: str | None,
                   at: str, user: str) -> None:
    """A new relay (or a new key for it) starts fetching from its beginning."""
    conn.execute("INSERT INTO relay_link (id, url, relay_public, fingerprint, tls_cert, fetched_after, set_at, set_by) "
                 "VALUES (1,?,?,?,?,0,?,?) ON CONFLICT(id) DO UPDATE SET url = excluded.url, "
                 "relay_public = excluded.relay_public, fingerprint = excluded.fingerprint, "
                 "tls_cert = excluded.tls_cert, set_at = excluded.set_at, set_by = excluded.set_by, "
                 "fetched_after = CASE WHEN relay_link.fingerprint = excluded.fingerprint "
                 "THEN relay_link.fetched_after ELSE 0 END",
                 (url, relay_public, fingerprint, tls_cert, at, user))


def set_fetched_after(conn: sqlite3.Connection, cursor: int) -> None:
    conn.execute("UPDATE relay_link SET fetched_after = max(fetched_after, ?) WHERE id = 1", (cursor,))


_RELAY_OUTBOX_COLUMNS = ("bundle_id, peer, file, seq_first, seq_last, ack, size, sha256, state, sent_bytes, receipt, "
                         "reason, created_at, updated_at")


def relay_outbox(conn: sqlite3.Connection, peer_id: str | None = None) -> list[dict[str, Any]]:
    """Queued and uploaded bundles, oldest first."""
    sql = f"SELECT {_RELAY_OUTBOX_COLUMNS} FROM relay_outbox"
    args: list[Any] = []
    if peer_id:
        sql += " WHERE peer = ?"
        args.append(peer_id)
    names = [n.strip() for n in _RELAY_OUTBOX_COLUMNS.split(",")]
    return [dict(zip(names, r, strict=True)) | {"receipt": loads(r[10]), "reason": loads(r[11])}
            for r in conn.execute(sql + " ORDER BY created_at, seq_first", args)]


def queue_relay_bundle(conn: sqlite3.Connection, bundle_id: str, peer_id: str, file: str, first: int, last: int,
                       ack: int, size: int, sha256: str, at: str) -> None:
    conn.execute(f"INSERT INTO relay_outbox ({_RELAY_OUTBOX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,'queued',0,NULL,NULL,?,?)",
                 (bundle_id, peer_id, file, first, last, ack, size, sha256, at, at))


def set_relay_state(conn: sqlite3.Connection, bundle_id: str, state: str, sent_bytes: int, receipt: Any,
                    reason: Any, at: str) -> None:
    conn.execute("UPDATE relay_outbox SET state = ?, sent_bytes = ?, receipt = ?, reason = ?, updated_at = ? "
                 "WHERE bundle_id = ?",
                 (state, sent_bytes, None if receipt is None else dumps(receipt),
                  None if reason is None else dumps(reason), at, bundle_id))
