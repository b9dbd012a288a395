"""What an import decides about one incoming household, apart from where it is written.

Qt-free and store-free: the import pipeline (povdesk.ops.importing) asks `decide` for each
household in line order; `decide_lines` does the same for a chunk of raw lines and is what a
worker process runs when the pipeline is given an executor (a top-level function of plain values,
so it works with the `spawn` start method, on Windows too). The two give the same answers by
construction: one calls the other.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from povdesk.core.exchange import parse_line
from povdesk.core.model import Household
from povdesk.core.monitoring import with_overrides
from povdesk.core.procedures import events_above, history_problems, initial_status, use_procedures
from povdesk.core.rules import RuleContext, validate_household

# (the history's problems as dicts, the findings as dicts): a household with problems is
# rejected; one without is imported, findings or not.
Decision = tuple[list[dict[str, str]], list[dict[str, Any]]]


def decide(hh: Household, ctx: RuleContext, level: str | None = None) -> Decision:
    """Replay the household's history against its status, then validate it when that holds.

    With `level` (the importing workspace's), a history holding a step above that level is a
    problem: a file can carry any role and user in its events, so they are trusted only up to
    what the workspace itself could record (povdesk.core.authority)."""
    above = events_above(hh.events, level) if level is not None else []
    if above:
        return [t.as_dict() for t in above], []
    problems = [p.as_dict() for p in history_problems(hh.events, hh.status, initial_status(hh.fields))]
    if problems:
        return problems, []
    return problems, [f.to_dict() for f in validate_household(hh, ctx)]


def decide_lines(lines: Sequence[bytes], today: date, level: str | None = None,
                 thresholds: str | None = None, procedures: str | None = None) -> list[Decision | None]:
    """`decide` for each raw line; None for a line that does not parse or whose checks raise (the
    pipeline parses every line itself, in order, and raises the error there). `thresholds` and
    `procedures`: the workspace's own monitoring table and procedures as it keeps them
    (store.thresholds), so a worker process judges as the workspace does."""
    use_procedures(procedures)
    ctx = RuleContext(today=today, thresholds=with_overrides(thresholds))
    out: list[Decision | None] = []
    for line in lines:
        try:
            out.append(decide(parse_line(line, ""), ctx, level))
        except Exception:
            out.append(None)
    return out


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused for a bulk job: households hold no cycles, and with
    many thousands of live objects every full collection walks all of them."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
