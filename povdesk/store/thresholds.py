"""A province's own files kept in the workspace (the meta table) as the TOML text they were imported
from: its monitoring thresholds and time limits (core.monitoring parses them and lays them over the
bundled table) and its procedures (core.procedures puts them in force in place of the bundled ones
when the workspace is opened)."""

from __future__ import annotations

import hashlib
import tomllib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from povdesk.core import monitoring as mon
from povdesk.core.rules import RuleContext
from povdesk.errors import BadInput
from povdesk.i18n import tr

if TYPE_CHECKING:
    from povdesk.store.users import User
    from povdesk.store.workspace import Workspace

KEY = "monitoring_thresholds"
PROCEDURES_KEY = "procedures"


def _kept(ws: Workspace, key: str) -> str | None:
    with ws._read(tr("读取本省的规定", "reading the province's own rules")) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def _keep(ws: Workspace, actor: User, key: str, text: str | None, source: str, action: str) -> None:
    """Keep `text` (already checked) under `key`, or drop it with None; audited with the digests of
    the text it replaces and of the new one, and where it came from."""
    def digest(value: str | None) -> str | None:
        return None if value is None else hashlib.sha256(value.encode("utf-8")).hexdigest()

    old = _kept(ws, key)
    with ws._write(tr("保存本省的规定", "keeping the province's own rules"), actor.name) as (conn, audit):
        if text is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, text))
        audit.add(action, "workspace", ws.workspace_id, key, digest(old), {"sha256": digest(text), "source": source})


def imported_text(ws: Workspace) -> str | None:
    """The TOML text of the table imported into this workspace, or None (the bundled table only)."""
    return _kept(ws, KEY)


def save_text(ws: Workspace, actor: User, text: str, source: str) -> None:
    """Keep `text` (already checked) as this workspace's thresholds table."""
    _keep(ws, actor, KEY, text, source, "thresholds.import")


def imported_procedures(ws: Workspace) -> str | None:
    """The TOML text of the province's own procedures kept in this workspace, or None (the bundled ones)."""
    return _kept(ws, PROCEDURES_KEY)


def save_procedures(ws: Workspace, actor: User, text: str | None, source: str) -> None:
    """Keep a province's procedures file (already checked), or go back to the bundled one with None."""
    _keep(ws, actor, PROCEDURES_KEY, text, source, "procedures.import" if text is not None else "procedures.reset")


def parse(text: str, where: str) -> mon.ThresholdTable:
    try:
        return mon.parse_thresholds(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(tr("不是有效的 TOML 文件：{e}", "not a valid TOML file: {e}", e=str(exc)), where=where) from None
    except mon.ThresholdSpecError as exc:
        raise BadInput(tr("监测范围表有误：{e}", "the thresholds table is wrong: {e}", e=str(exc)), where=where) from None


@lru_cache(maxsize=8)
def _merged(text: str | None) -> mon.ThresholdTable:
    base = mon.thresholds()
    return base if text is None else mon.merged(base, parse(text, "workspace"))


def workspace_thresholds(ws: Any) -> mon.ThresholdTable:
    """The bundled table with the workspace's imported one laid over it."""
    return _merged(imported_text(ws))


def rule_context(ws: Any) -> RuleContext:
    """The context every check of this workspace runs in: its clock's today and its thresholds."""
    return RuleContext(today=ws.clock.today(), thresholds=workspace_thresholds(ws))
