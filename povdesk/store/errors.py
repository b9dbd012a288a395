"""Turning sqlite3 failures into WorkspaceError messages a village worker can act on."""

from __future__ import annotations

import sqlite3

from povdesk.errors import WorkspaceError
from povdesk.i18n import Text, tr

# Primary SQLite result codes (the low byte of extended codes).
SQLITE_CORRUPT = 11
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


class VersionConflict(WorkspaceError):
    """The record was saved by someone else after it was opened; reload and redo the change."""


READ_ONLY = tr(
    "工作区文件是只读的，不能保存修改（请检查文件权限，或把文件从光盘/只读U盘复制到电脑上）",
    "the workspace file is read-only; nothing can be saved (check the file's permissions, or copy it "
    "off a read-only disk or USB stick)",
)
OPENED_READ_ONLY = tr(
    "工作区以只读方式打开，不能保存修改", "the workspace was opened read-only; nothing can be saved"
)
DISK_FULL = tr("磁盘已满，未保存任何内容。请腾出磁盘空间后重试", "disk full, nothing was saved; free some disk space and try again")
NOT_A_WORKSPACE = tr("这不是 povdesk 工作区文件", "this is not a povdesk workspace file")


def busy_text(timeout: float) -> Text:
    return tr(
        "工作区正被另一个程序使用（已等待 {s} 秒）。请关闭其他 povdesk 窗口或命令后重试",
        "the workspace is in use by another program (waited {s} s); close other povdesk windows or "
        "commands and try again",
        s=f"{timeout:g}",
    )


def reason_text(exc: sqlite3.Error, timeout: float) -> Text:
    """What went wrong, in the user's words, from the SQLite result code."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (SQLITE_BUSY, SQLITE_LOCKED) or "locked" in str(exc):
        return busy_text(timeout)
    if primary == SQLITE_READONLY or "readonly" in str(exc):
        return READ_ONLY
    if primary == SQLITE_FULL:
        return DISK_FULL
    if primary == SQLITE_NOTADB:
        return NOT_A_WORKSPACE
    if primary == SQLITE_CORRUPT:
        return tr(
            "工作区文件已损坏。请从备份恢复（工作区旁边的 .backup-*.db 文件）",
            "the workspace file is damaged; restore it from a backup (the .backup-*.db files beside it)",
        )
    if primary == SQLITE_CANTOPEN:
        return tr("无法打开工作区文件（文件夹不存在或没有权限）",
                  "cannot open the workspace file (missing folder or no permission)")
    if primary == SQLITE_IOERR:
        return tr("读写磁盘出错（U盘被拔出或磁盘故障？）：{detail}",
                  "disk read/write error (USB stick removed or a failing disk?): {detail}", detail=exc)
    return tr("数据库错误：{detail}", "database error: {detail}", detail=exc)


def translate(exc: sqlite3.Error, *, doing: Text, where: str, timeout: float) -> WorkspaceError:
    """A WorkspaceError saying what was being done, what went wrong, and (via `where`) which file."""
    reason = reason_text(exc, timeout)
    return WorkspaceError(
        Text(f"{doing.zh}失败：{reason.zh}", f"{doing.en} failed: {reason.en}"), where=where
    )
