"""povdesk void and povdesk restore: a household registered by mistake, voided with a reason, restored by the county."""

from __future__ import annotations

from pathlib import Path

from povdesk.core.demo import DEMO_PASSWORD
from tests.cli.test_cli import WORKER, run_process

COUNTY = {"POVDESK_USER": "county", "POVDESK_PASSWORD": DEMO_PASSWORD}


def test_void_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    assert run_process({}, "demo", str(db), "--households", "12", "--seed", "3", cwd=tmp_path).returncode == 0
    found = run_process(WORKER, "export-json", str(db), "-o", str(tmp_path / "all.jsonl"), cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    import json

    first = json.loads((tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()[0])
    no = first["household_no"]

    missing = run_process(WORKER, "void", str(db), no, cwd=tmp_path)
    assert missing.returncode == 2 and "--reason" in missing.stderr
    blank = run_process(WORKER, "void", str(db), no, "--reason", "  ", cwd=tmp_path)
    assert blank.returncode == 2 and "reason" in blank.stderr and len(blank.stderr.strip().splitlines()) == 1
    done = run_process(WORKER, "void", str(db), no, "--reason", "重复登记", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"voided: {no}" in done.stdout
    again = run_process(WORKER, "void", str(db), no, "--reason", "重复登记", cwd=tmp_path)
    assert again.returncode == 2 and "already voided" in again.stderr and "Traceback" not in again.stderr
    # left out of what validate checks and of the export
    run_process(WORKER, "export-json", str(db), "-o", str(tmp_path / "after.jsonl"), cwd=tmp_path)
    assert no not in (tmp_path / "after.jsonl").read_text(encoding="utf-8")
    # a village workspace cannot restore: the county decides
    refused = run_process(COUNTY, "restore", str(db), no, "--reason", "核实", cwd=tmp_path)
    assert refused.returncode == 2 and "county" in refused.stderr
