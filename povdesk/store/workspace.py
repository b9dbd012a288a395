"""The workspace: one SQLite file per installation; opening, creating, transactions and the public API."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import sqlcipher3

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.core.model import LEVELS, OWN_NUMBER_FIELD, Household, ProcedureEvent
from povdesk.core.permissions import require
from povdesk.core.procedures import level_refusal
from povdesk.errors import BadInput, NotPermitted, WorkspaceError
from povdesk.i18n import Text, tr
from povdesk.store import audit as audit_log
from povdesk.store import households as repo
from povdesk.store import keys as wkeys
from povdesk.store import migrations as mig
from povdesk.store import outbox as outbox_log
from povdesk.store import search as search_index
from povdesk.store import sync as sync_tables
from povdesk.store import users as accounts
from povdesk.store.audit import AuditEntry, AuditWriter
from povdesk.store.codec import dumps, loads, now_utc
from povdesk.store.errors import NOT_A_WORKSPACE, OPENED_READ_ONLY, READ_ONLY, translate
from povdesk.store.households import HouseholdRow, ImportResult, Stamp
from povdesk.store.keys import KeyFile
from povdesk.store.migrations import Migration
from povdesk.store.outbox import OutboxEntry
from povdesk.store.search import SearchHit
from povdesk.store.users import User

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
# No 0/O or 1/I: the prefix is read aloud and copied by hand from printed cards.
_PREFIX_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_CACHE_KIB = 32 * 1024
# While importing: 64 MB. A county import with 256 MB was no faster and held 200 MB more.
_IMPORT_CACHE_KIB = 64 * 1024


# Both drivers' errors: plain workspaces go through sqlite3, encrypted ones through sqlcipher3.
_DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, sqlcipher3.Error)
# SQLCipher logs decryption failures to stderr by default; we report them ourselves, in one line.
sqlcipher3.connect(":memory:").execute("PRAGMA cipher_log_level = NONE").close()

DAMAGED_OR_ALTERED = tr(
    "工作区文件已损坏，或在 povdesk 之外被改动过（加密校验不符）。请用最近的备份恢复（工作区旁边的 .backup-*.db 文件及其 .keys 文件）",
    "the workspace file is damaged or was altered outside povdesk (its encryption check failed); restore the "
    "latest backup (the .backup-*.db file beside it, with its .keys file)")


def _connect(path: Path, *, readonly: bool, timeout: float, encrypted: bool = False) -> sqlite3.Connection:
    # isolation_level=None: this module issues BEGIN IMMEDIATE / COMMIT itself, so Python never
    # opens a transaction behind our back. check_same_thread stays on: one connection per thread.
    # An encrypted workspace is opened by sqlcipher3 (SQLite with SQLCipher, the same DB-API);
    # the key is given by _apply_key before anything is read.
    driver: Any = sqlcipher3 if encrypted else sqlite3
    if readonly:
        return driver.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=timeout,
                              isolation_level=None)
    return driver.connect(str(path), timeout=timeout, isolation_level=None)


def _login_hash(conn: sqlite3.Connection, name: str) -> str:
    row = conn.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
    return str(row[0]) if row else ""


def _wrap_current(kf: KeyFile, conn: sqlite3.Connection, name: str, password: str, key: bytes, *,
                  replace: bool = True) -> None:
    """Wrap the data key for `name` under the login hash just written in this transaction (one
    scrypt at sign-in both checks the password and unwraps the key); under the password itself
    if that hash is not one KeyFile can use."""
    if not kf.wrap_from_login_hash(name, _login_hash(conn, name), key, replace=replace):
        kf.wrap_for(name, password, key, replace=replace)


def _is_damage(exc: Exception) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


def _refuse_above(households: Sequence[Household], level: str | None) -> None:
    """The store's own guard: no import writes a step above the workspace's level (the import
    pipeline refuses such records first, with its message; a sync bundle goes through sync_write)."""
    if level is None:
        return
    for hh in households:
        for e in hh.events:
            why = level_refusal(e, level, hh.events)
            if why is not None:
                raise NotPermitted(why, where=hh.household_no or hh.id)


class BulkSession:
    """An import transaction open on the workspace (Workspace.bulk_import): write batches, read
    back what the across-household checks need; `result` is set once the block has ended."""

    def __init__(self, conn: sqlite3.Connection, bulk: repo.BulkImport, level: str | None = None) -> None:
        self._conn = conn
        self.bulk = bulk
        self.level = level
        self.result: ImportResult | None = None

    def write(self, households: Sequence[Household]) -> None:
        _refuse_above(households, self.level)
        self.bulk.write(households)

    def cross_check_candidates(self, skip: set[str]) -> Iterator[Household]:
        """The households an across-household rule can flag, as the transaction sees them (the
        batches written so far included), but those in `skip`; see store.households.iter_cross_candidates."""
        return repo.iter_cross_candidates(self._conn, skip)


class Workspace:
    """One open workspace file. Not thread-safe: open one Workspace per thread."""

    def __init__(self, path: Path, conn: sqlite3.Connection, *, readonly_reason: Text | None,
                 timeout: float, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = path
        self.clock = clock  # what "today" is for everything done through this workspace
        self._conn = conn
        # As sqlite-utils set it when every open made its Database: a REPLACE on the append-only
        # tables fires their DELETE trigger (and is refused) instead of deleting silently.
        conn.execute("PRAGMA recursive_triggers = ON")
        self._readonly_reason = readonly_reason
        self._committed = False  # a write transaction of this session has committed
        self._timeout = timeout
        self._meta: dict[str, str] = {}
        self._versions: tuple[str, str] | None = None
        # Encryption: the data key once known, the key file beside the workspace, and whether the
        # workspace still waits for a sign-in to be decrypted (see povdesk.store.keys).
        self._key: bytes | None = None
        self._keyfile: KeyFile | None = None
        self._locked = False
        self._migrations: Sequence[Migration] = mig.MIGRATIONS

    # -----------------------------------------------------------------------------------------
    # Opening and creating

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, region_code: str, name: str, level: str, admin_user: str,
               admin_password: str, admin_display_name: str = "", timeout: float = DEFAULT_TIMEOUT,
               clock: Clock = SYSTEM_CLOCK, demo: bool = False, encrypted: bool = False) -> Workspace:
        """A new workspace file with its meta data and the first administrator.

        `demo` makes a training workspace: it may hold synthetic households (`povdesk demo`) and an
        account for every role, whatever its level; the mark is set here and never afterwards.
        `encrypted` makes it a SQLCipher file under a new random data key, wrapped for the
        administrator in the key file beside it (what `povdesk init`, `povdesk demo` and the app
        make; tests whose subject is not encryption keep plain files, which are faster to make)."""
        path = Path(path)
        where = str(path)
        if path.exists():
            raise WorkspaceError(tr("文件已存在，未覆盖。请另选文件名", "the file already exists and was not "
                                       "overwritten; choose another name"), where=where)
        if level not in LEVELS:
            raise BadInput(tr("未知的工作区级别“{l}”（可选：village、township、county）",
                                 "unknown workspace level '{l}' (village, township or county)", l=level))
        if not path.parent.is_dir():
            raise WorkspaceError(tr("文件夹不存在", "the folder does not exist"), where=str(path.parent))
        conn: sqlite3.Connection | None = None
        keyfile = KeyFile.new(wkeys.key_file_for(path), {"name": name, "region_code": region_code, "level": level,
                                                              "demo": "1" if demo else "0"})
        try:
            conn = _connect(path, readonly=False, timeout=timeout, encrypted=encrypted)
            ws = cls(path, conn, readonly_reason=None, timeout=timeout, clock=clock)
            doing = tr("创建工作区", "creating the workspace")
            if encrypted:
                ws._keyfile = keyfile
                ws._apply_key(wkeys.new_data_key())
            with ws._guard(doing):
                conn.execute(f"PRAGMA application_id = {mig.APPLICATION_ID}")
                ws._pragmas()
            now = now_utc()
            with ws._write(doing, admin_user.strip()) as (c, audit):
                mig.apply(ws._db)
                meta = {
                    "workspace_id": str(uuid.uuid4()), "region_code": region_code, "level": level, "name": name,
                    "created_at": now, "device_prefix": "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(4)),
                    "device_id": str(uuid.uuid4()), "search_version": search_index.SEARCH_VERSION,
                    "demo": "1" if demo else "0",
                }
                c.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(meta.items()))
                audit.add("workspace.create", "workspace", meta["workspace_id"], None, None,
                          {k: meta[k] for k in ("region_code", "level", "name", "device_prefix", "device_id", "demo")})
                admin = accounts.insert(c, audit, admin_user, admin_password, "admin", admin_display_name, now)
                if ws._key is not None:
                    _wrap_current(keyfile, c, admin.name, admin_password, ws._key)
                    keyfile.save()
            ws._load_meta()
            return ws
        except BaseException:
            if conn is not None:
                conn.close()
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)
            if encrypted:
                keyfile.path.unlink(missing_ok=True)
            raise

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False, timeout: float = DEFAULT_TIMEOUT,
             migrations: Sequence[Migration] | None = None, clock: Clock = SYSTEM_CLOCK,
             key: bytes | None = None) -> Workspace:
        """Open an existing workspace, upgrading its schema (after a backup) when needed.

        An encrypted workspace opens locked unless this process has unlocked it before (or `key`,
        the data key, is given): only its name, region and level are known until `authenticate`
        unwraps the data key with that user's password. `migrations` replaces the built-in list;
        it exists for tests of the upgrade path.
        """
        path = Path(path)
        where = str(path)
        if not path.exists():
            raise WorkspaceError(tr("工作区文件不存在", "the workspace file does not exist"), where=where)
        if not path.is_file():
            raise WorkspaceError(tr("这是一个文件夹，不是工作区文件", "this is a folder, not a workspace file"),
                                 where=where)
        reason: Text | None = OPENED_READ_ONLY if readonly else None
        if reason is None and not os.access(path, os.W_OK):
            reason = READ_ONLY
        if reason is None and not os.access(path.parent, os.W_OK):
            # WAL needs to create files beside the workspace.
            reason = tr("工作区所在的文件夹是只读的，不能保存修改",
                           "the folder holding the workspace is read-only; nothing can be saved")
        migrations = tuple(migrations) if migrations is not None else mig.MIGRATIONS
        keyfile: KeyFile | None = None
        if not wkeys.is_plain_sqlite(path):
            kpath = wkeys.key_file_for(path)
            if not kpath.exists():
                raise WorkspaceError(tr(
                    "这不是 povdesk 工作区文件（若是加密的工作区，它旁边的密钥文件 {k} 不见了：请从备份恢复）",
                    "this is not a povdesk workspace file (or it is an encrypted one whose key file {k} is "
                    "missing beside it: restore it from a backup)", k=kpath.name), where=where)
            keyfile = KeyFile.load(kpath)
            key = key or wkeys.remembered(path, keyfile.file_id)
        try:
            conn = _connect(path, readonly=reason is not None, timeout=timeout, encrypted=keyfile is not None)
        except _DB_ERRORS as e:
            raise translate(e, doing=tr("打开工作区", "opening the workspace"), where=where,  # type: ignore[arg-type]
                            timeout=timeout) from e
        ws = cls(path, conn, readonly_reason=reason, timeout=timeout, clock=clock)
        ws._migrations = migrations
        ws._keyfile = keyfile
        try:
            if keyfile is not None and key is None:
                ws._locked = True
                ws._meta = {k: v for k, v in keyfile.label.items() if k in ("name", "region_code", "level", "demo")}
                return ws
            if key is not None:
                ws._apply_key(key)
            ws._open_checks(migrations)
            return ws
        except BaseException:
            conn.close()
            raise

    @classmethod
    def encrypt_file(cls, path: str | os.PathLike[str], user: str, password: str, *,
                     timeout: float = DEFAULT_TIMEOUT, clock: Clock = SYSTEM_CLOCK,
                     checkpoint: Callable[[str], None] | None = None) -> Path:
        """Encrypt a plain workspace in place; returns the backup of the plain file (which is NOT
        encrypted: keep it offline and delete it once the encrypted workspace has been checked).

        An administrator signs in. `sqlcipher_export` copies everything into `FILE.encrypting`
        under a new data key, which is checked (every page's HMAC, every table's row count); the
        key file is written, the plain file is linked to its backup name, and the encrypted copy
        is renamed over it. No writer can come in meanwhile (a write lock is held on the plain
        file), and a kill at any point leaves either the plain workspace as it was or the
        encrypted one complete. The other accounts' wraps are made from their login hashes and
        become ordinary wraps at each one's next sign-in. `checkpoint(stage)` is called between
        the steps (tests kill the process there)."""
        path = Path(path)
        step = checkpoint or (lambda stage: None)
        where = str(path)
        if path.exists() and not wkeys.is_plain_sqlite(path):
            raise BadInput(tr("工作区已经是加密的", "the workspace is already encrypted"), where=where)
        ws = cls.open(path, timeout=timeout, clock=clock)
        try:
            me = ws.authenticate(user, password)
            require(me.role, "manage_users")
            if ws.readonly:
                raise WorkspaceError(READ_ONLY, where=where)
            with ws._read(tr("读取账户", "reading the accounts")) as c:
                hashes = accounts.login_hashes(c)
                county = [p for p in sync_tables.peers(c, "county") if p.active]
                tables = [r[0] for r in c.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
                counts = {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
                user_version = c.execute("PRAGMA user_version").fetchone()[0]
            label = {"name": ws.name, "region_code": ws.region_code, "level": ws.level,
                     "demo": "1" if ws.demo else "0"}
        finally:
            ws.close()
        enc = path.with_name(path.name + ".encrypting")
        enc_keys = wkeys.key_file_for(enc)
        for p in (enc, enc_keys, Path(f"{enc}-wal"), Path(f"{enc}-shm"), Path(f"{enc}-journal")):
            p.unlink(missing_ok=True)
        doing = tr("加密工作区", "encrypting the workspace")
        key = wkeys.new_data_key()
        keyfile = KeyFile.new(wkeys.key_file_for(path), label)
        try:
            src = sqlcipher3.connect(str(path), timeout=timeout, isolation_level=None)
            lock = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        except _DB_ERRORS as e:
            raise translate(e, doing=doing, where=where, timeout=timeout) from e  # type: ignore[arg-type]
        try:
            try:
                # One file, no -wal beside it: the renamed file must not meet a stale log.
                src.execute("PRAGMA journal_mode = DELETE")
                lock.execute("BEGIN IMMEDIATE")  # no other writer until the encrypted file is in place
                step("locked")
                src.execute(f"ATTACH DATABASE ? AS enc KEY \"x'{key.hex()}'\"", (str(enc),))
                for pragma in wkeys.cipher_pragmas(keyfile.cipher, "enc"):
                    src.execute(pragma)
                src.execute("SELECT sqlcipher_export('enc')")
                src.execute(f"PRAGMA enc.user_version = {int(user_version)}")
                src.execute(f"PRAGMA enc.application_id = {mig.APPLICATION_ID}")
                src.execute("DETACH DATABASE enc")
            except _DB_ERRORS as e:
                raise translate(e, doing=doing, where=where, timeout=timeout) from e  # type: ignore[arg-type]
            step("exported")
            check = sqlcipher3.connect(str(enc), isolation_level=None)
            try:
                wkeys.give_key(check, key, keyfile.cipher)
                bad = check.execute("PRAGMA cipher_integrity_check").fetchall()
                got = {t: check.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
            finally:
                check.close()
            if bad or got != counts:
                raise WorkspaceError(tr("加密后的副本与原工作区不符，未做任何修改", "the encrypted copy does not match "
                                        "the workspace; nothing was changed"), where=where)
            keyfile.wrap_for(me.name, password, key)
            for name, stored in hashes:
                if name != me.name:
                    keyfile.wrap_from_login_hash(name, stored, key)
            newest = max(county, key=lambda p: p.added_at) if county else None
            if newest is not None:
                keyfile.set_recovery(key, newest.box_public, newest.fingerprint)
            keyfile.save(enc_keys)
            # The change is audited inside the encrypted copy, before it takes the plain one's place.
            inner = cls.open(enc, key=key, timeout=timeout, clock=clock)
            try:
                with inner._write(doing, me.name) as (_c, audit):
                    audit.add("workspace.encrypt", "workspace", inner.workspace_id, None, None,
                              {"cipher": "sqlcipher4", "recovery": newest is not None})
            finally:
                inner.close()
            step("checked")
            stamp = clock.now().strftime("%Y%m%dT%H%M%S%fZ")
            backup = path.with_name(f"{path.stem}.plain-backup-{stamp}.db")
            try:
                os.link(path, backup)
            except OSError:
                shutil.copy2(path, backup)
            step("backed-up")
            keyfile.save()  # beside the plain file: ignored while the file is plain
            step("keys-written")
            if os.name == "nt":  # Windows cannot rename over a file that is open
                lock.close()
                src.close()
            os.replace(enc, path)
            wkeys.fsync_dir(path.parent)
            step("replaced")
        finally:
            for conn in (lock, src):
                with suppress(*_DB_ERRORS):
                    conn.close()
        enc_keys.unlink(missing_ok=True)
        wkeys.forget_all()
        log.info("encrypted %s (plain backup %s)", path, backup)
        return backup

    @classmethod
    def recover_file(cls, path: str | os.PathLike[str], county: Workspace, county_actor: User, user: str,
                     new_password: str, *, clock: Clock = SYSTEM_CLOCK) -> None:
        """At the county: open a village's encrypted workspace with the recovery copy of its data
        key (encrypted to this county's X25519 key) and give `user` a new password, audited as
        `user.recover` by `county:<name>`."""
        require(county_actor.role, "manage_sync_keys")
        if county.level != "county":
            raise NotPermitted(tr("只有县级工作区能恢复村里的工作区", "only a county workspace can recover a "
                                  "village's workspace"), where=str(county.path))
        path = Path(path)
        if wkeys.is_plain_sqlite(path):
            raise BadInput(tr("这个工作区没有加密，无需恢复；用 povdesk users passwd 改密码",
                              "this workspace is not encrypted, nothing to recover; use povdesk users passwd"),
                           where=str(path))
        kf = KeyFile.load(wkeys.key_file_for(path))
        box_private, box_public = county.device_keys()["box"]
        key = kf.recover(box_private, box_public)
        ws = cls.open(path, key=key, clock=clock)
        try:
            with ws._write(tr("恢复账户", "recovering an account"), f"county:{county_actor.name}") as (c, audit):
                accounts.reset_password(c, audit, user, new_password, audit.at)
                assert ws._keyfile is not None
                _wrap_current(ws._keyfile, c, user, new_password, key)
                ws._save_keys(tr("恢复账户", "recovering an account"))
        finally:
            ws.close()

    def _apply_key(self, key: bytes) -> None:
        """Give SQLCipher the data key and read the first page: a key file of another workspace,
        or a first page damaged or edited, fails its HMAC here."""
        wkeys.give_key(self._conn, key, self._keyfile.cipher if self._keyfile is not None else {})
        try:
            self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except _DB_ERRORS as e:
            raise WorkspaceError(DAMAGED_OR_ALTERED, where=str(self.path)) from e
        self._key = key
        if self._keyfile is not None:
            wkeys.remember(self.path, self._keyfile.file_id, key)

    def _unlock(self, name: str, password: str) -> tuple[dict[str, Any], str | None]:
        """Unwrap the data key with this user's password and finish opening; the entry used, and
        the login hash the unwrap computed (KeyFile.unwrap_with_proof)."""
        assert self._keyfile is not None
        key, entry, proof = self._keyfile.unwrap_with_proof(name, password)
        self._apply_key(key)
        self._locked = False
        self._meta = {}
        self._open_checks(self._migrations)
        return entry, proof

    def _tend_keys(self, user: User, password: str, entry: dict[str, Any] | None) -> None:
        """After a sign-in on an encrypted workspace: a wrap made from the login hash (encrypted
        from plain) or left over from an interrupted password change becomes one ordinary wrap
        for this password; wraps of accounts that are no longer active go; the recovery copy
        follows the county key the workspace trusts."""
        kf, key = self._keyfile, self._key
        if kf is None or key is None or self._readonly_reason is not None:
            return
        with self._guard(tr("更新密钥文件", "updating the key file")):
            active = {u.name for u in accounts.list_all(self._conn) if u.active}
            county = [p for p in sync_tables.peers(self._conn, "county") if p.active]
            stored = _login_hash(self._conn, user.name)
        changed = kf.keep_only(active)
        mine = [u for u in kf.users if u.get("id") == kf.entry_id(user.name)]
        # One wrap, under the login hash the database holds now (a wrap under the password itself,
        # as made before, costs a second scrypt at every sign-in: it is replaced here once).
        if len(mine) != 1 or not kf.is_wrap_of(mine[0], stored) or (entry is not None and entry is not mine[0]):
            if not kf.wrap_from_login_hash(user.name, stored, key, replace=True):
                kf.wrap_for(user.name, password, key)
            changed = True
        newest = max(county, key=lambda p: p.added_at) if county else None
        if newest is not None and not kf.recovery_for(newest.box_public):
            kf.set_recovery(key, newest.box_public, newest.fingerprint)
            changed = True
        if changed:
            self._save_keys(tr("更新密钥文件", "updating the key file"))

    def _save_keys(self, doing: Text) -> None:
        assert self._keyfile is not None
        try:
            self._keyfile.save()
        except OSError as e:
            raise WorkspaceError(Text(f"{doing.zh}失败：{e}", f"{doing.en} failed: {e}"),
                                 where=str(self._keyfile.path)) from e

    @property
    def _db(self) -> sqlite_utils.Database:
        """sqlite-utils over the connection, for the migrations (imported when one runs: not at every open)."""
        import sqlite_utils

        return sqlite_utils.Database(self._conn, execute_plugins=False)

    @property
    def encrypted(self) -> bool:
        return self._keyfile is not None

    @property
    def locked(self) -> bool:
        """An encrypted workspace nobody has signed in to yet (only name, region and level known)."""
        return self._locked

    def _open_checks(self, migrations: Sequence[Migration]) -> None:
        doing = tr("打开工作区", "opening the workspace")
        where = str(self.path)
        with self._guard(doing):
            app_id = self._conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id != mig.APPLICATION_ID:
                raise WorkspaceError(NOT_A_WORKSPACE, where=where)
            applied = mig.applied_numbers(self._conn)
            known = mig.latest(migrations)
            found = max([self._conn.execute("PRAGMA user_version").fetchone()[0], *applied])
            if found > known:
                raise WorkspaceError(tr(
                    "此工作区由更新版本的 povdesk 创建（数据结构 {n}），本版本最多支持 {m}。请升级 povdesk",
                    "created by a newer povdesk (schema {n}); this version knows up to {m}; upgrade povdesk",
                    n=found, m=known), where=where)
            if self._readonly_reason is None:
                self._pragmas()
            else:
                self._conn.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            todo = mig.pending(self._conn, migrations)
        if todo:
            if self._readonly_reason is not None:
                raise WorkspaceError(tr(
                    "此工作区需要升级数据结构（{n} → {m}），但它是只读的：{why}",
                    "this workspace needs a schema upgrade ({n} → {m}) but it is read-only: {why}",
                    n=found, m=known, why=self._readonly_reason), where=where)
            self._migrate(migrations, found)
        self._load_meta()
        if (self._readonly_reason is None
                and self._meta.get("search_version") != search_index.SEARCH_VERSION):
            with self._write(tr("重建搜索索引", "rebuilding the search index")) as (c, _):
                n = search_index.rebuild(c)
                c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('search_version', ?)",
                          (search_index.SEARCH_VERSION,))
            log.info("rebuilt the search index for %d members (%s)", n, search_index.SEARCH_VERSION)
            self._load_meta()

    def _migrate(self, migrations: Sequence[Migration], found: int) -> None:
        doing = tr("升级工作区数据结构", "upgrading the workspace schema")
        if found > 0:
            # Taken before the write lock: the backup API cannot read a file its own connection
            # holds a write transaction on. A second program upgrading at the same moment only
            # costs an extra backup.
            with self._guard(tr("升级前备份工作区", "backing up the workspace before the upgrade")):
                try:
                    dest = self._backup_to(mig.backup_path(self.path, found))
                except OSError as e:
                    raise WorkspaceError(tr("升级前无法写入备份，未做任何修改：{e}",
                                               "cannot write the backup before the upgrade; nothing was "
                                               "changed: {e}", e=e), where=str(self.path)) from e
            log.info("backed up %s to %s before migrating", self.path, dest)
        with self._write(doing, "povdesk") as (c, audit):
            # Re-checked under the write lock: another program may have upgraded meanwhile.
            if not mig.pending(c, migrations):
                return
            mig.apply(self._db, migrations)
            audit.add("workspace.migrate", "workspace", self._meta_value(c, "workspace_id"), "schema_version",
                      found, mig.latest(migrations))
        if found > 0:
            mig.prune_automatic_backups(self.path)
            self._prune_backup_keys()

    @staticmethod
    def _meta_value(conn: sqlite3.Connection, key: str) -> str:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else ""

    def _pragmas(self) -> None:
        c = self._conn
        mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("journal_mode is %s, not wal, for %s", mode, self.path)
        c.execute("PRAGMA synchronous = NORMAL")
        # After a big import the -wal file would otherwise stay as large as the import.
        c.execute("PRAGMA journal_size_limit = 67108864")
        c.execute("PRAGMA foreign_keys = ON")
        c.execute("PRAGMA temp_store = MEMORY")
        c.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")

    def _load_meta(self) -> None:
        with self._guard(tr("读取工作区信息", "reading the workspace information")):
            self._meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        missing = {"workspace_id", "region_code", "level", "device_prefix", "device_id"} - self._meta.keys()
        if missing:
            raise WorkspaceError(tr("工作区信息不完整（缺少 {k}）", "the workspace information is incomplete "
                                       "(missing {k})", k=", ".join(sorted(missing))), where=str(self.path))
        self._use_own_procedures()

    def _use_own_procedures(self) -> None:
        """Put the province's own procedures kept in this workspace in force (core.procedures), or
        the bundled ones. Kept text that no longer loads (a newer povdesk changed the bundled
        procedures) leaves the bundled ones in force, logged; `povdesk procedures show` says why."""
        from povdesk.core import procedures

        text = self._meta.get("procedures")
        try:
            procedures.use_procedures(text or None)
        except Exception as exc:  # noqa: BLE001 (a stored file that no longer parses must not lock the workspace)
            log.warning("the procedures kept in %s do not load (%s); the bundled ones are in force", self.path, exc)
            procedures.use_procedures(None)

    def close(self) -> None:
        try:
            # Statistics only after something was written: a session that only read, or whose
            # writes were all refused and rolled back, leaves the file byte for byte as it was.
            if (self._readonly_reason is None and self._committed and not self._locked
                    and not self._conn.in_transaction):
                self._conn.execute("PRAGMA optimize")
        except _DB_ERRORS:
            pass  # closing must not fail because the planner could not update statistics
        self._conn.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------
    # Transactions and error translation

    def _translate(self, e: Exception, doing: Text) -> WorkspaceError:
        if self._key is not None and _is_damage(e):
            # SQLCipher checks each page's HMAC as it reads it: a flipped bit, a swapped page or an
            # edit made without the key.
            return WorkspaceError(Text(f"{doing.zh}失败：{DAMAGED_OR_ALTERED.zh}",
                                       f"{doing.en} failed: {DAMAGED_OR_ALTERED.en}"), where=str(self.path))
        return translate(e, doing=doing, where=str(self.path), timeout=self._timeout)  # type: ignore[arg-type]

    @contextmanager
    def _guard(self, doing: Text) -> Iterator[None]:
        if self._locked:
            raise WorkspaceError(Text(f"{doing.zh}失败：{wkeys.LOCKED.zh}", f"{doing.en} failed: {wkeys.LOCKED.en}"),
                                 where=str(self.path))
        try:
            yield
        except _DB_ERRORS as e:
            raise self._translate(e, doing) from e

    @contextmanager
    def _read(self, doing: Text) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries see one snapshot (another program may be writing)."""
        conn = self._conn
        own = not conn.in_transaction
        with self._guard(doing):
            if own:
                conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if own and conn.in_transaction:
                    conn.execute("COMMIT")

    @contextmanager
    def _write(self, doing: Text, user: str = "") -> Iterator[tuple[sqlite3.Connection, AuditWriter]]:
        """One logical change = one transaction; any failure rolls everything back."""
        if self._readonly_reason is not None:
            raise WorkspaceError(Text(f"{doing.zh}失败：{self._readonly_reason.zh}",
                                      f"{doing.en} failed: {self._readonly_reason.en}"), where=str(self.path))
        conn = self._conn
        if self._locked:
            raise WorkspaceError(Text(f"{doing.zh}失败：{wkeys.LOCKED.zh}", f"{doing.en} failed: {wkeys.LOCKED.en}"),
                                 where=str(self.path))
        if conn.in_transaction:
            raise WorkspaceError(tr("内部错误：事务嵌套", "internal error: nested transaction"),
                                 where=str(self.path))
        with self._guard(doing):
            # IMMEDIATE takes the write lock now, so a busy workspace is reported before any work.
            conn.execute("BEGIN IMMEDIATE")
        try:
            audit = AuditWriter(conn, user, now_utc())
            yield conn, audit
            audit.flush()
            conn.execute("COMMIT")
            self._committed = True
        except BaseException as e:
            if conn.in_transaction:  # SQLITE_FULL and some I/O errors roll back by themselves
                try:
                    conn.execute("ROLLBACK")
                except _DB_ERRORS:
                    log.exception("rollback failed")
            if isinstance(e, _DB_ERRORS):
                raise self._translate(e, doing) from e
            raise

    def _stamp(self, user: str, now: str) -> Stamp:
        if self._versions is None:
            # Imported late: opening a workspace should not pay for loading forms and rules.
            from povdesk.core.forms import form_version
            from povdesk.core.rules import RULE_VERSION

            self._versions = (form_version(), RULE_VERSION)
        return Stamp(user=user, now=now, device_id=self.device_id, device_prefix=self.device_prefix,
                     form_version=self._versions[0], rule_version=self._versions[1])

    # -----------------------------------------------------------------------------------------
    # Meta and settings

    @property
    def meta(self) -> Mapping[str, str]:
        return MappingProxyType(self._meta)

    @property
    def workspace_id(self) -> str:
        return self._meta["workspace_id"]

    @property
    def region_code(self) -> str:
        return self._meta["region_code"]

    @property
    def level(self) -> str:
        return self._meta["level"]

    @property
    def name(self) -> str:
        return self._meta.get("name", "")

    @property
    def demo(self) -> bool:
        """A training workspace (made by `povdesk demo` or `povdesk app --demo`): every role, any level."""
        return self._meta.get("demo") == "1"

    @property
    def authority_level(self) -> str | None:
        """The level whose steps and roles this workspace is held to; None in a demo workspace."""
        return None if self.demo else self.level

    @property
    def device_prefix(self) -> str:
        return self._meta["device_prefix"]

    @property
    def device_id(self) -> str:
        return self._meta["device_id"]

    @property
    def created_at(self) -> str:
        return self._meta.get("created_at", "")

    @property
    def schema_version(self) -> int:
        return int(self._meta.get("schema_version", "0"))

    @property
    def readonly(self) -> bool:
        return self._readonly_reason is not None

    def setting(self, key: str, default: Any = None) -> Any:
        with self._guard(tr("读取设置", "reading a setting")):
            row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        """Preferences (not registry data), so not audited and not synced."""
        text = dumps(value, what=f"setting {key}")
        with self._write(tr("保存设置", "saving a setting")) as (c, _):
            c.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, text))

    def backup(self, dest: str | os.PathLike[str] | None = None) -> Path:
        """A consistent copy through SQLite's backup API; beside the workspace unless `dest` is given."""
        target = Path(dest) if dest is not None else mig.backup_path(self.path, self.schema_version, manual=True)
        if target.resolve() == self.path.resolve():
            raise BadInput(tr("备份不能覆盖工作区本身", "a backup cannot overwrite the workspace itself"))
        with self._guard(tr("备份工作区", "backing up the workspace")):
            try:
                return self._backup_to(target)
            except OSError as e:
                raise WorkspaceError(tr("无法写入备份文件：{e}", "cannot write the backup file: {e}", e=e),
                                     where=str(target)) from e

    def _backup_to(self, target: Path) -> Path:
        """A consistent copy through the backup API; an encrypted workspace's copy is encrypted
        under the same data key, and its key file is copied beside it (written first, so a copy
        that exists can always be opened)."""
        if self._key is None or self._keyfile is None:
            return mig.backup_to(self._conn, target)
        tmp = target.with_name(target.name + ".partial")
        tmp.unlink(missing_ok=True)
        dest = sqlcipher3.connect(str(tmp), isolation_level=None)
        try:
            wkeys.give_key(dest, self._key, self._keyfile.cipher)
            self._conn.backup(dest)
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()
        self._keyfile.save(wkeys.key_file_for(target))
        tmp.replace(target)
        return target

    def _prune_backup_keys(self) -> None:
        """The key files of automatic backups that were pruned."""
        for k in self.path.parent.glob(f"{self.path.stem}.backup-*.db.keys"):
            if not k.with_name(k.name[: -len(".keys")]).exists():
                k.unlink(missing_ok=True)

    def check_integrity(self) -> list[Text]:
        """The whole file read back: SQLCipher's HMAC of every page (encrypted) or SQLite's
        quick_check (plain). Empty when the file is whole."""
        doing = tr("检查工作区文件", "checking the workspace file")
        try:
            with self._guard(doing):
                if self._key is not None:
                    rows = self._conn.execute("PRAGMA cipher_integrity_check").fetchall()
                    bad = [str(r[0]) for r in rows]
                else:
                    bad = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]
        except WorkspaceError as e:
            return [e.text]
        if not bad:
            return []
        return [DAMAGED_OR_ALTERED if self._key is not None else
                tr("工作区文件已损坏：{d}", "the workspace file is damaged: {d}", d="; ".join(bad[:3]))]

    # -----------------------------------------------------------------------------------------
    # Users

    def authenticate(self, name: str, password: str) -> User:
        """Sign in. An encrypted workspace opened locked is decrypted here with the data key this
        user's password unwraps (a wrong name or password reads the same either way)."""
        entry, proof = self._unlock(name, password) if self._locked else (None, None)
        with self._guard(tr("登录", "signing in")):
            user = accounts.authenticate(self._conn, name, password, self.authority_level, proof)
        if self._keyfile is not None:
            self._tend_keys(user, password, entry)
        return user

    def list_users(self) -> list[User]:
        with self._guard(tr("读取用户列表", "reading the users")):
            return accounts.list_all(self._conn)

    def add_user(self, actor: User, name: str, password: str, role: str, display_name: str = "") -> User:
        """A new account; on an encrypted workspace the data key is wrapped for its password too."""
        kf = self._keyfile
        existed = kf is not None and kf.has(name)
        try:
            with self._write(tr("添加用户", "adding a user"), actor.name) as (c, audit):
                user = accounts.add(c, audit, actor, name, password, role, display_name, audit.at,
                                    level=self.authority_level)
                if kf is not None and self._key is not None:
                    _wrap_current(kf, c, user.name, password, self._key)
                    self._save_keys(tr("添加用户", "adding a user"))
                return user
        except BaseException:
            if kf is not None and not existed and kf.drop(name):
                self._save_keys(tr("添加用户", "adding a user"))
            raise

    def set_password(self, actor: User, name: str, new_password: str) -> None:
        """A new password; on an encrypted workspace the data key is wrapped again for it (the old
        wrap stays until the new password is committed, so a crash in between locks nobody out)."""
        kf = self._keyfile
        eid = kf.entry_id(name) if kf is not None else ""
        try:
            with self._write(tr("修改密码", "changing a password"), actor.name) as (c, audit):
                accounts.set_password(c, audit, actor, name, new_password, audit.at)
                if kf is not None and self._key is not None:
                    _wrap_current(kf, c, name, new_password, self._key, replace=False)
                    self._save_keys(tr("修改密码", "changing a password"))
        except BaseException:
            if kf is not None and kf.users and kf.users[-1].get("id") == eid and len(
                    [u for u in kf.users if u.get("id") == eid]) > 1:
                kf.users.pop()
                self._save_keys(tr("修改密码", "changing a password"))
            raise
        if kf is not None:
            newest = [u for u in kf.users if u.get("id") == eid][-1:]
            kf.users = [u for u in kf.users if u.get("id") != eid] + newest
            self._save_keys(tr("修改密码", "changing a password"))

    def disable_user(self, actor: User, name: str) -> None:
        """Disable an account; on an encrypted workspace its wrap of the data key is deleted, so
        its password no longer opens the file (enabled again, it needs a new password)."""
        with self._write(tr("停用用户", "disabling a user"), actor.name) as (c, audit):
            accounts.set_active(c, audit, actor, name, False, audit.at)
        if self._keyfile is not None and self._keyfile.drop(name):
            self._save_keys(tr("停用用户", "disabling a user"))

    def enable_user(self, actor: User, name: str) -> None:
        with self._write(tr("启用用户", "enabling a user"), actor.name) as (c, audit):
            accounts.set_active(c, audit, actor, name, True, audit.at)

    # -----------------------------------------------------------------------------------------
    # Households

    def save_household(self, hh: Household, actor: User) -> Household:
        """Save one household with its members, years and helpers in one transaction.

        Returns the household as stored (new version, number, stamps, events); `hh` itself is left
        unchanged, so a failed save leaves the caller's copy as it was. The status is never the
        caller's: it must be the one the stored procedure steps lead to (procedures.status_from),
        else the save is refused (BadInput) and nothing is written.
        """
        where = hh.household_no or hh.id
        require(actor.role, "edit_household")
        with self._write(tr("保存户 {w}", "saving household {w}", w=where), actor.name) as (c, audit):
            me = accounts.current(c, actor)
            require(me.role, "edit_household")
            return repo.save(c, hh, self._stamp(me.name, audit.at), audit)

    def move_household(self, actor: User, household_id: str, village: str, reason: str) -> Household:
        """The county moves a household to another village of the county, in one transaction: the
        village code of the household and its members, a new official number of that village
        (the old village's own number is dropped), audited with the reason (`household.move`,
        which the old village's next return bundle reports). Returns the household as stored."""
        require(actor.role, "move_household")
        with self._write(tr("迁户", "moving a household"), actor.name) as (c, audit):
            me = accounts.current(c, actor)
            require(me.role, "move_household")
            hh = repo.load_one(c, household_id)
            if hh is None:
                raise BadInput(tr("工作区中没有这户（{id}）", "no such household in the workspace ({id})",
                                  id=household_id))
            stamp = self._stamp(me.name, audit.at)
            before = {"village_code": hh.village_code, "household_no": hh.household_no,
                      "own_no": hh.fields.get(OWN_NUMBER_FIELD)}
            hh.village_code = village
            hh.household_no = repo.next_numbers(c, village, stamp.device_prefix, 1)[0]
            hh.fields.pop(OWN_NUMBER_FIELD, None)
            stored = repo.save(c, hh, stamp, audit)
            audit.add("household.move", "household", household_id, "village_code", before,
                      {"village_code": village, "household_no": stored.household_no, "reason": reason})
            return stored

    def append_event(self, hh: Household, event: ProcedureEvent, actor: User) -> None:
        """Record a procedure step and the household's new status in one transaction.

        The store computes the new status from the stored steps and this one; `hh.status` must
        already say the same (procedures.perform_step moves it so), else the step is refused
        (BadInput) and nothing is written. On success `hh` is brought up to date (version, stamps,
        the event appended).
        """
        where = hh.household_no or hh.id
        require(actor.role, "edit_household")
        above = level_refusal(event, self.authority_level, hh.events) if self.authority_level else None
        if above is not None:
            raise NotPermitted(above, where=where)
        with self._write(tr("登记户 {w} 的程序步骤", "recording a procedure step for household {w}", w=where),
                         actor.name) as (c, audit):
            me = accounts.current(c, actor)
            require(me.role, "edit_household")
            stamp = self._stamp(me.name, audit.at)
            recorded = repo.append_event(c, hh, event, stamp, audit, me.role)
        hh.version += 1
        hh.updated_at, hh.updated_by = stamp.now, stamp.user
        # procedures.perform_step has usually appended the event already: keep one copy.
        hh.events = [e for e in hh.events if e.id != recorded.id] + [recorded]

    def load_household(self, household_id: str) -> Household:
        with self._read(tr("读取户信息", "reading a household")) as c:
            hh = repo.load_one(c, household_id)
        if hh is None:
            raise BadInput(tr("工作区中没有这户（{id}）", "no such household in the workspace ({id})",
                                 id=household_id))
        return hh

    def find_household_by_no(self, household_no: str) -> Household | None:
        with self._read(tr("读取户信息", "reading a household")) as c:
            row = c.execute("SELECT id FROM households WHERE household_no = ?", (household_no.strip(),)).fetchone()
            return repo.load_one(c, row[0]) if row else None

    def iter_households(self, village_prefix: str | None = None, batch: int = 500, *,
                        events: bool = True) -> Iterator[Household]:
        """Every household (in household number order), read in batches of a few queries each;
        `events=False` leaves out the procedure history (validation does not read it)."""
        it = repo.iter_batches(self._conn, village_prefix, max(1, batch), events=events)
        doing = tr("读取户信息", "reading households")
        while True:
            with self._guard(doing):
                chunk = next(it, None)
            if chunk is None:
                return
            yield from chunk

    def households_for_cross_checks(self, skip: Iterable[str] = ()) -> list[Household]:
        """Every household but those in `skip`, with only what the across-household rules read
        (povdesk.core.rules.CrossChecker): 100,000 households in about 4 s, against about 20 s whole."""
        with self._read(tr("读取户信息", "reading households")) as c:
            return list(repo.iter_for_cross_checks(c, set(skip)))

    def count_households(self, village_prefix: str | None = None, status: str | None = None) -> int:
        with self._guard(tr("统计户数", "counting households")):
            return repo.count(self._conn, village_prefix, status)

    def list_households(self, after: tuple[Any, ...] | None = None, limit: int = 100, *,
                        village_prefix: str | None = None, status: str | None = None,
                        attribute: str | None = None, main_cause: str | None = None,
                        order: str = "household_no") -> list[HouseholdRow]:
        """One page of the household list; pass the last row's `cursor` as `after` for the next."""
        with self._guard(tr("读取户列表", "reading the household list")):
            return repo.list_rows(self._conn, after, limit, village_prefix, status, attribute, main_cause, order)

    def household_ids(self, village_prefix: str | None = None, status: str | None = None) -> list[str]:
        """All matching ids in household number order (for a lazy model that fetches rows itself)."""
        with self._guard(tr("读取户列表", "reading the household list")):
            return repo.ids(self._conn, village_prefix, status)

    def import_households(self, households: Iterable[Household], actor: User, *, source: str) -> ImportResult:
        """Insert or replace many households in one transaction; all or nothing.

        `before_commit()` is called once everything is written, inside the transaction; when it
        raises, the transaction is rolled back (import-json decides while the rows are written).
        """
        items = list(households)
        require(actor.role, "import_records")
        _refuse_above(items, self.authority_level)
        with self._write(tr("导入 {n} 户（{src}）", "importing {n} households ({src})", n=len(items), src=source),
                         actor.name) as (c, audit):
            me = accounts.current(c, actor)
            require(me.role, "import_records")
            # A bigger page cache for the duration: the indexes of a county fit in it.
            c.execute(f"PRAGMA cache_size = -{_IMPORT_CACHE_KIB}")
            try:
                result = repo.import_many(c, items, self._stamp(me.name, audit.at), audit, source)
            finally:
                c.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            return result

    @contextmanager
    def bulk_import(self, actor: User, *, source: str,
                    reserved: Callable[[], set[str]] | None = None) -> Iterator[BulkSession]:
        """One import transaction written batch after batch (`session.write(households)`); it
        commits when the block ends and is rolled back whole when anything in it raises, so a
        refused import leaves the workspace as it was. See store.households.BulkImport."""
        require(actor.role, "import_records")
        with self._write(tr("导入（{src}）", "importing ({src})", src=source), actor.name) as (c, audit):
            me = accounts.current(c, actor)
            require(me.role, "import_records")
            c.execute(f"PRAGMA cache_size = -{_IMPORT_CACHE_KIB}")  # a bigger page cache while importing
            try:
                session = BulkSession(c, repo.BulkImport(c, self._stamp(me.name, audit.at), audit, source,
                                                         reserved=reserved), self.authority_level)
                yield session
                session.result = session.bulk.finish()
            finally:
                c.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")

    def households_with_person(self, id_number: str) -> list[tuple[str, str, str, str]]:
        """(household_id, member_id, household_no, village_code) for every household listing the ID."""
        with self._guard(tr("查找身份证号", "looking up an ID number")):
            return repo.with_person(self._conn, id_number)

    def duplicate_id_numbers(self, village_prefix: str | None = None) -> list[tuple[str, list[str]]]:
        """(id_number, [household ids]) for ID numbers registered in more than one household."""
        with self._guard(tr("查找重复身份证号", "looking for duplicate ID numbers")):
            return repo.duplicate_id_numbers(self._conn, village_prefix)

    # -----------------------------------------------------------------------------------------
    # Search

    def search(self, query: str, limit: int = 50, village_prefix: str | None = None) -> list[SearchHit]:
        with self._read(tr("搜索", "searching")) as c:
            return search_index.search(c, query, limit, village_prefix)

    # -----------------------------------------------------------------------------------------
    # Audit log and outbox

    def verify_audit(self) -> list[Text]:
        with self._read(tr("检查审计日志", "checking the audit log")) as c:
            return audit_log.verify(c)

    def audit_entries(self, entity_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        with self._guard(tr("读取审计日志", "reading the audit log")):
            return audit_log.entries(self._conn, entity_id, limit)

    def audit_since(self, seq: int) -> Iterator[AuditEntry]:
        it = audit_log.since(self._conn, seq)
        while True:
            with self._guard(tr("读取审计日志", "reading the audit log")):
                chunk = next(it, None)
            if chunk is None:
                return
            yield from chunk

    def outbox_since(self, seq: int) -> Iterator[OutboxEntry]:
        it = outbox_log.since(self._conn, seq)
        while True:
            with self._guard(tr("读取待同步记录", "reading the outbox")):
                chunk = next(it, None)
            if chunk is None:
                return
            yield from chunk

    def last_outbox_seq(self) -> int:
        with self._guard(tr("读取待同步记录", "reading the outbox")):
            return outbox_log.last_seq(self._conn)

    # -----------------------------------------------------------------------------------------
    # Sync (tables in store/sync.py; bundles, keys and merging in povdesk/sync)

    def device_keys(self) -> dict[str, tuple[bytes, bytes]]:
        """kind ('sign' Ed25519, 'box' X25519) -> (private, public) raw bytes."""
        with self._guard(tr("读取设备密钥", "reading the device keys")):
            return sync_tables.device_keys(self._conn)

    def sync_peers(self, relation: str | None = None) -> list[sync_tables.Peer]:
        with self._guard(tr("读取已登记设备", "reading the enrolled devices")):
            return sync_tables.peers(self._conn, relation)

    def sync_peer(self, device_id: str) -> sync_tables.Peer | None:
        with self._guard(tr("读取已登记设备", "reading the enrolled devices")):
            return sync_tables.peer(self._conn, device_id)

    def put_sync_peer(self, actor: User, p: sync_tables.Peer, action: str) -> sync_tables.Peer | None:
        """Trust a device (or learn the county's keys); audited. Returns what was there before."""
        with self._write(tr("登记设备密钥", "enrolling a device key"), actor.name) as (c, audit):
            me = accounts.current(c, actor)
            require(me.role, action)
            old = sync_tables.put_peer(c, p)
            if p.relation == "county" and self._keyfile is not None and self._key is not None:
                # The recovery copy of the data key goes to the county this village now trusts.
                self._keyfile.set_recovery(self._key, p.box_public, p.fingerprint)
                self._save_keys(tr("更新恢复副本", "updating the recovery copy"))
            audit.add("sync.peer", "device", p.device_id, None,
                      None if old is None else {"fingerprint": old.fingerprint, "relation": old.relation},
                      {"fingerprint": p.fingerprint, "relation": p.relation, "region_code": p.region_code,
                       "name": p.name})
            return old

    def revoke_sync_peer(self, actor: User, device_id: str, reason: str, action: str) -> None:
        """Stop trusting an enrolled device (lost, stolen, replaced); audited with the reason."""
        with self._write(tr("停用设备密钥", "revoking a device key"), actor.name) as (c, audit):
            me = accounts.current(c, actor)
            require(me.role, action)
            sync_tables.set_peer_active(c, device_id, False)
            audit.add("sync.revoke", "device", device_id, None, None, {"reason": reason})

    @contextmanager
    def sync_read(self) -> Iterator[sqlite3.Connection]:
        """One read snapshot for sync (povdesk.sync calls store.sync functions on it)."""
        with self._read(tr("读取同步数据", "reading sync data")) as c:
            yield c

    def load_households(self, ids: Sequence[str]) -> dict[str, Household]:
        with self._read(tr("读取户信息", "reading households")) as c:
            return repo.load_many(c, ids)

    @contextmanager
    def sync_write(self, doing: Text, actor: User, action: str) -> Iterator[tuple[sqlite3.Connection, AuditWriter,
                                                                                   Stamp]]:
        """One write transaction for a sync step (bundle applied, bundle sent, conflict resolved),
        by a user whose role may do `action` (see povdesk.core.permissions)."""
        with self._write(doing, actor.name) as (c, audit):
            me = accounts.current(c, actor)
            require(me.role, action)
            yield c, audit, self._stamp(me.name, audit.at)

    @contextmanager
    def bulk_rows(self, c: sqlite3.Connection, stamp: Stamp, audit: AuditWriter,
                  source: str) -> Iterator[repo.BulkImport]:
        """A BulkImport inside a sync_write transaction, with the import's page cache; a household
        may be written again by a later batch (a household in two bundles of one import)."""
        c.execute(f"PRAGMA cache_size = -{_IMPORT_CACHE_KIB}")
        try:
            yield repo.BulkImport(c, stamp, audit, source, rewrite=True)
        finally:
            c.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")

    def cross_check_candidates_in(self, c: sqlite3.Connection, skip: set[str]) -> Iterator[Household]:
        """store.households.iter_cross_candidates as a sync_write transaction sees the workspace."""
        return repo.iter_cross_candidates(c, skip)

    def save_in(self, c: sqlite3.Connection, hh: Household, stamp: Stamp, audit: AuditWriter) -> Household:
        return repo.save(c, hh, stamp, audit)

    def append_event_in(self, c: sqlite3.Connection, hh: Household, event: ProcedureEvent, stamp: Stamp,
                        audit: AuditWriter, role: str) -> None:
        """append_event inside a transaction already open (a conflict decision adds several)."""
        recorded = repo.append_event(c, hh, event, stamp, audit, role)
        hh.version += 1
        hh.events = [*hh.events, recorded]

    def __repr__(self) -> str:
        return f"<Workspace {self.path} {self._meta.get('level', '?')} {self._meta.get('region_code', '?')}>"


__all__ = ["LEVELS", "Workspace"]
