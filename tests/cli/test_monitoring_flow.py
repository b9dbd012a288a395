"""The monitoring of an ordinary household on the command line, as a village team, the township and the
county do it in 2026: an 边缘易致贫户 found through a self-report, identified, printed on the publicity
list and its card, counted, and its risk eliminated. Dates are fixed (tests.factories.TODAY)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
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

    # The report counts it: monitoring objects by type, identified and eliminated in 2026, by mode.
    report = tmp_path / "report.xlsx"
    run(monkeypatch, capsys, "county", "report", str(db), "-o", str(report), "--year", "2026")
    tables = report_tables(report)
    overview = dict(tables["防止返贫监测"])
    assert overview["风险已消除（户）"] == done.by_state.get("eliminated", 0)
    assert overview["2026年风险消除（户）"] >= 1 and overview["2026年纳入监测（户）"] >= 1
    assert overview["监测对象（户）"] == done.objects
    by_type = {row[0]: row[1:] for row in tables["按监测对象类型"]}
    assert by_type["边缘易致贫户"][0] == done.by_type["1"] and by_type["合计"][0] == done.objects
    assert dict(tables["风险已消除按消除方式"])["帮扶消除"] == done.by_mode.get("1", 0) >= 1

    # The register carries the monitoring section out and back: unchanged on re-import, an edit lands.
    register = tmp_path / "register.xlsx"
    run(monkeypatch, capsys, "worker", "export-xlsx", str(db), "-o", str(register))
    book = openpyxl.load_workbook(register)
    sheet = book["花名册"] if "花名册" in book.sheetnames else book.worksheets[0]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("户编号")].value == no)
    cell = {h: c for h, c in zip(header, row, strict=True)}
    assert cell["监测对象类别"].value == "边缘易致贫户" and "一般农户" in cell["农户类别"].value
    assert "因病" in str(cell["致贫返贫风险"].value) and cell["识别监测时间（年月）"].value == "202601"
    run(monkeypatch, capsys, "worker", "import-xlsx", str(db), str(register), "--yes")
    ws = Workspace.open(db, readonly=True)
    same = ws.load_household(hh.id)
    ws.close()
    assert same.fields["monitoring_risks"] == ["01"] and same.fields["household_kind"] == "2"
    cell["致贫返贫风险"].value = "因病、因残"
    book.save(register)
    run(monkeypatch, capsys, "worker", "import-xlsx", str(db), str(register), "--yes")
    ws = Workspace.open(db, readonly=True)
    edited = ws.load_household(hh.id)
    ws.close()
    assert edited.fields["monitoring_risks"] == ["01", "03"]
    assert edited.fields["monitoring_type"] == "1" and edited.fields.get("elimination_mode") == same.fields.get("elimination_mode")
    assert [e.id for e in edited.events] == [e.id for e in same.events]


def report_tables(path: Path) -> dict[str, list[list[Any]]]:
    """The 汇总 sheet's tables by title: a title cell alone on its row, a header row, data rows
    until a blank row."""
    rows = [[v for v in r if v is not None] for r in openpyxl.load_workbook(path)["汇总"].iter_rows(values_only=True)]
    out: dict[str, list[list[Any]]] = {}
    i = 0
    while i < len(rows) - 1:
        if len(rows[i]) == 1 and len(rows[i + 1]) >= 2:
            body = out.setdefault(str(rows[i][0]), [])
            i += 2  # the title and the header
            while i < len(rows) and rows[i]:
                body.append(rows[i])
                i += 1
        i += 1
    return out
