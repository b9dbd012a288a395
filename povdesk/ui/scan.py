"""The background check of a whole workspace: findings per household and which step each one awaits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.ui.worker import JobCancelled


@dataclass
class ScanResult:
    """What one pass over every household tells the list filters and the dashboard."""

    with_errors: set[str] = field(default_factory=set)
    with_warnings: set[str] = field(default_factory=set)
    # "procedure.step" -> households for which that step is next
    due: dict[str, set[str]] = field(default_factory=dict)
    households: int = 0


def scan_workspace(path: Path, village_prefix: str | None, progress: Any, cancelled: Any,
                   clock: Clock = SYSTEM_CLOCK) -> ScanResult:
    """Worker job: validate every household (own connection) and note which step each one awaits."""
    from povdesk.core.procedures import next_steps
    from povdesk.core.rules import RuleContext, validate_all
    from povdesk.store import Workspace

    ws = Workspace.open(path, readonly=True, clock=clock)
    try:
        total = ws.count_households(village_prefix)
        result = ScanResult(households=total)
        households: dict[str, Any] = {}

        def stream() -> Any:
            for n, hh in enumerate(ws.iter_households(village_prefix), 1):
                if cancelled():
                    raise JobCancelled()
                if n % 500 == 0:
                    progress(n, total)
                households[hh.id] = hh.status
                for spec, step in next_steps(hh):
                    if hh.events and spec.first.key != step.key:
                        result.due.setdefault(f"{spec.key}.{step.key}", set()).add(hh.id)
                yield hh

        for f in validate_all(stream(), RuleContext(today=ws.clock.today())):
            if f.explained:
                continue
            (result.with_errors if f.severity == "error" else result.with_warnings).add(f.household_id)
        result.with_warnings -= result.with_errors
        return result
    finally:
        ws.close()
