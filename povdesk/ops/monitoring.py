"""Import a province's own monitoring thresholds and time limits, and its own procedures, into a
workspace (the table in force and the rule context of a workspace are
store.thresholds.workspace_thresholds / rule_context; the procedures in force core.procedures)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from povdesk.core import monitoring as mon
from povdesk.core.permissions import require
from povdesk.errors import BadInput
from povdesk.i18n import Text, tr
from povdesk.store import thresholds as stored
from povdesk.store.thresholds import workspace_thresholds


@dataclass(frozen=True, slots=True)
class ThresholdsImported:
    """What an import changed: the table now in force and how many rows the file brought."""

    table: mon.ThresholdTable
    thresholds: int
    time_limits: int
    regions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProceduresImported:
    """What a procedures import changed, in words (core.procedures.compatibility's notes)."""

    procedures: int
    notes: tuple[Text, ...]


__all__ = ["ProceduresImported", "ThresholdsImported", "import_procedures", "import_thresholds",
           "procedures_source", "reset_procedures", "workspace_thresholds"]


def import_thresholds(ws: Any, actor: Any, path: Path) -> ThresholdsImported:
    """Check a province's thresholds file (monitoring_thresholds.toml's format) and keep it in the
    workspace; nothing is kept when the file is refused."""
    require(actor.role, "set_thresholds")
    text = _read(path)
    table = stored.parse(text, str(path))
    stored.save_text(ws, actor, text, source=Path(path).name)
    return ThresholdsImported(workspace_thresholds(ws), len(table.thresholds), len(table.time_limits),
                              tuple(sorted({t.region for t in table.thresholds} | {lim.region for lim in table.time_limits})))


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(tr("无法读取文件：{e}", "cannot read the file: {e}", e=str(exc)), where=str(path)) from None


def import_procedures(ws: Any, actor: Any, path: Path) -> ProceduresImported:
    """Check a province's own procedures file (resources/procedures.toml's format, with every bundled
    procedure and step kept: core.procedures.compatibility) and keep it in the workspace, in force
    from now on; nothing is kept when the file is refused (the first problems named)."""
    import tomllib

    from povdesk.core import procedures as proc

    require(actor.role, "set_thresholds")
    text = _read(path)
    try:
        candidate = proc.catalogue_from_text(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(tr("不是有效的 TOML 文件：{e}", "not a valid TOML file: {e}", e=str(exc)), where=str(path)) from None
    except proc.ProcedureSpecError as exc:
        raise BadInput(tr("程序文件有误：{e}", "the procedures file is wrong: {e}", e=str(exc)), where=str(path)) from None
    problems, notes = proc.compatibility(candidate)
    if problems:
        more = len(problems) - 3
        shown = "；".join(p.zh for p in problems[:3]), "; ".join(p.en for p in problems[:3])
        raise BadInput(tr("程序文件不能替换现有程序：{p}{m}", "the procedures file cannot replace the procedures in use: {p}{m}",
                          p=Text(*shown), m=Text(f"（另有 {more} 处）", f" (and {more} more)") if more > 0 else ""),
                       where=str(path))
    stored.save_procedures(ws, actor, text, source=Path(path).name)
    proc.use_procedures(text)
    return ProceduresImported(len(candidate[0]), tuple(notes))


def reset_procedures(ws: Any, actor: Any) -> None:
    """Back to the bundled procedures (audited)."""
    from povdesk.core import procedures as proc

    require(actor.role, "set_thresholds")
    stored.save_procedures(ws, actor, None, source="")
    proc.use_procedures(None)


def procedures_source(ws: Any) -> tuple[str | None, Text | None]:
    """(the kept file's text or None, why it is not in force when it is kept but does not load)."""
    from povdesk.core import procedures as proc

    text = stored.imported_procedures(ws)
    if text is None or proc.procedures_text_in_force() == text:
        return text, None
    try:
        proc.catalogue_from_text(text)
    except Exception as exc:  # noqa: BLE001 (shown, not raised)
        return text, tr("保存的本省程序文件无法载入，现用内置程序：{e}", "the province's procedures kept here do not load; "
                        "the bundled ones are in force: {e}", e=str(exc))
    return text, None
