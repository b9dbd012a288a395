"""No UI test can wait forever on a modal dialog: one nobody answers is closed and the test fails naming it."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

import tests.ui.conftest as ui
from tests.ui.conftest import ModalWatch, answer_dialog


def test_a_dialog_nobody_answers_is_closed_and_named(qtbot: QtBot, modal_watch: ModalWatch,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui, "MODAL_PATIENCE_S", 0.3)
    parent = QWidget()
    qtbot.addWidget(parent)
    box = QMessageBox(QMessageBox.Icon.Question, "Save?", "Nobody will answer this.",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    start = time.monotonic()
    box.exec()  # would block forever without the watch
    assert time.monotonic() - start < 5
    assert modal_watch.left_open == ["QMessageBox 'Save?' 'Nobody will answer this.'"]
    modal_watch.left_open.clear()  # seen: this test is about it


def test_an_answer_clicks_the_button_and_an_unused_one_is_reported(qtbot: QtBot, modal_watch: ModalWatch) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    box = QMessageBox(QMessageBox.Icon.Question, "Save?", "Save it?",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    seen: list[str] = []
    answer_dialog("&No", seen)
    box.exec()
    assert box.clickedButton() is box.button(QMessageBox.StandardButton.No) and seen == ["Save it?"]

    answer_dialog("&Yes")  # no dialog follows
    assert modal_watch.stop() == ["answer_dialog('&Yes'): no such dialog opened"]
    modal_watch.answers.clear()
