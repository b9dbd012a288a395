"""Import a province's own monitoring thresholds and time limits into a workspace (the table in force
and the rule context of a workspace are store.thresholds.workspace_thresholds / rule_context)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from povdesk.core import monitoring as mon
from povdesk.core.permissions import require
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.store import thresholds as stored
from povdesk.store.thresholds import workspace_thresholds


@dataclass(frozen=True, slots=True)
class ThresholdsImported:
    """What an import changed: the table now in force and how many rows the file brought."""

    table: mon.ThresholdTable
    thresholds: int
    time_limits: int
    regions: tuple[str, ...]


__all__ = ["ThresholdsImported", "import_thresholds", "workspace_thresholds"]


def import_thresholds(ws: Any, actor: Any, path: Path) -> ThresholdsImported:
    """Check a province's thresholds file (monitoring_thresholds.toml's format) and keep it in the
    workspace; nothing is kept when the file is refused."""
    require(actor.role, "set_thresholds")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(tr("无法读取文件：{e}", "cannot read the file: {e}", e=str(exc)), where=str(path)) from None
    table = stored.parse(text, str(path))
    stored.save_text(ws, actor, text, source=Path(path).name)
    return ThresholdsImported(workspace_thresholds(ws), len(table.thresholds), len(table.time_limits),
                              tuple(sorted({t.region for t in table.thresholds} | {lim.region for lim in table.time_limits})))
