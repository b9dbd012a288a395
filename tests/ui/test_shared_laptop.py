"""A laptop shared by the village's workers: log out, switch user, and the lock after idle time.

Idle time runs on a clock the test moves forward (IdleClock): no test waits for real minutes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from povdesk.core.demo import DEMO_PASSWORD
from povdesk.store import User, Workspace
from povdesk.ui.app import AppSettings, LoginDialog
from povdesk.ui.main_window import MainWindow
from povdesk.ui.session import LockScreen, LockSettingDialog, Session
from tests.ui.conftest import CLOCK, activate, answer_dialog, press, type_text

POLL_MS = 20  # the idle time is looked at this often: the lock follows a clock step at once


class IdleClock:
    """Monotonic seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds

    def wait_minutes(self, minutes: float) -> None:
        self.seconds += minutes * 60


def log_in(qtbot: QtBot, session: Session, name: str | None, password: str) -> LoginDialog:
    """Type into the login dialog key by key (the name only when given) and press Enter."""
    qtbot.waitUntil(lambda: session.login_dialog is not None and session.login_dialog.isVisible())
    dialog = session.login_dialog
    assert isinstance(dialog, LoginDialog)
    if name is not None:
        dialog.name.setFocus()
        dialog.name.selectAll()
        type_text(name, dialog.name)
    dialog.password.setFocus()
    type_text(password, dialog.password)
    QTest.keyClick(dialog.password, Qt.Key.Key_Return)
    return dialog


def current_window(qtbot: QtBot, session: Session) -> MainWindow:
    qtbot.waitUntil(lambda: session.window is not None and session.window.isVisible())
    window = session.window
    assert isinstance(window, MainWindow)  # the session closes and deletes it: not qtbot's to close
    return window


def settle(qtbot: QtBot, window: MainWindow) -> None:
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=30000)


def test_log_out_and_switch_user_return_to_the_login_without_restarting(qtbot: QtBot, ws: Workspace,
                                                                       tmp_path: Path) -> None:
    path = ws.path
    ws.close()  # the app opens the file itself
    session = Session(path, clock=CLOCK, data_dir=tmp_path, settings=AppSettings(tmp_path), lang="en",
                      idle_clock=IdleClock(), idle_poll_ms=POLL_MS)
    ended: list[bool] = []
    session.finished.connect(lambda: ended.append(True))
    session.show_login("worker")
    log_in(qtbot, session, None, DEMO_PASSWORD)
    first = current_window(qtbot, session)
    assert first.user.name == "worker" and first.width() <= 1366 and first.height() <= 768
    settle(qtbot, first)

    # An unsaved change: Log out asks first, and Cancel keeps the worker logged in with the change.
    row = first.model.row(0)
    first.open_household(row.household_id)
    first.editor.basic_form.focus_field("address")
    type_text("x")
    assert first.editor.has_unsaved_changes()
    answer_dialog("Cancel")
    first.log_out_action.trigger()  # File › Log out
    assert session.window is first and first.isVisible() and first.editor.has_unsaved_changes()
    answer_dialog("Discard")
    first.log_out_action.trigger()
    # Back at the login, the same name kept, the workspace closed with the window.
    dialog = log_in(qtbot, session, None, "wrong")
    assert dialog.name.text() == "worker" and dialog.isVisible() and dialog.error.text()
    assert not first.isVisible() and not ended
    dialog.password.clear()
    log_in(qtbot, session, None, DEMO_PASSWORD)
    again = current_window(qtbot, session)
    assert again is not first and again.user.name == "worker"
    settle(qtbot, again)

    again.switch_user_action.trigger()  # File › Switch user…: another worker at the same laptop
    qtbot.waitUntil(lambda: session.login_dialog is not None)
    assert session.login_dialog.name.text() == ""
    log_in(qtbot, session, "township", DEMO_PASSWORD)
    township = current_window(qtbot, session)
    assert township.user.name == "township" and township.user.role == "township_official"
    settle(qtbot, township)

    # Nobody logs in after the last log out: the app quits.
    township.log_out_action.trigger()
    qtbot.waitUntil(lambda: session.login_dialog is not None and session.login_dialog.isVisible())
    buttons = session.login_dialog.findChild(QDialogButtonBox)
    qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert ended == [True] and session.ws is None


def test_idle_time_locks_and_only_the_users_password_unlocks(qtbot: QtBot, ws: Workspace, worker: User,
                                                             tmp_path: Path) -> None:
    clock = IdleClock()
    settings = AppSettings(tmp_path)
    window = MainWindow(ws, worker, data_dir=tmp_path, settings=settings, lang="en", idle_clock=clock,
                        idle_poll_ms=POLL_MS)
    qtbot.addWidget(window)
    activate(qtbot, window)
    window.resize(1366, 728)
    assert window.idle.minutes == 10  # never set: the default

    # Settings › Lock after idle…: 5 minutes, typed in.
    def set_five() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, LockSettingDialog):
            QTimer.singleShot(20, set_five)
            return
        type_text("5", dialog.minutes.lineEdit())
        QTest.keyClick(dialog.minutes, Qt.Key.Key_Return)

    QTimer.singleShot(20, set_five)
    window.lock_setting_action.trigger()
    assert window.idle.minutes == 5 and AppSettings(tmp_path).get("lock_after_minutes") == 5

    # Someone keeps working: typing in the search box counts as use.
    window.print_actions["cards_region"].trigger()  # the print centre is open too
    centre = window.print_centre
    assert centre is not None and centre.isVisible()
    window.activateWindow()
    clock.wait_minutes(4)
    window.search.setFocus()
    type_text("杨")
    clock.wait_minutes(4)
    qtbot.wait(5 * POLL_MS)
    assert not window.locked and window.isVisible()

    # Then nobody, for five minutes: every window is hidden behind the lock screen.
    clock.wait_minutes(1.01)
    qtbot.waitUntil(lambda: window.locked)
    screen = window.lock_screen
    assert isinstance(screen, LockScreen) and screen.isVisible()
    assert not window.isVisible() and not centre.isVisible()
    screen.close()  # closing the lock does not unlock
    assert window.locked and screen.isVisible()
    screen.password.setFocus()
    type_text("township1", screen.password)  # not the password of the user who is logged in
    QTest.keyClick(screen.password, Qt.Key.Key_Return)
    assert window.locked and screen.error.text() and screen.password.text() == ""
    assert not window.isVisible()
    type_text(DEMO_PASSWORD, screen.password)
    qtbot.mouseClick(screen.unlock_button, Qt.MouseButton.LeftButton)
    assert not window.locked and window.isVisible() and centre.isVisible()
    centre.close()

    # Ctrl+L locks at once (a worker stepping away); 0 minutes: never by itself.
    activate(qtbot, window)
    press(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    screen = window.lock_screen
    assert isinstance(screen, LockScreen) and not window.isVisible()
    type_text(DEMO_PASSWORD, screen.password)
    QTest.keyClick(screen.password, Qt.Key.Key_Return)
    assert not window.locked
    window.idle.minutes = 0
    clock.wait_minutes(600)
    qtbot.wait(5 * POLL_MS)
    assert not window.locked
    settle(qtbot, window)
