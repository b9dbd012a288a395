"""Schema migrations: numbered, recorded, safe to re-run, with a backup taken before any upgrade."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from povdesk.clock import SYSTEM_CLOCK

if TYPE_CHECKING:  # sqlite-utils is imported when a migration runs, not at every open of a workspace
    import sqlite_utils
    import sqlite_utils.migrations
    from sqlite_utils.db import Table

log = logging.getLogger(__name__)

# "POVD": marks a SQLite file as a povdesk workspace (PRAGMA application_id).
APPLICATION_ID = 0x504F5644
MIGRATION_SET = "povdesk"
KEEP_AUTOMATIC_BACKUPS = 5


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    apply: Callable[[sqlite_utils.Database], None]

    @property
    def key(self) -> str:
        return f"{self.number:04d}_{self.name}"


def _table(db: sqlite_utils.Database, name: str) -> Table:
    from sqlite_utils.db import Table

    table = db[name]
    assert isinstance(table, Table)
    return table


def _m0001_initial(db: sqlite_utils.Database) -> None:
    """The first schema. Every statement is IF NOT EXISTS so a half-recorded run can be repeated."""
    _table(db, "meta").create({"key": str, "value": str}, pk="key", not_null=["value"], if_not_exists=True)
    _table(db, "settings").create({"key": str, "value": str}, pk="key", not_null=["value"], if_not_exists=True)
    _table(db, "users").create(
        {"name": str, "role": str, "display_name": str, "active": int, "password_hash": str,
         "created_at": str, "updated_at": str},
        pk="name", not_null=["role", "display_name", "active", "password_hash", "created_at", "updated_at"],
        if_not_exists=True,
    )
    households = _table(db, "households").create(
        {"id": str, "household_no": str, "village_code": str, "status": str, "head_name": str,
         "head_sort": str, "attribute": str, "main_cause": str, "member_count": int, "fields": str,
         "helpers": str, "form_version": str, "rule_version": str, "version": int, "updated_at": str,
         "updated_by": str},
        pk="id",
        not_null=["household_no", "village_code", "status", "head_name", "head_sort", "member_count",
                  "fields", "helpers", "form_version", "rule_version", "version", "updated_at", "updated_by"],
        if_not_exists=True,
    )
    households.create_index(["household_no"], unique=True, if_not_exists=True)
    # Keyset lists: each filter/order walks one index in list order.
    households.create_index(["village_code", "household_no"], if_not_exists=True)
    households.create_index(["status", "household_no"], if_not_exists=True)
    households.create_index(["head_sort", "household_no"], if_not_exists=True)
    # members.rid is an integer key for the search index; AUTOINCREMENT so a deleted member's
    # number is never handed to someone else (a stale search row can then never point at the
    # wrong person).
    db.execute(
        """CREATE TABLE IF NOT EXISTS members (
            rid INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            household_id TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            village_code TEXT NOT NULL,
            name TEXT NOT NULL,
            id_number TEXT NOT NULL,
            id_reversed TEXT NOT NULL,
            birth_date TEXT,
            sex TEXT,
            relation TEXT,
            fields TEXT NOT NULL
        )"""
    )
    members = _table(db, "members")
    members.create_index(["household_id", "position"], if_not_exists=True)
    # village_code rides along so a village-filtered ID search never leaves the index.
    members.create_index(["id_number", "village_code"], if_not_exists=True)
    members.create_index(["id_reversed", "village_code"], if_not_exists=True)
    _table(db, "years").create(
        {"household_id": str, "year": int, "income": str, "measures": str},
        pk=("household_id", "year"), foreign_keys=[("household_id", "households", "id")],
        not_null=["income", "measures"], if_not_exists=True,
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS events (
            rid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            household_id TEXT NOT NULL REFERENCES households(id),
            procedure TEXT NOT NULL,
            step TEXT NOT NULL,
            date TEXT NOT NULL,
            role TEXT NOT NULL,
            user TEXT NOT NULL,
            evidence TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )"""
    )
    _table(db, "events").create_index(["household_id", "rid"], if_not_exists=True)
    # Search terms (kind, term) -> member: name, name suffixes, pinyin initials, full pinyin.
    # WITHOUT ROWID: the primary key is the only B-tree, and the village is stored in it so a
    # village filter is checked without visiting the member row.
    db.execute(
        """CREATE TABLE IF NOT EXISTS search_terms (
            kind INTEGER NOT NULL,
            term TEXT NOT NULL,
            rid INTEGER NOT NULL,
            village TEXT NOT NULL,
            PRIMARY KEY (kind, term, rid)
        ) WITHOUT ROWID"""
    )
    _table(db, "household_counters").create(
        {"village_code": str, "device_prefix": str, "last": int},
        pk=("village_code", "device_prefix"), not_null=["last"], if_not_exists=True,
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            user TEXT NOT NULL,
            action TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            field TEXT,
            old TEXT,
            new TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )"""
    )
    _table(db, "audit").create_index(["entity_id", "seq"], if_not_exists=True)
    db.execute(
        """CREATE TABLE IF NOT EXISTS outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    # History is append-only. These stop accidents and careless tools, not a determined editor
    # (who can drop them); the audit hash chain is what reveals that.
    for table in ("audit", "events"):
        for op in ("UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _m0002_sync(db: sqlite_utils.Database) -> None:
    """Sync: this device's keys, trusted peers, received and sent bundle ranges, merge bases,
    conflicts, duplicate flags and the audit entries peers sent. IF NOT EXISTS throughout, and the
    keys are only generated when missing, so a half-recorded run can be repeated."""
    from povdesk.store import sync as sync_tables

    for statement in sync_tables.SCHEMA:
        db.execute(statement)
    sync_tables.ensure_device_keys(db.conn)


def _m0003_relay(db: sqlite_utils.Database) -> None:
    """The relay: where this workspace uploads and fetches, and the bundles it has queued for it
    (povdesk.relay). IF NOT EXISTS throughout, so a half-recorded run can be repeated."""
    from povdesk.store import sync as sync_tables

    for statement in sync_tables.RELAY_SCHEMA:
        db.execute(statement)


def _m0004_voided_households(db: sqlite_utils.Database) -> None:
    """A voided household (a mark in its fields, povdesk.core.model.VOIDED_FIELD: kept, never
    deleted) is left out of the list, counts and reports: a virtual column reading the mark, and an
    index on it by village. Checked before adding, so a half-recorded run can be repeated; a
    damaged `fields` value reads as not voided rather than failing every query."""
    columns = {row[1] for row in db.execute("PRAGMA table_xinfo(households)").fetchall()}
    if "voided" not in columns:
        db.execute("ALTER TABLE households ADD COLUMN voided INTEGER GENERATED ALWAYS AS "
                   "(CASE WHEN instr(fields, '\"voided\"') = 0 THEN 0 WHEN json_valid(fields) "
                   "THEN ifnull(json_type(fields, '$.voided') = 'object', 0) ELSE 0 END) "
                   "VIRTUAL")
    db.execute("CREATE INDEX IF NOT EXISTS idx_households_voided ON households (voided, village_code)")


def _m0005_search_covering(db: sqlite_utils.Database) -> None:
    """What a search hit shows, in narrow indexes: the members found (by rid or by ID digits) and
    their households (by id, or by number) are read from them, never from the rows, which hold
    each person's and household's whole JSON (a few to a dozen per page, every hit on a page of its
    own). On an encrypted workspace each page read from the file is decrypted and its HMAC checked:
    a first search touched hundreds of pages where these indexes need a few dozen."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_members_hit "
               "ON members (rid, household_id, name, id, id_number, relation)")
    # The ID number's indexes (first digits, last digits) carry the household and the name too, so a
    # search by digits reads neither the member rows (searching "5226" is every person of a county).
    # Same names, so the searches' INDEXED BY stay; made again only where they lack the columns.
    for column in ("id_number", "id_reversed"):
        index = f"idx_members_{column}_village_code"
        have = [str(r[2]) for r in db.execute(f"PRAGMA index_info({index})").fetchall()]
        if have != [column, "village_code", "household_id", "name"]:
            db.execute(f"DROP INDEX IF EXISTS {index}")
            db.execute(f"CREATE INDEX {index} ON members ({column}, village_code, household_id, name)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_households_hit ON households "
               "(id, household_no, village_code, head_name, status, attribute, main_cause, member_count)")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", _m0001_initial),
    Migration(2, "sync", _m0002_sync),
    Migration(3, "relay", _m0003_relay),
    Migration(4, "voided_households", _m0004_voided_households),
    Migration(5, "search_covering", _m0005_search_covering),
)


def latest(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return max(m.number for m in migrations)


def _migration_set(migrations: Sequence[Migration]) -> sqlite_utils.migrations.Migrations:
    import sqlite_utils.migrations

    mset = sqlite_utils.migrations.Migrations(MIGRATION_SET)
    for m in sorted(migrations, key=lambda m: m.number):
        def run(db: sqlite_utils.Database, m: Migration = m) -> None:
            m.apply(db)
            # Recorded in the same transaction as the schema change itself.
            db.execute(f"PRAGMA user_version = {int(m.number)}")
            db.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(m.number),),
            )
        mset(name=m.key)(run)
    return mset


def applied_numbers(conn: sqlite3.Connection) -> list[int]:
    """Numbers of the migrations recorded in the file (read-only)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if not exists:
        return []
    numbers = []
    for (name,) in conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,)
    ):
        match = re.match(r"(\d+)_", name)
        if match:
            numbers.append(int(match.group(1)))
    return sorted(numbers)


def pending(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    done = set(applied_numbers(conn))
    return [m for m in sorted(migrations, key=lambda m: m.number) if m.number not in done]


def apply(db: sqlite_utils.Database, migrations: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    """Apply what is pending, inside the caller's transaction (sqlite-utils nests by savepoint)."""
    todo = pending(db.conn, migrations)
    if todo:
        _migration_set(migrations).apply(db)
        log.info("applied migrations %s", [m.key for m in todo])
    return todo


# ---------------------------------------------------------------------------------------------
# Backups


_AUTO_BACKUP = re.compile(r"\.backup-(\d+)-(\d{8}T\d{6}\d*Z)\.db$")


def backup_path(path: Path, schema: int, *, manual: bool = False) -> Path:
    stamp = SYSTEM_CLOCK.now().strftime("%Y%m%dT%H%M%S%fZ")
    suffix = "-manual" if manual else ""
    return path.with_name(f"{path.stem}.backup-{schema}-{stamp}{suffix}.db")


def backup_to(conn: sqlite3.Connection, dest: Path) -> Path:
    """Copy through the backup API (a file copy could miss pages still in the -wal file).

    Written to a temporary name and renamed, so an interrupted backup never looks complete.
    """
    tmp = dest.with_name(dest.name + ".partial")
    tmp.unlink(missing_ok=True)
    target = sqlite3.connect(str(tmp))
    try:
        conn.backup(target)
        # A backup is a standalone file; keep it out of WAL mode so it is a single file to carry.
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()
    tmp.replace(dest)
    return dest


def prune_automatic_backups(path: Path, keep: int = KEEP_AUTOMATIC_BACKUPS) -> list[Path]:
    """Keep the newest `keep` automatic backups of this workspace; manual ones are never pruned."""
    prefix = f"{path.stem}.backup-"
    found = sorted(
        (p for p in path.parent.glob(f"{prefix}*.db") if _AUTO_BACKUP.search(p.name)),
        key=lambda p: _AUTO_BACKUP.search(p.name).group(2),  # type: ignore[union-attr]
    )
    removed = found[: max(0, len(found) - keep)]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed
