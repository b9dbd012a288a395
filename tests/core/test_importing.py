"""JsonImport: the helper process changes nothing in what an import reports, refuses or writes."""

from __future__ import annotations

import gc
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from povdesk.core.demo import generate
from povdesk.core.exchange import LineError, write_jsonl
from povdesk.core.importing import JsonImport
from povdesk.core.model import Household

TODAY = date(2024, 6, 1)


def _file(tmp_path: Path, n: int = 120) -> Path:
    households = generate("522634", count=n, seed=4, today=TODAY)
    households[3].fields["phone"] = "123"  # a field finding
    households[7].status = "registered" if households[7].status != "registered" else "exited"  # a rejection
    households[9].members[0].fields["student_status"] = ["01"]  # validation raises: left to the in-order pass
    households[11].events = households[11].events[1:]  # an illegal history
    path = tmp_path / "in.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        write_jsonl(households, fh)
        fh.write("\n")  # a blank line is skipped
    return path


def _run(path: Path, parallel: bool, skip: frozenset[int] = frozenset()) -> tuple[Any, list[Household]]:
    written: list[Household] = []
    with JsonImport(path, TODAY, parallel=parallel, parallel_min_bytes=0) as job:
        job.read()
        for i, (_, hh) in enumerate(job.lines):
            if i in skip:
                hh.members[0].fields.pop("student_status", None)
        outcome = job.run(lambda: iter(()), written.extend)
    return outcome, written


def test_helper_process_gives_the_same_outcome(tmp_path: Path) -> None:
    path = _file(tmp_path)
    with pytest.raises(TypeError):  # the plain loop raises on line 10 before writing anything
        _run(path, parallel=False)
    with pytest.raises(TypeError):
        _run(path, parallel=True)
    plain, plain_written = _run(path, parallel=False, skip={9})
    helped, helped_written = _run(path, parallel=True, skip={9})
    assert helped.stats["helper"] is True
    assert json.dumps(helped.report) == json.dumps(plain.report)
    assert helped.flagged == plain.flagged
    assert [h.id for h in helped_written] == [h.id for h in plain_written]
    results = {e["result"] for e in plain.report}
    assert results == {"imported", "rejected"} and any(e.get("findings") for e in plain.report)
    assert gc.isenabled()


def test_malformed_line_refuses_the_file_with_the_helper_running(tmp_path: Path) -> None:
    path = _file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[50] = lines[50].replace('"village_code":"', '"village_code":"x', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LineError) as err, JsonImport(path, TODAY, parallel=True, parallel_min_bytes=0) as job:
        job.read()
    assert err.value.where == "in.jsonl:51: village_code"
    assert gc.isenabled()
