"""Every window and dialog fits a village laptop: 1366x768 less the taskbar, bottom edge and buttons in sight.

conftest.py runs the UI tests on an offscreen screen of 1366x728 (1366x768 less a 40 px taskbar),
which is the available geometry Windows reports on such a laptop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QApplication,
    QDialogButtonBox,
    QWidget,
    QWizard,
)
from pytestqt.qtbot import QtBot

from povdesk.core.demo import DEMO_PASSWORD
from povdesk.store import User, Workspace
from povdesk.ui.app import AppSettings, FirstRunDialog, LoginDialog
from povdesk.ui.main_window import MainWindow
from povdesk.ui.screen import FRAME_ALLOWANCE
from tests.ui.conftest import household_at

SCREEN = QRect(0, 0, 1366, 728)


def assert_fits(window: QWidget) -> None:
    """The window (with room for its title bar unless maximised) lies on the screen, is not squeezed
    below what its layout needs, and every button in it lies inside it."""
    QApplication.processEvents()
    area = window.screen().availableGeometry()
    assert area == SCREEN, "the tests run on the laptop screen (conftest.py)"
    g, frame = window.geometry(), window.frameGeometry()
    title = 0 if window.isMaximized() else FRAME_ALLOWANCE  # what a window manager adds on top
    assert area.contains(frame) and g.height() + title <= area.height(), (type(window).__name__, g)
    need = window.minimumSizeHint()
    assert need.width() <= g.width() and need.height() <= g.height(), (type(window).__name__, need, g)
    inside = window.rect()
    for button in window.findChildren(QAbstractButton):
        if not button.isVisibleTo(window) or button.window() is not window:
            continue
        scrolled = scroll_area_of(button, window)
        if scrolled is not None:  # reached by scrolling: the page itself must be in the window
            button, what = scrolled, f"the page of {button.text()}"
        else:
            what = button.text()
        r = QRect(button.mapTo(window, button.rect().topLeft()), button.size())
        assert inside.contains(r), (type(window).__name__, what, r, inside)
        boxed = isinstance(button.parentWidget(), QDialogButtonBox | QWizard)
        if boxed:  # Close, OK, Next…: on screen, not scrolled out of reach
            assert not button.visibleRegion().isEmpty(), (type(window).__name__, button.text())


def scroll_area_of(widget: QWidget, window: QWidget) -> QWidget | None:
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


@pytest.fixture
def window(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> Iterator[MainWindow]:
    w = MainWindow(ws, worker, data_dir=tmp_path, settings=AppSettings(tmp_path), lang="zh")
    qtbot.addWidget(w)
    w.show_as_last_time()
    qtbot.waitExposed(w)
    yield w
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=20000)


def test_the_main_window_starts_maximised_on_a_small_screen_and_every_tab_fits(window: MainWindow,
                                                                              ws: Workspace) -> None:
    assert window.isMaximized()
    assert_fits(window)
    window.open_household(household_at(ws, "identification", "appraisal").id)
    for tab in range(window.editor.tabs.count()):
        window.editor.tabs.setCurrentIndex(tab)
        assert_fits(window)
    window.editor.procedure_panel.choose("identification", "appraisal")
    assert_fits(window)
    window.dashboard_action.setChecked(True)
    assert_fits(window)


def test_the_main_window_unmaximised_fits_with_its_title_bar(window: MainWindow) -> None:
    window.showNormal()
    assert not window.isMaximized()
    assert_fits(window)


def test_the_maximised_state_is_remembered_across_restarts(qtbot: QtBot, ws: Workspace, worker: User,
                                                          tmp_path: Path) -> None:
    settings_dir = tmp_path / "data"

    def start() -> MainWindow:  # the app started again: its own connection, the same settings file
        own = Workspace.open(ws.path, clock=ws.clock)
        w = MainWindow(own, own.authenticate("worker", DEMO_PASSWORD), data_dir=settings_dir,
                       settings=AppSettings(settings_dir), lang="zh")
        qtbot.addWidget(w)
        w.show_as_last_time()
        qtbot.waitExposed(w)
        return w

    first = start()
    assert first.isMaximized()  # the first start on a small screen
    first.showNormal()
    first.resize(1000, 650)
    left = (first.width(), first.height())  # 1000x650, or taller if the window cannot be that low
    assert left[0] == 1000 and 650 <= left[1] <= 700
    quit_app(qtbot, first)  # as the user left it: not maximised, that size
    again = start()
    assert not again.isMaximized() and (again.width(), again.height()) == left
    again.showMaximized()
    quit_app(qtbot, again)
    third = start()
    assert third.isMaximized()
    quit_app(qtbot, third)


def quit_app(qtbot: QtBot, window: MainWindow) -> None:
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=20000)
    assert window.close()


def test_the_print_centre_fits_with_its_close_button_in_sight(qtbot: QtBot, window: MainWindow) -> None:
    window.print_actions["cards_region"].trigger()
    centre = window.print_centre
    assert centre is not None
    qtbot.waitExposed(centre)
    for kind in range(centre.kind.count()):
        centre.kind.setCurrentIndex(kind)
        assert_fits(centre)
    close = centre.close_buttons.button(QDialogButtonBox.StandardButton.Close)
    assert close is not None and close.isVisible() and not close.visibleRegion().isEmpty()


def test_the_import_wizard_and_the_sync_centre_fit(qtbot: QtBot, window: MainWindow) -> None:
    window.import_action.trigger()
    wizard = window.import_wizard
    assert wizard is not None
    qtbot.waitExposed(wizard)
    assert_fits(wizard)
    wizard.close()
    window.sync_centre_action.trigger()
    centre = next(w for w in QApplication.topLevelWidgets() if type(w).__name__ == "SyncCentre" and w.isVisible())
    qtbot.waitExposed(centre)
    assert_fits(centre)
    centre.close()


def test_first_run_and_login_dialogs_fit(qtbot: QtBot, ws: Workspace, tmp_path: Path) -> None:
    first = FirstRunDialog(tmp_path / "new.db")
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    assert_fits(first)
    login = LoginDialog(ws, user="worker", hint="演示账户：worker, township, county, admin")
    qtbot.addWidget(login)
    login.show()
    qtbot.waitExposed(login)
    assert_fits(login)


def test_a_dialog_made_for_a_big_screen_is_brought_onto_this_one(qtbot: QtBot, window: MainWindow) -> None:
    from PySide6.QtWidgets import QDialog

    big = QDialog(window)
    qtbot.addWidget(big)
    big.resize(1600, 1000)
    big.move(300, 200)
    big.show()
    qtbot.waitExposed(big)
    assert_fits(big)
    assert big.windowFlags() & Qt.WindowType.Dialog
