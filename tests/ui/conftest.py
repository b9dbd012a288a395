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
from PySide6.QtWidgets import QApplication, QPushButton, QWidget  # noqa: E402

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


# ------------------------------------------------------------------ modal dialogs

MODAL_PATIENCE_S = 5.0  # a modal dialog nobody answers is closed after this long, and the test fails


class _Answer:
    """A button to click in the next message box (or dialog of `kind`) that opens."""

    def __init__(self, button_text: str, seen: list[str] | None, kind: type[QWidget]) -> None:
        self.button_text, self.seen, self.kind = button_text, seen, kind
        self.done = False


class ModalWatch:
    """Every UI test runs under this watch: a modal dialog left open (nobody answers it) is closed after
    MODAL_PATIENCE_S and the test fails naming it, instead of waiting forever in the dialog's event loop.
    It also clicks the answers tests arm with `answer_dialog`, and fails a test whose armed answer never
    found its dialog."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.left_open: list[str] = []
        self.answers: list[_Answer] = []
        self._open: QWidget | None = None
        self._since = 0.0
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        import time

        from PySide6.QtWidgets import QMessageBox

        widget = QApplication.activeModalWidget()
        if widget is None:
            self._open = None
            return
        if widget is not self._open:
            self._open, self._since = widget, time.monotonic()
        pending = next((a for a in self.answers if not a.done), None)
        if pending is not None and isinstance(widget, pending.kind):
            buttons = widget.buttons() if isinstance(widget, QMessageBox) else widget.findChildren(QPushButton)
            button = next((b for b in buttons if b.text() == pending.button_text and b.isVisible()), None)
            if button is not None:
                pending.done = True
                if pending.seen is not None:
                    pending.seen.append(widget.text() if isinstance(widget, QMessageBox) else widget.windowTitle())
                QTest.mouseClick(button, Qt.MouseButton.LeftButton)
                return
        if time.monotonic() - self._since > MODAL_PATIENCE_S:
            self.left_open.append(describe_dialog(widget))
            dismiss(widget)
            self._open = None

    def stop(self) -> list[str]:
        """Stops watching; the problems it saw (dialogs left open, answers never used)."""
        self.timer.stop()
        unused = [f"answer_dialog({a.button_text!r}): no such dialog opened" for a in self.answers if not a.done]
        return [f"modal dialog left open: {d}" for d in self.left_open] + unused


def describe_dialog(widget: QWidget) -> str:
    from PySide6.QtWidgets import QMessageBox

    text = widget.text() if isinstance(widget, QMessageBox) else ""
    return f"{type(widget).__name__} {widget.windowTitle()!r} {text!r}".strip()


def dismiss(widget: QWidget) -> None:
    """Close a modal dialog as Esc would (its escape button, else reject)."""
    from PySide6.QtWidgets import QDialog, QMessageBox

    if isinstance(widget, QMessageBox) and widget.escapeButton() is not None:
        widget.escapeButton().click()
    elif isinstance(widget, QDialog):
        widget.reject()
    else:
        widget.close()


_watch: ModalWatch | None = None


@pytest.fixture(autouse=True)
def modal_watch(qapp: object) -> Iterator[ModalWatch]:
    global _watch
    _watch = ModalWatch()
    try:
        yield _watch
    finally:
        problems, _watch = _watch.stop(), None
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


def answer_dialog(button_text: str, seen: list[str] | None = None, kind: type[QWidget] | None = None) -> None:
    """Click `button_text` in the next modal message box (or dialog of `kind`), as a person would; its
    text (a dialog's title) is kept in `seen`. Answers armed one after another are used in order."""
    from PySide6.QtWidgets import QMessageBox

    assert _watch is not None, "answer_dialog is for UI tests (the modal_watch fixture)"
    _watch.answers.append(_Answer(button_text, seen, kind or QMessageBox))
