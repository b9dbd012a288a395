"""Qt's own dialogs speak Chinese in the Chinese interface: file dialogs, message boxes, wizards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QWidget,
    QWizard,
)

from povdesk.store import User, Workspace
from povdesk.ui.app import AppSettings, install_language
from povdesk.ui.main_window import MainWindow


@pytest.fixture
def chinese() -> Iterator[None]:
    app = QApplication.instance()
    install_language(app, "zh")  # type: ignore[arg-type]
    yield
    install_language(app, "en")  # type: ignore[arg-type]  # other tests read the English sources


def english_words(widget: QWidget) -> list[str]:
    """Visible texts of a dialog's labels, buttons and drop-downs with Latin words in them (paths
    and file patterns aside)."""
    found = []
    for child in widget.findChildren(QWidget):
        texts: list[str] = []
        if isinstance(child, (QLabel, QPushButton)):
            texts.append(child.text())
        if isinstance(child, QComboBox) and not child.isEditable():
            texts += [child.itemText(i) for i in range(child.count())]
        found += [t for t in texts if t.isascii() and any(c.isalpha() for c in t) and "*" not in t
                  and not t.startswith("/")]
    return found


@pytest.mark.parametrize("mode", ["open", "save", "folder"])
def test_the_file_dialog_is_chinese(qtbot, chinese: None, tmp_path: Path, mode: str) -> None:  # type: ignore[no-untyped-def]
    dialog = QFileDialog(None, "选择文件", str(tmp_path), "PDF 文件 (*.pdf)")
    qtbot.addWidget(dialog)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # the dialog Linux laptops get
    if mode == "save":
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    if mode == "folder":
        dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.show()
    assert english_words(dialog) == []
    labels = {w.text() for w in dialog.findChildren(QLabel)}
    assert "查找范围(&L)：" in labels
    if mode != "folder":
        assert "文件类型(&T)：" in labels


def test_message_boxes_and_wizards_are_chinese(qtbot, chinese: None) -> None:  # type: ignore[no-untyped-def]
    buttons = QMessageBox.StandardButton
    box = QMessageBox(QMessageBox.Icon.Question, "povdesk", "保存？",
                      buttons.Yes | buttons.No | buttons.Save | buttons.Discard | buttons.Cancel | buttons.Ok)
    qtbot.addWidget(box)
    assert english_words(box) == []
    wizard = QWizard()
    qtbot.addWidget(wizard)
    names = [wizard.buttonText(b) for b in (QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton,
                                            QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton)]
    assert all(not n.isascii() for n in names), names


def test_the_language_notice_is_in_both_languages(qtbot, chinese: None, ws: Workspace, worker: User,  # type: ignore[no-untyped-def]
                                                  tmp_path: Path) -> None:
    settings = AppSettings(tmp_path)
    window = MainWindow(ws, worker, data_dir=tmp_path, settings=settings, lang="zh")
    qtbot.addWidget(window)
    seen: list[str] = []

    def read_and_close() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, read_and_close)
            return
        seen.append(box.text())
        box.accept()

    QTimer.singleShot(0, read_and_close)
    english = next(a for a in window.findChildren(QAction) if a.text() == "English")
    english.trigger()
    assert settings.get("language") == "en"
    assert len(seen) == 1
    assert "重新启动" in seen[0] and "started again" in seen[0]
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=20000)
