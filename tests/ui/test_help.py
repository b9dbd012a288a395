"""Help › User guide (F1) and Help › About, as a village worker opens them on a 1366x768 laptop."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import povdesk
from povdesk.core.demo import DEMO_PASSWORD
from povdesk.store import Workspace
from povdesk.ui.app import create_demo_workspace
from povdesk.ui.help import guide_markdown
from povdesk.ui.main_window import MainWindow
from tests.ui.conftest import CLOCK, activate


@pytest.fixture
def window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "demo.db"
    create_demo_workspace(path, households=5, seed=3, clock=CLOCK)
    ws = Workspace.open(path, clock=CLOCK)
    w = MainWindow(ws, ws.authenticate("worker", DEMO_PASSWORD), data_dir=tmp_path / "data", lang="zh")
    qtbot.addWidget(w)
    w.resize(1366, 740)
    w.show()
    activate(qtbot, w)
    yield w
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=20000)
    for name in ("guide_dialog", "about_dialog"):
        dialog = getattr(w, name, None)
        if dialog is not None:
            dialog.close()
    ws.close()


def test_f1_opens_the_user_guide_rendered(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    QTest.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: getattr(window, "guide_dialog", None) is not None and window.guide_dialog.isVisible())
    text = window.guide_dialog.browser.toPlainText()
    assert guide_markdown() and "povdesk" in text and "Sync: village → county → village" in text
    assert "## " not in text  # rendered, not shown as markdown source
    size = window.guide_dialog.size()
    assert size.width() <= 1366 and size.height() <= 768 - 60


def test_about_names_the_version_the_workspace_and_the_data_folder(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.menu() and window.about_action in
                     a.menu().actions())
    assert window.menuBar().actions()[-1].menu() is help_menu  # Help is the rightmost menu
    window.about_action.trigger()
    about = window.about_dialog
    assert about.isVisible()
    values = {k: v.text() for k, v in about.values.items()}
    assert values["version"] == povdesk.__version__
    assert values["file"] == str(window.ws.path) and values["data"] == str(window.data_dir)
    assert window.ws.region_code in values["workspace"]


def test_the_guide_is_read_from_the_file_shipped_beside_the_resources(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A PyInstaller build carries no package metadata: the guide is the README.md that
    packaging/povdesk.spec ships beside resources/, with the screenshots it shows."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QTextDocument

    from povdesk.ui.help import guide_root

    frozen = tmp_path / "frozen"
    frozen.mkdir()
    (frozen / "README.md").write_text("# 用户手册\n\nshipped as a file\n", encoding="utf-8")
    assert guide_markdown(frozen) == "# 用户手册\n\nshipped as a file\n"
    spec = (Path(povdesk.__file__).resolve().parent.parent / "packaging" / "povdesk.spec").read_text(encoding="utf-8")
    assert '"README.md"' in spec and "docs/screenshots" in spec
    root = guide_root()
    assert root is not None  # the source tree: README.md beside resources/
    QTest.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: getattr(window, "guide_dialog", None) is not None and window.guide_dialog.isVisible())
    image = window.guide_dialog.browser.loadResource(QTextDocument.ResourceType.ImageResource.value,
                                                     QUrl("docs/screenshots/main-window.png"))
    assert image is not None and len(image) > 1000  # the PNG's bytes, found through the guide's search path
