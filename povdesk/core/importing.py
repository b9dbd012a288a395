"""import-json's work, shared by the CLI and bench/: read, check, validate, then write in one go.

What it decides is exactly what the plain loop decides (read every line, refusing the whole file
at the first malformed one; replay each history and compare the status; validate each accepted
household; across-household checks; one write), but faster on a county:

- the cyclic garbage collector is paused while the households are in memory: they hold no
  cycles, and with millions of live objects every full collection walks all of them;
- each history is replayed once for both its problems and its status;
- on Linux, for a large file, a forked helper process reads the file a second time and validates
  households from the front while this process, once it has read and replayed everything,
  validates from the back; they meet in the middle. Only the findings travel back (pickled).
  Anything unexpected there (the helper failing, the file changing under it, a household whose
  validation raised) is simply done again here, in line order, so results and errors are the
  ones the plain loop gives. Everything is decided before anything is written.
"""

from __future__ import annotations

import gc
import json
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

from povdesk.core.exchange import read_jsonl
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


def _helper(path: Path, today: date, bounds: Any, out: Connection) -> None:
    """In the forked process: validate households from the front until meeting the parent.

    bounds[0] is written only here (the next index the helper may take), bounds[1] only by the
    parent (the lowest index it has taken). A stale read can make both validate one household,
    never neither; and whatever neither did is done in run()'s in-order pass anyway.
    """
    gc.disable()
    ctx = RuleContext(today=today)
    findings: list[Any] = []
    ids: list[str | None] = []
    ok = True
    before = _file_state(path)
    try:
        with path.open(encoding="utf-8") as fh:
            index = 0
            for line in fh:
                if not line.strip():
                    continue
                if index >= bounds[1]:
                    break
                bounds[0] = index + 1
                try:
                    hh = Household.from_dict(json.loads(line))
                except Exception:  # malformed: the parent refuses the file with its own message
                    ids.append(None)
                    findings.append(_NOT_DONE_MARK)
                else:
                    ids.append(hh.id)
                    try:
                        findings.append([f.to_dict() for f in validate_household(hh, ctx)])
                    except Exception:  # done again by the parent, in line order, to raise there
                        findings.append(_NOT_DONE_MARK)
                index += 1
    except Exception:
        ok = False
    try:
        out.send({"ok": ok and _file_state(path) == before, "state": before, "ids": ids, "findings": findings})
    finally:
        out.close()


_NOT_DONE_MARK = "not done"  # picklable stand-in for _NOT_DONE


class JsonImport:
    """One import-json run: `read()` (before the workspace is opened), then `run()`; a context manager.

    with JsonImport(path, today) as job:
        job.read()                  # LineError / BadInput for a malformed or repeated line
        outcome = job.run(ws.iter_households, lambda hs: ws.import_households(hs, actor, source=...))
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
            self._bounds = mp.Array("q", [0, sys.maxsize], lock=False)
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
        assert self._conn is not None
        try:
            msg = self._conn.recv()
        except (EOFError, OSError):
            msg = None
        self._stop_helper()
        if not msg or not msg["ok"] or msg["state"] != self._state or _file_state(self.path) != self._state:
            return None
        return msg["findings"], msg["ids"]

    # ------------------------------------------------------------------ the work

    def read(self) -> list[tuple[int, Household]]:
        """Every line parsed; the first malformed or repeated line refuses the whole file."""
        self._start_helper()
        path = self.path
        lines = self.lines
        seen: dict[str, int] = {}
        for lineno, hh in read_jsonl(path):  # one malformed line stops everything before any write
            if hh.id in seen:
                raise BadInput(Text(f"户 {hh.id} 与第 {seen[hh.id]} 行重复", f"household {hh.id} repeats line {seen[hh.id]}"),
                               where=f"{path.name}:{lineno}")
            seen[hh.id] = lineno
            lines.append((lineno, hh))
        if self._bounds is not None:
            self._bounds[1] = len(lines)
        return lines

    def run(self, existing: Callable[[], Iterable[Household]],
            write: Callable[[list[Household]], object]) -> ImportOutcome:
        """Replay, validate and cross-check every household, then `write` the accepted ones."""
        lines = self.lines
        n = len(lines)
        ctx = RuleContext(today=self.today)
        replayed: list[Any] = [_NOT_DONE] * n
        findings: list[Any] = [_NOT_DONE] * n
        if self._conn is not None:
            # Replay here while the helper validates from the front; errors are left for the
            # in-order pass below, so that the first one raised is the one the plain loop raises.
            for i, (_, hh) in enumerate(lines):
                try:
                    replayed[i] = replay_status(hh.events)
                except Exception:
                    replayed[i] = _NOT_DONE  # raised again below, in line order
            bounds = self._bounds
            mine = 0
            while True:
                i = bounds[1] - 1
                if i < bounds[0]:
                    break
                bounds[1] = i
                try:
                    findings[i] = [f.to_dict() for f in validate_household(lines[i][1], ctx)]
                except Exception:
                    findings[i] = _NOT_DONE  # raised again below, in line order
                mine += 1
            got = self._helper_results()
            if got is not None:
                theirs, ids = got
                taken = 0
                for i in range(min(len(theirs), n)):
                    if ids[i] == lines[i][1].id and theirs[i] != _NOT_DONE_MARK and findings[i] is _NOT_DONE:
                        findings[i] = theirs[i]
                        taken += 1
                self.stats.update(helper_validated=taken, parent_validated=mine)
            else:
                self.stats.update(helper_failed=True, parent_validated=mine)

        report: list[dict[str, Any]] = []
        accepted: list[Household] = []
        for i, (lineno, hh) in enumerate(lines):
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
        cross = CrossChecker()
        in_file = {hh.id for _, hh in lines}
        for hh in existing():
            if hh.id not in in_file:
                cross.add(hh)
        for hh in accepted:
            cross.add(hh)
        accepted_ids = {hh.id for hh in accepted}
        flagged = [f.to_dict() for f in cross.findings() if f.household_id in accepted_ids]
        if accepted:
            write(accepted)
        return ImportOutcome(n, report, accepted, flagged, self.stats)
