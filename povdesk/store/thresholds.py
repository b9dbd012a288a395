"""A province's own monitoring thresholds and time limits, kept in the workspace (the meta table) as
the TOML text it was imported from; core.monitoring parses it and lays it over the bundled table."""

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


def imported_text(ws: Workspace) -> str | None:
    """The TOML text of the table imported into this workspace, or None (the bundled table only)."""
    with ws._read(tr("读取监测范围", "reading the monitoring thresholds")) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
    return str(row[0]) if row else None


def save_text(ws: Workspace, actor: User, text: str, source: str) -> None:
    """Keep `text` (already checked) as this workspace's table, audited with the digests of the
    table it replaces and of the new one, and where it came from."""
    def digest(value: str | None) -> str | None:
        return None if value is None else hashlib.sha256(value.encode("utf-8")).hexdigest()

    old = imported_text(ws)
    with ws._write(tr("导入监测范围", "importing monitoring thresholds"), actor.name) as (conn, audit):
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (KEY, text))
        audit.add("thresholds.import", "workspace", ws.workspace_id, KEY, digest(old),
                  {"sha256": digest(text), "source": source})


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
