"""The app shell as a person meets it: first run, login, the list, search, dashboard, checks, Chinese."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QRawFont
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from povdesk.core.demo import DEMO_PASSWORD
from povdesk.paths import resource
from povdesk.store import Workspace
from povdesk.ui.app import FirstRunDialog, LoginDialog, create_demo_workspace, install_language
from povdesk.ui.fonts import load_app_font
from povdesk.ui.main_window import MainWindow
from tests.ui.conftest import CLOCK

ROOT = Path(__file__).resolve().parents[2]


def type_text(widget: object, text: str) -> None:
    """Type any text, Chinese included: keyClicks aborts on non-ASCII (TECH-NOTES)."""
    for ch in text:
        QTest.sendKeyEvent(QTest.KeyAction.Click, widget, Qt.Key.Key_unknown, ch, Qt.KeyboardModifier.NoModifier)


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("app") / "demo.db"
    create_demo_workspace(path, households=40, seed=3, clock=CLOCK)
    return path


@pytest.fixture
def window(qtbot, demo_path: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    ws = Workspace.open(demo_path, clock=CLOCK)
    user = ws.authenticate("worker", DEMO_PASSWORD)
    w = MainWindow(ws, user, data_dir=tmp_path, lang="zh")
    qtbot.addWidget(w)
    w.show()
    yield w
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=20000)


def test_first_run_creates_a_workspace_by_keyboard(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "new.db"
    dialog = FirstRunDialog(path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=2000)
    dialog.region.setFocus()
    qtbot.keyClicks(dialog.region, "522634100201")
    assert "雷山县" in dialog.region_name.text()
    QTest.keyClick(dialog.region, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is dialog.name
    type_text(dialog.name, "东门村")
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)  # keep "admin"
    qtbot.keyClicks(QApplication.focusWidget(), "pw1234")
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    qtbot.keyClicks(QApplication.focusWidget(), "pw9999")
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert not path.exists() and dialog.error.text()  # the passwords differ: said, nothing created
    dialog.password2.clear()
    qtbot.keyClicks(dialog.password2, "pw1234")
    QTest.keyClick(dialog.password2, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted and path.exists()
    ws = Workspace.open(path)
    assert (ws.level, ws.name) == ("village", "东门村")
    login = LoginDialog(ws, user="admin")
    qtbot.addWidget(login)
    login.show()
    login.activateWindow()
    qtbot.keyClicks(login.password, "wrong")
    QTest.keyClick(login.password, Qt.Key.Key_Return)
    assert login.user is None and login.error.text()
    login.password.clear()
    qtbot.keyClicks(login.password, "pw1234")
    QTest.keyClick(login.password, Qt.Key.Key_Return)
    assert login.user is not None and login.user.role == "admin"
    ws.close()


def test_list_is_lazy_and_search_finds_by_initials_and_chinese(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    model = window.model
    assert model.rowCount() == 40
    first = model.row(0)
    hh = window.ws.load_household(first.household_id)
    head = hh.head or hh.members[0]
    from pypinyin import Style, lazy_pinyin

    initials = "".join(lazy_pinyin(head.name, style=Style.FIRST_LETTER))
    window.search.setFocus()
    qtbot.keyClicks(window.search, initials)
    qtbot.waitUntil(lambda: model.rowCount() < 40 and model.rowCount() > 0, timeout=3000)
    assert first.household_id in {model.row(i).household_id for i in range(model.rowCount())}
    window.search.clear()
    type_text(window.search, head.name)
    qtbot.waitUntil(lambda: any(model.row(i).name == head.name for i in range(model.rowCount())), timeout=3000)


def test_selecting_a_row_opens_the_household(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.table.setFocus()
    window.table.selectRow(2)
    expected = window.model.row(2).household_id
    qtbot.waitUntil(lambda: window.editor.household is not None and window.editor.household.id == expected,
                    timeout=3000)


def test_dashboard_and_check_all(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: window.scan is not None, timeout=30000)
    assert window.scan.with_errors  # the demo plants mistakes
    QTest.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.dashboard
    assert window.dashboard.summary is not None and window.dashboard.summary.households == 40
    # status, attribute, the two funnels, causes, then monitoring objects by type and by risk
    titles = [view.chart().title() for view in window.dashboard.views]
    assert len(titles) == 7 and all(titles), titles
    assert "户有错误" in window.dashboard.quality_label.text() or "errors" in window.dashboard.quality_label.text()
    index = window.problem_filter.findData("errors")
    window.problem_filter.setCurrentIndex(index)
    shown = {window.model.row(i).household_id for i in range(window.model.rowCount())}
    assert shown == window.scan.with_errors


def test_bundled_font_draws_chinese(qtbot) -> None:  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    family = load_app_font(app)
    assert family == "Noto Sans SC"
    raw = QRawFont.fromFont(QFont(family))
    assert all(raw.supportsCharacter(ord(ch)) for ch in "建档立卡贫困户杨光明䶮")


def test_chinese_shows_with_no_system_cjk_font(tmp_path: Path) -> None:
    """A fontconfig that hides the usual system CJK fonts: only the bundled one can draw Chinese."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        "<include ignore_missing=\"yes\">/etc/fonts/fonts.conf</include>"
        "<selectfont><rejectfont><glob>*DroidSansFallback*</glob><glob>*wqy*</glob><glob>*NotoSansCJK*</glob>"
        "<glob>*NotoSerifCJK*</glob><glob>*arphic*</glob><glob>*uming*</glob><glob>*ukai*</glob>"
        "</rejectfont></selectfont></fontconfig>", encoding="utf-8")
    code = (
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtGui import QFont, QRawFont\n"
        "app = QApplication([])\n"
        "before = QRawFont.fromFont(QFont()).supportsCharacter(ord('贫'))\n"
        "from povdesk.ui.fonts import load_app_font\n"
        "family = load_app_font(app)\n"
        "after = QRawFont.fromFont(app.font()).supportsCharacter(ord('贫'))\n"
        "print(before, family, after, sep='|')\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FONTCONFIG_FILE=str(conf))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    before, family, after = out.stdout.strip().splitlines()[-1].split("|")
    assert (before, family, after) == ("False", "Noto Sans SC", "True")


def test_translations_keep_their_placeholders() -> None:
    tree = ET.parse(resource("i18n", "povdesk_zh_CN.ts"))
    checked = 0
    for message in tree.iter("message"):
        source = message.findtext("source") or ""
        translation = message.findtext("translation") or ""
        if not translation:
            continue
        assert set(re.findall(r"{(\w*)}", source)) == set(re.findall(r"{(\w*)}", translation)), source
        checked += 1
    assert checked > 50


def test_every_interface_string_is_translated() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "packaging" / "build_translations.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_chinese_is_the_default_and_english_switchable(qtbot, demo_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    ws = Workspace.open(demo_path)
    user = ws.authenticate("worker", DEMO_PASSWORD)
    try:
        install_language(app, "zh")
        w = MainWindow(ws, user, data_dir=tmp_path, lang="zh")
        qtbot.addWidget(w)
        assert w.search.placeholderText().startswith("查找")
        assert w.model.headerData(0, Qt.Orientation.Horizontal) == "户编号"
        install_language(app, "en")
        w2 = MainWindow(ws, user, data_dir=tmp_path, lang="en")
        qtbot.addWidget(w2)
        assert w2.search.placeholderText().startswith("Search")
        for win in (w, w2):
            if win.scan_job is not None:
                qtbot.waitUntil(lambda win=win: win.scan_job is None, timeout=30000)
    finally:
        install_language(app, "en")  # other tests read the English source strings


def test_first_run_can_take_the_county_key(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from povdesk.sync import service

    county = Workspace.create(tmp_path / "county.db", region_code="522634", name="雷山县", level="county",
                              admin_user="admin", admin_password="pw1234")
    service.export_key_file(county, tmp_path / "county.key")
    county.close()
    dialog = FirstRunDialog(tmp_path / "village.db")
    qtbot.addWidget(dialog)
    dialog.region.setText("522634100201")
    dialog.name.setText("东门村")
    dialog.password.setText("pw1234")
    dialog.password2.setText("pw1234")
    dialog.county_key.setText(str(tmp_path / "county.key"))
    dialog._create()
    assert dialog.result() == QDialog.DialogCode.Accepted
    ws = Workspace.open(tmp_path / "village.db")
    try:
        assert [p.region_code for p in ws.sync_peers("county")] == ["522634"]  # the county it now trusts
    finally:
        ws.close()


def test_demo_village_is_made_by_the_worker(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from povdesk.ui.app import _run_with_progress

    path = tmp_path / "demo.db"
    assert _run_with_progress("demo", lambda progress, cancelled: create_demo_workspace(path, households=10, clock=CLOCK))
    with Workspace.open(path) as ws:
        assert ws.count_households() == 10


def test_povdesk_app_passes_its_flags_to_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`povdesk app` finds the app by its module name (the CLI imports nothing of the UI) and hands on its flags."""
    from povdesk.cli import main as cli_main
    from povdesk.ui import app as app_module

    seen: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        seen.append(list(argv))
        return 0

    monkeypatch.setenv("POVDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(app_module, "main", fake_main)
    data = str(tmp_path / "portable")
    assert cli_main(["--today", "2026-06-01", "app", "--demo", "--data-dir", data, "--lang", "en"]) == 0
    assert cli_main(["app", "--portable", "--workspace", "x.db"]) == 0
    assert seen == [["--demo", "--data-dir", data, "--lang", "en", "--today", "2026-06-01"],
                    ["--portable", "--workspace", "x.db"]]
