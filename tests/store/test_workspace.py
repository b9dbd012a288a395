"""Opening, creating, migrating, backing up and failing safely."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

import pytest

from povdesk.errors import BadInput, WorkspaceError
from povdesk.store import MIGRATIONS, Migration, User, Workspace
from povdesk.store import migrations as mig

from .factories import household


def test_create_and_reopen_keep_meta(ws: Workspace, ws_path: Path) -> None:
    meta = dict(ws.meta)
    assert ws.region_code == "430105" and ws.level == "county" and ws.name == "测试县"
    assert re.fullmatch(r"[A-Z0-9]{4}", ws.device_prefix)
    assert ws.schema_version == mig.latest()
    ws.close()
    with Workspace.open(ws_path) as again:
        assert dict(again.meta) | {"audit_head": ""} == meta | {"audit_head": ""}
        assert again.workspace_id == meta["workspace_id"] and again.device_id == meta["device_id"]
        conn = again._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_create_refuses_existing_file_and_bad_level(tmp_path: Path) -> None:
    existing = tmp_path / "x.db"
    existing.write_bytes(b"keep me")
    with pytest.raises(WorkspaceError, match="already exists"):
        Workspace.create(existing, region_code="430105", name="x", level="county", admin_user="a",
                         admin_password="p")
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(BadInput):
        Workspace.create(tmp_path / "y.db", region_code="430105", name="x", level="province", admin_user="a",
                         admin_password="p")
    assert not (tmp_path / "y.db").exists()


def test_open_refuses_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist") as err:
        Workspace.open(tmp_path / "nope.db")
    assert str(tmp_path / "nope.db") in err.value.message("en")
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    with pytest.raises(WorkspaceError, match="not a povdesk workspace"):
        Workspace.open(junk)
    other = tmp_path / "other.db"
    c = sqlite3.connect(other)
    c.execute("CREATE TABLE t (x)")
    c.commit()
    c.close()
    with pytest.raises(WorkspaceError, match="not a povdesk workspace"):
        Workspace.open(other)
    with pytest.raises(WorkspaceError, match="folder"):
        Workspace.open(tmp_path)


def test_newer_schema_refused(ws: Workspace, ws_path: Path) -> None:
    ws.close()
    c = sqlite3.connect(ws_path)
    c.execute("PRAGMA user_version = 99")
    c.close()
    with pytest.raises(WorkspaceError) as err:
        Workspace.open(ws_path)
    msg = err.value.message("en")
    assert "newer povdesk (schema 99)" in msg and f"knows up to {mig.latest()}" in msg
    assert "升级" in err.value.message("zh")


def test_migrations_rerun_is_noop(ws: Workspace, ws_path: Path) -> None:
    before = ws._conn.execute("SELECT name, applied_at FROM _sqlite_migrations").fetchall()
    # The migration bodies themselves are idempotent, not only skipped when recorded.
    ws._conn.execute("BEGIN IMMEDIATE")
    for m in MIGRATIONS:
        m.apply(ws._db)
    assert mig.apply(ws._db) == []
    ws._conn.execute("COMMIT")
    ws.close()
    with Workspace.open(ws_path) as again:
        assert again._conn.execute("SELECT name, applied_at FROM _sqlite_migrations").fetchall() == before
    assert not list(ws_path.parent.glob("*.backup-*"))


# A migration after the built-in ones, for tests of the upgrade path.
NOTES = mig.latest() + 1


def _add_notes_table(db: object) -> None:
    import sqlite_utils

    assert isinstance(db, sqlite_utils.Database)
    db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)")


def test_old_schema_backed_up_then_migrated(ws: Workspace, ws_path: Path, worker: User) -> None:
    saved = ws.save_household(household(), worker)
    ws.close()
    upgraded = (*MIGRATIONS, Migration(NOTES, "notes", _add_notes_table))
    with Workspace.open(ws_path, migrations=upgraded) as new:
        assert new.schema_version == NOTES
        assert new._conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
        assert new.load_household(saved.id).to_dict() == saved.to_dict()
        assert any(e.action == "workspace.migrate" for e in new.audit_entries())
    backups = list(ws_path.parent.glob(f"county.backup-{NOTES - 1}-*.db"))
    assert len(backups) == 1
    b = sqlite3.connect(backups[0])
    assert b.execute("PRAGMA user_version").fetchone()[0] == NOTES - 1
    assert b.execute("SELECT count(*) FROM sqlite_master WHERE name = 'notes'").fetchone()[0] == 0
    assert b.execute("SELECT count(*) FROM households").fetchone()[0] == 1  # the WAL content is in it
    b.close()
    # Opening again with the same list: nothing pending, no new backup.
    Workspace.open(ws_path, migrations=upgraded).close()
    assert len(list(ws_path.parent.glob("county.backup-*.db"))) == 1
    # An older povdesk (knowing only the built-in schema) now refuses the file.
    with pytest.raises(WorkspaceError, match="newer povdesk"):
        Workspace.open(ws_path)


def test_only_last_automatic_backups_kept(ws: Workspace, ws_path: Path) -> None:
    ws.close()
    for i in range(7):
        (ws_path.parent / f"county.backup-1-2020010{i}T000000000000Z.db").write_bytes(b"")
    manual = ws_path.parent / "county.backup-1-20200101T000000000000Z-manual.db"
    manual.write_bytes(b"")
    Workspace.open(ws_path, migrations=(*MIGRATIONS, Migration(NOTES, "notes", _add_notes_table))).close()
    autos = sorted(p.name for p in ws_path.parent.glob("county.backup-*Z.db"))
    assert len(autos) == mig.KEEP_AUTOMATIC_BACKUPS
    assert autos[0] == "county.backup-1-20200103T000000000000Z.db"
    assert manual.exists()


def test_backup_on_request(ws: Workspace, worker: User, tmp_path: Path) -> None:
    saved = ws.save_household(household(), worker)
    dest = ws.backup(tmp_path / "copy.db")
    with Workspace.open(dest, readonly=True) as copy:
        assert copy.load_household(saved.id).to_dict() == saved.to_dict()
    default = ws.backup()
    assert default.parent == ws.path.parent and default.name.startswith("county.backup-")


def test_locked_by_another_writer(ws: Workspace, ws_path: Path, worker: User) -> None:
    ws.close()
    other = sqlite3.connect(ws_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with Workspace.open(ws_path, timeout=0.2) as w:
            start = time.monotonic()
            with pytest.raises(WorkspaceError) as err:
                w.save_household(household(), worker)
            assert time.monotonic() - start < 3
            assert "in use by another program" in err.value.message("en")
            assert str(ws_path) in err.value.message("en")
            assert w.count_households() == 0  # reading still works in WAL mode
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_locked_exclusively_refuses_open(ws: Workspace, ws_path: Path) -> None:
    ws.close()
    other = sqlite3.connect(ws_path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("COMMIT")  # the exclusive lock is kept until the connection closes
    try:
        start = time.monotonic()
        with pytest.raises(WorkspaceError, match="in use by another program"):
            Workspace.open(ws_path, timeout=0.2)
        assert time.monotonic() - start < 3
    finally:
        other.close()


def test_readonly_open_refuses_writes(ws: Workspace, ws_path: Path, worker: User) -> None:
    saved = ws.save_household(household(), worker)
    ws.close()
    with Workspace.open(ws_path, readonly=True) as ro:
        assert ro.readonly
        assert ro.load_household(saved.id).household_no == saved.household_no
        assert ro.search("张三")
        with pytest.raises(WorkspaceError, match="read-only"):
            ro.set_setting("x", 1)
        with pytest.raises(WorkspaceError, match="read-only"):
            ro.save_household(ro.load_household(saved.id), worker)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: file permissions do not stop root from writing; "
                           "read-only behaviour is covered by the readonly=True and mode=ro tests")
def test_readonly_file_on_disk(ws: Workspace, ws_path: Path, worker: User) -> None:
    ws.close()
    os.chmod(ws_path, 0o444)
    try:
        with Workspace.open(ws_path) as ro:
            assert ro.count_households() == 0
            with pytest.raises(WorkspaceError, match="the workspace file is read-only"):
                ro.save_household(household(), worker)
    finally:
        os.chmod(ws_path, 0o644)


def test_sqlite_readonly_error_is_translated(ws: Workspace, ws_path: Path, worker: User) -> None:
    """Even when SQLite itself refuses (a mode=ro connection the workspace thought writable)."""
    ws.close()
    w = Workspace.open(ws_path)
    w._conn.close()
    w._conn = sqlite3.connect(ws_path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        with pytest.raises(WorkspaceError, match="read-only"):
            w.set_setting("x", 1)
    finally:
        w.close()


def test_disk_full_saves_nothing(ws: Workspace, worker: User) -> None:
    first = ws.save_household(household(), worker)
    audit_before = len(ws.audit_entries(limit=10_000))
    outbox_before = ws.last_outbox_seq()
    pages = ws._conn.execute("PRAGMA page_count").fetchone()[0]
    ws._conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    big = household()
    big.fields["note"] = "很长的说明" * 20_000
    with pytest.raises(WorkspaceError) as err:
        ws.save_household(big, worker)
    assert "disk full, nothing was saved" in err.value.message("en")
    assert "磁盘已满" in err.value.message("zh")
    ws._conn.execute("PRAGMA max_page_count = 1073741823")
    assert ws.count_households() == 1
    assert ws.find_household_by_no(first.household_no) is not None
    assert len(ws.audit_entries(limit=10_000)) == audit_before
    assert ws.last_outbox_seq() == outbox_before
    assert ws.verify_audit() == []
    # And the workspace still works afterwards.
    ws.save_household(household(), worker)
    assert ws.count_households() == 2


def test_settings_round_trip(ws: Workspace, ws_path: Path) -> None:
    assert ws.setting("lang", "zh") == "zh"
    ws.set_setting("lang", "en")
    ws.set_setting("columns", ["household_no", "head_name"])
    ws.close()
    with Workspace.open(ws_path) as again:
        assert again.setting("lang") == "en"
        assert again.setting("columns") == ["household_no", "head_name"]


def test_failed_create_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with pytest.raises(BadInput):
        Workspace.create(path, region_code="430105", name="x", level="village", admin_user="admin",
                         admin_password="")
    assert list(tmp_path.iterdir()) == []


def test_errors_name_the_file_in_both_languages(tmp_path: Path) -> None:
    missing = tmp_path / "缺失.db"
    with pytest.raises(WorkspaceError) as err:
        Workspace.open(missing)
    assert err.value.where == str(missing)
    assert "工作区文件不存在" in err.value.message("zh") and str(missing) in err.value.message("zh")
