"""Saving a household with errors asks once, naming them, and the list shows it unfinished until they are
corrected; removing a member asks why, and the roster and the card keep the person with the reason."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from povdesk.core.income import household_size
from povdesk.reports.cards import render_cards
from povdesk.store import User, Workspace
from povdesk.ui.editor import TAB_MEMBERS, RemovalReasonDialog
from povdesk.ui.main_window import MainWindow
from tests.ui.conftest import TODAY, activate, answer_dialog, press, type_text

STATUS_COLUMN = 3


@pytest.fixture
def window(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> Iterator[MainWindow]:
    w = MainWindow(ws, worker, data_dir=tmp_path, lang="en")
    qtbot.addWidget(w)
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.scan is not None and w.scan_job is None, timeout=30000)
    # Closing the window at the end of a test (pytest-qt does it before this fixture's teardown)
    # discards what the test left unsaved; these tests are about other questions.
    w.editor.ask_unsaved = lambda: "discard"
    yield w
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=30000)


def status_cell(window: MainWindow, household_id: str) -> str:
    row = window.model.row_of(household_id)
    return str(window.model.data(window.model.index(row, STATUS_COLUMN)))


def open_member(qtbot: QtBot, window: MainWindow, household_id: str, row: int) -> None:
    window.table.setFocus()
    window.table.selectRow(window.model.row_of(household_id))
    qtbot.waitUntil(lambda: window.editor.household is not None and window.editor.household.id == household_id)
    window.editor.tabs.setCurrentIndex(TAB_MEMBERS)
    window.editor._select_member(row)


def retype_check_digit(window: MainWindow, digit: str) -> None:
    form = window.editor.member_form
    form.focus_field("id_number")
    press(Qt.Key.Key_End)
    press(Qt.Key.Key_Backspace)
    type_text(digit)


def save(qtbot: QtBot, window: MainWindow) -> None:
    activate(qtbot, window)  # back from a dialog: offscreen there is no window manager to do it
    with qtbot.waitSignal(window.editor.saved, timeout=3000):
        press(Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def test_saving_with_errors_asks_once_and_the_list_shows_it_unfinished(qtbot: QtBot, window: MainWindow,
                                                                      ws: Workspace) -> None:
    assert window.scan is not None
    hh = next(h for h in ws.iter_households() if h.id not in window.scan.with_errors and len(h.members) > 1)
    number = hh.members[0].id_number
    wrong = "1" if number[-1] != "1" else "2"
    open_member(qtbot, window, hh.id, 0)
    assert "unfinished" not in status_cell(window, hh.id)
    retype_check_digit(window, wrong)

    # Keep editing: nothing is written.
    asked: list[str] = []
    answer_dialog("Keep editing", asked)
    press(Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 1
    assert "1 errors" in asked[0] and hh.members[0].name in asked[0] and "check digit" in asked[0].lower()
    assert ws.load_household(hh.id).version == hh.version
    activate(qtbot, window)  # offscreen there is no window manager to give the focus back

    # Save unfinished: written, and the list says so at once.
    answer_dialog("Save unfinished", asked)
    save(qtbot, window)
    assert len(asked) == 2
    assert ws.load_household(hh.id).members[0].id_number.endswith(wrong)
    assert status_cell(window, hh.id).endswith("· unfinished")

    # Another edit with the same error: not asked again.
    window.editor.member_form.focus_field("name")
    press(Qt.Key.Key_End)
    type_text("红")
    save(qtbot, window)
    assert len(asked) == 2
    qtbot.waitUntil(lambda: window.scan_job is None and window.scan is not None
                    and hh.id in window.scan.with_errors, timeout=30000)
    assert status_cell(window, hh.id).endswith("· unfinished")

    # The error corrected: saved without a question, and no longer unfinished.
    retype_check_digit(window, number[-1])
    save(qtbot, window)
    assert len(asked) == 2
    assert "unfinished" not in status_cell(window, hh.id)
    qtbot.waitUntil(lambda: window.scan_job is None and window.scan is not None
                    and hh.id not in window.scan.with_errors, timeout=30000)
    assert "unfinished" not in status_cell(window, hh.id)


def choose_reason(qtbot: QtBot, label: str) -> None:
    """In the next removal dialog, tick the reason and press OK."""
    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, RemovalReasonDialog):
            QTimer.singleShot(20, answer)
            return
        button = next(b for b in dialog.choices.values() if b.text() == label)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(8, button.height() // 2))  # its circle
        ok = dialog.buttons.buttons()[0]
        assert ok.isEnabled()
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)


def test_removing_a_member_asks_why_and_the_card_shows_it(qtbot: QtBot, window: MainWindow, ws: Workspace,
                                                          tmp_path: Path) -> None:
    assert window.scan is not None
    hh = next(h for h in ws.iter_households() if h.id not in window.scan.with_errors and len(h.members) > 2
              and h.head is not None)
    row = next(i for i, m in enumerate(hh.members) if m is not hh.head)
    leaving = hh.members[row]
    open_member(qtbot, window, hh.id, row)
    editor = window.editor

    choose_reason(qtbot, "Died")
    qtbot.mouseClick(editor.remove_member_button, Qt.MouseButton.LeftButton)
    assert editor.roster.rowCount() == len(hh.members)  # still on the roster, with the reason
    name_cell = editor.roster.item(row, 0)
    assert name_cell is not None and name_cell.text() == f"{leaving.name} (Died)"
    editor.validate_now()  # one person fewer: the income per head may now be above the line
    if editor.errors():
        answer_dialog("Save unfinished")
    save(qtbot, window)
    stored = ws.load_household(hh.id)
    assert next(m for m in stored.members if m.id == leaving.id).fields["change"] == "01"
    assert household_size(stored) == len(hh.members) - 1
    card = tmp_path / "card.pdf"
    render_cards([stored], card, today=TODAY)
    text = subprocess.run(["pdftotext", "-layout", str(card), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert f"{leaving.name}（死亡）" in text

    # A row entered by mistake is deleted outright.
    other = next(i for i, m in enumerate(stored.members) if m is not stored.head and m.id != leaving.id)
    editor._select_member(other)
    choose_reason(qtbot, "Entered by mistake: delete the row")
    qtbot.mouseClick(editor.remove_member_button, Qt.MouseButton.LeftButton)
    assert editor.roster.rowCount() == len(hh.members) - 1
