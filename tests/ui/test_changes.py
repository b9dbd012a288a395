"""Every open screen follows an operation without F5: the OpChanges broadcast, driven as people use the app.

A step recorded in the procedure panel, a household saved in the editor: the household list (its
rows, status column, filters and counter), the check's results (error filter, steps due, the
dashboard's data quality) and the dashboard's counts change by themselves. Real widgets, offscreen,
1366x768.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from povdesk.core.model import STATUS_LABELS, Household
from povdesk.store import User, Workspace
from povdesk.ui.changes import ChangeBus
from povdesk.ui.dashboard import Dashboard
from povdesk.ui.editor import TAB_MEMBERS, TAB_PROCEDURE
from povdesk.ui.main_window import MainWindow
from povdesk.ui.procedure_panel import ProcedurePanel
from tests.ui.conftest import activate, answer_dialog, days_after_last_event, household_at, press, type_text
from tests.ui.test_procedure_panel import choose, fill

STATUS_COLUMN, NAME_COLUMN = 3, 1
REGISTERED = STATUS_LABELS["registered"][1]


def _settled(qtbot: QtBot, window: MainWindow) -> None:
    """The background check (at start, or after a change) has ended."""
    qtbot.waitUntil(lambda: window.scan is not None and window.scan_job is None, timeout=30000)


@pytest.fixture
def county_window(qtbot: QtBot, ws: Workspace, county: User, tmp_path: Path) -> Iterator[MainWindow]:
    yield from _window(qtbot, ws, county, tmp_path)


@pytest.fixture
def worker_window(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> Iterator[MainWindow]:
    yield from _window(qtbot, ws, worker, tmp_path)


def _window(qtbot: QtBot, ws: Workspace, user: User, tmp_path: Path) -> Iterator[MainWindow]:
    w = MainWindow(ws, user, data_dir=tmp_path, lang="en")
    qtbot.addWidget(w)
    activate(qtbot, w)
    w.resize(1366, 768)
    _settled(qtbot, w)
    yield w
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=30000)


def _active(qtbot: QtBot, window: QWidget) -> None:
    """The window active again, so its shortcuts work (offscreen there is no window manager to do it)."""
    def active() -> bool:
        if QApplication.activeWindow() is not window:
            window.activateWindow()
            return False
        return True

    qtbot.waitUntil(active)


def _open(qtbot: QtBot, window: MainWindow, hh: Household) -> int:
    """Click the household's row in the list; its row number."""
    row = window.model.row_of(hh.id)
    assert row >= 0
    window.table.setFocus()
    window.table.selectRow(row)
    qtbot.waitUntil(lambda: window.editor.household is not None and window.editor.household.id == hh.id)
    return row


def _cell(window: MainWindow, household_id: str, column: int) -> str:
    row = window.model.row_of(household_id)
    assert row >= 0, "the household is no longer in the list"
    return str(window.model.data(window.model.index(row, column)))


def _announce(qtbot: QtBot, panel: ProcedurePanel, hh: Household) -> None:
    """The county's announcement, the identification's last step, typed into the panel and recorded."""
    day = days_after_last_event(hh)
    choose(qtbot, panel, "identification", "announcement")
    fill(panel, day(8), [("start_date", day(1)), ("end_date", day(7)), ("posted_at", "县政府公告栏")])
    qtbot.mouseClick(panel.perform_button, Qt.MouseButton.LeftButton)
    assert panel.reason_texts() == []


def test_a_step_in_the_panel_moves_the_list_and_its_filters(qtbot: QtBot, county_window: MainWindow,
                                                              ws: Workspace) -> None:
    window = county_window
    hh = household_at(ws, "identification", "announcement")
    assert hh.id in window.scan.due["identification.announcement"]  # type: ignore[union-attr]
    _open(qtbot, window, hh)
    assert _cell(window, hh.id, STATUS_COLUMN) != REGISTERED
    window.editor.tabs.setCurrentIndex(TAB_PROCEDURE)

    _announce(qtbot, window.editor.procedure_panel, hh)

    # No F5: the row shows the new status and is still the selected one; the editor shows it too.
    assert _cell(window, hh.id, STATUS_COLUMN) == REGISTERED
    assert window.table.currentIndex().row() == window.model.row_of(hh.id)
    assert window.editor.household is not None and window.editor.household.status == "registered"
    assert REGISTERED in window.editor.state_label.text()
    assert window.editor.tabs.currentIndex() == TAB_PROCEDURE
    # The status filter follows, and the steps due come from the check brought up to date.
    window.status_filter.setCurrentIndex(window.status_filter.findData("registered"))
    assert hh.id in {window.model.row(i).household_id for i in range(window.model.rowCount())}
    qtbot.waitUntil(lambda: window.scan_job is None and window.scan is not None
                    and hh.id not in window.scan.due.get("identification.announcement", frozenset()),
                    timeout=30000)
    # The dashboard counts the household among the registered ones when it is opened (Ctrl+D).
    _active(qtbot, window)
    QTest.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.dashboard and window.dashboard.summary is not None
    assert window.dashboard.summary.by_status["registered"] == ws.count_households(status="registered")


def test_saving_in_the_editor_changes_the_row_and_the_error_count(qtbot: QtBot, worker_window: MainWindow,
                                                                   ws: Workspace) -> None:
    window = worker_window
    assert window.scan is not None
    hh = next(h for h in ws.iter_households() if h.id not in window.scan.with_errors and h.members)
    errors_before = len(window.scan.with_errors)
    row = _open(qtbot, window, hh)
    editor = window.editor
    editor.tabs.setCurrentIndex(TAB_MEMBERS)
    editor._select_member(0)
    head_form = editor.member_form

    # The head's name retyped, and a wrong check digit in the ID number (an error the check must count).
    head_form.focus_field("name")
    head_form.widget("name").selectAll()  # type: ignore[union-attr]
    type_text("杨新名")
    number = str(head_form.value("id_number"))
    head_form.focus_field("id_number")
    press(Qt.Key.Key_End)
    press(Qt.Key.Key_Backspace)
    type_text("1" if number[-1] != "1" else "2")
    asked: list[str] = []
    answer_dialog("Save unfinished", asked)  # the error is named, and the household saved unfinished
    with qtbot.waitSignal(editor.saved, timeout=3000):
        press(Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 1 and "1 errors" in asked[0]

    assert _cell(window, hh.id, NAME_COLUMN) == "杨新名"  # the list row, without F5
    assert window.model.row_of(hh.id) == row and window.table.currentIndex().row() == row
    qtbot.waitUntil(lambda: window.scan_job is None and window.scan is not None
                    and hh.id in window.scan.with_errors, timeout=30000)
    assert len(window.scan.with_errors) == errors_before + 1
    assert f"{errors_before + 1} households with errors" in window.dashboard.quality_label.text()
    window.problem_filter.setCurrentIndex(window.problem_filter.findData("errors"))
    assert hh.id in {window.model.row(i).household_id for i in range(window.model.rowCount())}


def test_an_open_dashboard_counts_a_step_as_it_is_recorded(qtbot: QtBot, ws: Workspace, county: User) -> None:
    """The panel and the dashboard side by side on one bus: the counters move when the step is recorded."""
    bus = ChangeBus()
    screen = QWidget()
    qtbot.addWidget(screen)
    layout = QHBoxLayout(screen)
    panel = ProcedurePanel(ws, county, lang="en", changes=bus)
    dashboard = Dashboard(ws, "en", changes=bus)
    layout.addWidget(panel)
    layout.addWidget(dashboard)
    activate(qtbot, screen)
    screen.resize(1366, 768)
    dashboard.show_region(None, "东门村")
    assert dashboard.summary is not None
    registered = dashboard.summary.by_status.get("registered", 0)
    announced = dashboard.summary.funnel.get("identification", {}).get("announcement", 0)
    hh = household_at(ws, "identification", "announcement")
    panel.set_household(hh)

    _announce(qtbot, panel, hh)

    assert dashboard.summary.by_status["registered"] == registered + 1
    assert dashboard.summary.funnel["identification"]["announcement"] == announced + 1
    assert f"{ws.count_households()} households" in dashboard.heading.text()
