"""import-json's work, shared by the CLI and bench/: read, check, validate, write in one transaction.

What it decides is exactly what the plain loop decides (read every line, refusing the whole file
at the first malformed one; replay each history and compare the status; validate each accepted
household; across-household checks; one write of the accepted households), but faster on a county:

- the cyclic garbage collector is paused while the households are in memory: they hold no
  cycles, and with millions of live objects every full collection walks all of them;
- on Linux, for a large file, a forked helper process (povdesk.core.split) reads the file a second
  time, checks the structure of each line, and replays and validates households from the front,
  while this process parses the lines unchecked and writes every household in one transaction;
  just before the commit it takes whatever the helper has not reached from the back (checking
  those lines itself), and they meet in the middle. Only the results travel back (pickled). When every household is
  accepted (the usual case) the transaction commits; when one is rejected, it is rolled back and
  the accepted ones are written again; when the write itself fails before that point, everything
  is decided first and the accepted households are written the plain way. Anything unexpected
  in the helper (it failing, the file changing under it, a household whose replay or validation
  raised) is simply done again here, in line order, so results and errors are the ones the plain
  loop gives, and nothing is committed before everything is decided.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from povdesk.core.exchange import jsonl_lines, parse_line, read_jsonl
from povdesk.core.model import Household
from povdesk.core.procedures import history_problems
from povdesk.core.rules import CrossChecker, RuleContext, validate_household
from povdesk.core.split import NOT_DONE, SplitWork, file_states, worth_it
from povdesk.errors import BadInput
from povdesk.i18n import Text

# Below this size the helper process costs more than it saves (about 8 KB a household).
PARALLEL_MIN_BYTES = 4_000_000


@dataclass
class ImportOutcome:
    """What import-json reports: one entry per line, the accepted households, findings across."""

    lines: int
    report: list[dict[str, Any]]
    accepted: list[Household]
    flagged: list[dict[str, Any]]
    stats: dict[str, Any] = field(default_factory=dict)  # how the work was shared (for bench/)


def decide(hh: Household, ctx: RuleContext) -> tuple[Any, Any]:
    """(history problems, findings as dicts) of one household; NOT_DONE for a part that raised
    (done again in the in-order pass, which raises it in line order)."""
    try:
        problems: Any = history_problems(hh.events, hh.status)
    except Exception:
        return NOT_DONE, NOT_DONE
    try:
        return problems, [f.to_dict() for f in validate_household(hh, ctx)]
    except Exception:
        return problems, NOT_DONE


class _Rejections(Exception):
    """Raised inside the optimistic write's transaction to roll it back: some were rejected."""


Write = Callable[[list[Household], Callable[[], None]], object]


class JsonImport:
    """One import-json run: `read()` (before the workspace is opened), then `run()`; a context manager.

    with JsonImport(path, today) as job:
        job.read()                  # LineError / BadInput for a malformed or repeated line
        outcome = job.run(ws.households_for_cross_checks,
                          lambda hs, check: ws.import_households(hs, actor, source=..., before_commit=check))

    `write(households, check)` writes them in one transaction and calls `check()` just before
    committing; when check() raises, nothing may be kept (the transaction is rolled back).
    """

    def __init__(self, path: Path, today: date, *, parallel: bool | None = None,
                 parallel_min_bytes: int = PARALLEL_MIN_BYTES) -> None:
        self.path = path
        self.today = today
        self.lines: list[tuple[int, Household]] = []
        self._parallel = parallel
        self._parallel_min_bytes = parallel_min_bytes
        self._gc_was_enabled = gc.isenabled()
        self._split: SplitWork | None = None
        self._unchecked = False  # read() left the structure checks to the helper
        self.stats: dict[str, Any] = {"helper": False}

    def __enter__(self) -> JsonImport:
        gc.disable()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._split is not None:
            self._split.stop()
        if self._gc_was_enabled:
            gc.enable()

    # ------------------------------------------------------------------ reading

    def _start_helper(self) -> None:
        (state,) = file_states([self.path])
        if not worth_it(self._parallel) or state is None or state[0] < self._parallel_min_bytes:
            return
        path, ctx = self.path, RuleContext(today=self.today)

        def produce() -> Iterator[Household | None]:
            for _n, line in jsonl_lines(path):
                try:
                    yield parse_line(line, path.name)  # the message is made again by this process
                except Exception:  # malformed: read() or run() reads again, checked, for the message
                    yield None
                    return

        self._split = SplitWork.start(produce, lambda hh: decide(hh, ctx), fingerprint=lambda: file_states([path]))
        self.stats["helper"] = self._split is not None

    def read(self) -> list[tuple[int, Household]]:
        """Every line parsed; the first malformed or repeated line refuses the whole file.

        With the helper running, the structure checks are left to it (they cost this process as
        much as parsing); anything odd here, and the file is read again the plain way."""
        self._start_helper()
        if self._split is not None:
            try:
                self._read(checked=False)
                self._unchecked = True
            except Exception:
                self.lines.clear()
            self._recheck_if_malformed()
        if not self._unchecked:
            self._read(checked=True)
        if self._split is not None:
            self._split.limit(len(self.lines))
        return self.lines

    def _read(self, *, checked: bool) -> None:
        path = self.path
        lines = self.lines
        seen: dict[str, int] = {}
        for lineno, hh in read_jsonl(path, checked=checked):
            if hh.id in seen:
                raise BadInput(Text(f"户 {hh.id} 与第 {seen[hh.id]} 行重复", f"household {hh.id} repeats line {seen[hh.id]}"),
                               where=f"{path.name}:{lineno}")
            seen[hh.id] = lineno
            lines.append((lineno, hh))

    def _recheck_if_malformed(self) -> None:
        """The helper has met a malformed line: read again, checked, to raise the plain error."""
        if self._unchecked and self._split is not None and self._split.malformed:
            self.lines.clear()
            self._unchecked = False
            self._read(checked=True)

    def _check_rest(self, split: SplitWork) -> None:
        """After the helper: the structure checks read() left out, wherever the helper did not do
        them. Raises the plain loop's error for the first malformed line."""
        if not self._unchecked:
            return
        self._unchecked = False
        if split.verdict is None or split.verdict:  # the helper failed, or found one: all again
            for _ in read_jsonl(self.path):
                pass
            return
        for i, (n, line) in enumerate(jsonl_lines(self.path)):
            if i >= split.parent_from:  # the lines this process took from the back
                parse_line(line, f"{self.path.name}:{n}")

    # ------------------------------------------------------------------ deciding

    def _decisions(self, ctx: RuleContext) -> tuple[list[Any], list[Any]]:
        n = len(self.lines)
        split = self._split
        if split is None:
            return [NOT_DONE] * n, [NOT_DONE] * n
        results = split.finish([hh for _, hh in self.lines])
        self.stats.update(split.stats)
        self._check_rest(split)
        problems = [NOT_DONE if r is NOT_DONE else r[0] for r in results]
        findings = [NOT_DONE if r is NOT_DONE else r[1] for r in results]
        return problems, findings

    def _report(self, ctx: RuleContext, history: list[Any], findings: list[Any]
                ) -> tuple[list[dict[str, Any]], list[Household]]:
        """The in-order pass: what the plain loop reports, raising what it raises, in line order."""
        report: list[dict[str, Any]] = []
        accepted: list[Household] = []
        for i, (lineno, hh) in enumerate(self.lines):
            entry: dict[str, Any] = {"line": lineno, "id": hh.id, "household_no": hh.household_no}
            done = history[i]
            problems = history_problems(hh.events, hh.status) if done is NOT_DONE else done
            if problems:
                entry["result"] = "rejected"
                entry["reasons"] = [p.as_dict() for p in problems]
            else:
                entry["result"] = "imported"
                found = findings[i]
                entry["findings"] = [f.to_dict() for f in validate_household(hh, ctx)] if found is NOT_DONE else found
                accepted.append(hh)
            report.append(entry)
        return report, accepted

    def run(self, existing: Callable[[], Iterable[Household]], write: Write) -> ImportOutcome:
        """Replay, validate and cross-check every household; `write` the accepted ones."""
        self._recheck_if_malformed()  # found by the helper meanwhile: refuse before writing
        lines = self.lines
        n = len(lines)
        ctx = RuleContext(today=self.today)
        cross = CrossChecker()
        in_file = {hh.id for _, hh in lines}
        for hh in existing():  # before writing: afterwards the workspace holds the file's households too
            if hh.id not in in_file:
                cross.add(hh)
        decided: list[tuple[list[dict[str, Any]], list[Household]]] = []
        checked: list[bool] = []

        def decide_all() -> None:
            checked.append(True)
            if not decided:
                decided.append(self._report(ctx, *self._decisions(ctx)))
            if len(decided[0][1]) < n:
                raise _Rejections

        def nothing_more() -> None:
            pass

        if self._split is not None and n:
            try:
                write([hh for _, hh in lines], decide_all)
            except _Rejections:
                if decided[0][1]:
                    write(decided[0][1], nothing_more)
            except Exception:
                if checked:
                    raise  # from deciding in line order, or from the commit: the plain loop's error
                # The write failed before anything was decided (it may be about a household that
                # is rejected): decide first, then write the accepted ones the plain way.
                decided.append(self._report(ctx, *self._decisions(ctx)))
                if decided[0][1]:
                    write(decided[0][1], nothing_more)
        else:
            decided.append(self._report(ctx, *self._decisions(ctx)))
            if decided[0][1]:
                write(decided[0][1], nothing_more)
        report, accepted = decided[0]
        for hh in accepted:
            cross.add(hh)
        accepted_ids = {hh.id for hh in accepted}
        flagged = [f.to_dict() for f in cross.findings() if f.household_id in accepted_ids]
        return ImportOutcome(n, report, accepted, flagged, self.stats)
