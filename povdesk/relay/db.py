"""The relay's tables (SQLAlchemy Core) and the few statements it runs, the same on SQLite and PostgreSQL.

The relay stores bundles it cannot read: their bytes (in files beside the database, one per part
as it was uploaded: only each file's name and length are rows here), what their manifests say about
routing (sender, recipient, sequence range) and its own receipts. The
database's unique constraints decide idempotency: one row per bundle id, one per sender, recipient and
sequence range (except full and acknowledgement-only bundles), one part per upload and offset,
one nonce per device. Nothing here decrypts anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    delete,
    event,
    false,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from povdesk.errors import BadInput
from povdesk.i18n import tr

metadata = MetaData()

# The counties whose device lists the relay has loaded (a province relay holds many).
counties = Table(
    "relay_counties", metadata,
    Column("device_id", String(64), primary_key=True),
    Column("sign_public", LargeBinary, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("region_code", String(12), nullable=False),
    Column("serial", BigInteger, nullable=False),
    Column("loaded_at", String(32), nullable=False),
)

# Devices a county listed (the county's own device included); revoked ones stay, marked.
devices = Table(
    "relay_devices", metadata,
    Column("device_id", String(64), primary_key=True),
    Column("county_id", String(64), nullable=False),
    Column("sign_public", LargeBinary, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("region_code", String(12), nullable=False),
    Column("level", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

# Where gap counting starts for a sender and a recipient: how far the recipient is known to
# hold the sender's outbox (from the county's device list and the acknowledgements in manifests).
marks = Table(
    "relay_marks", metadata,
    Column("sender", String(64), primary_key=True),
    Column("recipient", String(64), primary_key=True),
    Column("up_to", BigInteger, nullable=False),
)

# Request nonces seen within the time window: a replayed request finds its nonce here.
nonces = Table(
    "relay_nonces", metadata,
    Column("device_id", String(64), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("at", BigInteger, nullable=False),
    Index("relay_nonces_at", "at"),
)

# An upload in progress or done: the whole file's digest and size, and how much has arrived.
uploads = Table(
    "relay_uploads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bundle_id", String(64), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("bundle_id", "sender", "sha256", name="relay_uploads_one"),
)

# The parts an upload came in, each committed with the offset that follows it. Their bytes are files
# in the relay's folder (`file` is the name there), written, synced and renamed before the row commits:
# a row never names a file that is not whole on disk.
parts = Table(
    "relay_part_files", metadata,
    Column("upload_id", Integer, ForeignKey("relay_uploads.id", ondelete="CASCADE"), primary_key=True),
    Column("start", BigInteger, primary_key=True, autoincrement=False),
    Column("length", BigInteger, nullable=False),
    Column("file", String(128), nullable=False, unique=True),
)

# The relay's own settings: where its bundle files live (chosen the first time it runs).
settings = Table(
    "relay_settings", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# A bundle whose every byte arrived, whose digest and sender's signature were checked.
bundles = Table(
    "relay_bundles", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bundle_id", String(64), nullable=False, unique=True),
    Column("upload_id", Integer, ForeignKey("relay_uploads.id"), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("full", Boolean, nullable=False),
    Column("seq_first", BigInteger, nullable=False),
    Column("seq_last", BigInteger, nullable=False),
    Column("ack", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    # received | held (a gap before it) | delivered (fetched and acknowledged: its bytes were pruned)
    Column("state", String(16), nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("fetched_at", String(32)),
    Column("receipt", Text, nullable=False),  # the first receipt, as signed
    Index("relay_bundles_inbox", "recipient", "id"),
)
# One bundle per sender, recipient and sequence range. The recipient is part of it because a county's
# return bundles to its villages cover the same range of the county's one outbox (each village gets
# its own households from it); full and acknowledgement-only bundles may repeat a range.
_ranged = and_(bundles.c.full == false(), bundles.c.seq_first <= bundles.c.seq_last)
Index("relay_bundles_range", bundles.c.sender, bundles.c.recipient, bundles.c.seq_first, bundles.c.seq_last,
      unique=True, sqlite_where=_ranged, postgresql_where=_ranged)


# ---------------------------------------------------------------------------------------------
# Engine


def make_engine(url: str) -> Engine:
    """`sqlite:///path` (the embedded default) or `postgresql+psycopg://…` (a province relay)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is None or parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise BadInput(tr("--database 应为 sqlite:///文件 或 postgresql+psycopg://…，而不是“{u}”",
                          "--database must be sqlite:///FILE or postgresql+psycopg://…, not '{u}'", u=url))
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise BadInput(tr("SQLite 数据库需要一个文件：sqlite:///路径", "SQLite needs a file: sqlite:///PATH"))
            engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30},
                                   pool_size=16, max_overflow=16, pool_timeout=60)
            _sqlite_settings(engine)
        else:
            engine = create_engine(parsed, pool_size=16, max_overflow=8, pool_timeout=60, pool_pre_ping=True)
    except NoSuchModuleError:
        raise BadInput(tr("不支持的数据库驱动：{u}", "unsupported database driver: {u}", u=url)) from None
    return engine


def _sqlite_settings(engine: Engine) -> None:
    """WAL, every commit synced to disk, and write transactions that take the lock when they begin
    (the pysqlite driver would otherwise begin lazily and let two writers deadlock); a transaction
    opened by `reading` begins deferred and, in WAL, neither waits for a writer nor holds one up."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=30000",
                       "PRAGMA foreign_keys=ON"):
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("povdesk_read") else "BEGIN IMMEDIATE")


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)


_writers: dict[int, threading.Lock] = {}
_writers_lock = threading.Lock()


def _writer_lock(engine: Engine) -> threading.Lock:
    with _writers_lock:
        return _writers.setdefault(id(engine), threading.Lock())


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction. On SQLite this process's writers take turns on a lock of their own
    first: SQLite's busy handler would make a waiting writer sleep in steps of up to 100 ms, long
    after the lock came free (another process still waits through busy_timeout)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with _writer_lock(engine), engine.begin() as conn:
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A transaction that only reads (on SQLite it takes no write lock)."""
    with engine.connect() as conn:
        conn = conn.execution_options(povdesk_read=True)
        with conn.begin():
            yield conn


def setting(conn: Connection, name: str) -> str | None:
    value = conn.execute(select(settings.c.value).where(settings.c.name == name)).scalar()
    return None if value is None else str(value)


def put_setting_once(conn: Connection, name: str, value: str) -> str:
    """The value stored first wins (another relay process may have chosen it meanwhile)."""
    conn.execute(_insert(conn, settings).values(name=name, value=value).on_conflict_do_nothing())
    found = setting(conn, name)
    assert found is not None
    return found


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table))


# ---------------------------------------------------------------------------------------------
# Counties and devices


@dataclass(frozen=True)
class Device:
    device_id: str
    county_id: str
    sign_public: bytes
    fingerprint: str
    region_code: str
    level: str
    name: str
    revoked: bool

    @property
    def is_county(self) -> bool:
        return self.device_id == self.county_id


def county(conn: Connection, device_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(counties).where(counties.c.device_id == device_id)).mappings().first()
    return dict(row) if row else None


def put_county(conn: Connection, device_id: str, sign_public: bytes, fingerprint: str, region_code: str,
               serial: int, at: str) -> None:
    stmt = _insert(conn, counties).values(device_id=device_id, sign_public=sign_public, fingerprint=fingerprint,
                                          region_code=region_code, serial=serial, loaded_at=at)
    conn.execute(stmt.on_conflict_do_update(index_elements=[counties.c.device_id],
                                            set_={"serial": serial, "loaded_at": at}))


def device(conn: Connection, device_id: str) -> Device | None:
    row = conn.execute(select(devices).where(devices.c.device_id == device_id)).first()
    return None if row is None else Device(row.device_id, row.county_id, bytes(row.sign_public), row.fingerprint,
                                           row.region_code, row.level, row.name, bool(row.revoked))


def county_devices(conn: Connection, county_id: str) -> list[Device]:
    rows = conn.execute(select(devices).where(devices.c.county_id == county_id).order_by(devices.c.region_code))
    return [Device(r.device_id, r.county_id, bytes(r.sign_public), r.fingerprint, r.region_code, r.level, r.name,
                   bool(r.revoked)) for r in rows]


def put_device(conn: Connection, d: Device, at: str) -> None:
    values = {"county_id": d.county_id, "sign_public": d.sign_public, "fingerprint": d.fingerprint,
              "region_code": d.region_code, "level": d.level, "name": d.name, "revoked": d.revoked,
              "updated_at": at}
    stmt = _insert(conn, devices).values(device_id=d.device_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[devices.c.device_id], set_=values))


def revoke_unlisted(conn: Connection, county_id: str, listed: Sequence[str], at: str) -> int:
    """A device the county no longer lists is revoked (not forgotten: its bundles stay)."""
    result = conn.execute(update(devices).where(devices.c.county_id == county_id,
                                                devices.c.device_id.not_in(list(listed)),
                                                devices.c.revoked == false())
                          .values(revoked=True, updated_at=at))
    return int(result.rowcount or 0)


def raise_mark(conn: Connection, sender: str, recipient: str, up_to: int) -> None:
    """Marks only move forward."""
    stmt = _insert(conn, marks).values(sender=sender, recipient=recipient, up_to=up_to)
    conn.execute(stmt.on_conflict_do_update(index_elements=[marks.c.sender, marks.c.recipient],
                                            set_={"up_to": func.max(marks.c.up_to, stmt.excluded.up_to)}
                                            if conn.dialect.name == "sqlite" else
                                            {"up_to": func.greatest(marks.c.up_to, stmt.excluded.up_to)}))


def mark(conn: Connection, sender: str, recipient: str) -> int:
    value = conn.execute(select(marks.c.up_to).where(marks.c.sender == sender,
                                                     marks.c.recipient == recipient)).scalar()
    return int(value or 0)


# ---------------------------------------------------------------------------------------------
# Nonces


def use_nonce(conn: Connection, device_id: str, nonce: str, at: int) -> bool:
    """False when this device used this nonce before (a replayed request)."""
    # RETURNING, not rowcount: drivers do not all count a row that ON CONFLICT DO NOTHING skipped.
    result = conn.execute(_insert(conn, nonces).values(device_id=device_id, nonce=nonce, at=at)
                          .on_conflict_do_nothing().returning(nonces.c.nonce))
    return result.first() is not None


def nonce_seen(conn: Connection, device_id: str, nonce: str) -> bool:
    return conn.execute(select(nonces.c.nonce).where(nonces.c.device_id == device_id,
                                                     nonces.c.nonce == nonce)).first() is not None


def forget_nonces(conn: Connection, before: int) -> None:
    conn.execute(delete(nonces).where(nonces.c.at < before))


# ---------------------------------------------------------------------------------------------
# Uploads and parts


@dataclass(frozen=True)
class Upload:
    id: int
    bundle_id: str
    sender: str
    sha256: str
    size: int
    received: int


def upload(conn: Connection, bundle_id: str, sender: str, sha256: str) -> Upload | None:
    row = conn.execute(select(uploads).where(uploads.c.bundle_id == bundle_id, uploads.c.sender == sender,
                                             uploads.c.sha256 == sha256)).first()
    return None if row is None else Upload(row.id, row.bundle_id, row.sender, row.sha256, row.size, row.received)


def start_upload(conn: Connection, bundle_id: str, sender: str, sha256: str, size: int, at: str) -> Upload:
    conn.execute(_insert(conn, uploads).values(bundle_id=bundle_id, sender=sender, sha256=sha256, size=size,
                                               received=0, created_at=at).on_conflict_do_nothing())
    found = upload(conn, bundle_id, sender, sha256)
    assert found is not None
    return found


def add_part(conn: Connection, up: Upload, start: int, length: int, file: str) -> bool:
    """Append a part at `start` (its bytes already whole in `file`); False when another request moved
    the offset first (the conditional change of `received` is what decides, not a read before it)."""
    result = conn.execute(update(uploads).where(uploads.c.id == up.id, uploads.c.received == start)
                          .values(received=start + length))
    if not result.rowcount:
        return False
    conn.execute(_insert(conn, parts).values(upload_id=up.id, start=start, length=length, file=file))
    return True


def part_files(conn: Connection, upload_id: int) -> list[tuple[int, int, str]]:
    """(start, length, file) of every part, in order."""
    rows = conn.execute(select(parts.c.start, parts.c.length, parts.c.file).where(parts.c.upload_id == upload_id)
                        .order_by(parts.c.start))
    return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]


def all_part_files(conn: Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute(select(parts.c.file))}


# Before its bytes moved to files, the relay kept each part as a BLOB: relay_parts (upload_id, start,
# data). A relay upgraded from then holds received bundles not yet fetched there; they are moved
# into files when it starts (relay.server.move_blob_parts), a part a transaction, and the table goes.
BLOB_PARTS = Table(
    "relay_parts", MetaData(),
    Column("upload_id", Integer, primary_key=True),
    Column("start", BigInteger, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)


def has_blob_parts(conn: Connection) -> bool:
    return bool(inspect(conn).has_table(BLOB_PARTS.name))


def next_blob_part(conn: Connection) -> tuple[int, int, bytes, str] | None:
    """(upload_id, start, data, bundle_id) of one part still held as a BLOB, or None."""
    t = BLOB_PARTS
    row = conn.execute(select(t.c.upload_id, t.c.start, t.c.data, uploads.c.bundle_id)
                       .join(uploads, uploads.c.id == t.c.upload_id).order_by(t.c.upload_id, t.c.start)
                       .limit(1)).first()
    return None if row is None else (int(row[0]), int(row[1]), bytes(row[2]), str(row[3]))


def blob_part_moved(conn: Connection, upload_id: int, start: int, length: int, file: str) -> bool:
    """The part's file is whole on disk: the BLOB goes and a row names the file, in one transaction;
    False when another relay process starting beside this one moved the part first."""
    t = BLOB_PARTS
    if not conn.execute(delete(t).where(t.c.upload_id == upload_id, t.c.start == start)).rowcount:
        return False
    conn.execute(parts.insert().values(upload_id=upload_id, start=start, length=length, file=file))
    return True


def drop_blob_parts(conn: Connection) -> int:
    """The old table, once no part of a known upload is left in it; returns the parts of no upload
    dropped with it."""
    if not has_blob_parts(conn):
        return 0
    left = int(conn.execute(select(func.count()).select_from(BLOB_PARTS)).scalar() or 0)
    BLOB_PARTS.drop(conn)
    return left


def drop_upload(conn: Connection, upload_id: int) -> list[str]:
    """Its rows go; returns the files to remove once that is committed."""
    files = [f for _s, _n, f in part_files(conn, upload_id)]
    conn.execute(delete(parts).where(parts.c.upload_id == upload_id))
    conn.execute(delete(uploads).where(uploads.c.id == upload_id))
    return files


# ---------------------------------------------------------------------------------------------
# Bundles


def insert_bundle(conn: Connection, values: dict[str, Any]) -> bool:
    """True when this row was stored; False when a unique constraint (the bundle id, or the
    sender's sequence range to that recipient) already holds another."""
    return conn.execute(_insert(conn, bundles).values(**values).on_conflict_do_nothing()
                        .returning(bundles.c.id)).first() is not None


def bundle(conn: Connection, bundle_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(bundles).where(bundles.c.bundle_id == bundle_id)).mappings().first()
    return dict(row) if row else None


def bundle_by_range(conn: Connection, sender: str, recipient: str, first: int, last: int) -> dict[str, Any] | None:
    row = conn.execute(select(bundles).where(bundles.c.sender == sender, bundles.c.recipient == recipient,
                                             bundles.c.seq_first == first,
                                             bundles.c.seq_last == last, _ranged)).mappings().first()
    return dict(row) if row else None


def ranges(conn: Connection, sender: str, recipient: str) -> list[tuple[int, int, str, str]]:
    """(first, last, bundle_id, state) of a sender's bundles to a recipient, by first sequence."""
    rows = conn.execute(select(bundles.c.seq_first, bundles.c.seq_last, bundles.c.bundle_id, bundles.c.state)
                        .where(bundles.c.sender == sender, bundles.c.recipient == recipient)
                        .order_by(bundles.c.seq_first, bundles.c.id))
    return [(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]


def set_states(conn: Connection, bundle_ids: Sequence[str], state: str) -> None:
    if bundle_ids:
        conn.execute(update(bundles).where(bundles.c.bundle_id.in_(list(bundle_ids))).values(state=state))


def inbox(conn: Connection, recipient: str, after: int, limit: int) -> list[dict[str, Any]]:
    """Bundles addressed to `recipient` with no gap before them, in the order they arrived."""
    rows = conn.execute(select(bundles.c.id, bundles.c.bundle_id, bundles.c.sender, bundles.c.kind,
                               bundles.c.full, bundles.c.seq_first, bundles.c.seq_last, bundles.c.sha256,
                               bundles.c.size, bundles.c.received_at, bundles.c.state)
                        .where(bundles.c.recipient == recipient, bundles.c.id > after,
                               bundles.c.state == "received")
                        .order_by(bundles.c.id).limit(limit)).mappings()
    return [dict(r) for r in rows]


def held_count(conn: Connection, recipient: str) -> int:
    return int(conn.execute(select(func.count()).select_from(bundles)
                            .where(bundles.c.recipient == recipient, bundles.c.state == "held")).scalar() or 0)


def mark_fetched(conn: Connection, bundle_id: str, at: str) -> None:
    conn.execute(update(bundles).where(bundles.c.bundle_id == bundle_id, bundles.c.fetched_at.is_(None))
                 .values(fetched_at=at))


def set_receipt(conn: Connection, bundle_id: str, receipt: str) -> None:
    conn.execute(update(bundles).where(bundles.c.bundle_id == bundle_id).values(receipt=receipt))


def all_devices(conn: Connection) -> list[Device]:
    rows = conn.execute(select(devices).order_by(devices.c.county_id, devices.c.region_code))
    return [Device(r.device_id, r.county_id, bytes(r.sign_public), r.fingerprint, r.region_code, r.level, r.name,
                   bool(r.revoked)) for r in rows]


# ---------------------------------------------------------------------------------------------
# Pruning


@dataclass(frozen=True)
class Pruned:
    abandoned_uploads: int
    delivered_bundles: int
    bytes: int
    files: tuple[str, ...] = ()  # to remove once the prune is committed


def prune(conn: Connection, before: str, *, abandoned: bool = True, delivered: bool = True) -> Pruned:
    """Drop the bytes nothing needs any more: uploads begun before `before` that never became a bundle
    (their sender starts again), and bundles the recipient fetched before `before` and has acknowledged
    (its acknowledgement of the sender's range came back through the relay or the county's device
    list). A delivered bundle keeps its row and receipt, so the same upload again still answers with
    the original receipt, and its range stays taken."""
    stored = select(bundles.c.upload_id)
    dropped = [int(r[0]) for r in conn.execute(select(uploads.c.id).where(uploads.c.created_at < before,
                                                                         uploads.c.id.not_in(stored)))] \
        if abandoned else []
    acked = (select(marks.c.up_to).where(marks.c.sender == bundles.c.sender, marks.c.recipient == bundles.c.recipient)
             .scalar_subquery())
    done = conn.execute(select(bundles.c.id, bundles.c.upload_id).where(
        bundles.c.state == "received", bundles.c.fetched_at.is_not(None), bundles.c.fetched_at < before,
        func.coalesce(acked, 0) >= bundles.c.seq_last)).all() if delivered else []
    uploads_ids = dropped + [int(r[1]) for r in done]
    size = 0
    files: list[str] = []
    if uploads_ids:
        gone = conn.execute(select(parts.c.length, parts.c.file).where(parts.c.upload_id.in_(uploads_ids))).all()
        size = sum(int(r[0]) for r in gone)
        files = [str(r[1]) for r in gone]
        conn.execute(delete(parts).where(parts.c.upload_id.in_(uploads_ids)))
    if dropped:
        conn.execute(delete(uploads).where(uploads.c.id.in_(dropped)))
    if done:
        conn.execute(update(bundles).where(bundles.c.id.in_([int(r[0]) for r in done])).values(state="delivered"))
    return Pruned(len(dropped), len(done), size, tuple(files))
