"""The audit log: who changed what and when, chained by sha256 so edited history is detectable."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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


# ---------------------------------------------------------------------------------------------
# Signed heads: the chain's end at each bundle, signed with the device key (Ed25519) and carried
# in the bundle's manifest; the county keeps the last one it received per device and refuses a
# bundle whose history does not extend it (povdesk.sync.service); locally, verify() checks the
# chain still holds the last head this workspace signed.

_HEAD_CONTEXT = b"povdesk audit head v1\x00"
_SIGNED_HEAD = "audit_signed_head"
_PEER_HEAD = "audit_head_of:"


@dataclass(frozen=True)
class SignedHead:
    """The end of a device's audit chain (seq 0 and hash "" for an empty chain) and the device's
    Ed25519 signature over it, as carried in a bundle (`to_dict`) and kept on both sides."""

    device_id: str
    seq: int
    hash: str
    signature: bytes
    bundle_id: str = ""
    at: str = ""

    def message(self) -> bytes:
        return head_message(self.device_id, self.seq, self.hash)

    def signed_by(self, sign_public: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(sign_public).verify(self.signature, self.message())
            return True
        except (InvalidSignature, ValueError):
            return False

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "seq": self.seq, "hash": self.hash,
                "signature": self.signature.hex(), "bundle_id": self.bundle_id, "at": self.at}

    @classmethod
    def from_dict(cls, d: Any) -> SignedHead | None:
        """None when `d` is not the shape to_dict() writes."""
        if not isinstance(d, dict):
            return None
        seq, h, sig, dev = d.get("seq"), d.get("hash"), d.get("signature"), d.get("device_id")
        if (type(seq) is not int or seq < 0 or not isinstance(h, str) or not isinstance(sig, str)
                or not isinstance(dev, str)):
            return None
        try:
            raw = bytes.fromhex(sig)
        except ValueError:
            return None
        if len(raw) != 64:
            return None
        return cls(dev, seq, h, raw, str(d.get("bundle_id") or ""), str(d.get("at") or ""))


def head_message(device_id: str, seq: int, hash_: str) -> bytes:
    return _HEAD_CONTEXT + device_id.encode("utf-8") + b"\x00" + str(seq).encode("ascii") + b"\x00" + \
        hash_.encode("ascii")


def chain_end(conn: sqlite3.Connection) -> tuple[int, str]:
    """(seq, hash) of the newest entry, (0, "") when there is none."""
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, "")


def entry_at(conn: sqlite3.Connection, seq: int) -> tuple[str, str] | None:
    """(prev_hash, hash) of this workspace's entry `seq`."""
    row = conn.execute("SELECT prev_hash, hash FROM audit WHERE seq = ?", (seq,)).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def sign_head(device_id: str, seq: int, hash_: str, sign_private: bytes, bundle_id: str, at: str) -> SignedHead:
    sig = Ed25519PrivateKey.from_private_bytes(sign_private).sign(head_message(device_id, seq, hash_))
    return SignedHead(device_id, seq, hash_, sig, bundle_id, at)


def _put_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (key, value))


def _meta_head(conn: sqlite3.Connection, key: str) -> SignedHead | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    try:
        return SignedHead.from_dict(json.loads(row[0]))
    except ValueError:
        return None


def record_signed_head(conn: sqlite3.Connection, head: SignedHead) -> None:
    """The head this workspace signed into its latest bundle (inside the export's transaction)."""
    _put_meta(conn, _SIGNED_HEAD, json.dumps(head.to_dict(), sort_keys=True))


def signed_head(conn: sqlite3.Connection) -> SignedHead | None:
    return _meta_head(conn, _SIGNED_HEAD)


def has_signed_head_record(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key = ?", (_SIGNED_HEAD,)).fetchone() is not None


def put_peer_head(conn: sqlite3.Connection, head: SignedHead) -> None:
    """The last head received from a device (at the county, inside the import's transaction)."""
    _put_meta(conn, _PEER_HEAD + head.device_id, json.dumps(head.to_dict(), sort_keys=True))


def peer_head(conn: sqlite3.Connection, device_id: str) -> SignedHead | None:
    return _meta_head(conn, _PEER_HEAD + device_id)


def _check_signed_head(conn: sqlite3.Connection, problems: list[Text]) -> None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
    device_id = str(row[0]) if row else ""
    head = signed_head(conn)
    if head is None:
        if has_signed_head_record(conn):
            problems.append(tr("最近一次签名的审计链尾记录已损坏", "the record of the last signed audit head is "
                               "damaged"))
        elif _signed_any(conn):
            problems.append(tr("最近一次签名的审计链尾记录不见了（被删除？）",
                               "the record of the last signed audit head is missing (deleted?)"))
        return
    keys = conn.execute("SELECT public_key FROM device_keys WHERE kind = 'sign'").fetchone()
    if head.device_id != device_id or keys is None or not head.signed_by(bytes(keys[0])):
        problems.append(tr("最近一次签名的审计链尾（第 {seq} 条）的签名无效（被改动过）",
                           "the signature of the last signed audit head (entry {seq}) is invalid (it was altered)",
                           seq=head.seq))
        return
    if head.seq == 0:
        return
    held = entry_at(conn, head.seq)
    if held is None:
        problems.append(tr("审计日志第 {seq} 条已签名发给县里，现在却不见了（历史被截断）",
                           "audit entry {seq} was signed into a bundle for the county and is now missing (the "
                           "history was cut short)", seq=head.seq))
    elif held[1] != head.hash:
        problems.append(tr("审计日志第 {seq} 条与签名发给县里的不同（历史被改写）",
                           "audit entry {seq} differs from the one signed into a bundle for the county (the "
                           "history was rewritten)", seq=head.seq))


def _signed_any(conn: sqlite3.Connection) -> bool:
    """Whether this workspace's log says it ever signed a head (an export since heads were signed)."""
    return conn.execute("SELECT 1 FROM audit WHERE action = 'sync.export' AND new LIKE '%\"audit_head\"%' "
                        "LIMIT 1").fetchone() is not None


def verify(conn: sqlite3.Connection) -> list[Text]:
    """Every break in the chain, named by seq: edited, deleted, inserted or reordered entries; and
    whether the chain still holds the last head this workspace signed into a bundle."""
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
    _check_signed_head(conn, problems)
    return problems
