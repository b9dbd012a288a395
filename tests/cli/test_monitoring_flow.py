"""The monitoring of an ordinary household on the command line, as a village team, the township and the
county do it in 2026: an 边缘易致贫户 found through a self-report, identified, printed on the publicity
list and its card, counted, and its risk eliminated. Dates are fixed (tests.factories.TODAY)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from povdesk.cli import main
from povdesk.core.demo import DEMO_PASSWORD
from povdesk.core.model import Household
from povdesk.core.procedures import load_procedures
from povdesk.store import Workspace
from povdesk.store.summary import monitoring_summary
from tests.factories import TODAY, VILLAGE, valid_household

USERS = {"village_worker": "worker", "township_official": "township", "county_coordinator": "county"}
GOOD = {"representatives_total": 20, "representatives_present": 18, "votes_for": 16, "votes_against": 1,
        "objections": 0, "objections_resolved": 0}


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POVDESK_LANG", "en")
    monkeypatch.setenv("POVDESK_DATA_DIR", str(tmp_path / "data"))


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], user: str, *argv: str) -> str:
    monkeypatch.setenv("POVDESK_USER", user)
    monkeypatch.setenv("POVDESK_PASSWORD", DEMO_PASSWORD)
    code = main(["--today", TODAY.isoformat(), *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def ordinary_household() -> Household:
    """A household never registered (no attribute, cause or year of identification), met in 2026."""
    hh = valid_household("not_identified")
    hh.household_no = ""
    for key in ("standard", "attribute", "identification_year", "main_cause", "other_causes"):
        hh.fields.pop(key)
    hh.fields.update(household_kind="2", monitoring_type="1", monitoring_risks=["01"], discovery_channel="1",
                     monitoring_month="202601")
    hh.years[2025] = type(hh.years[2015])(2025, income={"wage_income": 21000.0, "business_income": 4000.0,
                                                         "business_costs": 1500.0, "compliant_expenses": 9000.0})
    return hh


def step_args(procedure: str, step: str, day: dt.date) -> list[str]:
    """The date and evidence of a step (a publicity of the procedure's own minimum, ending on `day`)."""
    spec = load_procedures()[procedure]
    st = spec.step(step)
    assert st is not None
    date = day
    values: dict[str, Any] = {}
    for f in st.evidence:
        if f.key in GOOD:
            values[f.key] = GOOD[f.key]
        elif f.kind == "multi_code":
            values[f.key] = {"channel": "1", "risks": "01", "object_type": "1", "mode": "1"}[f.key]
        elif f.kind == "yes_no":
            values[f.key] = "yes"
        elif f.kind == "integer" and f.required:
            values[f.key] = f.min or 0
        elif f.kind == "text" and f.required:
            values[f.key] = "已核实"
    if st.kind == "publicity":
        values["start_date"] = (day - dt.timedelta(days=spec.publicity_days - 1)).isoformat()
        values["end_date"] = day.isoformat()
        date = day + dt.timedelta(days=1)
    args = ["--date", date.isoformat()]
    for k, v in values.items():
        args += ["--set", f"{k}={v}"]
    return args


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_an_ordinary_household_from_a_self_report_to_risk_eliminated(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "village.db"
    run(monkeypatch, capsys, "admin", "demo", str(db), "--households", "30", "--seed", "3")
    before = Workspace.open(db, readonly=True)
    counted = monitoring_summary(before, VILLAGE, TODAY)
    before.close()

    lines = tmp_path / "new.jsonl"
    lines.write_text(json.dumps(ordinary_household().to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
    run(monkeypatch, capsys, "worker", "import-json", str(db), str(lines))
    ws = Workspace.open(db, readonly=True)
    (hh,) = [h for h in ws.iter_households() if h.fields.get("household_kind") == "2" and not h.events]
    ws.close()
    assert hh.status == "not_identified" and hh.household_no  # never an applicant; numbered
    no = hh.household_no
    monitoring = "monitoring_identification_general"
    assert "Identification for monitoring (ordinary rural household)" in run(
        monkeypatch, capsys, "worker", "history", str(db), no)

    # Identification: village steps in January, the township and the county within 15 days.
    day = dt.date(2026, 1, 5)
    steps = load_procedures()[monitoring].steps
    for st in steps:
        if st.key == "publicity":
            # The list is printed and posted before the publicity is recorded.
            pdf = tmp_path / "publicity.pdf"
            start = day.isoformat()
            run(monkeypatch, capsys, "worker", "publicity", str(db), "--step", f"{monitoring}.publicity",
                "-o", str(pdf), "--start", start, "--end", (day + dt.timedelta(days=4)).isoformat())
            text = pdf_text(pdf)
            assert hh.head_name in text and "边缘易致贫户" in text
            head_id = hh.members[0].id_number
            assert head_id not in text and head_id[:6] in text  # masked
            assert "因病" not in text and hh.fields["phone"] not in text
        if st.kind == "publicity":
            day += dt.timedelta(days=4)  # the list stays up 5 days; the step is recorded the day after
        out = run(monkeypatch, capsys, USERS[st.roles[-1] if st.level != "village" else "village_worker"],
                  "step", str(db), no, monitoring, st.key, *step_args(monitoring, st.key, day))
        assert "recorded" in out.lower() or out
        day += dt.timedelta(days=1)

    ws = Workspace.open(db, readonly=True)
    identified = ws.load_household(hh.id)
    after = monitoring_summary(ws, VILLAGE, TODAY)
    ws.close()
    assert identified.status == "not_identified"
    assert after.by_state.get("monitored", 0) == counted.by_state.get("monitored", 0) + 1
    assert after.by_type.get("1", 0) == counted.by_type.get("1", 0) + 1
    assert after.by_risk.get("01", 0) == counted.by_risk.get("01", 0) + 1

    cards = tmp_path / "card.pdf"
    run(monkeypatch, capsys, "worker", "cards", str(db), "--household", no, "-o", str(cards))
    card = pdf_text(cards)
    assert "边缘易致贫户" in card and "监测中" in card and "2025" in card
    assert "致贫原因" not in card and "贫困户属性" not in card

    # Risk elimination in May: the household leaves the monitored and joins the eliminated.
    elimination = "risk_elimination_general"
    day = dt.date(2026, 5, 4)
    for st in load_procedures()[elimination].steps:
        if st.kind == "publicity":
            day += dt.timedelta(days=4)
        user = USERS[st.roles[-1] if st.level != "village" else "village_worker"]
        run(monkeypatch, capsys, user, "step", str(db), no, elimination, st.key, *step_args(elimination, st.key, day))
        day += dt.timedelta(days=1)
    ws = Workspace.open(db, readonly=True)
    done = monitoring_summary(ws, VILLAGE, TODAY)
    ws.close()
    assert done.by_state.get("eliminated", 0) == counted.by_state.get("eliminated", 0) + 1
    assert done.by_state.get("monitored", 0) == counted.by_state.get("monitored", 0)
