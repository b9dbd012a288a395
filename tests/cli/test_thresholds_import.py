"""A province loads its own monitoring thresholds and time limit without code changes: a made-up
table for Guizhou (52) turns "no line for 2025" into a judged income, and a county's time limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from povdesk.cli import main
from povdesk.core.demo import DEMO_PASSWORD
from povdesk.core.model import YearRecord
from povdesk.core.rules import validate_household
from povdesk.store import Workspace
from povdesk.store.thresholds import rule_context, workspace_thresholds
from tests.cli.test_monitoring_flow import ordinary_household
from tests.factories import TODAY

TABLE = """
[[thresholds]]
region = "52"
year = 2026
basis = "fixed"
amount = 7000
document_no = "黔乡振发〔2026〕1号（示例）"
source = "a made-up province notice for the test"
verified = false

[[time_limits]]
region = "522634"
days = 10
day_kind = "calendar"
"""


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], user: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setenv("POVDESK_LANG", "en")
    monkeypatch.setenv("POVDESK_USER", user)
    monkeypatch.setenv("POVDESK_PASSWORD", DEMO_PASSWORD)
    code = main(["--today", TODAY.isoformat(), *argv])
    out, err = capsys.readouterr()
    return code, out + err


def test_a_made_up_province_table_is_imported_and_judges_incomes(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("POVDESK_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "village.db"
    assert run(monkeypatch, capsys, "admin", "demo", str(db), "--households", "10", "--seed", "3")[0] == 0
    hh = ordinary_household()
    hh.fields.update(monitoring_month="202501", elimination_month="202602", risk_eliminated=True,
                     elimination_mode="1")  # eliminated with assistance, judged on the 2025 income
    hh.years[2025] = YearRecord(2025, income={"wage_income": 16000.0, "compliant_expenses": 3000.0})

    ws = Workspace.open(db, readonly=True)
    before = {f.rule for f in validate_household(hh, rule_context(ws))}
    ws.close()
    assert "MON-NO-LINE" in before and "MON-ASSISTED-BELOW" not in before

    bad = tmp_path / "bad.toml"
    bad.write_text(TABLE.replace('basis = "fixed"', 'basis = "guess"'), encoding="utf-8")
    code, text = run(monkeypatch, capsys, "admin", "thresholds", "import", str(db), str(bad))
    assert code == 2 and "bad.toml" in text and "basis" in text and "Traceback" not in text
    code, text = run(monkeypatch, capsys, "worker", "thresholds", "import", str(db), str(bad))
    assert code != 0

    good = tmp_path / "guizhou-2026.toml"
    good.write_text(TABLE, encoding="utf-8")
    code, text = run(monkeypatch, capsys, "admin", "thresholds", "import", str(db), str(good))
    assert code == 0 and "1 thresholds, 1 time limits" in text
    code, text = run(monkeypatch, capsys, "worker", "thresholds", "show", str(db), "--json")
    shown = json.loads(text)
    assert shown["time_limit"]["days"] == 10
    assert {"region": "52", "year": 2026, "amount": 7000.0} .items() <= shown["thresholds"][-1].items()

    ws = Workspace.open(db, readonly=True)
    table = workspace_thresholds(ws)
    after = {f.rule for f in validate_household(hh, rule_context(ws))}
    ws.close()
    assert table.time_limit("522634100201").days == 10
    assert "MON-NO-LINE" not in after and "MON-ASSISTED-BELOW" in after  # 4,000 a head is not above 7,000

    # A worker process of the import pipeline, given only the workspace's kept table, judges alike.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from povdesk.core.importing import decide_lines
    from povdesk.store.thresholds import imported_text
    from povdesk.sync.service import decide_as_new

    ws = Workspace.open(db, readonly=True)
    kept = imported_text(ws)
    ws.close()
    line = json.dumps(hh.to_dict(), ensure_ascii=False).encode()
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        judged, bundled = pool.submit(decide_lines, [line], TODAY, None, kept).result(), \
            pool.submit(decide_lines, [line], TODAY).result()
        # and so does the worker of a bundle import at the county
        from_bundle = pool.submit(decide_as_new, [line.decode()], TODAY, 1, kept).result()
    assert from_bundle[0] is not None and "MON-ASSISTED-BELOW" in {f["rule"] for f in from_bundle[0][1]}
    assert judged[0] is not None and bundled[0] is not None
    assert {f["rule"] for f in judged[0][1]} >= {"MON-ASSISTED-BELOW"} and \
        "MON-NO-LINE" not in {f["rule"] for f in judged[0][1]}
    assert "MON-NO-LINE" in {f["rule"] for f in bundled[0][1]}
