"""The check of every household of a county runs in a process of its own: the same findings as in
the window's process, the window's interpreter free meanwhile, and Cancel stops it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from povdesk.ops.scan import scan
from povdesk.store import User, Workspace
from povdesk.ui.main_window import MainWindow


def _window(qtbot: QtBot, ws: Workspace, user: User, tmp_path: Path) -> MainWindow:
    w = MainWindow(ws, user, data_dir=tmp_path, lang="zh")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.scan_job is None, timeout=30000)  # the village's own check at start
    w.scan_in_process_from = 0  # every workspace counts as a county's here
    return w


def test_f5_checks_in_a_child_process_and_finds_what_the_window_would(qtbot: QtBot, ws: Workspace, county: User,
                                                                      tmp_path: Path) -> None:
    w = _window(qtbot, ws, county, tmp_path)
    w.scan = None
    w.activateWindow()
    w.setFocus()
    QTest.keyClick(w, Qt.Key.Key_F5)
    assert w.scan_job is not None
    qtbot.waitUntil(lambda: w.scan is not None and w.scan_job is None, timeout=60000)
    expected = scan(ws, None, lambda _d, _t: None, lambda: False)
    got = w.scan
    assert got is not None
    assert (got.households, got.with_errors, got.with_warnings) == (expected.households, expected.with_errors,
                                                                    expected.with_warnings)
    assert dict(got.due) == dict(expected.due)
    assert got.households == ws.count_households() and got.due  # the child read the real households
    assert w.dashboard.quality is not None


def test_cancel_stops_the_check_process(qtbot: QtBot, ws: Workspace, county: User, tmp_path: Path) -> None:
    w = _window(qtbot, ws, county, tmp_path)
    previous = w.scan
    w.start_scan(show_dialog=False)
    job = w.scan_job
    assert job is not None
    errors: list[object] = []
    job.error.connect(errors.append)
    job.cancel()
    qtbot.waitUntil(lambda: w.scan_job is None, timeout=60000)
    # Cancelled before it ended (a quiet stop, no dialog), or it had finished already: never a failure.
    assert all(type(e).__name__ == "Cancelled" for e in errors)
    assert w.scan is previous or not errors


def test_an_encrypted_workspace_is_checked_in_the_child_with_the_key_this_login_unlocked(
        qtbot: QtBot, tmp_path: Path) -> None:
    from datetime import date

    from povdesk.core.demo import generate
    from povdesk.core.procedures import as_held_at
    from povdesk.ui.worker import run_op_in_process

    path = tmp_path / "enc.db"
    ws = Workspace.create(path, region_code="522634100201", name="加密村", level="village", admin_user="admin",
                          admin_password="secret-pw", encrypted=True)
    admin = ws.authenticate("admin", "secret-pw")
    ws.add_user(admin, "w", "secret-pw", "village_worker")
    ws.import_households(as_held_at(generate("522634100201", count=5, seed=2, today=date(2026, 6, 1)), "village"),
                         ws.authenticate("w", "secret-pw"), source="t")
    results: list[object] = []
    job = run_op_in_process(None, "", ws, scan, (None,), results.append, show_dialog=False)
    job.error.connect(results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=60000)
    assert getattr(results[0], "households", None) == 5, results
    ws.close()
