"""The workspace file itself, for the desktop app: whether it is encrypted, encrypting a plain one,
telling a damaged or altered file from other failures, and putting the latest backup in its place.
Qt-free; the app's dialogs call these (the CLI has `povdesk encrypt`)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.core.permissions import allowed
from povdesk.errors import WorkspaceError
from povdesk.i18n import tr
from povdesk.store import Workspace, keys
from povdesk.store.errors import NOT_A_WORKSPACE
from povdesk.store.workspace import DAMAGED_OR_ALTERED

# What the store says of a file SQLite or SQLCipher cannot read as a workspace: damaged, cut short,
# altered, or a foreign file under the workspace's name.
_DAMAGED_WORDS = ("damaged", DAMAGED_OR_ALTERED.en, NOT_A_WORKSPACE.en)


def is_encrypted(path: Path) -> bool:
    return path.exists() and not keys.is_plain_sqlite(path)


def may_encrypt(role: str) -> bool:
    """Encrypting a workspace needs an administrator (as `povdesk encrypt`)."""
    return allowed(role, "manage_users")


def encrypt_workspace(path: Path, user: str, password: str, *, clock: Clock = SYSTEM_CLOCK) -> Path:
    """The plain workspace encrypted in place (Workspace.encrypt_file: kill safe); returns the plain
    backup it leaves, which is NOT encrypted (the app says so and offers to delete it)."""
    return Workspace.encrypt_file(path, user, password, clock=clock)


def is_damaged(exc: BaseException) -> bool:
    """A damaged, truncated, foreign or altered workspace file (as opposed to a wrong password, a
    lock held by another program, a full disk)."""
    return isinstance(exc, WorkspaceError) and any(w in exc.text.en for w in _DAMAGED_WORDS)


@dataclass(frozen=True)
class Backup:
    path: Path
    modified: float  # seconds since the epoch

    @property
    def key_file(self) -> Path:
        return keys.key_file_for(self.path)


def backups(path: Path) -> list[Backup]:
    """The workspace's backups beside it (`FILE.backup-*.db`, automatic and manual), newest first;
    an encrypted one only with its key file (without it, it cannot be opened)."""
    found = []
    for p in path.parent.glob(f"{path.stem}.backup-*.db"):
        try:
            if not p.is_file() or p.stat().st_size == 0:
                continue
            if not keys.is_plain_sqlite(p) and not keys.key_file_for(p).is_file():
                continue
            found.append(Backup(p, p.stat().st_mtime))
        except OSError:
            continue
    return sorted(found, key=lambda b: (b.modified, b.path.name), reverse=True)


def latest_backup(path: Path) -> Backup | None:
    found = backups(path)
    return found[0] if found else None


def restore_backup(path: Path, backup: Backup, *, clock: Clock = SYSTEM_CLOCK) -> Path:
    """Put `backup` in the workspace's place. The damaged file (and its key file, -wal and -shm) is
    kept beside it as `FILE.damaged-<time>.db`, never deleted; returns that name."""
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.stem}.damaged-{stamp}.db")
    where = str(path)
    try:
        tmp = path.with_name(path.name + ".restoring")
        shutil.copyfile(backup.path, tmp)
        if backup.key_file.is_file():
            shutil.copyfile(backup.key_file, keys.key_file_for(tmp))
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        if path.exists():
            os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{aside}{suffix}"))
        if keys.key_file_for(path).exists():
            os.replace(keys.key_file_for(path), keys.key_file_for(aside))
        if keys.key_file_for(tmp).exists():
            os.replace(keys.key_file_for(tmp), keys.key_file_for(path))
        os.replace(tmp, path)
        keys.fsync_dir(path.parent)
    except OSError as exc:
        raise WorkspaceError(tr("无法用备份恢复工作区：{e}", "cannot restore the workspace from its backup: {e}",
                                e=exc.strerror), where=where) from None
    keys.forget_all()
    return aside
