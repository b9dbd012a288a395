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

With an `executor` (a concurrent.futures executor, e.g. one worker process), the decisions of
the next chunks of raw lines are made there while this process parses and writes the current
one; they are taken in line order, and where a worker made none (a line it could not read), this
process decides itself, so the outcome is the one the plain loop gives. Without one, everything
runs here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from povdesk.core.exchange import jsonl_lines, parse_line
from povdesk.core.importing import Decision, decide, decide_lines, paused_gc
from povdesk.core.model import Household
from povdesk.core.rules import CrossChecker, RuleContext
from povdesk.errors import BadInput, ImportCancelled
from povdesk.i18n import Text, tr
from povdesk.store import Workspace
from povdesk.store.households import ImportResult
from povdesk.store.users import User

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

# Lines a batch holds: what is in memory at once (about 8 KB a household as text, 33 KB parsed).
BATCH = 2000


@dataclass
class JsonImportResult:
    """What import-json did: one report entry per line, the findings across households."""

    file: Path
    report: list[dict[str, Any]]
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
        return sum(1 for e in self.report if e["result"] == "rejected")

    @property
    def with_findings(self) -> int:
        return sum(1 for e in self.report if e.get("findings"))

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


def _cancel() -> ImportCancelled:
    return ImportCancelled(tr("已取消导入，未做任何修改", "the import was cancelled; nothing was changed"))


def import_jsonl(ws: Workspace, actor: User, path: Path, *, batch: int = BATCH, executor: Executor | None = None,
                 progress: Progress | None = None, cancelled: Cancelled | None = None) -> JsonImportResult:
    """Import a JSON Lines file of households in one transaction; see the module's docstring."""
    name = path.name
    try:
        total = path.stat().st_size
    except OSError as exc:
        raise BadInput(Text(f"无法打开文件：{exc.strerror}", f"cannot open the file: {exc.strerror}"),
                       where=str(path)) from None
    today = ws.clock.today()
    ctx = RuleContext(today=today)
    report: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    written_ids: list[str] = []
    accepted = CrossChecker()
    chunks = _chunks(path, batch)
    ahead: deque[tuple[list[tuple[int, bytes]], int, Future[list[Decision | None]] | None]] = deque()
    window = 1 + (getattr(executor, "_max_workers", 1) if executor is not None else 0)

    def fill() -> None:
        while len(ahead) < window:
            item = next(chunks, None)
            if item is None:
                return
            lines, done = item
            fut = executor.submit(decide_lines, [line for _, line in lines], today) if executor else None
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
                    hh = parse_line(line, f"{name}:{n}")
                    if hh.id in seen:
                        raise BadInput(tr("户 {id} 与第 {n} 行重复", "household {id} repeats line {n}", id=hh.id,
                                          n=seen[hh.id]), where=f"{name}:{n}")
                    seen[hh.id] = n
                    problems, findings = made if made is not None else decide(hh, ctx)
                    entry: dict[str, Any] = {"line": n, "id": hh.id, "household_no": hh.household_no}
                    if problems:
                        entry["result"] = "rejected"
                        entry["reasons"] = problems
                    else:
                        entry["result"] = "imported"
                        entry["findings"] = findings
                        households.append(hh)
                        accepted.add(hh)
                        written_ids.append(hh.id)
                    report.append(entry)
                session.write(households)
                del households
                if progress is not None:
                    progress(done, total)
            if cancelled is not None and cancelled():
                raise _cancel()
            cross = CrossChecker()
            for hh in session.households_for_cross_checks(skip=set(seen)):
                cross.add(hh)
            cross.extend(accepted)
            ids = set(written_ids)
            flagged = [f.to_dict() for f in cross.findings() if f.household_id in ids]
    finally:
        for _lines, _done, fut in ahead:
            if fut is not None:
                fut.cancel()
    assert session.result is not None
    return JsonImportResult(path, report, flagged, session.result, written_ids)
