"""The povdesk command as a county script or a village worker uses it: real files, real exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from povdesk.cli import build_parser, main
from povdesk.core.demo import DEMO_PASSWORD
from tests.factories import TODAY

ADMIN = {"POVDESK_USER": "admin", "POVDESK_PASSWORD": DEMO_PASSWORD}
WORKER = {"POVDESK_USER": "worker", "POVDESK_PASSWORD": DEMO_PASSWORD}
COUNTY = {"POVDESK_USER": "county", "POVDESK_PASSWORD": DEMO_PASSWORD}


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POVDESK_LANG", "en")
    monkeypatch.setenv("POVDESK_DATA_DIR", str(tmp_path / "data"))
    for key in ("POVDESK_USER", "POVDESK_PASSWORD", "POVDESK_NEW_PASSWORD"):
        monkeypatch.delenv(key, raising=False)


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str],
        *argv: str) -> tuple[int, str, str]:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code = main(["--today", TODAY.isoformat(), *argv])
    out, err = capsys.readouterr()
    for k in env:
        monkeypatch.delenv(k, raising=False)
    return code, out, err


def run_process(env: dict[str, str], *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, POVDESK_LANG="en", POVDESK_DATA_DIR=str(cwd / "data"), **env)
    return subprocess.run([sys.executable, "-m", "povdesk", "--today", TODAY.isoformat(), *argv], capture_output=True,
                          text=True, env=full, cwd=cwd, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    result = run_process({}, "demo", str(path), "--plain", "--households", "120", "--seed", "7",
                         cwd=path.parent)
    assert result.returncode == 0, result.stderr
    return path


def copy_db(src: Path, dest: Path) -> Path:
    with sqlite3.connect(src) as a, sqlite3.connect(dest) as b:
        a.backup(b)
    return dest


def test_every_command_has_help() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    (sub,) = actions
    helps = {c.dest: c.help for c in sub._choices_actions}  # type: ignore[attr-defined]
    assert set(helps) == set(sub.choices) and all(helps.values())
    for name, p in sub.choices.items():
        assert p.description, name


def test_init_then_users(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    code, out, _ = run(monkeypatch, capsys, {"POVDESK_USER": "li", "POVDESK_PASSWORD": "pw1234"},
                       "init", db, "--region", "522634100201", "--name", "西门村")
    assert code == 0 and "village workspace" in out
    li = {"POVDESK_USER": "li", "POVDESK_PASSWORD": "pw1234"}
    code, out, _ = run(monkeypatch, capsys, {**li, "POVDESK_NEW_PASSWORD": "wang5678"},
                       "users", "add", db, "wang", "--role", "village_worker", "--display-name", "王芳")
    assert code == 0
    code, out, _ = run(monkeypatch, capsys, li, "users", "list", db, "--json")
    users = json.loads(out)
    assert {u["name"]: u["role"] for u in users} == {"li": "admin", "wang": "village_worker"}
    # a village worker may not manage accounts
    code, _, err = run(monkeypatch, capsys, {"POVDESK_USER": "wang", "POVDESK_PASSWORD": "wang5678",
                                             "POVDESK_NEW_PASSWORD": "zzzz9999"},
                       "users", "add", db, "zhao", "--role", "admin")
    assert code == 2 and "may not manage users" in err and len(err.strip().splitlines()) == 1
    code, _, _ = run(monkeypatch, capsys, li, "users", "disable", db, "wang")
    assert code == 0
    code, _, err = run(monkeypatch, capsys, {"POVDESK_USER": "wang", "POVDESK_PASSWORD": "wang5678"},
                       "users", "list", db)
    assert code == 2 and "disabled" in err


@pytest.mark.parametrize("region, words", [
    ("52263410020", "digits"),
    ("999999", "province"),
    ("522699", "county"),
    ("abc", "digits"),
])
def test_init_refuses_bad_regions(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                  tmp_path: Path, region: str, words: str) -> None:
    code, _, err = run(monkeypatch, capsys, ADMIN, "init", str(tmp_path / "x.db"), "--region", region, "--name", "x")
    assert code == 2 and words in err and not (tmp_path / "x.db").exists()


def test_wrong_password_is_one_line_exit_2(demo_db: Path, tmp_path: Path) -> None:
    result = run_process({"POVDESK_USER": "worker", "POVDESK_PASSWORD": "nope"}, "validate", str(demo_db),
                         cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "password" in result.stderr


def test_usage_error_is_one_line(tmp_path: Path) -> None:
    result = run_process({}, "validate", "--colour", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_a_malformed_today_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_process(WORKER, "--today", "2026-13-01", "validate", str(tmp_path / "x.db"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["povdesk: --today must be a date as YYYY-MM-DD, not '2026-13-01'"]


def test_today_decides_what_the_rules_see(demo_db: Path, tmp_path: Path) -> None:
    """A member born after the day taken as today is a finding; on a later day the same data is fine."""
    from povdesk.store import Workspace

    ws = Workspace.open(demo_db, readonly=True)
    youngest = max(str(m.fields["birth_date"]) for hh in ws.iter_households() for m in hh.members)
    ws.close()
    before = run_process(WORKER, "--today", "2000-01-01", "validate", str(demo_db), "--json", cwd=tmp_path)
    after = run_process(WORKER, "--today", youngest, "validate", str(demo_db), "--json", cwd=tmp_path)
    count = lambda r: len(json.loads(r.stdout)["findings"])  # noqa: E731
    assert count(before) > count(after), (youngest, before.stderr)


def test_validate_finds_exactly_the_planted_mistakes(demo_db: Path, tmp_path: Path) -> None:
    from povdesk.core.demo import generate, plant_mistakes
    from povdesk.store import Workspace

    result = run_process(WORKER, "validate", str(demo_db), "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    found = {(f["rule"], f["household_id"], f["member_id"]) for f in report["findings"]}
    ws = Workspace.open(demo_db, readonly=True)
    region = ws.region_code
    ws.close()
    households = generate(region, count=120, seed=7, today=TODAY)
    planted = {(m.rule, m.household_id, m.member_id) for m in plant_mistakes(households, seed=7)}
    assert found == planted
    assert report["summary"]["households_checked"] == 120


def test_export_import_round_trip(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    result = run_process(WORKER, "export-json", str(demo_db), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 120
    # a county workspace imports the village's file
    county = tmp_path / "county.db"
    assert run_process({}, "demo", str(county), "--households", "1", "--region", "522634", cwd=tmp_path).returncode == 0
    result = run_process(COUNTY, "import-json", str(county), str(out), "--json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["summary"]["imported"] == 120 and report["summary"]["rejected"] == 0
    assert result.returncode == 1  # the planted mistakes come along and are reported
    again = tmp_path / "again.jsonl"
    assert run_process(COUNTY, "export-json", str(county), "-o", str(again), cwd=tmp_path).returncode == 0
    by_id = {json.loads(x)["id"]: json.loads(x) for x in again.read_text(encoding="utf-8").splitlines()}
    for line in lines:
        original = json.loads(line)
        copy = by_id[original["id"]]
        assert copy["members"] == original["members"] and copy["fields"] == original["fields"]
        assert copy["events"] == original["events"] and copy["years"] == original["years"]


def test_import_refuses_a_malformed_file_and_writes_nothing(demo_db: Path, tmp_path: Path) -> None:
    db = copy_db(demo_db, tmp_path / "w.db")
    before = db.read_bytes()
    out = tmp_path / "all.jsonl"
    assert run_process(WORKER, "export-json", str(db), "-o", str(out), cwd=tmp_path).returncode == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5][:-20]  # truncated line
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_process(WORKER, "import-json", str(db), str(out), cwd=tmp_path)
    assert result.returncode == 2 and "all.jsonl:6" in result.stderr and "not valid JSON" in result.stderr
    assert db.read_bytes() == before


def test_import_rejects_a_status_without_its_procedure(demo_db: Path, tmp_path: Path) -> None:
    db = copy_db(demo_db, tmp_path / "w.db")
    out = tmp_path / "one.jsonl"
    assert run_process(WORKER, "export-json", str(db), "-o", str(out), cwd=tmp_path).returncode == 0
    record = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    record["status"] = "exited" if record["status"] != "exited" else "registered"
    record["version"] += 1
    out.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    result = run_process(WORKER, "import-json", str(db), str(out), "--json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["summary"]["rejected"] == 1
    assert "procedure history" in report["households"][0]["reasons"][0]["en"]


def test_unknown_code_and_impossible_date_reported_with_place(demo_db: Path, tmp_path: Path) -> None:
    db = copy_db(demo_db, tmp_path / "w.db")
    out = tmp_path / "one.jsonl"
    assert run_process(WORKER, "export-json", str(db), "-o", str(out), cwd=tmp_path).returncode == 0
    record = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    record["fields"]["road_type"] = "9"
    record["members"][0]["fields"]["birth_date"] = "1970-02-30"
    out.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    result = run_process(WORKER, "import-json", str(db), str(out), cwd=tmp_path)
    assert result.returncode == 1
    assert "one.jsonl:1\tF-CODE\tRoad to the house: '9' is not a known code" in result.stdout
    assert "one.jsonl:1\tF-TYPE\tDate of birth: not a valid date (1970-02-30)" in result.stdout


def test_missing_newer_and_foreign_workspaces(tmp_path: Path, demo_db: Path) -> None:
    result = run_process(WORKER, "validate", str(tmp_path / "none.db"), cwd=tmp_path)
    assert result.returncode == 2 and "none.db" in result.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    result = run_process(WORKER, "validate", str(junk), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    newer = copy_db(demo_db, tmp_path / "newer.db")
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 999")
    result = run_process(WORKER, "validate", str(newer), cwd=tmp_path)
    assert result.returncode == 2 and "newer" in result.stderr


def test_procedure_step_refused_then_performed(demo_db: Path, tmp_path: Path) -> None:
    from povdesk.store import Workspace

    db = copy_db(demo_db, tmp_path / "w.db")
    ws = Workspace.open(db, readonly=True)
    hh = next(h for h in ws.iter_households() if h.status == "applicant" and h.events
              and h.events[-1].step == "first_publicity")
    ws.close()
    last = hh.events[-1].evidence["end_date"]
    args = ("step", str(db), hh.household_no, "identification", "township_review", "--date", "2021-12-01",
            "--set", "opinion=同意")
    result = run_process(WORKER, *args, cwd=tmp_path)  # a village worker may not review for the township
    assert result.returncode == 1 and "township" in result.stderr.lower()
    township = {"POVDESK_USER": "township", "POVDESK_PASSWORD": DEMO_PASSWORD}
    early = list(args)
    early[6] = last  # on the last day of the publicity: too early
    result = run_process(township, *early, cwd=tmp_path)
    assert result.returncode == 1 and "after" in result.stderr
    result = run_process(township, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_process(township, "history", str(db), hh.household_no, cwd=tmp_path)
    assert "township" in result.stdout and "next:" in result.stdout


def test_a_monitoring_step_from_the_command_line(demo_db: Path, tmp_path: Path) -> None:
    """The step command takes every procedure the data defines, the monitoring ones included; an
    unknown one is refused naming those defined."""
    from povdesk.core.procedures import next_steps
    from povdesk.store import Workspace

    db = copy_db(demo_db, tmp_path / "w.db")
    ws = Workspace.open(db, readonly=True)
    hh = next((h for h in ws.iter_households()
               if ("monitoring_identification", "discovery") in [(p.key, s.key) for p, s in next_steps(h)]), None)
    ws.close()
    assert hh is not None, "the demo village holds households out of poverty at every monitoring step"
    result = run_process(WORKER, "step", str(db), hh.household_no, "monitoring_identification", "discovery",
                         "--date", TODAY.isoformat(), "--set", "channel=1", "--set", "risks=01", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    history = run_process(WORKER, "history", str(db), hh.household_no, cwd=tmp_path).stdout
    assert "Identification for monitoring" in history and "next:" in history
    wrong = run_process(WORKER, "step", str(db), hh.household_no, "no_such_procedure", "x", "--date",
                        TODAY.isoformat(), cwd=tmp_path)
    assert wrong.returncode in (1, 2) and "monitoring_identification" in wrong.stderr


def test_audit_detects_tampering(demo_db: Path, tmp_path: Path) -> None:
    db = copy_db(demo_db, tmp_path / "w.db")
    assert run_process(ADMIN, "audit", str(db), cwd=tmp_path).returncode == 0
    with sqlite3.connect(db) as conn:
        # The append-only triggers stop careless tools; a determined editor drops them first.
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET user = 'someone' WHERE seq = (SELECT min(seq) FROM audit)")
    result = run_process(ADMIN, "audit", str(db), "--json", cwd=tmp_path)
    assert result.returncode == 1 and not json.loads(result.stdout)["ok"]


def test_search_by_pinyin_initials(demo_db: Path, tmp_path: Path) -> None:
    from pypinyin import Style, lazy_pinyin

    from povdesk.store import Workspace

    ws = Workspace.open(demo_db, readonly=True)
    hh = next(ws.iter_households())
    ws.close()
    name = hh.members[0].name
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))
    result = run_process(WORKER, "search", str(demo_db), initials, "--json", "--limit", "500", cwd=tmp_path)
    assert result.returncode == 0
    assert hh.household_no in {r["household_no"] for r in json.loads(result.stdout)}


def test_default_workspace_is_used_without_a_db_argument(tmp_path: Path) -> None:
    result = run_process({}, "demo", "--households", "5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "workspace.db").exists()
    result = run_process(WORKER, "validate", cwd=tmp_path)
    assert result.returncode in (0, 1) and "checked 5 households" in result.stdout


def test_rules_listing() -> None:
    result = subprocess.run([sys.executable, "-m", "povdesk", "rules", "--json"], capture_output=True, text=True)
    rules = json.loads(result.stdout)
    assert {"id": "HH-HEAD", "reach": "household", "severity": "error"}.items() <= rules[
        [r["id"] for r in rules].index("HH-HEAD")].items()
    by_id = {r["id"]: r for r in rules}
    assert by_id["HH-HEAD"]["blocks"] == ["*"] and "removal" not in by_id["EXCLUSION"]["blocks"]


def test_import_json_killed_midway_is_all_or_nothing(tmp_path: Path) -> None:
    """SIGKILL once the import has written batches to the journal (its WAL grows): the workspace
    holds nothing of the file and is intact; run again to the end, it holds every household."""
    import signal
    import time

    from povdesk.core.demo import generate
    from povdesk.core.exchange import write_jsonl

    db = tmp_path / "county.db"
    made = run_process(ADMIN, "init", str(db), "--region", "522634", "--name", "雷山县", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    added = run_process({**ADMIN, "POVDESK_NEW_PASSWORD": DEMO_PASSWORD}, "users", "add", str(db), "county",
                        "--role", "county_coordinator", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    src = tmp_path / "county.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        write_jsonl(generate("522634", count=6000, seed=8, today=TODAY), fh)
    env = dict(os.environ, POVDESK_LANG="en", POVDESK_DATA_DIR=str(tmp_path / "data"), **COUNTY)
    wal = Path(f"{db}-wal")
    proc = subprocess.Popen([sys.executable, "-m", "povdesk", "--today", TODAY.isoformat(), "import-json", str(db),
                             str(src)], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > 8_000_000:  # a few batches written, not committed
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the import ended before it could be killed midway"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    from povdesk.store import Workspace

    # `init` made an encrypted workspace: it is read back through povdesk, with the password.
    ws = Workspace.open(db, readonly=True)
    try:
        ws.authenticate("county", DEMO_PASSWORD)
        assert ws.encrypted and ws.check_integrity() == []
        assert ws.count_households() == 0 and ws.last_outbox_seq() == 0
    finally:
        ws.close()
    result = run_process(COUNTY, "import-json", str(db), str(src), "--json", cwd=tmp_path)
    assert json.loads(result.stdout)["summary"]["imported"] == 6000, result.stderr[-500:]


def test_import_json_with_a_worker_process_reports_what_one_process_does(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    assert run_process(WORKER, "export-json", str(demo_db), "-o", str(out), cwd=tmp_path).returncode == 0
    reports = []
    for workers in ("0", "1"):
        db = tmp_path / f"w{workers}.db"
        made = run_process(ADMIN, "init", str(db), "--region", "522634", "--name", "雷山县", cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        assert run_process({**ADMIN, "POVDESK_NEW_PASSWORD": DEMO_PASSWORD}, "users", "add", str(db), "county",
                           "--role", "county_coordinator", cwd=tmp_path).returncode == 0
        result = run_process(COUNTY, "import-json", str(db), str(out), "--json", "--workers", workers, cwd=tmp_path)
        assert result.returncode in (0, 1), result.stderr
        reports.append(json.loads(result.stdout))
    assert reports[0]["households"] == reports[1]["households"] and reports[0]["summary"] == reports[1]["summary"]
    assert reports[0]["summary"]["imported"] == 120
    bad = run_process(COUNTY, "import-json", str(tmp_path / "w0.db"), str(out), "--workers", "x", cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_demo_refuses_a_real_workspace_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "real.db"
    made = run_process(ADMIN, "init", str(db), "--region", "522634100201", "--name", "东门村", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    before = db.read_bytes()
    result = run_process(ADMIN, "demo", str(db), cwd=tmp_path)
    assert result.returncode == 2 and "not a demo workspace" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert db.read_bytes() == before
    county = run_process({**ADMIN, "POVDESK_NEW_PASSWORD": "secret-pw"}, "users", "add", str(db), "boss",
                         "--role", "county_coordinator", cwd=tmp_path)
    assert county.returncode == 2 and "cannot hold a 'County coordinator' account" in county.stderr
