"""Voiding a household from the editor, as a person would: the button, a reason typed in the dialog, and
the household gone from the list and its counter, shown again only under the Voided filter, read-only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from povdesk.core.model import void_mark
from povdesk.ops.households import creator_role
from povdesk.store import User, Workspace
from povdesk.ui.editor import ReasonDialog
from povdesk.ui.main_window import MainWindow
from tests.ui.conftest import activate

STATUS_COLUMN = 3


@pytest.fixture
def window(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> Iterator[MainWindow]:
    w = MainWindow(ws, worker, data_dir=tmp_path, lang="en")
    qtbot.addWidget(w)
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.scan is not None and w.scan_job is None, timeout=30000)
    w.editor.ask_unsaved = lambda: "discard"
    yield w
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=30000)


def type_reason_when_asked(text: str, seen: list[str]) -> None:
    """When the reason dialog opens: type `text` into it, key by key, and press OK."""

    def tick() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ReasonDialog):
            QTimer.singleShot(20, tick)
            return
        seen.append(dialog.windowTitle())
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        seen.append("ok enabled" if ok.isEnabled() else "ok disabled")  # nothing typed yet
        QTest.keyClicks(dialog.reason_edit, text)
        QTest.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(20, tick)


def test_void_a_household_from_the_editor(qtbot: QtBot, window: MainWindow, ws: Workspace) -> None:
    hh = next(h for h in ws.iter_households() if creator_role(h) == "village_worker")
    total = window.model.found()
    window.table.setFocus()
    window.table.selectRow(window.model.row_of(hh.id))
    qtbot.waitUntil(lambda: window.editor.household is not None and window.editor.household.id == hh.id)
    assert window.editor.void_button.isVisible() and window.editor.void_button.isEnabled()
    assert not window.editor.restore_button.isVisible()  # restoring is the county's

    seen: list[str] = []
    type_reason_when_asked("entered twice", seen)
    QTest.mouseClick(window.editor.void_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.editor.void_label.isVisible(), timeout=5000)
    assert seen == ["Void household", "ok disabled"]

    stored = ws.load_household(hh.id)
    mark = void_mark(stored)
    assert mark is not None and mark["reason"] == "entered twice" and mark["user"] == "worker"
    # the editor shows it voided and read-only; the list and its counter no longer have it
    assert "entered twice" in window.editor.void_label.text() and "worker" in window.editor.void_label.text()
    assert not window.editor.tabs.isEnabled() and not window.editor.save_button.isEnabled()
    assert "voided" in window.editor.state_label.text()
    qtbot.waitUntil(lambda: window.model.row_of(hh.id) < 0, timeout=5000)
    assert window.model.found() == total - 1
    assert f"of {total - 1} households" in window.count_label.text()

    # the Voided filter lists it, and only it, marked in the status column
    combo = window.status_filter
    combo.setCurrentIndex(combo.findText("Voided households"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    assert window.model.row(0).household_id == hh.id
    assert str(window.model.data(window.model.index(0, STATUS_COLUMN))).endswith("· voided")


def test_the_reason_dialog_cancelled_voids_nothing(qtbot: QtBot, window: MainWindow, ws: Workspace) -> None:
    hh = next(ws.iter_households())
    window.editor.load(hh.id)
    window.editor.ask_void_reason = lambda _hh: None  # the person pressed Cancel
    assert not window.editor.void_household()
    assert void_mark(ws.load_household(hh.id)) is None
