"""An 边缘易致贫户 in 2026, in the app: the village worker, the township and the county each record their
steps of the monitoring identification in the procedure panel, typing dates and evidence key by key,
then those of its risk elimination; the dashboard counts the household at each stage."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from povdesk.core.monitoring import monitoring_state
from povdesk.core.procedures import load_procedures
from povdesk.store import User, Workspace
from povdesk.ui.dashboard import Dashboard
from tests.cli.test_monitoring_flow import ordinary_household
from tests.ui.conftest import DEMO_REGION, TODAY, focused, press, type_text
from tests.ui.test_procedure_panel import choose, make_panel

TAB = Qt.Key.Key_Tab
# What a worker types into each evidence field, by key (a code typed into a check list picks the item
# starting with it, Space ticks it); fields not named are left empty.
TYPED = {"channel": "1", "risks": "01", "object_type": "1", "mode": "1", "promise_signed": "y",
         "income_stable": "y", "guarantees_secure": "y", "verifiers": "2", "verifier_names": "王明、李芳",
         "findings": "家中有人患大病，医疗支出大", "compared_with": "医保、民政", "result": "一致",
         "representatives_total": "20", "representatives_present": "18", "votes_for": "16", "votes_against": "1",
         "objections": "0", "objections_resolved": "0", "posted_at": "村委会公示栏", "opinion": "同意",
         "document_no": "雷监〔2026〕3号"}
CHECK_LISTS = {"channel", "risks", "object_type", "mode"}


def record(qtbot: QtBot, ws: Workspace, user: User, household_id: str, procedure: str, step: str,
           day: dt.date) -> None:
    """One step as its user records it: the step's button, the date typed, every evidence field
    reached by Tab and typed, publicity dates the procedure's minimum ending the day before."""
    panel = make_panel(qtbot, ws, user, ws.load_household(household_id))
    spec = load_procedures()[procedure]
    st = spec.step(step)
    assert st is not None
    choose(qtbot, panel, procedure, step)
    press(Qt.Key.Key_End)
    for _ in range(12):
        press(Qt.Key.Key_Backspace)
    type_text(day.isoformat())
    press(Qt.Key.Key_Return)
    assert panel.evidence is not None
    typed = dict(TYPED)
    if st.kind == "publicity":
        typed["start_date"] = (day - dt.timedelta(days=spec.publicity_days)).isoformat()
        typed["end_date"] = (day - dt.timedelta(days=1)).isoformat()
    for f in st.evidence:
        if f.key not in typed:
            continue
        for _ in range(40):
            if focused() is panel.evidence.widget(f.key):
                break
            press(TAB)
        assert focused() is panel.evidence.widget(f.key), f.key
        type_text(typed[f.key])
        if f.key in CHECK_LISTS:
            press(Qt.Key.Key_Space)
    with qtbot.waitSignal(panel.performed, timeout=5000):
        qtbot.mouseClick(panel.perform_button, Qt.MouseButton.LeftButton)
    assert not panel.reasons.isVisible(), panel.reason_texts()
    panel.close()


def walk(qtbot: QtBot, ws: Workspace, users: dict[str, User], household_id: str, procedure: str,
         start: dt.date) -> dt.date:
    day = start
    for st in load_procedures()[procedure].steps:
        if st.kind == "publicity":
            day += dt.timedelta(days=load_procedures()[procedure].publicity_days)
        record(qtbot, ws, users[st.level], household_id, procedure, st.key, day)
        day += dt.timedelta(days=1)
    return day


def test_an_edge_household_from_its_self_report_to_risk_eliminated_in_the_app(
        qtbot: QtBot, ws: Workspace, worker: User, township: User, county: User) -> None:
    users = {"village": worker, "township": township, "county": county}
    hh = ordinary_household()
    hh.village_code = DEMO_REGION
    for key in ("monitoring_type", "monitoring_risks", "discovery_channel", "monitoring_month"):
        hh.fields.pop(key)  # a self-report: the monitoring section is filled by the steps
    saved = ws.save_household(hh, worker)
    dashboard = Dashboard(ws, lang="zh")
    qtbot.addWidget(dashboard)
    dashboard.show_region(DEMO_REGION, "东门村")
    before = dashboard.monitoring
    assert before is not None

    end = walk(qtbot, ws, users, saved.id, "monitoring_identification_general", dt.date(2026, 1, 5))
    assert end <= dt.date(2026, 1, 5) + dt.timedelta(days=20)
    identified = ws.load_household(saved.id)
    assert monitoring_state(identified) == "monitored"
    decision = next(e for e in identified.events if e.step == "county_decision")
    assert decision.role == "county_coordinator" and decision.evidence["object_type"] == ["1"]
    dashboard.show_region(DEMO_REGION, "东门村")
    assert dashboard.monitoring.by_state.get("monitored", 0) == before.by_state.get("monitored", 0) + 1
    assert "监测中" in dashboard.monitoring_label.text()

    end = walk(qtbot, ws, users, saved.id, "risk_elimination_general", dt.date(2026, 5, 4))
    assert end <= TODAY  # every step on or before the workspace's today
    eliminated = ws.load_household(saved.id)
    assert monitoring_state(eliminated) == "eliminated" and eliminated.status == "not_identified"
    dashboard.show_region(DEMO_REGION, "东门村")
    after = dashboard.monitoring
    assert after.by_state.get("eliminated", 0) == before.by_state.get("eliminated", 0) + 1
    assert after.by_state.get("monitored", 0) == before.by_state.get("monitored", 0)
    assert after.by_mode.get("1", 0) == before.by_mode.get("1", 0) + 1
