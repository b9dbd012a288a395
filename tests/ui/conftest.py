"""UI test fixtures: offscreen Qt on a 1366x768 screen, the bundled font, and a small demo village per test."""

from __future__ import annotations

import os

# Before anything imports Qt: offscreen, on the screen of a village laptop (1366x768 less a 40 px
# taskbar, so the "available geometry" a window may use is what Windows reports there).
LAPTOP_SCREEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "laptop-screen.json")
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={LAPTOP_SCREEN}"

import sqlite3  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from povdesk.clock import FixedClock  # noqa: E402
from povdesk.core.demo import DEMO_PASSWORD, DEMO_REGION, DEMO_USERS, generate, step_positions  # noqa: E402
from povdesk.core.model import Household  # noqa: E402
from povdesk.core.procedures import next_steps  # noqa: E402
from povdesk.store import User, Workspace  # noqa: E402

DEMO_HOUSEHOLDS = 30
assert len(step_positions()) <= DEMO_HOUSEHOLDS  # a household waiting at every step
DEMO_SEED = 7
TODAY = date(2026, 6, 1)  # every UI test runs on this day, whatever the machine's date
CLOCK = FixedClock(TODAY)


@pytest.fixture(scope="session", autouse=True)
def _app_font(qapp: object) -> None:
    """The bundled CJK font, as the app loads it, so screenshots and widths are realistic."""
    from PySide6.QtGui import QFont, QFontDatabase
    from PySide6.QtWidgets import QApplication

    from povdesk.paths import resource

    font_id = QFontDatabase.addApplicationFont(str(resource("fonts", "NotoSansSC-Regular.ttf")))
    families = QFontDatabase.applicationFontFamilies(font_id)
    if families:
        QApplication.setFont(QFont(families[0], 10))


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A village workspace with the demo accounts and 30 households, built once per session."""
    path = tmp_path_factory.mktemp("template") / "village.povdesk"
    ws = Workspace.create(path, region_code=DEMO_REGION, name="东门村", level="village",
                          admin_user="admin", admin_password=DEMO_PASSWORD, clock=CLOCK, demo=True)
    try:
        admin = ws.authenticate("admin", DEMO_PASSWORD)
        for name, role in DEMO_USERS.items():
            if name != "admin":
                ws.add_user(admin, name, DEMO_PASSWORD, role, name)
        worker = ws.authenticate("worker", DEMO_PASSWORD)
        ws.import_households(generate(DEMO_REGION, count=DEMO_HOUSEHOLDS, seed=DEMO_SEED, today=TODAY),
                             worker, source="demo")
    finally:
        ws.close()
    return path


@pytest.fixture
def ws(demo_template: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A fresh copy of the demo workspace for each test."""
    path = tmp_path / "village.povdesk"
    with sqlite3.connect(demo_template) as src, sqlite3.connect(path) as dest:
        src.backup(dest)
    workspace = Workspace.open(path, clock=CLOCK)
    yield workspace
    workspace.close()


def household_at(ws: Workspace, procedure: str, step: str) -> Household:
    """The first household whose next step is exactly this one; a clear failure naming it if none is."""
    for hh in ws.iter_households():
        if [(s.key, st.key) for s, st in next_steps(hh)] == [(procedure, step)]:
            return hh
    raise AssertionError(f"the demo village has no household waiting for {procedure}.{step}")


def days_after_last_event(hh: Household) -> Callable[[int], str]:
    """Step dates as a worker would type them: `day(n)` is n days after the household's last event
    (taken now, before the steps a test records)."""
    last = max((date.fromisoformat(e.date) for e in hh.events), default=TODAY - timedelta(days=60))
    return lambda days: (last + timedelta(days=days)).isoformat()


def login(ws: Workspace, name: str) -> User:
    return ws.authenticate(name, DEMO_PASSWORD)


@pytest.fixture
def worker(ws: Workspace) -> User:
    return login(ws, "worker")


@pytest.fixture
def township(ws: Workspace) -> User:
    return login(ws, "township")


@pytest.fixture
def county(ws: Workspace) -> User:
    return login(ws, "county")


@pytest.fixture
def drafts_dir(tmp_path: Path) -> Path:
    path = tmp_path / "drafts"
    path.mkdir()
    return path


# ------------------------------------------------------------------ typing as a person does


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def type_text(text: str, widget: QWidget | None = None) -> None:
    """Type into the focused widget; Chinese one key event per character (QTest.keyClicks would abort
    the process on non-ASCII, see shared/TECH-NOTES.md)."""
    target = widget or focused()
    for ch in text:
        if ch.isascii():
            QTest.keyClicks(target, ch)
        else:
            QTest.sendKeyEvent(QTest.KeyAction.Click, target, Qt.Key.Key_unknown, ch, Qt.KeyboardModifier.NoModifier)


def press(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(focused(), key, modifier)


def activate(qtbot: Any, widget: QWidget) -> None:
    """Show a widget as the active window, so its keyboard shortcuts work."""
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)

    def active() -> bool:
        if QApplication.activeWindow() is not widget:
            widget.activateWindow()  # asked again: offscreen there is no window manager to do it
            return False
        return True

    qtbot.waitUntil(active)
