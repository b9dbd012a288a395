"""Encrypted workspaces in the app, as a person meets them: the first run and the demo make one,
the login dialog opens one with the typed password, an administrator of a plain one is offered to
encrypt it, a damaged or altered one shows one dialog offering the latest backup, and the editor's
drafts beside an encrypted workspace hold no household data in plain bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from povdesk.core.demo import DEMO_PASSWORD
from povdesk.ops import security as ops
from povdesk.store import Workspace, keys
from povdesk.ui.app import AppSettings, FirstRunDialog, LoginDialog, create_demo_workspace
from povdesk.ui.editor import recoverable_drafts
from povdesk.ui.main_window import MainWindow
from povdesk.ui.security_dialogs import DamagedWorkspaceDialog
from povdesk.ui.session import Session
from tests.ui.conftest import CLOCK, activate, answer_dialog, type_text


@pytest.fixture(autouse=True)
def _forget_keys() -> object:
    yield
    keys.forget_all()


@pytest.fixture(scope="module")
def encrypted_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("enc") / "demo.db"
    create_demo_workspace(path, households=12, seed=3, clock=CLOCK)
    keys.forget_all()
    return path


def _copy(src: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    dest.write_bytes(src.read_bytes())
    if keys.key_file_for(src).exists():
        keys.key_file_for(dest).write_bytes(keys.key_file_for(src).read_bytes())
    return dest


def _session(path: Path, data_dir: Path) -> tuple[Session, list[bool]]:
    session = Session(path, clock=CLOCK, data_dir=data_dir, settings=AppSettings(data_dir), lang="en")
    ended: list[bool] = []
    session.finished.connect(lambda: ended.append(True))
    return session, ended


def _type_login(qtbot: QtBot, session: Session, name: str, password: str) -> LoginDialog:
    qtbot.waitUntil(lambda: session.login_dialog is not None and session.login_dialog.isVisible())
    dialog = session.login_dialog
    assert isinstance(dialog, LoginDialog)
    dialog.name.setFocus()
    dialog.name.selectAll()
    type_text(name, dialog.name)
    dialog.password.setFocus()
    type_text(password, dialog.password)
    QTest.keyClick(dialog.password, Qt.Key.Key_Return)
    return dialog


def _window(qtbot: QtBot, session: Session) -> MainWindow:
    qtbot.waitUntil(lambda: session.window is not None and session.window.isVisible(), timeout=10000)
    window = session.window
    assert isinstance(window, MainWindow)
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=30000)
    return window


def test_first_run_and_the_demo_make_encrypted_workspaces(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "village.db"
    dialog = FirstRunDialog(path)
    qtbot.addWidget(dialog)
    dialog.region.setText("522634100201")
    dialog.name.setText("东门村")
    dialog.password.setText("pw1234")
    dialog.password2.setText("pw1234")
    dialog._create()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert ops.is_encrypted(path) and keys.key_file_for(path).is_file()
    assert "东门村".encode() not in path.read_bytes()
    demo = tmp_path / "demo.db"
    create_demo_workspace(demo, households=3, clock=CLOCK)
    assert ops.is_encrypted(demo)


def test_logging_in_to_an_encrypted_workspace_by_typing_the_password(qtbot: QtBot, encrypted_demo: Path,
                                                                     tmp_path: Path) -> None:
    path = _copy(encrypted_demo, tmp_path / "data")
    session, ended = _session(path, tmp_path / "data")
    session.show_login("worker")
    dialog = _type_login(qtbot, session, "worker", "wrong-password")
    assert dialog.isVisible() and dialog.error.text() and session.window is None
    dialog.password.clear()
    _type_login(qtbot, session, "worker", DEMO_PASSWORD)
    window = _window(qtbot, session)
    assert window.user.name == "worker" and window.model.rowCount() == 12
    window.close()
    assert ended


def _damage_first_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[40] ^= 0x10  # the first page, read (and its HMAC checked) at every sign-in
    path.write_bytes(bytes(data))


def test_a_damaged_encrypted_workspace_offers_its_latest_backup(qtbot: QtBot, encrypted_demo: Path,
                                                               tmp_path: Path) -> None:
    path = _copy(encrypted_demo, tmp_path / "data")
    ws = Workspace.open(path, clock=CLOCK)
    ws.authenticate("admin", DEMO_PASSWORD)
    backup = ws.backup()
    ws.close()
    keys.forget_all()
    _damage_first_page(path)
    session, ended = _session(path, tmp_path / "data")
    session.show_login("worker")
    seen: list[str] = []
    answer_dialog("Open the latest backup", seen, kind=DamagedWorkspaceDialog)
    _type_login(qtbot, session, "worker", DEMO_PASSWORD)
    # One dialog, then the login again on the backup, which opens.
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == ["The workspace file is damaged"]
    window = (_type_login(qtbot, session, "worker", DEMO_PASSWORD), _window(qtbot, session))[1]
    assert window.model.rowCount() == 12 and not ended
    kept = list(path.parent.glob("demo.damaged-*.db"))
    assert len(kept) == 1 and keys.key_file_for(kept[0]).is_file()  # the damaged file is kept, not deleted
    assert backup.exists()
    window.close()


def test_a_damaged_workspace_without_a_backup_says_so_and_ends(qtbot: QtBot, encrypted_demo: Path,
                                                              tmp_path: Path) -> None:
    path = _copy(encrypted_demo, tmp_path / "data")
    _damage_first_page(path)
    session, ended = _session(path, tmp_path / "data")
    session.show_login("worker")
    seen: list[str] = []
    answer_dialog("Close", seen, kind=DamagedWorkspaceDialog)
    _type_login(qtbot, session, "worker", DEMO_PASSWORD)
    qtbot.waitUntil(lambda: bool(ended), timeout=5000)
    assert seen == ["The workspace file is damaged"] and session.window is None


def test_a_truncated_or_foreign_file_shows_the_same_dialog(qtbot: QtBot, encrypted_demo: Path,
                                                          tmp_path: Path) -> None:
    path = _copy(encrypted_demo, tmp_path / "data")
    path.write_bytes(path.read_bytes()[:1000])  # not even one whole page
    session, ended = _session(path, tmp_path / "data")
    seen: list[str] = []
    answer_dialog("Close", seen, kind=DamagedWorkspaceDialog)
    session.show_login("worker")
    _type_login(qtbot, session, "worker", DEMO_PASSWORD)
    qtbot.waitUntil(lambda: bool(ended), timeout=5000)
    assert seen == ["The workspace file is damaged"]
    # A plain file that is not a workspace at all (a foreign file under the workspace's name).
    other = tmp_path / "other" / "village.db"
    other.parent.mkdir()
    other.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    session, ended = _session(other, tmp_path / "other")
    answer_dialog("Close", seen, kind=DamagedWorkspaceDialog)
    assert session.show_login("worker") is None
    assert seen == ["The workspace file is damaged"] * 2


def test_an_administrator_of_a_plain_workspace_is_offered_to_encrypt_it(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "data" / "plain.db"
    create_demo_workspace(path, households=4, clock=CLOCK, encrypted=False)
    assert not ops.is_encrypted(path)
    session, _ended = _session(path, tmp_path / "data")
    session.show_login("admin")
    seen: list[str] = []
    answer_dialog("&Yes", seen)  # encrypt it
    answer_dialog("&Yes", seen)  # and delete the plain copy
    _type_login(qtbot, session, "admin", DEMO_PASSWORD)
    window = _window(qtbot, session)
    assert "not encrypted" in seen[0] and "NOT encrypted" in seen[1]
    assert ops.is_encrypted(path) and window.model.rowCount() == 4
    assert list(path.parent.glob("plain.db.plain-backup-*")) == [] and list(path.parent.glob("*plain-backup*")) == []
    window.close()
    # A worker is not asked (only an administrator may encrypt).
    assert not ops.may_encrypt("village_worker")


def test_drafts_of_an_encrypted_workspace_hold_no_household_data(qtbot: QtBot, encrypted_demo: Path,
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "data"
    path = _copy(encrypted_demo, folder)
    ws = Workspace.open(path, clock=CLOCK)
    worker = ws.authenticate("worker", DEMO_PASSWORD)
    secrets: list[str] = []
    for hh in ws.iter_households():
        for m in hh.members:
            secrets += [m.name, m.id_number or ""]
    secrets = [s for s in secrets if len(s) >= 2]
    window = MainWindow(ws, worker, data_dir=folder, lang="en")
    qtbot.addWidget(window)
    activate(qtbot, window)
    row = window.model.row(0)
    window.open_household(row.household_id)
    window.editor.basic_form.focus_field("address")
    type_text("三组八号")
    assert window.editor.has_unsaved_changes()
    window.editor.write_draft_now()
    drafts = list((folder / "drafts").glob("*.json"))
    assert drafts
    # No ID number or name in the bytes of any file in the folder (workspace, key file, drafts, logs).
    for f in folder.rglob("*"):
        if f.is_file():
            raw = f.read_bytes()
            leaked = [s for s in secrets if s.encode("utf-8") in raw]
            assert not leaked, (f.name, leaked[:2])
            assert "三组八号".encode() not in raw, f.name
    # Offered again to whoever signs in to this workspace; not to anyone without its key.
    (draft,) = recoverable_drafts(folder / "drafts")
    assert draft.household_id == row.household_id
    window.editor.set_aside()
    window.close()
    keys.forget_all()
    assert recoverable_drafts(folder / "drafts") == []


def test_damage_noticed_while_the_window_is_open_shows_the_same_dialog(qtbot: QtBot, encrypted_demo: Path,
                                                                      tmp_path: Path) -> None:
    from povdesk.errors import PovdeskError
    from povdesk.ui.errors import show_error

    path = _copy(encrypted_demo, tmp_path / "data")
    session, ended = _session(path, tmp_path / "data")
    session.show_login("worker")
    _type_login(qtbot, session, "worker", DEMO_PASSWORD)
    window = _window(qtbot, session)
    window.open_household(window.model.row(0).household_id)
    window.editor.basic_form.focus_field("address")
    type_text("x")
    assert window.editor.has_unsaved_changes()
    # A page that fails its HMAC, read later by the window: the error the store raises for it.
    copy = _copy(encrypted_demo, tmp_path / "damaged")
    _damage_first_page(copy)
    with pytest.raises(PovdeskError) as raised:
        Workspace.open(copy).authenticate("worker", DEMO_PASSWORD)
    assert ops.is_damaged(raised.value)
    seen: list[str] = []
    answer_dialog("Close", seen, kind=DamagedWorkspaceDialog)
    show_error(window, raised.value)
    # One dialog (no second warning, no question about unsaved changes: they are kept as a draft).
    assert seen == ["The workspace file is damaged"] and ended and session.window is None
    assert not window.isVisible()
    assert list((tmp_path / "data" / "drafts").glob("*.json"))
