"""Voiding a mistaken step from the procedure panel, as a village worker would: the step chosen in the
history, the Void button, the reason typed in the dialog; the store gets the void mark (the same as
`povdesk step void`), the step stays in the history struck through with who, when and why, and the
status is derived again. A role below the one that recorded the step is refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QTreeWidgetItem
from pytestqt.qtbot import QtBot

from povdesk.core.model import STATUS_LABELS
from povdesk.core.procedures import history, is_void
from povdesk.store import User, Workspace
from povdesk.ui.editor import TAB_PROCEDURE
from povdesk.ui.main_window import MainWindow
from povdesk.ui.models import STATUS_COLUMN
from povdesk.ui.procedure_panel import VOID_COLUMN, ProcedurePanel, VoidStepDialog
from tests.ui.conftest import TODAY, activate, days_after_last_event, household_at, press, type_text
from tests.ui.test_procedure_panel import choose, fill, make_panel
from tests.ui.test_qt_dialogs import chinese  # noqa: F401  (the fixture, used by name)

LEFT = Qt.MouseButton.LeftButton


def row_item(panel: ProcedurePanel, row: int) -> QTreeWidgetItem:
    item = panel.timeline.topLevelItem(row)
    assert item is not None, f"the history has no row {row}"
    return item


def click_row(qtbot: QtBot, panel: ProcedurePanel, row: int) -> None:
    item = row_item(panel, row)
    panel.timeline.scrollToItem(item)
    rect = panel.timeline.visualItemRect(item)
    qtbot.mouseClick(panel.timeline.viewport(), LEFT, pos=rect.center())
    assert panel.timeline.currentItem() is item


def open_void_dialog(qtbot: QtBot, panel: ProcedurePanel) -> VoidStepDialog:
    """Click Void: the dialog asking the reason opens and gets the keyboard."""
    assert panel.void_button.isEnabled()
    qtbot.mouseClick(panel.void_button, LEFT)
    qtbot.waitUntil(lambda: panel.void_dialog is not None and panel.void_dialog.isVisible())
    dialog = panel.void_dialog
    assert dialog is not None and dialog.isModal()

    def active() -> bool:
        if QApplication.activeWindow() is not dialog:
            dialog.activateWindow()  # offscreen there is no window manager to do it
            return False
        return True

    qtbot.waitUntil(active)
    assert QApplication.focusWidget() is dialog.reason_edit
    return dialog


def void_with_reason(qtbot: QtBot, panel: ProcedurePanel, reason: str) -> None:
    dialog = open_void_dialog(qtbot, panel)
    assert not dialog.void_button.isEnabled()  # a reason is required
    type_text("   ")
    assert not dialog.void_button.isEnabled()  # blanks are no reason
    press(Qt.Key.Key_Home)
    type_text(reason)  # key by key, Chinese too
    assert dialog.void_button.isEnabled()
    qtbot.mouseClick(dialog.void_button, LEFT)
    qtbot.waitUntil(lambda: panel.void_dialog is None)


def status_text(status: str) -> str:
    return f"Status: {STATUS_LABELS[status][1]}"


def test_a_lost_vote_recorded_by_mistake_is_voided_and_the_status_derived_again(
        qtbot: QtBot, ws: Workspace, worker: User) -> None:
    hh = household_at(ws, "identification", "appraisal")
    assert hh.status == "applicant"
    day = days_after_last_event(hh)
    panel = make_panel(qtbot, ws, worker, hh)
    events_before = len(hh.events)

    # The appraisal typed in with the votes the wrong way round: lost, the household not identified.
    choose(qtbot, panel, "identification", "appraisal")
    fill(panel, day(2), [("representatives_total", "10"), ("representatives_present", "9"),
                         ("votes_for", "2"), ("votes_against", "7"), ("minutes_ref", "村民代表会议记录2号")])
    with qtbot.waitSignal(panel.performed):
        qtbot.mouseClick(panel.perform_button, LEFT)
    assert ws.load_household(hh.id).status == "not_identified"
    assert panel.status_label.text() == status_text("not_identified")
    appraisal = panel.timeline.topLevelItemCount() - 1
    assert appraisal == events_before

    # Nothing chosen in the history: nothing to void.
    panel.timeline.setCurrentIndex(QModelIndex())
    assert not panel.void_button.isEnabled()

    # Cancel leaves everything as it was.
    click_row(qtbot, panel, appraisal)
    dialog = open_void_dialog(qtbot, panel)
    type_text("写错了")
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: panel.void_dialog is None)
    assert len(ws.load_household(hh.id).events) == events_before + 1
    assert not dialog.isVisible()

    panel.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel)
    click_row(qtbot, panel, appraisal)
    with qtbot.waitSignal(panel.performed) as done:
        void_with_reason(qtbot, panel, "赞成票和反对票填反了")
    assert done.args == [hh.id]

    # The store: a void mark naming the step, with the reason, who and when; the status derived again.
    stored = ws.load_household(hh.id)
    mark = stored.events[-1]
    voided = stored.events[-2]
    assert is_void(mark) and voided.step == "appraisal"
    assert mark.evidence == {"event": voided.id, "reason": "赞成票和反对票填反了"}
    assert mark.user == "worker" and mark.date == TODAY.isoformat()
    assert stored.status == "applicant"
    assert [e.voided is not None for e in history(stored)] == [False] * events_before + [True]

    # The panel: the step stays, struck through and marked, and the appraisal can be recorded again.
    assert panel.status_label.text() == status_text("applicant")
    assert panel.timeline.topLevelItemCount() == events_before + 1
    item = row_item(panel, appraisal)
    assert "(voided)" in item.text(1)
    assert item.font(1).strikeOut() and item.font(0).strikeOut() and not item.font(VOID_COLUMN).strikeOut()
    assert item.text(VOID_COLUMN) == (f"Voided {TODAY.isoformat()} by worker (Village worker): "
                                      "赞成票和反对票填反了")
    assert panel.next_step_keys() == [("identification", "appraisal")]
    click_row(qtbot, panel, appraisal)
    assert not panel.void_button.isEnabled()  # a voided step is not voided twice
    assert not panel.void_refusal.isVisible()


def test_a_step_of_a_higher_role_is_refused_with_the_reason(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    hh = household_at(ws, "identification", "second_publicity")  # the township reviewed it last
    assert hh.events[-1].step == "township_review" and hh.events[-1].role == "township_official"
    panel = make_panel(qtbot, ws, worker, hh)
    last = panel.timeline.topLevelItemCount() - 1
    click_row(qtbot, panel, last)
    void_with_reason(qtbot, panel, "审核意见录错")

    assert panel.void_refusal.isVisible()
    text = panel.void_refusal.text()
    assert "not voided" in text
    assert "'Village worker' cannot void a step recorded by a 'Township official'" in text
    stored = ws.load_household(hh.id)
    assert len(stored.events) == len(hh.events) and stored.version == hh.version
    item = row_item(panel, last)
    assert "(voided)" not in item.text(1) and not item.font(1).strikeOut()

    # The worker's own earlier step, from under the township's: refused too (the latest steps first).
    assert hh.events[-2].role == "village_worker"
    click_row(qtbot, panel, last - 1)
    void_with_reason(qtbot, panel, "公示日期录错")
    assert "void the later steps first" in panel.void_refusal.text()
    assert len(ws.load_household(hh.id).events) == len(hh.events)


@pytest.mark.usefixtures("chinese")
def test_in_chinese_the_voided_step_is_marked(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> None:
    hh = household_at(ws, "identification", "township_review")  # the worker's publicity is the last step
    panel = ProcedurePanel(ws, worker, lang="zh")
    qtbot.addWidget(panel)
    activate(qtbot, panel)
    panel.set_household(hh)
    last = panel.timeline.topLevelItemCount() - 1
    click_row(qtbot, panel, last)
    assert panel.void_button.text() == "作废此步骤(&V)…"
    dialog = open_void_dialog(qtbot, panel)
    assert dialog.windowTitle() == "作废步骤" and dialog.void_button.text() == "作废"
    type_text("公示时间录错")
    dialog.grab().save(str(tmp_path / "void-dialog.png"))
    with qtbot.waitSignal(panel.performed):
        qtbot.mouseClick(dialog.void_button, LEFT)
    item = row_item(panel, last)
    assert item.text(1).endswith("（已作废）") and item.font(1).strikeOut()
    assert item.text(VOID_COLUMN) == f"已作废：{TODAY.isoformat()} worker（村级工作人员）：公示时间录错"
    assert panel.timeline.headerItem().text(VOID_COLUMN) == "作废情况"
    assert panel.next_step_keys() == [("identification", "first_publicity")]
    panel.grab().save(str(tmp_path / "voided.png"))


def test_the_household_list_and_the_editor_follow_a_void(qtbot: QtBot, ws: Workspace, worker: User,
                                                         tmp_path: Path) -> None:
    window = MainWindow(ws, worker, data_dir=tmp_path, lang="en")
    qtbot.addWidget(window)
    activate(qtbot, window)
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: window.scan is not None and window.scan_job is None, timeout=30000)
    hh = household_at(ws, "identification", "appraisal")
    day = days_after_last_event(hh)
    window.table.setFocus()
    window.table.selectRow(window.model.row_of(hh.id))
    qtbot.waitUntil(lambda: window.editor.household is not None and window.editor.household.id == hh.id)
    window.editor.tabs.setCurrentIndex(TAB_PROCEDURE)
    panel = window.editor.procedure_panel
    choose(qtbot, panel, "identification", "appraisal")
    fill(panel, day(2), [("representatives_total", "10"), ("representatives_present", "9"),
                         ("votes_for", "2"), ("votes_against", "7"), ("minutes_ref", "会议记录3号")])

    def scrolled_to_record() -> bool:  # scrolled down to the Record button, as a person would
        panel.steps_area.ensureWidgetVisible(panel.perform_button)
        return not panel.perform_button.visibleRegion().isEmpty()

    qtbot.waitUntil(scrolled_to_record)
    qtbot.mouseClick(panel.perform_button, LEFT)
    assert panel.reason_texts() == []
    assert status_cell(window, hh.id) == STATUS_LABELS["not_identified"][1]

    click_row(qtbot, panel, panel.timeline.topLevelItemCount() - 1)
    void_with_reason(qtbot, panel, "票数填反")
    # No F5: the list row and the editor show the status derived again.
    assert status_cell(window, hh.id) == STATUS_LABELS["applicant"][1]
    assert window.editor.household is not None and window.editor.household.status == "applicant"
    assert window.editor.tabs.currentIndex() == TAB_PROCEDURE
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=30000)


def status_cell(window: MainWindow, household_id: str) -> str:
    row = window.model.row_of(household_id)
    return str(window.model.data(window.model.index(row, STATUS_COLUMN)))
