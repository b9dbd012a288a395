"""import-json through the one pipeline: read, decide and write in batches inside one transaction.

On real workspace files: what is reported and written is the same whatever the batch size and
whether decisions come from this process, a synchronous executor or a worker process; any refusal
(a malformed or repeated line, a number held by another household, validation raising, Cancel)
leaves the workspace file byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from povdesk.clock import FixedClock
from povdesk.core.demo import generate
from povdesk.core.exchange import LineError, write_jsonl
from povdesk.errors import BadInput, ImportCancelled
from povdesk.ops.importing import import_jsonl
from povdesk.store import Workspace

TODAY = date(2024, 6, 1)


class InlineExecutor(Executor):
    """Runs each task when it is submitted: the pipeline's executor path, deterministically."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


def _households(n: int = 120) -> list[Any]:
    households = generate("522634", count=n, seed=4, today=TODAY)
    households[3].fields["phone"] = "123"  # a field finding
    households[7].status = "registered" if households[7].status != "registered" else "exited"  # a rejection
    households[11].events = households[11].events[1:]  # an illegal history
    if n > 40:  # a person in two households: across
        households[40].members[0].fields["id_number"] = households[2].members[0].fields["id_number"]
    return households


def _file(tmp_path: Path, households: list[Any] | None = None, name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8") as fh:
        write_jsonl(_households() if households is None else households, fh)
        fh.write("\n")  # a blank line is skipped
    return path


def _edit(path: Path, index: int, change: Callable[[dict[str, Any]], None]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    data = json.loads(lines[index])
    change(data)
    lines[index] = json.dumps(data, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _workspace(path: Path) -> tuple[Workspace, Any]:
    ws = Workspace.create(path, region_code="522634", name="县", level="county", admin_user="admin",
                          admin_password="admin-pw", clock=FixedClock(TODAY))
    return ws, ws.add_user(ws.authenticate("admin", "admin-pw"), "county", "county-pw", "county_coordinator")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _contents(ws: Workspace) -> list[tuple[Any, ...]]:
    return sorted((h.id, h.household_no, h.status, h.version, len(h.members), len(h.events))
                  for h in ws.iter_households())


def _refused_unchanged(tmp_path: Path, path: Path, expect: type[Exception], prepare: Callable[[Workspace, Any], None]
                       = lambda ws, actor: None, **kw: Any) -> Exception:
    """Import `path` into a workspace, expecting `expect`; the file must be byte-identical after."""
    db = tmp_path / f"refused-{len(list(tmp_path.glob('refused-*.povdesk')))}.povdesk"
    ws, actor = _workspace(db)
    prepare(ws, actor)
    ws.close()
    before = _digest(db)
    ws = Workspace.open(db, clock=FixedClock(TODAY))
    try:
        with pytest.raises(expect) as err:
            import_jsonl(ws, ws.authenticate("county", "county-pw"), path, **kw)
        assert ws.verify_audit() == []
    finally:
        ws.close()
    assert _digest(db) == before
    return err.value


@pytest.mark.parametrize("batch", [7, 2000])
def test_batches_and_executors_change_nothing_in_the_outcome(tmp_path: Path, batch: int) -> None:
    path = _file(tmp_path)
    outcomes = []
    for i, executor in enumerate((None, InlineExecutor())):
        ws, actor = _workspace(tmp_path / f"{batch}-{i}.povdesk")
        try:
            result = import_jsonl(ws, actor, path, batch=batch, executor=executor)
            assert ws.verify_audit() == []
            outcomes.append((json.dumps(list(result.report), ensure_ascii=False), result.flagged, result.summary(),
                             _contents(ws), ws.last_outbox_seq()))
        finally:
            ws.close()
    assert outcomes[0] == outcomes[1]
    report = json.loads(outcomes[0][0])
    assert [e["line"] for e in report] == list(range(1, 121))
    assert report[7]["result"] == "rejected" and report[11]["result"] == "rejected"
    assert any(f["rule"] for f in report[3]["findings"])
    assert outcomes[0][2] == {"lines": 120, "imported": 118, "rejected": 2, "with_findings": outcomes[0][2]
                              ["with_findings"], "flagged": 2}
    assert {f["household_id"] for f in outcomes[0][1]} == {json.loads(outcomes[0][0])[2]["id"], report[40]["id"]}
    assert len(outcomes[0][3]) == 118 and outcomes[0][4] == 118


def test_a_worker_process_gives_the_same_outcome(tmp_path: Path) -> None:
    """A real worker process, started with spawn as on Windows."""
    path = _file(tmp_path)
    ws, actor = _workspace(tmp_path / "plain.povdesk")
    plain = import_jsonl(ws, actor, path, batch=16)
    ws.close()
    ws, actor = _workspace(tmp_path / "pool.povdesk")
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = import_jsonl(ws, actor, path, batch=16, executor=pool)
    ws.close()
    assert list(pooled.report) == list(plain.report) and pooled.flagged == plain.flagged


@pytest.mark.parametrize("at", [5, 50, 115])
def test_a_malformed_line_refuses_the_file_and_names_the_first(tmp_path: Path, at: int) -> None:
    """Wherever it is (first batch, a later one), the first malformed line is the one named, and
    the batches written before it are rolled back."""
    path = _file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[at] = lines[at].replace('"village_code":"', '"village_code":"x', 1)
    lines[at + 2] = "{not json"  # a later error is not the one reported
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for executor in (None, InlineExecutor()):
        err = _refused_unchanged(tmp_path, path, LineError, batch=10, executor=executor)
        assert err.where == f"in.jsonl:{at + 1}: village_code"


def test_a_repeated_household_refuses_the_file(tmp_path: Path) -> None:
    households = _households(30)
    path = _file(tmp_path, [*households, households[4]])
    err = _refused_unchanged(tmp_path, path, BadInput, batch=8)
    assert err.where == "in.jsonl:31" and "line 5" in err.message("en")


def test_an_unexpected_error_midway_refuses_the_file(tmp_path: Path) -> None:
    """Anything raised after some batches were written (here by the caller's progress callback,
    as a failing screen would) leaves the workspace as it was."""
    path = _file(tmp_path)

    def progress(done: int, total: int) -> None:
        if done >= 60:
            raise RuntimeError("the screen went away")

    _refused_unchanged(tmp_path, path, RuntimeError, batch=10, progress=progress)


def test_a_value_of_the_wrong_type_is_a_finding_not_a_failure(tmp_path: Path) -> None:
    path = _file(tmp_path)
    _edit(path, 60, lambda d: d["members"][0]["fields"].__setitem__("student_status", ["01"]))
    ws, actor = _workspace(tmp_path / "w.povdesk")
    try:
        entry = import_jsonl(ws, actor, path, batch=10).report[60]
        assert entry["result"] != "rejected"
        assert any(f["rule"] == "F-CODE" and f["field"] == "student_status" for f in entry["findings"])
    finally:
        ws.close()


def test_a_number_held_by_another_household_refuses_the_import(tmp_path: Path) -> None:
    path = _file(tmp_path)
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[100])
    taken = line["household_no"]
    holder = generate("522634", count=1, seed=99, today=TODAY)[0]
    holder.household_no, holder.village_code = taken, line["village_code"]  # the same official number

    def prepare(ws: Workspace, actor: Any) -> None:
        ws.import_households([holder], actor, source="first")

    err = _refused_unchanged(tmp_path, path, BadInput, prepare, batch=10)
    assert taken in err.message("en") and "already used by another household" in err.message("en")


def test_a_rejected_household_with_a_taken_number_does_not_stop_the_rest(tmp_path: Path) -> None:
    path = _file(tmp_path)
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[7])  # a rejected line
    holder = generate("522634", count=1, seed=99, today=TODAY)[0]
    holder.household_no, holder.village_code = line["household_no"], line["village_code"]
    ws, actor = _workspace(tmp_path / "w.povdesk")
    try:
        ws.import_households([holder], actor, source="first")
        result = import_jsonl(ws, actor, path, batch=10)
        assert ws.count_households() == 1 + result.imported == 119
        assert result.report[7]["result"] == "rejected" and ws.verify_audit() == []
    finally:
        ws.close()


def test_numbers_and_members_move_between_households_across_batches(tmp_path: Path) -> None:
    """Re-importing: household 2 takes the number of household 90 and a member of household 95
    (both in later batches), household 90 takes household 2's old number: all written."""
    households = _households(100)
    a, b, c = households[2], households[90], households[95]
    b.village_code, b.household_no = a.village_code, f"{a.village_code}-DEMO-9999"  # (official numbers: one village)
    ws, actor = _workspace(tmp_path / "w.povdesk")
    try:
        import_jsonl(ws, actor, _file(tmp_path, households, "first.jsonl"))
        a.household_no, b.household_no = b.household_no, a.household_no
        moving = c.members.pop()
        a.members.append(moving)
        for hh in (a, b, c):
            hh.version += 1
        result = import_jsonl(ws, actor, _file(tmp_path, households, "second.jsonl"), batch=10)
        assert result.written.replaced == 98
        again = ws.load_households([a.id, b.id, c.id])
        assert again[a.id].household_no == a.household_no and again[b.id].household_no == b.household_no
        assert moving.id in {m.id for m in again[a.id].members}
        assert moving.id not in {m.id for m in again[c.id].members}
        assert ws.verify_audit() == []
        hits = ws.households_with_person(moving.id_number)
        assert [h[0] for h in hits] == [a.id]
    finally:
        ws.close()


def test_a_member_claimed_from_a_household_that_never_comes_refuses(tmp_path: Path) -> None:
    households = _households(40)
    other = generate("522634", count=1, seed=77, today=TODAY)[0]
    households[30].members.append(other.members[0])

    def prepare(ws: Workspace, actor: Any) -> None:
        ws.import_households([other], actor, source="first")

    err = _refused_unchanged(tmp_path, _file(tmp_path, households), BadInput, prepare, batch=10)
    assert other.members[0].id in err.message("en")


def test_a_household_without_a_number_never_takes_one_claimed_later(tmp_path: Path) -> None:
    households = _households(40)
    ws, actor = _workspace(tmp_path / "w.povdesk")
    try:
        village = households[0].village_code
        households[0].household_no = ""
        households[35].village_code = village
        households[35].household_no = f"{village}-{ws.device_prefix}-0001"  # the first it would hand out
        result = import_jsonl(ws, actor, _file(tmp_path, households), batch=10)
        numbers = [h.household_no for h in ws.iter_households()]
        assert result.written.numbers_assigned == 1 and len(set(numbers)) == len(numbers)
        assert ws.load_household(households[0].id).household_no == f"{village}-{ws.device_prefix}-0002"
    finally:
        ws.close()


def test_cancel_rolls_back_whole(tmp_path: Path) -> None:
    path = _file(tmp_path)
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 3  # after three batches are written

    _refused_unchanged(tmp_path, path, ImportCancelled, batch=10, cancelled=cancelled)
    assert len(asked) == 4


def test_a_byte_order_mark_and_a_huge_integer_are_read(tmp_path: Path) -> None:
    """Notepad's BOM is skipped; what the fast parser refuses but JSON allows is parsed as before."""
    hh = generate("522634", count=1, seed=5, today=TODAY)[0]
    data = hh.to_dict()
    data["fields"]["note_number"] = 2 ** 70
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n")
    ws, actor = _workspace(tmp_path / "w.povdesk")
    try:
        result = import_jsonl(ws, actor, path)
        assert result.imported == 1
    finally:
        ws.close()


def test_progress_reaches_the_file_size(tmp_path: Path) -> None:
    path = _file(tmp_path)
    seen: list[tuple[int, int]] = []
    ws, actor = _workspace(tmp_path / "w.povdesk")
    try:
        import_jsonl(ws, actor, path, batch=25, progress=lambda done, total: seen.append((done, total)))
    finally:
        ws.close()
    assert len(seen) == 5 and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1][1] == path.stat().st_size and seen[-1][0] >= path.stat().st_size - 2


def test_the_across_checks_see_what_a_check_over_every_household_sees(tmp_path: Path) -> None:
    """The end-of-import checks read only the households SQL picks as candidates; planted: a person
    in two households (one of them already here), helpers sharing a phone, a helper who is a
    member of a poor household. The findings are those over every household."""
    from povdesk.core.rules import CrossChecker

    households = _households(60)
    here = generate("522634", count=5, seed=21, today=TODAY)
    for hh in here:
        hh.household_no = ""  # numbered by this workspace, apart from the file's
    households[20].members[1].fields["id_number"] = here[0].members[0].fields["id_number"]
    poor_member = households[30].members[0]
    households[5].helpers = [{"name": "张帮扶", "phone": "13800000000", "id_number": poor_member.id_number}]
    households[8].helpers = [{"name": "李帮扶", "phone": "13800000000", "id_number": "522634199001011234"}]
    ws, actor = _workspace(tmp_path / "w.povdesk")
    try:
        ws.import_households(here, actor, source="first")
        result = import_jsonl(ws, actor, _file(tmp_path, households), batch=9)
        everything = CrossChecker()
        rejected = {e["id"] for e in result.report if e["result"] == "rejected"}
        for hh in ws.households_for_cross_checks(skip=rejected):
            everything.add(hh)
        ids = set(result.changed_ids)
        expected = [f.to_dict() for f in everything.findings() if f.household_id in ids]
    finally:
        ws.close()
    key = lambda f: json.dumps(f, sort_keys=True, ensure_ascii=False)  # noqa: E731
    assert sorted(result.flagged, key=key) == sorted(expected, key=key)
    assert {f["rule"] for f in result.flagged} >= {"DUP-PERSON", "HELPER-PHONE"}
    assert households[20].id in {f["household_id"] for f in result.flagged}


@pytest.mark.parametrize("what", ["number", "member"])
def test_a_number_or_member_twice_in_the_file_is_refused_across_batches(tmp_path: Path, what: str) -> None:
    """Found in the workspace itself once the earlier batch is written: no set of every number
    or member id of the file is kept."""
    households = _households(40)
    if what == "number":  # (an official number: of the household's own village)
        households[35].household_no, households[35].village_code = households[2].household_no, households[2].village_code
    else:
        households[35].members.append(households[2].members[0])
    err = _refused_unchanged(tmp_path, _file(tmp_path, households), BadInput, batch=10)
    assert "appears twice in the import" in err.message("en") or "appears in two households" in err.message("en")
