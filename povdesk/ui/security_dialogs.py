"""The workspace file in the app: one dialog for a damaged or altered file (it offers the latest
backup), and the offer to encrypt a plain workspace. The work is done by povdesk.ops.security."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from povdesk.errors import PovdeskError
from povdesk.ops import security as ops

log = logging.getLogger(__name__)

# Set by the running Session: what to do when a damaged workspace turns up anywhere in the app
# (povdesk.ui.errors.show_error hands such an error here instead of showing its own dialog).
damaged_handler: Callable[[PovdeskError], None] | None = None


def _lang() -> str:
    app = QCoreApplication.instance()
    return (app.property("povdesk_lang") if app else None) or "zh"


class DamagedWorkspaceDialog(QDialog):
    """Says the file is damaged or was altered, and offers the latest backup (or says there is none).
    `restored` is the name the damaged file was kept under once the backup took its place."""

    def __init__(self, path: Path, exc: PovdeskError, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.restored: Path | None = None
        self.backup = ops.latest_backup(path)
        self.setWindowTitle(QCoreApplication.translate("security", "The workspace file is damaged"))
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        layout = QVBoxLayout(self)
        self.message = QLabel(exc.text.get(_lang()))
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        layout.addWidget(QLabel(str(path)))
        if self.backup is not None:
            when = dt.datetime.fromtimestamp(self.backup.modified).strftime("%Y-%m-%d %H:%M")
            text = QCoreApplication.translate(
                "security", "The latest backup is {name}, made {when}. Open it instead? Changes made after it are "
                "lost; the damaged file is kept beside it.").format(name=self.backup.path.name, when=when)
        else:
            text = QCoreApplication.translate(
                "security", "There is no backup of this workspace beside it. Ask the county for a copy, or restore one "
                "from a USB stick.")
        self.offer = QLabel(text)
        self.offer.setWordWrap(True)
        layout.addWidget(self.offer)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.restore_button: QPushButton | None = None
        if self.backup is not None:
            self.restore_button = buttons.addButton(QCoreApplication.translate("security", "Open the latest backup"),
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
            self.restore_button.setDefault(True)
            self.restore_button.clicked.connect(self._restore)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 240)

    def _restore(self) -> None:
        assert self.backup is not None
        try:
            self.restored = ops.restore_backup(self.path, self.backup)
        except PovdeskError as exc:
            self.error.setText(exc.message(_lang()))
            return
        log.warning("workspace %s damaged; restored from %s, the damaged file kept as %s", self.path,
                    self.backup.path, self.restored)
        self.accept()


def ask_to_encrypt(parent: QWidget | None) -> bool:
    """Ask an administrator of a plain workspace whether to encrypt it now."""
    title = QCoreApplication.translate("security", "Encrypt this workspace?")
    answer = QMessageBox.question(parent, title, QCoreApplication.translate(
        "security", "This workspace is not encrypted: whoever takes the laptop or copies the file reads every ID "
        "number "
        "and bank account in it. Encrypt it now? Every account's password opens it as before; a plain "
        "backup is kept until you delete it."))
    return answer == QMessageBox.StandardButton.Yes


def encrypt_now(parent: QWidget | None, path: Path, user: str, password: str) -> Path | None:
    """Encrypt the (closed) plain workspace; returns the plain backup left beside it, after asking
    whether to delete it; None when it could not be done (said in a dialog)."""
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        backup = ops.encrypt_workspace(path, user, password)
    except PovdeskError as exc:
        QGuiApplication.restoreOverrideCursor()
        QMessageBox.warning(parent, QCoreApplication.translate("security", "Encrypt this workspace?"),
                            exc.message(_lang()))
        return None
    QGuiApplication.restoreOverrideCursor()
    title = QCoreApplication.translate("security", "Workspace encrypted")
    delete = QMessageBox.question(parent, title, QCoreApplication.translate(
        "security", "The workspace is encrypted. The plain copy {name} beside it is NOT encrypted. "
        "Delete it now?").format(
            name=backup.name))
    if delete == QMessageBox.StandardButton.Yes:
        for side in (backup, Path(f"{backup}-wal"), Path(f"{backup}-shm")):
            side.unlink(missing_ok=True)
    return backup
