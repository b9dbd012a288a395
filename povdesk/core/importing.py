"""import-json's work, shared by the CLI and bench/: read, check, validate, write in one transaction.

What it decides is exactly what the plain loop decides (read every line, refusing the whole file
at the first malformed one; replay each history and compare the status; validate each accepted
household; across-household checks; one write of the accepted households), but faster on a county:

- the cyclic garbage collector is paused while the households are in memory: they hold no
  cycles, and with millions of live objects every full collection walks all of them;
- on Linux, for a large file, a forked helper process reads the file a second time and replays
  and validates households from the front, while this process writes every household in one
  transaction; just before the commit it takes whatever the helper has not reached from the back,
  and they meet in the middle. Only the results travel back (pickled). When every household is
  accepted (the usual case) the transaction commits; when one is rejected, it is rolled back and
  the accepted ones are written again; when the write itself fails before that point, everything
  is decided first and the accepted households are written the plain way. Anything unexpected
  in the helper (it failing, the file changing under it, a household whose replay or validation
  raised) is simply done again here, in line order, so results and errors are the ones the plain
  loop gives, and nothing is committed before everything is decided.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from povdesk.core.exchange import parse_line, read_jsonl
from povdesk.core.model import Household
from povdesk.core.procedures import replay_status
from povdesk.core.rules import CrossChecker, RuleContext, validate_household
from povdesk.errors import BadInput
from povdesk.i18n import Text

log = logging.getLogger(__name__)

# Below this size the helper process costs more than it saves (about 8 KB a household).
PARALLEL_MIN_BYTES = 4_000_000

_NOT_DONE = object()  # a result not computed (yet): computed in line order in run()


@dataclass
class ImportOutcome:
    """What import-json reports: one entry per line, the accepted households, findings across."""

    lines: int
    report: list[dict[str, Any]]
    accepted: list[Household]
    flagged: list[dict[str, Any]]
    stats: dict[str, Any] = field(default_factory=dict)  # how the work was shared (for bench/)


def _file_state(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _fork_context() -> Any:
    """A fork context where forking is safe and cheap: Linux, no other threads running."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None


def _decide(hh: Household, ctx: RuleContext) -> tuple[Any, Any]:
    """(replay_status result, findings as dicts) of one household; _NOT_DONE for a part that raised
    (done again in run()'s in-order pass, which raises it in line order)."""
    try:
        replayed: Any = replay_status(hh.events)
    except Exception:
        return _NOT_DONE, _NOT_DONE
    try:
        return replayed, [f.to_dict() for f in validate_household(hh, ctx)]
    except Exception:
        return replayed, _NOT_DONE


def _helper(path: Path, today: date, bounds: Any, out: Connection) -> None:
    """In the forked process: replay and validate households from the front until meeting the parent.

    bounds[0] is written only here (the next index the helper may take), bounds[1] only by the
    parent (the lowest index it has taken); bounds[2] is set here on finding a malformed line, so
    that the parent can stop before writing anything. A stale read can make both do one household, never
    neither; and whatever neither did is done in run()'s in-order pass anyway.
    """
    gc.disable()
    ctx = RuleContext(today=today)
    results: list[Any] = []
    ids: list[str | None] = []
    ok = True
    malformed = False
    before = _file_state(path)
    try:
        with path.open("rb") as fh:
            index = 0
            for n, line in enumerate(fh, 1):
                if n == 1 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]
                if not line.strip():
                    continue
                if index >= bounds[1]:
                    break
                bounds[0] = index + 1
                try:
                    hh = parse_line(line, f"{path.name}:{n}")
                except Exception:  # malformed: the parent reads the file again, checked, for its message
                    malformed = True
                    bounds[2] = 1
                    break
                else:
                    ids.append(hh.id)
                    replayed, found = _decide(hh, ctx)
                    results.append((_NOT_DONE_MARK if replayed is _NOT_DONE else replayed,
                                    _NOT_DONE_MARK if found is _NOT_DONE else found))
                index += 1
    except Exception:
        ok = False
    try:
        out.send({"ok": ok and _file_state(path) == before, "state": before, "ids": ids, "results": results,
                  "malformed": malformed})
    finally:
        out.close()


_NOT_DONE_MARK = "not done"  # picklable stand-in for _NOT_DONE


class _Rejections(Exception):
    """Raised inside the optimistic write's transaction to roll it back: some were rejected."""


Write = Callable[[list[Household], Callable[[], None]], object]


class JsonImport:
    """One import-json run: `read()` (before the workspace is opened), then `run()`; a context manager.

    with JsonImport(path, today) as job:
        job.read()                  # LineError / BadInput for a malformed or repeated line
        outcome = job.run(ws.iter_households,
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
        self._proc: Any = None
        self._conn: Connection | None = None
        self._bounds: Any = None
        self._state: tuple[int, int, int] | None = None
        self._unchecked = False  # read() left the structure checks to the helper
        self.stats: dict[str, Any] = {"helper": False}

    def __enter__(self) -> JsonImport:
        gc.disable()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop_helper()
        if self._gc_was_enabled:
            gc.enable()

    # ------------------------------------------------------------------ helper process

    def _start_helper(self) -> None:
        want = self._parallel
        if want is None:
            want = (os.cpu_count() or 1) > 1
        if not want:
            return
        state = _file_state(self.path)
        if state is None or state[0] < self._parallel_min_bytes:
            return
        mp = _fork_context()
        if mp is None:
            return
        try:
            receive, send = mp.Pipe(duplex=False)
            self._bounds = mp.Array("q", [0, sys.maxsize, 0], lock=False)
            self._proc = mp.Process(target=_helper, args=(self.path, self.today, self._bounds, send),
                                    daemon=True)
            self._proc.start()
            send.close()
            self._conn = receive
            self._state = state
            self.stats["helper"] = True
        except OSError as exc:  # no processes to spare: do it all here
            log.info("import: no helper process (%s)", exc)
            self._proc = self._conn = None

    def _stop_helper(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.terminate()
            self._proc.join()
            self._proc = None

    def _helper_results(self) -> tuple[list[Any], list[str | None]] | None:
        """The helper's (results, ids); None when it failed. Its structure checks stand in for the
        ones read() left out: when they found a malformed line, or cannot be trusted, the file is
        read again, checked, which raises the plain loop's error for the first malformed line."""
        assert self._conn is not None
        try:
            msg = self._conn.recv()
        except (EOFError, OSError):
            msg = None
        self._stop_helper()
        ok = bool(msg) and msg["ok"] and msg["state"] == self._state and _file_state(self.path) == self._state
        if self._unchecked and (not ok or msg["malformed"]):
            for _ in read_jsonl(self.path):
                pass
            self._unchecked = False
        if not ok:
            return None
        return msg["results"], msg["ids"]

    # ------------------------------------------------------------------ the work

    def read(self) -> list[tuple[int, Household]]:
        """Every line parsed; the first malformed or repeated line refuses the whole file.

        With the helper running, the structure checks are left to it (they cost this process as
        much as parsing); anything odd here, and the file is read again the plain way."""
        self._start_helper()
        if self._conn is not None:
            try:
                self._read(checked=False)
                self._unchecked = True
            except Exception:
                self.lines.clear()
        self._recheck_if_malformed()
        if not self._unchecked:
            self._read(checked=True)
        if self._bounds is not None:
            self._bounds[1] = len(self.lines)
        return self.lines

    def _recheck_if_malformed(self) -> None:
        """The helper has met a malformed line: read again, checked, to raise the plain error."""
        if self._unchecked and self._bounds is not None and self._bounds[2]:
            self.lines.clear()
            self._unchecked = False

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

    def _share(self, ctx: RuleContext) -> tuple[list[Any], list[Any]]:
        """The helper's results, plus what this process does from the back until they meet."""
        lines = self.lines
        n = len(lines)
        replayed: list[Any] = [_NOT_DONE] * n
        findings: list[Any] = [_NOT_DONE] * n
        bounds = self._bounds
        bounds[1] = min(bounds[1], n)
        mine = 0
        while True:
            i = bounds[1] - 1
            if i < bounds[0]:
                break
            bounds[1] = i
            replayed[i], findings[i] = _decide(lines[i][1], ctx)
            mine += 1
        got = self._helper_results()
        if got is None:
            self.stats.update(helper_failed=True, parent_decided=mine)
            return replayed, findings
        theirs, ids = got
        taken = 0
        for i in range(min(len(theirs), n)):
            if ids[i] != lines[i][1].id or theirs[i] == _NOT_DONE_MARK or replayed[i] is not _NOT_DONE:
                continue
            r, f = theirs[i]
            if r != _NOT_DONE_MARK:
                replayed[i] = r
                findings[i] = _NOT_DONE if f == _NOT_DONE_MARK else f
                taken += 1
        self.stats.update(helper_decided=taken, parent_decided=mine)
        return replayed, findings

    def _report(self, ctx: RuleContext, replayed: list[Any], findings: list[Any]
                ) -> tuple[list[dict[str, Any]], list[Household]]:
        """The in-order pass: what the plain loop reports, raising what it raises, in line order."""
        report: list[dict[str, Any]] = []
        accepted: list[Household] = []
        for i, (lineno, hh) in enumerate(self.lines):
            entry: dict[str, Any] = {"line": lineno, "id": hh.id, "household_no": hh.household_no}
            # Status only moves through procedures: a history that does not lead to the stated
            # status is refused rather than trusted.
            done = replayed[i]
            status, problems = replay_status(hh.events) if done is _NOT_DONE else done
            if not problems and (status or "applicant") != hh.status:
                problems = [Text(f"状态“{hh.status}”与程序记录不符", f"status '{hh.status}' does not follow from its procedure history")]
            if problems:
                entry["result"] = "rejected"
                entry["reasons"] = [p.as_dict() for p in problems]
            else:
                entry["result"] = "imported"
                found = findings[i]
                entry["findings"] = [f.to_dict() for f in validate_household(hh, ctx)] if found is _NOT_DONE else found
                accepted.append(hh)
            report.append(entry)
        return report, accepted

    def run(self, existing: Callable[[], Iterable[Household]], write: Write) -> ImportOutcome:
        """Replay, validate and cross-check every household; `write` the accepted ones."""
        if self._unchecked and self._bounds[2]:  # found by the helper meanwhile: refuse before writing
            self._helper_results()
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

        def decide() -> None:
            checked.append(True)
            if not decided:
                decided.append(self._report(ctx, *self._share(ctx)))
            if len(decided[0][1]) < n:
                raise _Rejections

        def nothing_more() -> None:
            pass

        if self._conn is not None and n:
            try:
                write([hh for _, hh in lines], decide)
            except _Rejections:
                if decided[0][1]:
                    write(decided[0][1], nothing_more)
            except Exception:
                if checked:
                    raise  # from deciding in line order, or from the commit: the plain loop's error
                # The write failed before anything was decided (it may be about a household that
                # is rejected): decide first, then write the accepted ones the plain way.
                decide_now = self._report(ctx, *self._share(ctx))
                decided.append(decide_now)
                if decide_now[1]:
                    write(decide_now[1], nothing_more)
        else:
            replayed = [_NOT_DONE] * n
            decided.append(self._report(ctx, replayed, list(replayed)))
            if decided[0][1]:
                write(decided[0][1], nothing_more)
        report, accepted = decided[0]
        for hh in accepted:
            cross.add(hh)
        accepted_ids = {hh.id for hh in accepted}
        flagged = [f.to_dict() for f in cross.findings() if f.household_id in accepted_ids]
        return ImportOutcome(n, report, accepted, flagged, self.stats)
