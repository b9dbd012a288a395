"""Keyboard on a village laptop: Tab walks the evidence, numbers have limits, tab keys and Esc work window-wide."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from povdesk.store import User, Workspace
from povdesk.ui.main_window import MainWindow
from povdesk.ui.procedure_panel import ProcedurePanel
from tests.ui.conftest import activate, focused, household_at, press, type_text

TAB = Qt.Key.Key_Tab
CTRL = Qt.KeyboardModifier.ControlModifier


def choose(qtbot: QtBot, panel: ProcedurePanel, procedure: str, step: str) -> None:
    button = panel.findChild(QPushButton, f"step_{procedure}_{step}")
    assert button is not None and button.isVisible(), panel.next_step_keys()
    qtbot.waitUntil(lambda: not button.visibleRegion().isEmpty())
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert focused() is panel.date_edit


def test_tab_from_the_step_date_walks_the_visible_evidence_fields_in_order(qtbot: QtBot, ws: Workspace,
                                                                          worker: User) -> None:
    panel = ProcedurePanel(ws, worker, lang="zh")
    qtbot.addWidget(panel)
    activate(qtbot, panel)
    panel.set_household(household_at(ws, "identification", "appraisal"))
    panel.set_household(household_at(ws, "identification", "appraisal"))  # shown twice: no stale stops
    choose(qtbot, panel, "identification", "appraisal")
    assert panel.evidence is not None
    visible = [k for k in panel.evidence.keys() if panel.evidence.widget(k).isVisible()]  # noqa: SIM118
    assert len(visible) >= 4
    walked = []
    for _ in visible:
        press(TAB)
        walked.append(next((k for k in visible if panel.evidence.widget(k) is focused()), repr(focused())))
    assert walked == visible
    press(TAB)
    assert focused() is panel.perform_button


def test_a_count_takes_four_digits_at_most(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    panel = ProcedurePanel(ws, worker, lang="zh")
    qtbot.addWidget(panel)
    activate(qtbot, panel)
    panel.set_household(household_at(ws, "identification", "appraisal"))
    choose(qtbot, panel, "identification", "appraisal")
    assert panel.evidence is not None
    present = panel.evidence.widget("representatives_present")
    assert isinstance(present, QLineEdit)
    panel.evidence.focus_field("representatives_present")
    type_text("202611")  # the step's month typed into the wrong field
    assert present.text() == "2026"
    assert panel.evidence.value("representatives_present") == 2026


def test_evidence_fields_are_wide_enough_to_read_in_the_main_window(qtbot: QtBot, ws: Workspace, worker: User,
                                                                   tmp_path: Path) -> None:
    window = MainWindow(ws, worker, data_dir=tmp_path, lang="zh")
    qtbot.addWidget(window)
    activate(qtbot, window)
    window.resize(1366, 728 - 40)  # the default size on a village laptop's screen
    hh = household_at(ws, "identification", "appraisal")
    window.open_household(hh.id)
    window.editor.tabs.setCurrentIndex(5)
    panel = window.editor.procedure_panel
    choose(qtbot, panel, "identification", "appraisal")
    assert panel.evidence is not None
    for key in panel.evidence.keys():  # noqa: SIM118 (a FormView, not a dict)
        w = panel.evidence.widget(key)
        if w.isVisible():
            assert w.width() >= 150, (key, w.width())
    assert panel.date_edit.width() >= 150
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=20000)


def main_window(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> MainWindow:
    window = MainWindow(ws, worker, data_dir=tmp_path, lang="zh")
    qtbot.addWidget(window)
    activate(qtbot, window)
    window.table.setFocus()
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.editor.household is not None)
    return window


def test_ctrl_page_down_changes_the_tab_not_the_drop_down_in_focus(qtbot: QtBot, ws: Workspace, worker: User,
                                                                    tmp_path: Path) -> None:
    window = main_window(qtbot, ws, worker, tmp_path)
    editor = window.editor
    editor.tabs.setCurrentIndex(0)
    combo = editor.basic_form.widget("standard")
    assert isinstance(combo, QComboBox)
    editor.basic_form.focus_field("standard")
    assert focused() is combo
    before = combo.currentIndex()
    press(Qt.Key.Key_PageDown, CTRL)
    assert editor.tabs.currentIndex() == 1 and combo.currentIndex() == before
    press(Qt.Key.Key_PageUp, CTRL)
    assert editor.tabs.currentIndex() == 0
    press(Qt.Key.Key_PageUp, CTRL)  # round the end
    assert editor.tabs.currentIndex() == editor.tabs.count() - 1
    assert not editor.has_unsaved_changes()
    wait_for_check(qtbot, window)


def test_ctrl_tab_and_esc_work_with_the_focus_in_the_list(qtbot: QtBot, ws: Workspace, worker: User,
                                                         tmp_path: Path) -> None:
    window = main_window(qtbot, ws, worker, tmp_path)
    editor = window.editor
    editor.tabs.setCurrentIndex(0)
    window.table.setFocus()
    press(Qt.Key.Key_Tab, CTRL)
    assert editor.tabs.currentIndex() == 1
    window.search.setFocus()
    press(Qt.Key.Key_Backtab, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert editor.tabs.currentIndex() == 0
    # An unsaved change, then Esc from the search box: the editor asks about it.
    editor.basic_form.focus_field("address")
    type_text("x")
    assert editor.has_unsaved_changes()
    asked: list[str] = []
    editor.ask_unsaved = lambda: asked.append("asked") or "cancel"  # type: ignore[func-returns-value]
    window.search.setFocus()
    press(Qt.Key.Key_Escape)
    assert asked == ["asked"] and editor.has_unsaved_changes()
    editor.ask_unsaved = lambda: "discard"
    press(Qt.Key.Key_Escape)
    assert not editor.has_unsaved_changes() and focused() is window.table
    wait_for_check(qtbot, window)


def wait_for_check(qtbot: QtBot, window: MainWindow) -> None:
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=20000)
