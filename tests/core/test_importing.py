"""JsonImport: the helper process changes nothing in what an import reports, refuses or writes.

With the helper, every household is written while the helper decides, and the transaction is
rolled back when one is rejected; these tests hold the outcome to the plain loop's, on real
workspace files.
"""

from __future__ import annotations

import gc
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from povdesk.core.demo import generate
from povdesk.core.exchange import LineError, write_jsonl
from povdesk.core.importing import JsonImport
from povdesk.core.model import Household
from povdesk.errors import BadInput
from povdesk.store import Workspace

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

    def write(households: list[Household], check: Any) -> None:
        check()  # as the workspace does: before the commit, and nothing is kept when it raises
        written.extend(households)

    with JsonImport(path, TODAY, parallel=parallel, parallel_min_bytes=0) as job:
        job.read()
        for i, (_, hh) in enumerate(job.lines):
            if i in skip:
                hh.members[0].fields.pop("student_status", None)
        outcome = job.run(lambda: iter(()), write)
    return outcome, written


def _workspace(path: Path) -> tuple[Workspace, Any]:
    ws = Workspace.create(path, region_code="522634", name="县", level="county", admin_user="admin",
                          admin_password="admin-pw")
    return ws, ws.add_user(ws.authenticate("admin", "admin-pw"), "county", "county-pw", "county_coordinator")


def _import(ws: Workspace, actor: Any, path: Path, parallel: bool) -> Any:
    with JsonImport(path, TODAY, parallel=parallel, parallel_min_bytes=0) as job:
        job.read()
        return job.run(ws.iter_households, lambda hs, check: ws.import_households(
            hs, actor, source=path.name, before_commit=check))


def _contents(ws: Workspace) -> list[tuple[Any, ...]]:
    return sorted((h.id, h.household_no, h.status, h.version, len(h.members), len(h.events))
                  for h in ws.iter_households())


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


@pytest.mark.parametrize("at", [50, 115])
def test_malformed_line_refuses_the_file_with_the_helper_running(tmp_path: Path, at: int) -> None:
    """The helper does the structure checks: the error is the plain loop's, from read() or run(),
    and the workspace is as it was."""
    path = _file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[9] = lines[9].replace('"student_status":["01"]', '"student_status":"01"')
    lines[at] = lines[at].replace('"village_code":"', '"village_code":"x', 1)
    lines[at + 2] = "{not json"  # a later error is not the one reported
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for parallel in (False, True):
        ws, admin = _workspace(tmp_path / f"{parallel}.povdesk")
        try:
            with pytest.raises(LineError) as err:
                _import(ws, admin, path, parallel)
            assert err.value.where == f"in.jsonl:{at + 1}: village_code"
            assert ws.count_households() == 0 and ws.last_outbox_seq() == 0
        finally:
            ws.close()
    assert gc.isenabled()


def test_a_rejection_rolls_the_written_households_back_and_writes_the_accepted(tmp_path: Path) -> None:
    """The helper's optimistic write of all 120 is undone; the 118 accepted are written once."""
    path = _file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    data = json.loads(lines[9])
    data["members"][0]["fields"].pop("student_status")  # no raising validation in this file
    lines[9] = json.dumps(data, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = {}
    for parallel in (False, True):
        ws, admin = _workspace(tmp_path / f"{parallel}.povdesk")
        try:
            outcome = _import(ws, admin, path, parallel)
            assert outcome.stats["helper"] is parallel
            results[parallel] = (json.dumps(outcome.report), _contents(ws), ws.last_outbox_seq(),
                                 len(ws.audit_entries(limit=1000)))
            assert ws.verify_audit() == []
            assert ws.count_households() == len(outcome.accepted) == 118
        finally:
            ws.close()
    assert results[True][1:] == results[False][1:]
    assert [e["result"] for e in json.loads(results[True][0])] == [e["result"] for e in json.loads(results[False][0])]


def test_a_write_refused_for_a_rejected_household_does_not_stop_the_rest(tmp_path: Path) -> None:
    """Household 8 (rejected) carries a number another household of the workspace holds: the plain
    loop never writes it; the optimistic write fails on it, then decides and writes the accepted."""
    path = _file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    data = json.loads(lines[9])
    data["members"][0]["fields"].pop("student_status")
    lines[9] = json.dumps(data, ensure_ascii=False)
    taken = json.loads(lines[7])["household_no"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    holder = generate("522634", count=1, seed=99, today=TODAY)[0]
    holder.household_no = taken
    for parallel in (False, True):
        ws, admin = _workspace(tmp_path / f"{parallel}.povdesk")
        try:
            ws.import_households([holder], admin, source="first")
            outcome = _import(ws, admin, path, parallel)
            assert ws.count_households() == 1 + len(outcome.accepted) == 119
            assert outcome.report[7]["result"] == "rejected"
            assert ws.verify_audit() == []
        finally:
            ws.close()


def test_validation_raising_while_writing_leaves_the_workspace_as_it_was(tmp_path: Path) -> None:
    path = _file(tmp_path)  # line 10 makes validation raise, as in the plain loop
    ws, admin = _workspace(tmp_path / "w.povdesk")
    try:
        before = (_contents(ws), ws.last_outbox_seq(), len(ws.audit_entries(limit=1000)))
        with pytest.raises(TypeError):
            _import(ws, admin, path, True)
        assert (_contents(ws), ws.last_outbox_seq(), len(ws.audit_entries(limit=1000))) == before
    finally:
        ws.close()


def test_a_byte_order_mark_and_a_huge_integer_are_read(tmp_path: Path) -> None:
    """Notepad's BOM is skipped; what the fast parser refuses but JSON allows is parsed as before."""
    hh = generate("522634", count=1, seed=5, today=TODAY)[0]
    data = hh.to_dict()
    data["fields"]["note_number"] = 2 ** 70
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n")
    with JsonImport(path, TODAY, parallel=False) as job:
        lines = job.read()
    assert lines[0][1].id == hh.id and lines[0][1].fields["note_number"] == 2 ** 70


def test_bad_input_from_the_write_is_the_plain_loops(tmp_path: Path) -> None:
    """An accepted household's number held by another household: refused the same way with or
    without the helper, nothing written."""
    path = _file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    data = json.loads(lines[9])
    data["members"][0]["fields"].pop("student_status")
    lines[9] = json.dumps(data, ensure_ascii=False)
    taken = json.loads(lines[20])["household_no"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    holder = generate("522634", count=1, seed=99, today=TODAY)[0]
    holder.household_no = taken
    messages = set()
    for parallel in (False, True):
        ws, admin = _workspace(tmp_path / f"{parallel}.povdesk")
        try:
            ws.import_households([holder], admin, source="first")
            with pytest.raises(BadInput) as err:
                _import(ws, admin, path, parallel)
            messages.add(err.value.message("en"))
            assert ws.count_households() == 1
        finally:
            ws.close()
    assert len(messages) == 1 and taken in messages.pop()


def test_lines_this_process_takes_from_the_back_are_checked_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow helper: this process takes most households from the back, parsed unchecked; the
    malformed line among them is still refused with the plain loop's error, nothing written."""
    import povdesk.core.importing as importing

    path = _file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[9] = lines[9].replace('"student_status":["01"]', '"student_status":"01"')
    lines[110] = lines[110].replace('"village_code":"', '"village_code":"x', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    real = importing.parse_line

    def slow(line: bytes, where: str) -> Household:
        time.sleep(0.02)
        return real(line, where)

    monkeypatch.setattr(importing, "parse_line", slow)  # the forked helper parses with it
    ws, admin = _workspace(tmp_path / "w.povdesk")
    try:
        with JsonImport(path, TODAY, parallel=True, parallel_min_bytes=0) as job:
            job.read()
            with pytest.raises(LineError) as err:
                job.run(ws.iter_households, lambda hs, check: ws.import_households(
                    hs, admin, source=path.name, before_commit=check))
        assert err.value.where == "in.jsonl:111: village_code"
        assert job.stats["parent_did"] > 0
        assert ws.count_households() == 0 and ws.last_outbox_seq() == 0
    finally:
        ws.close()
