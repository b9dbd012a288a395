"""Cold start: the main window opens without the libraries only some screens need, its modules load
while the login dialog waits for the password, and the widgets made with the app-wide filters
paused are guarded all the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from povdesk.store import Workspace
from povdesk.ui import session as session_module
from povdesk.ui.screen import install_screen_guard, screen_guard
from povdesk.ui.wheel import guards_paused, install_wheel_guard
from tests.ui.conftest import DEMO_PASSWORD, LAPTOP_SCREEN

ROOT = Path(__file__).resolve().parents[2]

# Libraries of the import wizard (openpyxl), the relay (httpx) and the migrations (sqlite-utils):
# none is needed to log in and see the list.
NOT_AT_START = ("openpyxl", "httpx", "sqlite_utils")

CHILD = r"""
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from povdesk.ui.app import build_parser, start
session = start(app, build_parser().parse_args(["--workspace", sys.argv[1], "--data-dir", sys.argv[2]]))
app.processEvents()
dialog = session.login_dialog
dialog.name.setText("county")
dialog.password.setText(sys.argv[3])
dialog._login()
app.processEvents()
assert session.window is not None and session.window.model.rowCount() > 0
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[4].split(","))))
session.window.close()
"""


def test_the_main_window_opens_without_excel_relay_or_migration_libraries(ws: Workspace, tmp_path: Path) -> None:
    path = Path(ws.path)
    ws.close()
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={LAPTOP_SCREEN}")
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(tmp_path / "data"), DEMO_PASSWORD,
                          ",".join(NOT_AT_START)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_main_window_modules_load_while_the_login_waits(qtbot: QtBot, ws: Workspace, tmp_path: Path) -> None:
    s = session_module.Session(Path(ws.path), clock=ws.clock, data_dir=tmp_path)
    dialog = s.show_login("county")
    qtbot.addWidget(dialog)
    preload = session_module.preload_main_window(dialog)  # what the dialog's timer starts: on the GUI thread
    qtbot.waitUntil(lambda: preload.done, timeout=60000)
    assert all(name in sys.modules for name in session_module.PRELOAD)
    dialog.password.setText(DEMO_PASSWORD)
    dialog._login()  # the modules already there: the window is made on the GUI thread
    assert s.window is not None
    qtbot.addWidget(s.window)
    assert s.window.model.rowCount() > 0
    s.window.close()


def _wheel_down(widget: QWidget) -> None:
    local = QPointF(widget.rect().center())
    QApplication.sendEvent(widget, QWheelEvent(local, QPointF(widget.mapToGlobal(local.toPoint())), QPoint(0, 0),
                                               QPoint(0, -120), Qt.MouseButton.NoButton,
                                               Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False))


def test_drop_downs_made_with_the_guards_paused_keep_their_answer_under_the_wheel(qtbot: QtBot) -> None:
    install_wheel_guard()
    install_screen_guard()
    app = QApplication.instance()
    assert app is not None and screen_guard() is not None
    page = QWidget()
    with guards_paused():
        box = QVBoxLayout(page)
        combos = []
        for _ in range(30):  # taller than the page: it scrolls
            combo = QComboBox()
            combo.addItems(["", "是", "否"])
            combo.setCurrentIndex(2)
            box.addWidget(combo)
            combos.append(combo)
    area = QScrollArea()
    area.setWidget(page)
    area.resize(300, 200)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    combo = combos[1]
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus  # not WheelFocus: the wheel gives no focus
    _wheel_down(combo)
    assert combo.currentIndex() == 2  # the answer stays; the page scrolls instead
    assert area.verticalScrollBar().value() > 0
    # The screen guard is back too: a window bigger than the screen is shrunk when shown.
    big = QWidget()
    qtbot.addWidget(big)
    big.resize(3000, 2000)
    big.show()
    qtbot.waitExposed(big)
    assert big.width() < 1366 and big.height() < 768


def test_the_login_dialog_shows_without_importlib_metadata() -> None:
    """importlib.metadata (and the email package under it) is a tenth of a second of the start before
    the login dialog: the search index's version reads pypinyin's from its dist-info folder, the same
    text as importlib.metadata's."""
    code = ("import sys\nfrom PySide6.QtWidgets import QApplication\napp = QApplication([])\nimport povdesk.ui.app\n"
            "from povdesk.store import search\nprint('importlib.metadata' in sys.modules, search.SEARCH_VERSION)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    from importlib.metadata import version

    assert out.stdout.split() == ["False", "1;pypinyin", version("pypinyin")]
