"""Shared laptops: who is using the app, from one login to the next.

A `Session` holds one workspace file and a main window per login: File › Log out and File ›
Switch user end the login (unsaved changes asked first, as on quitting) and show the login dialog
again, without restarting. A cancelled login quits the app.

The main window locks itself after an idle time (Settings › Lock after idle…, kept in the
settings as `lock_after_minutes`, 0 = never; DEFAULT_LOCK_MINUTES when never set) and by
File › Lock (Ctrl+L): its windows are hidden and the `LockScreen` asks for the current user's
password; a wrong one keeps it locked. Idle time is measured on `IdleWatch.now`, a monotonic
clock that tests replace, so no test waits for real minutes.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from povdesk.errors import PovdeskError
from povdesk.ui.signals import emit

log = logging.getLogger(__name__)

DEFAULT_LOCK_MINUTES = 10
LOCK_SETTING = "lock_after_minutes"
IDLE_POLL_MS = 15_000  # how often the idle time is looked at (a lock comes at most this late)

# What counts as someone at the keyboard: any key, click, wheel or mouse movement in any window.
_INPUT_EVENTS = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                           QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.ShortcutOverride})


def _lang() -> str:
    app = QCoreApplication.instance()
    return (app.property("povdesk_lang") if app else None) or "zh"


def lock_minutes(settings: Any) -> int:
    """The idle minutes before the lock, from the settings (0 = never)."""
    value = settings.get(LOCK_SETTING, DEFAULT_LOCK_MINUTES) if settings is not None else DEFAULT_LOCK_MINUTES
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else DEFAULT_LOCK_MINUTES


class IdleWatch(QObject):
    """Calls `on_idle` once nobody has touched keyboard or mouse for `minutes` (0 = never).

    `now` is the clock idle time is measured on (seconds, monotonic); `poll_ms` how often it looks."""

    def __init__(self, on_idle: Callable[[], None], minutes: int, *, now: Callable[[], float] = time.monotonic,
                 poll_ms: int = IDLE_POLL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_idle = on_idle
        self.minutes = minutes
        self.now = now
        self.last_input = now()
        self.paused = False  # while locked: the lock screen is what is in use
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() in _INPUT_EVENTS:
            self.last_input = self.now()
        return False

    def touch(self) -> None:
        self.last_input = self.now()

    def idle_seconds(self) -> float:
        return self.now() - self.last_input

    def check(self) -> None:
        if self.paused or self.minutes <= 0 or self.idle_seconds() < self.minutes * 60:
            return
        if QApplication.activeModalWidget() is not None:
            return  # a question is open (its answer must not be made up): locked once it is answered
        self.on_idle()

    def stop(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


class LockScreen(QWidget):
    """Stands in for the hidden windows until the current user types their password again."""

    unlocked = Signal()

    def __init__(self, ws: Any, user: Any, title: str) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.ws = ws
        self.user = user
        self.setWindowTitle(self.tr("povdesk is locked"))
        layout = QVBoxLayout(self)
        heading = QLabel(title)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(QLabel(self.tr("Locked while nobody used it. {user}, type your password to go on.")
                                .format(user=user.display_name or user.name)))
        form = QFormLayout()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Password"), self.password)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.unlock_button = QPushButton(self.tr("Unlock"))
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.try_unlock)
        self.password.returnPressed.connect(self.try_unlock)
        layout.addWidget(self.unlock_button)
        self.resize(420, 200)

    def try_unlock(self) -> bool:
        try:
            who = self.ws.authenticate(self.user.name, self.password.text())
        except PovdeskError as exc:
            self.error.setText(exc.message(_lang()))
            self.password.clear()
            self.password.setFocus()
            return False
        if who.name != self.user.name:  # never: authenticate answers for the name it was given
            return False
        self.password.clear()
        self.error.setText("")
        emit(self.unlocked)
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        event.ignore()  # closing the lock would not unlock anything: only the password does


class LockSettingDialog(QDialog):
    """Settings › Lock after idle…: minutes without use before the app locks, 0 for never."""

    def __init__(self, minutes: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Lock after idle"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("Lock povdesk when nobody has used it for this long (0: never).")))
        self.minutes = QSpinBox()
        self.minutes.setRange(0, 240)
        self.minutes.setSuffix(self.tr(" minutes"))
        self.minutes.setSpecialValueText(self.tr("never"))
        self.minutes.setValue(minutes)
        form = QFormLayout()
        label = QLabel(self.tr("Lock after"))
        label.setBuddy(self.minutes)
        form.addRow(label, self.minutes)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.minutes.setFocus()
        self.minutes.selectAll()


# What the main window is made of, imported (and its data files read) while the login dialog waits
# for the password: typing one takes a person a second or more, and the window then opens that much
# sooner after Enter. On the GUI thread, one module or file per turn of the event loop (a key typed
# meanwhile waits that long, never lost): PySide6 modules imported on another thread while the GUI
# thread runs crashed the app now and then (a segmentation fault in shiboken's import hook). Only
# modules and data, no widget: widgets are made after the login.
PRELOAD = ("povdesk.ui.main_window", "povdesk.ui.editor", "povdesk.ui.print_centre", "povdesk.ui.import_wizard",
           "povdesk.ui.sync_centre", "povdesk.ui.help")
PRELOAD_AFTER_MS = 150  # the login dialog is painted first


def _load_data() -> list[Callable[[], object]]:
    from povdesk.core.codes import code_lists
    from povdesk.core.forms import household_form, member_form
    from povdesk.core.procedures import load_procedures

    return [household_form, member_form, load_procedures, code_lists]


class Preload:
    """PRELOAD imported and the forms, procedures and code lists read, a step per event-loop turn;
    `done` once all are. The login does not wait for it: what it needs first it imports itself.
    Its steps' timers have `context` (the login dialog): they stop when it is gone."""

    def __init__(self, context: QObject) -> None:
        self.done = False
        self._context = context
        self._steps: list[Callable[[], object]] = [
            *(lambda name=name: importlib.import_module(name) for name in PRELOAD),
            lambda: self._steps.extend(_load_data())]
        self._next()

    def _next(self) -> None:
        QTimer.singleShot(0, self._context, self._step)

    def _step(self) -> None:
        if not self._steps:
            self.done = True
            return
        try:
            self._steps.pop(0)()
        except Exception:  # noqa: BLE001 - the login imports it again and reports what is wrong
            log.warning("preloading the main window failed", exc_info=True)
            self._steps.clear()
        self._next()


def preload_main_window(context: QObject) -> Preload:
    return Preload(context)


class Session(QObject):
    """One workspace file, logged into again and again: a main window per login."""

    finished = Signal()  # the main window was closed or a login cancelled: the app quits

    def __init__(self, path: Path, *, clock: Any, data_dir: Path, settings: Any = None, lang: str = "zh",
                 idle_clock: Callable[[], float] = time.monotonic, idle_poll_ms: int = IDLE_POLL_MS) -> None:
        super().__init__()
        self.path = path
        self.clock = clock
        self.data_dir = data_dir
        self.settings = settings
        self.lang = lang
        self.idle_clock = idle_clock
        self.idle_poll_ms = idle_poll_ms
        self.ws: Any = None
        self.window: Any = None
        self.login_dialog: Any = None
        self._leaving = False
        self._old_windows: list[Any] = []
        self._preloaded = False
        self.preload: Preload | None = None  # the main window's modules, imported while the login waits
        self._damage_shown = False
        from povdesk.ui import security_dialogs

        security_dialogs.damaged_handler = self._damaged_in_use

    def show_login(self, name: str = "", hint: str = "") -> Any:
        """The login dialog (modal, not blocking); the workspace is opened for it if it is not open.
        A damaged or altered file: the one dialog that offers the latest backup, then the login again
        on the backup, or None when none was taken (the session has finished). Raises PovdeskError
        when the workspace file cannot be opened for another reason."""
        from povdesk.ops.security import is_damaged
        from povdesk.store import Workspace
        from povdesk.ui.app import LoginDialog

        if self.ws is None:
            try:
                self.ws = Workspace.open(self.path, clock=self.clock)
            except PovdeskError as exc:
                if not is_damaged(exc):
                    raise
                return self.show_login(name, hint) if self._offer_backup(exc) else None
        dialog = LoginDialog(self.ws, user=name, hint=hint)
        dialog.setModal(True)
        dialog.accepted.connect(lambda: self._logged_in(dialog))
        dialog.rejected.connect(self._login_cancelled)
        dialog.finished.connect(lambda result: self._login_damaged(dialog, name, hint)
                                if result == LoginDialog.DAMAGED else None)
        self.login_dialog = dialog
        dialog.show()
        if not self._preloaded:
            self._preloaded = True
            QTimer.singleShot(PRELOAD_AFTER_MS, dialog, lambda: setattr(self, "preload", preload_main_window(dialog)))
        return dialog

    def _offer_backup(self, exc: PovdeskError) -> bool:
        """The damaged-file dialog (the workspace closed first); True when the latest backup now
        stands in the workspace's place."""
        from povdesk.ui.security_dialogs import DamagedWorkspaceDialog

        if self.ws is not None:
            try:
                self.ws.close()
            except PovdeskError:
                log.warning("closing a damaged workspace failed", exc_info=True)
            self.ws = None
        self._damage_shown = True
        try:
            dialog = DamagedWorkspaceDialog(self.path, exc)
            dialog.exec()
            return dialog.restored is not None
        finally:
            self._damage_shown = False

    def _login_damaged(self, dialog: Any, name: str, hint: str) -> None:
        self.login_dialog = None
        dialog.deleteLater()
        assert dialog.damaged is not None
        if self._offer_backup(dialog.damaged):
            self.show_login(name, hint)
        else:
            emit(self.finished)

    def _damaged_in_use(self, exc: PovdeskError) -> None:
        """A damaged or altered file noticed while the main window is open: the window goes (its
        unsaved changes are kept as drafts), then the same dialog, then the login again."""
        if self._damage_shown:
            return
        window, name = self.window, (self.window.user.name if self.window is not None else "")
        if window is not None:
            self._leaving = True
            try:
                window.editor.set_aside()
                window.close()
            except PovdeskError:
                log.warning("closing the window of a damaged workspace failed", exc_info=True)
            finally:
                self._leaving = False
            self.window = None
            self._old_windows.append(window)
        self.ws = None
        if self._offer_backup(exc):
            self.show_login(name)
        else:
            emit(self.finished)

    def _logged_in(self, dialog: Any) -> None:
        from povdesk.ops.security import is_encrypted, may_encrypt
        from povdesk.ui.main_window import MainWindow

        self.login_dialog = None
        user, password = dialog.user, dialog.password.text()
        dialog.deleteLater()
        if not is_encrypted(self.path) and may_encrypt(user.role) and not self.ws.readonly:
            user = self._offer_encryption(user, password)
        del password
        for old in [w for w in self._old_windows if w.scan_job is None]:  # a check still running finishes first
            old.deleteLater()
            self._old_windows.remove(old)
        window = MainWindow(self.ws, user, data_dir=self.data_dir, settings=self.settings, lang=self.lang,
                            idle_clock=self.idle_clock, idle_poll_ms=self.idle_poll_ms)
        window.log_out_requested.connect(lambda: self.end_login(keep_name=True))
        window.switch_user_requested.connect(lambda: self.end_login(keep_name=False))
        window.closed.connect(self._window_closed)
        self.window = window
        window.show_as_last_time()
        window.offer_draft_recovery()

    def _offer_encryption(self, user: Any, password: str) -> Any:
        """An administrator signed in to a plain workspace: asked to encrypt it, and if they agree
        the workspace is closed, encrypted (ops) and opened again with the same password."""
        from povdesk.store import Workspace
        from povdesk.ui.security_dialogs import ask_to_encrypt, encrypt_now

        if not ask_to_encrypt(None):
            return user
        name = user.name
        self.ws.close()
        self.ws = None
        encrypt_now(None, self.path, name, password)
        self.ws = Workspace.open(self.path, clock=self.clock)
        return self.ws.authenticate(name, password)

    def end_login(self, keep_name: bool) -> bool:
        """Log out (the login dialog keeps the name) or switch user (an empty name); False when the
        user kept unsaved changes to look at (the window stays)."""
        window = self.window
        if window is None:
            return False
        name = window.user.name if keep_name else ""
        self._leaving = True
        try:
            if not window.close():  # closeEvent asks about unsaved changes and closes the workspace
                return False
        finally:
            self._leaving = False
        self.window = None
        self.ws = None
        self._old_windows.append(window)
        self.show_login(name)
        return True

    def _window_closed(self) -> None:
        if not self._leaving:
            self.window = None
            self.ws = None
            emit(self.finished)

    def _login_cancelled(self) -> None:
        self.login_dialog = None
        if self.ws is not None:
            self.ws.close()
            self.ws = None
        emit(self.finished)
