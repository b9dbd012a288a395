"""import-json: a JSON Lines file of households read, decided and written as one stream.

read → decide → write, a batch of lines at a time, inside **one** transaction
(Workspace.bulk_import): memory is bounded by the batch, not the file, and any refusal (a
malformed or repeated line, a household number taken by another household, Cancel) rolls the
whole import back, leaving the workspace as it was.

For each line, in order: parse it (the first malformed line refuses the file, naming file and
line); refuse a household id seen on an earlier line; replay its history against its status (a
household whose history does not hold is rejected, reported, not written); validate it (findings
are reported; the household is imported). Across households (a person registered in two
households, helpers sharing a phone) is checked at the end against everything the workspace then
holds, and reported for the households the file brought.

With an `executor` (a concurrent.futures executor: `decision_pool`), the decisions of
the next chunks of raw lines are made there while this process parses and writes the current
one; they are taken in line order, and where a worker made none (a line it could not read), this
process decides itself, so the outcome is the one the plain loop gives. Without one, everything
runs here.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, overload

import orjson

from povdesk.core.exchange import jsonl_lines, parse_line
from povdesk.core.importing import Decision, decide, decide_lines, paused_gc
from povdesk.core.model import Household
from povdesk.core.procedures import procedures_text_in_force
from povdesk.core.rules import CrossChecker
from povdesk.errors import BadInput, ImportCancelled
from povdesk.i18n import Text, tr
from povdesk.store import Workspace
from povdesk.store.households import ImportResult
from povdesk.store.thresholds import imported_text, rule_context
from povdesk.store.users import User

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

# Lines a batch holds: what is in memory at once (about 8 KB a household as text, 33 KB parsed).
BATCH = 2000


class Report(Sequence[dict[str, Any]]):
    """One entry per line, kept in a temporary file rather than in memory (a county's report is
    about as long as the county): appended while importing, read back in order or by index."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (held by the report; gone when it is)
        self._offsets = array("q")
        self._end = 0
        self.rejected = 0
        self.with_findings = 0

    def append(self, entry: dict[str, Any]) -> None:
        data = orjson.dumps(entry) + b"\n"
        self._file.seek(self._end)
        self._file.write(data)
        self._offsets.append(self._end)
        self._end += len(data)
        self.rejected += entry["result"] == "rejected"
        self.with_findings += bool(entry.get("findings"))

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        self._file.seek(self._offsets[index])
        return cast(dict[str, Any], orjson.loads(self._file.readline()))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self._file.seek(0)
        for _ in range(len(self)):
            yield orjson.loads(self._file.readline())

    def close(self) -> None:
        self._file.close()


@dataclass
class JsonImportResult:
    """What import-json did: one report entry per line, the findings across households."""

    file: Path
    report: Report
    flagged: list[dict[str, Any]]
    written: ImportResult
    changed_ids: list[str] = field(default_factory=list)  # the households written, in line order

    @property
    def lines(self) -> int:
        return len(self.report)

    @property
    def imported(self) -> int:
        return len(self.changed_ids)

    @property
    def rejected(self) -> int:
        return self.report.rejected

    @property
    def with_findings(self) -> int:
        return self.report.with_findings

    def summary(self) -> dict[str, int]:
        return {"lines": self.lines, "imported": self.imported, "rejected": self.rejected,
                "with_findings": self.with_findings, "flagged": len(self.flagged)}


def _chunks(path: Path, size: int) -> Iterator[tuple[list[tuple[int, bytes]], int]]:
    """Lists of (line number, raw line), `size` at a time, with the bytes read so far."""
    chunk: list[tuple[int, bytes]] = []
    done = 0
    for n, line in jsonl_lines(path):
        chunk.append((n, line))
        done += len(line)
        if len(chunk) >= size:
            yield chunk, done
            chunk = []
    if chunk:
        yield chunk, done


def claimed_numbers(path: Path) -> set[str]:
    """Every household number the file gives (a light pass, for numbering those without one)."""
    out: set[str] = set()
    for _n, line in jsonl_lines(path):
        try:
            no = orjson.loads(line).get("household_no")
        except (orjson.JSONDecodeError, AttributeError):
            continue  # the real pass names the malformed line
        if isinstance(no, str) and no.strip():
            out.add(no.strip())
    return out


# From about this size (some 2,000 households) a worker process deciding pays for its start.
POOL_MIN_BYTES = 16_000_000


@contextmanager
def decision_pool(paths: Sequence[Path], workers: int | None = None) -> Iterator[Executor | None]:
    """Worker processes for `import_jsonl(executor=...)` and `sync.service.import_bundles(executor=...)`:
    `workers` of them, or by default one for large files on a machine with a second CPU (measured on a county: 0.59 of the raw rate against
    0.51 in one process with both cores free; 0.40 either way with one core busy). Started with
    `spawn`, as on Windows, so no open connection or thread is ever copied into a child."""
    if workers is None:
        size = sum(path.stat().st_size for path in paths if path.is_file())  # the import names one it cannot read
        workers = 1 if (os.cpu_count() or 1) > 1 and size >= POOL_MIN_BYTES else 0
    if workers <= 0:
        yield None
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def _cancel() -> ImportCancelled:
    return ImportCancelled(tr("已取消导入，未做任何修改", "the import was cancelled; nothing was changed"))


def import_jsonl(ws: Workspace, actor: User, path: Path, *, batch: int = BATCH, executor: Executor | None = None,
                 lookahead: int = 1, progress: Progress | None = None,
                 cancelled: Cancelled | None = None) -> JsonImportResult:
    """Import a JSON Lines file of households in one transaction; see the module's docstring.
    With an executor, `lookahead` chunks are handed to it ahead of the one being written (one per
    worker keeps them all busy)."""
    name = path.name
    try:
        total = path.stat().st_size
    except OSError as exc:
        raise BadInput(Text(f"无法打开文件：{exc.strerror}", f"cannot open the file: {exc.strerror}"),
                       where=str(path)) from None
    today = ws.clock.today()
    ctx = rule_context(ws)
    own_thresholds = imported_text(ws)  # what the workers judge by, with the bundled table
    own_procedures = procedures_text_in_force()
    level = ws.authority_level  # a file's history is trusted up to what this workspace may record
    report = Report()
    seen: dict[str, int] = {}
    written_ids: list[str] = []
    rejected_ids: set[str] = set()
    chunks = _chunks(path, batch)
    ahead: deque[tuple[list[tuple[int, bytes]], int, Future[list[Decision | None]] | None]] = deque()
    window = 1 + lookahead if executor is not None else 1  # chunks read ahead, being decided elsewhere

    def fill() -> None:
        while len(ahead) < window:
            item = next(chunks, None)
            if item is None:
                return
            lines, done = item
            fut = (executor.submit(decide_lines, [line for _, line in lines], today, level, own_thresholds,
                                   own_procedures) if executor else None)
            ahead.append((lines, done, fut))

    try:
        with paused_gc(), ws.bulk_import(actor, source=name, reserved=lambda: claimed_numbers(path)) as session:
            fill()
            while ahead:
                if cancelled is not None and cancelled():
                    raise _cancel()
                lines, done, fut = ahead.popleft()
                fill()
                decisions: list[Decision | None] = fut.result() if fut is not None else [None] * len(lines)
                households: list[Household] = []
                for (n, line), made in zip(lines, decisions, strict=True):
                    hh = parse_line(line, f"{name}:{n}", checked=made is not None)
                    if hh.id in seen:
                        raise BadInput(tr("户 {id} 与第 {n} 行重复", "household {id} repeats line {n}", id=hh.id,
                                          n=seen[hh.id]), where=f"{name}:{n}")
                    seen[hh.id] = n
                    problems, findings = made if made is not None else decide(hh, ctx, level)
                    entry: dict[str, Any] = {"line": n, "id": hh.id, "household_no": hh.household_no}
                    if problems:
                        entry["result"] = "rejected"
                        entry["reasons"] = problems
                        rejected_ids.add(hh.id)
                    else:
                        entry["result"] = "imported"
                        entry["findings"] = findings
                        households.append(hh)
                        written_ids.append(hh.id)
                    report.append(entry)
                session.write(households)
                del households
                if progress is not None:
                    progress(done, total)
            if cancelled is not None and cancelled():
                raise _cancel()
            # Across households, over the workspace as it now is (the file's accepted households
            # included; a rejected one's earlier copy, if any, left out, as it was not imported).
            cross = CrossChecker()
            for hh in session.cross_check_candidates(skip=rejected_ids):
                cross.add(hh)
            ids = set(written_ids)
            flagged = [f.to_dict() for f in cross.findings() if f.household_id in ids]
    except BaseException:
        report.close()
        raise
    finally:
        for _lines, _done, fut in ahead:
            if fut is not None:
                fut.cancel()
    assert session.result is not None
    return JsonImportResult(path, report, flagged, session.result, written_ids)


@dataclass
class XlsxImportResult:
    """What import-xlsx wrote: the households of the check that were accepted, in one transaction."""

    written: ImportResult
    changed_ids: list[str]


def import_checked_xlsx(ws: Workspace, actor: User, households: Sequence[Household], *, source: str,
                        cancelled: Cancelled | None = None) -> XlsxImportResult:
    """Write the households an Excel check accepted (reports.import_check: each refused household
    already left out) through the same bulk session as import-json, in one transaction; the
    workspace's own households keep their history, which the sheet never carries."""
    ids = [hh.id for hh in households]
    with paused_gc(), ws.bulk_import(actor, source=source,
                                     reserved=lambda: {h.household_no.strip() for h in households}) as session:
        for start in range(0, len(households), BATCH):
            if cancelled is not None and cancelled():
                raise _cancel()
            session.write(households[start:start + BATCH])
    assert session.result is not None
    return XlsxImportResult(session.result, ids)
