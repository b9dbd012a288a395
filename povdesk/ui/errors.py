"""One place for errors: typed errors become a friendly dialog, anything else a crash dialog and the log."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from povdesk import __version__
from povdesk.errors import PovdeskError, ProcedureRefused

log = logging.getLogger(__name__)



def ui_language() -> str:
    app = QCoreApplication.instance()
    lang = app.property("povdesk_lang") if app is not None else None
    return lang if lang in ("zh", "en") else "zh"


def show_error(parent: QWidget | None, exc: PovdeskError) -> None:
    """A PovdeskError as a dialog in the UI language: what is wrong and where."""
    from povdesk.ops.security import is_damaged
    from povdesk.ui import security_dialogs

    if is_damaged(exc) and security_dialogs.damaged_handler is not None:
        security_dialogs.damaged_handler(exc)  # the one dialog that offers the latest backup
        return
    lang = ui_language()
    if isinstance(exc, ProcedureRefused):
        text = "\n".join(f"• {r.get(lang)}" for r in exc.reasons)
    else:
        text = exc.message(lang)
    QMessageBox.warning(parent, QCoreApplication.translate("errors", "povdesk"), text)


class CrashDialog(QDialog):
    """Something unexpected: say so plainly, offer the details to copy for whoever helps."""

    def __init__(self, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(QCoreApplication.translate("errors", "Unexpected error"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(QCoreApplication.translate("errors",
            "Something went wrong that povdesk did not expect. Your saved data is safe; "
            "unsaved changes are kept as a draft. Copy the details below for whoever helps you.")))
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton(QCoreApplication.translate("errors", "Copy details"), QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(details))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 420)


def report_exception(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
                     parent: QWidget | None = None) -> None:
    if isinstance(exc, PovdeskError):
        show_error(parent, exc)
        return
    details = f"povdesk {__version__}\n" + "".join(traceback.format_exception(exc_type, exc, tb))
    log.error("unexpected error\n%s", details)
    if QApplication.instance() is not None:
        CrashDialog(details, parent).exec()


def install_excepthook() -> None:
    """Route uncaught exceptions (also from Qt slots) to the log and one dialog."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        report_exception(exc_type, exc, tb, QApplication.activeWindow())

    sys.excepthook = hook
