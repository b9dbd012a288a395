"""The procedure panel as workers and officials use it: refusals with every reason, then the legal step."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from povdesk.core.model import Household
from povdesk.store import User, Workspace
from povdesk.ui.procedure_panel import ProcedurePanel
from tests.ui.conftest import (
    TODAY,
    activate,
    days_after_last_event,
    focused,
    household_at,
    login,
    press,
    type_text,
)

TAB = Qt.Key.Key_Tab


def applicant_before_first_publicity(ws: Workspace) -> Household:
    return household_at(ws, "identification", "first_publicity")


def make_panel(qtbot: QtBot, ws: Workspace, user: User, hh: Household) -> ProcedurePanel:
    panel = ProcedurePanel(ws, user, lang="en")
    qtbot.addWidget(panel)
    activate(qtbot, panel)
    panel.set_household(hh)
    return panel


def choose(qtbot: QtBot, panel: ProcedurePanel, procedure: str, step: str) -> None:
    button = panel.findChild(QPushButton, f"step_{procedure}_{step}")
    assert button is not None and button.isVisible(), panel.next_step_keys()
    qtbot.waitUntil(lambda: not button.visibleRegion().isEmpty())  # laid out, so a click lands on it
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert focused() is panel.date_edit


def fill(panel: ProcedurePanel, day: str, evidence: list[tuple[str, str]]) -> None:
    """Type the step's date, then each evidence field in form order (Tab between them)."""
    press(Qt.Key.Key_End)
    for _ in range(12):
        press(Qt.Key.Key_Backspace)
    type_text(day)
    press(Qt.Key.Key_Return)
    assert panel.evidence is not None
    for key, text in evidence:
        while focused() is not panel.evidence.widget(key):
            press(TAB)
        type_text(text)


def publicity(first: str, last: str) -> list[tuple[str, str]]:
    return [("start_date", first), ("end_date", last), ("objections", "0"), ("objections_resolved", "0"),
            ("posted_at", "村委会公示栏")]


def test_short_publicity_refused_then_recorded(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    hh = applicant_before_first_publicity(ws)
    events_before = len(hh.events)
    panel = make_panel(qtbot, ws, worker, hh)
    assert panel.timeline.topLevelItemCount() == events_before

    # Dates follow the household's own last step: three days of publicity, recorded the day after.
    day = days_after_last_event(hh)
    choose(qtbot, panel, "identification", "first_publicity")
    fill(panel, day(4), publicity(day(1), day(3)))
    qtbot.mouseClick(panel.perform_button, Qt.MouseButton.LeftButton)
    reasons = panel.reason_texts()
    assert panel.reasons.isVisible()
    assert any("lasted 3 days" in r and "at least 7 days" in r for r in reasons), reasons
    assert panel.timeline.topLevelItemCount() == events_before
    assert len(ws.load_household(hh.id).events) == events_before

    # The same form, corrected: a full week, recorded the day after it ended.
    panel.evidence.focus_field("end_date")  # type: ignore[union-attr]
    type_text(day(7))
    panel.date_edit.setFocus()
    panel.date_edit.selectAll()
    type_text(day(8))
    with qtbot.waitSignal(panel.performed):
        qtbot.mouseClick(panel.perform_button, Qt.MouseButton.LeftButton)
    assert panel.timeline.topLevelItemCount() == events_before + 1
    last = panel.timeline.topLevelItem(events_before)
    assert last.text(0) == day(8) and "First publicity" in last.text(1) and "worker" in last.text(2)
    stored = ws.load_household(hh.id)
    assert [e.step for e in stored.events][-1] == "first_publicity"
    assert panel.next_step_keys() == [("identification", "township_review")]


def test_a_new_step_defaults_to_the_workspace_today(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    panel = make_panel(qtbot, ws, worker, applicant_before_first_publicity(ws))
    choose(qtbot, panel, "identification", "first_publicity")
    assert panel.date_edit.text() == TODAY.isoformat()


def test_roles_that_may_not_act_are_refused(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    hh = applicant_before_first_publicity(ws)
    day = days_after_last_event(hh)
    panel = make_panel(qtbot, ws, worker, hh)
    choose(qtbot, panel, "identification", "first_publicity")
    fill(panel, day(8), publicity(day(1), day(7)))
    assert panel.perform(), panel.reason_texts()

    # A village worker may not do the township's review, and is told who may.
    choose(qtbot, panel, "identification", "township_review")
    fill(panel, day(9), [("opinion", "同意")])
    qtbot.mouseClick(panel.perform_button, Qt.MouseButton.LeftButton)
    reasons = panel.reason_texts()
    assert any("Village worker" in r and "Township official" in r for r in reasons), reasons

    panel.close()  # the worker signs off, the township official signs in
    township = login(ws, "township")
    hh = ws.load_household(hh.id)
    official = make_panel(qtbot, ws, township, hh)
    choose(qtbot, official, "identification", "township_review")
    fill(official, day(9), [("opinion", "同意")])
    assert official.perform(), official.reason_texts()
    choose(qtbot, official, "identification", "second_publicity")
    fill(official, day(18), publicity(day(10), day(17)))
    assert official.perform(), official.reason_texts()

    # County approval: refused for the village worker, with the dates and evidence otherwise fine.
    hh = ws.load_household(hh.id)
    official.close()
    panel = make_panel(qtbot, ws, worker, hh)
    choose(qtbot, panel, "identification", "county_approval")
    fill(panel, day(20), [("document_no", "雷扶〔2020〕12号")])
    qtbot.mouseClick(panel.perform_button, Qt.MouseButton.LeftButton)
    reasons = panel.reason_texts()
    assert len(reasons) == 1 and "may not perform" in reasons[0] and "County coordinator" in reasons[0]
    assert len(ws.load_household(hh.id).events) == len(hh.events)

    panel.close()
    county = login(ws, "county")
    approver = make_panel(qtbot, ws, county, ws.load_household(hh.id))
    before = approver.timeline.topLevelItemCount()
    choose(qtbot, approver, "identification", "county_approval")
    fill(approver, day(20), [("document_no", "雷扶〔2020〕12号")])
    qtbot.mouseClick(approver.perform_button, Qt.MouseButton.LeftButton)
    assert approver.reason_texts() == []
    assert approver.timeline.topLevelItemCount() == before + 1
    assert approver.next_step_keys() == [("identification", "announcement")]


def test_unsaved_household_cannot_take_a_step(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    hh = applicant_before_first_publicity(ws)
    panel = make_panel(qtbot, ws, worker, hh)
    panel.set_household(hh, unsaved=True)
    assert panel.notice.isVisible() and "unsaved" in panel.notice.text()
    button = panel.findChild(QPushButton, "step_identification_first_publicity")
    assert button is not None and not button.isEnabled()
    panel.set_unsaved(False)
    assert button.isEnabled() and not panel.notice.isVisible()
