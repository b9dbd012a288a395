"""Starts the desktop app: data directory, font, language, first run or login, then the main window."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from povdesk import __version__
from povdesk.clock import SYSTEM_CLOCK, Clock, parse_today
from povdesk.errors import BadInput, PovdeskError
from povdesk.i18n import Text
from povdesk.paths import resource
from povdesk.ui.errors import install_excepthook, show_error
from povdesk.ui.fonts import load_app_font
from povdesk.ui.screen import install_screen_guard
from povdesk.ui.wheel import install_wheel_guard

log = logging.getLogger(__name__)

WORKSPACE_FILE = "workspace.db"
DEMO_FILE = "demo.db"


# ---------------------------------------------------------------------------- paths and settings

def data_dir_for(args: argparse.Namespace) -> Path:
    """--data-dir wins; --portable (or a frozen copy with a povdesk-data folder) keeps data beside the app."""
    if args.data_dir:
        return Path(args.data_dir)
    exe_dir = Path(sys.executable).resolve().parent
    portable = exe_dir / "povdesk-data"
    if args.portable or (getattr(sys, "frozen", False) and portable.is_dir()):
        return portable
    from povdesk.paths import user_data_dir

    return user_data_dir()


class AppSettings:
    """Small per-installation settings (language, last workspace) as JSON in the data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "settings.json"
        try:
            self.values: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.values = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.values, ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError:
            log.warning("could not write %s", self.path)


def setup_logging(data_dir: Path) -> None:
    try:
        (data_dir / "logs").mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(data_dir / "logs" / "povdesk.log", maxBytes=1_000_000,
                                                       backupCount=3, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


# ---------------------------------------------------------------------------- language

_translators: list[QTranslator] = []


def install_language(app: QApplication, lang: str) -> None:
    """Chinese by default: the app's own .qm plus Qt's translations of its standard dialogs."""
    for t in _translators:
        app.removeTranslator(t)
    _translators.clear()
    app.setProperty("povdesk_lang", lang)
    if lang != "zh":
        return
    ours = QTranslator(app)
    if ours.load(str(resource("i18n", "povdesk_zh_CN.qm"))):
        app.installTranslator(ours)
        _translators.append(ours)
    else:
        log.warning("translation povdesk_zh_CN.qm not found")
    qt = QTranslator(app)
    if qt.load(QLocale(QLocale.Language.Chinese, QLocale.Country.China), "qtbase", "_",
               QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        _translators.append(qt)


# ---------------------------------------------------------------------------- dialogs


class FirstRunDialog(QDialog):
    """Create a workspace (village, township or county) and its administrator, or open another file."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.created: Path | None = None
        self.setWindowTitle(QCoreApplication.translate("app", "Create a workspace"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(QCoreApplication.translate("app", "No workspace yet. Enter the region this laptop works for and an "
                                    "administrator account.")))
        form = QFormLayout()
        self.region = QLineEdit()
        self.region.setPlaceholderText(QCoreApplication.translate("app", "12-digit village, 9-digit township or 6-digit county code"))
        self.name = QLineEdit()
        self.admin = QLineEdit("admin")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password2 = QLineEdit()
        self.password2.setEchoMode(QLineEdit.EchoMode.Password)
        self.region_name = QLabel("")
        self.county_key = QLineEdit()
        self.county_key.setPlaceholderText(QCoreApplication.translate(
            "app", "optional: the county's public key file (a village or township laptop)"))
        browse = QPushButton(QCoreApplication.translate("app", "Choose…"))
        browse.clicked.connect(self._choose_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.county_key)
        key_row.addWidget(browse)
        form.addRow(QCoreApplication.translate("app", "Region code"), self.region)
        form.addRow("", self.region_name)
        form.addRow(QCoreApplication.translate("app", "Workspace name"), self.name)
        form.addRow(QCoreApplication.translate("app", "Administrator"), self.admin)
        form.addRow(QCoreApplication.translate("app", "Password"), self.password)
        form.addRow(QCoreApplication.translate("app", "Password again"), self.password2)
        form.addRow(QCoreApplication.translate("app", "County key"), key_row)
        self.key_fingerprint = QLabel("")
        form.addRow("", self.key_fingerprint)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.open_other = QPushButton(QCoreApplication.translate("app", "Open another workspace file…"))
        buttons.addButton(self.open_other, QDialogButtonBox.ButtonRole.ActionRole)
        self.open_other.clicked.connect(self._open_other)
        buttons.accepted.connect(self._create)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.region.textChanged.connect(self._show_region)

    def _lang(self) -> str:
        app = QCoreApplication.instance()
        return (app.property("povdesk_lang") if app else None) or "zh"

    def _show_region(self, text: str) -> None:
        from povdesk.core.regions import full_name, validate_workspace_region

        try:
            validate_workspace_region(text.strip())
            self.region_name.setText(full_name(text.strip()))
        except PovdeskError:
            self.region_name.setText("")

    def _choose_key(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, QCoreApplication.translate("app", "County public key"),
                                                str(self.path.parent))
        if chosen:
            self.county_key.setText(chosen)
            from povdesk.sync.keys import read_key_file

            try:
                card = read_key_file(Path(chosen))
            except PovdeskError as exc:
                self.key_fingerprint.setText(exc.message(self._lang()))
                return
            self.key_fingerprint.setText(QCoreApplication.translate(
                "app", "{name}, fingerprint {fp}: compare it with the county by phone").format(
                    name=card.name, fp=card.fingerprint))

    def _open_other(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, QCoreApplication.translate("app", "Open workspace"), str(self.path.parent),
                                                QCoreApplication.translate("app", "povdesk workspace (*.db)"))
        if chosen:
            self.created = Path(chosen)
            self.accept()

    def _create(self) -> None:
        from povdesk.core.regions import validate_workspace_region
        from povdesk.store import Workspace

        try:
            code = self.region.text().strip()
            level, _ = validate_workspace_region(code)
            if not self.name.text().strip():
                raise BadInput(Text("请填写工作区名称", "enter a workspace name"))
            if len(self.password.text()) < 4:
                raise BadInput(Text("密码至少 4 个字符", "the password needs at least 4 characters"))
            if self.password.text() != self.password2.text():
                raise BadInput(Text("两次输入的密码不一致", "the passwords differ"))
            key = self.county_key.text().strip()
            if key and not Path(key).is_file():
                raise BadInput(Text("找不到县级公钥文件", "the county key file does not exist"), where=key)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ws = Workspace.create(self.path, region_code=code, name=self.name.text().strip(), level=level,
                                  admin_user=self.admin.text().strip(), admin_password=self.password.text(),
                                  encrypted=True)
        except PovdeskError as exc:
            self.error.setText(exc.message(self._lang()))
            return
        try:
            if key:
                from povdesk.sync import service

                admin = ws.authenticate(self.admin.text().strip(), self.password.text())
                service.trust(ws, admin, Path(key), "county")
        except PovdeskError as exc:
            # The workspace stands; the key can be set later in the sync centre.
            QMessageBox.warning(self, "povdesk", exc.message(self._lang()))
        finally:
            ws.close()
        self.created = self.path
        self.accept()


class LoginDialog(QDialog):
    """Name and password. A damaged or altered workspace ends it with DAMAGED (`damaged` holds the
    error): the session then shows the one dialog that offers the latest backup."""

    DAMAGED = 2

    def __init__(self, ws: Any, parent: QWidget | None = None, *, user: str = "", hint: str = "") -> None:
        super().__init__(parent)
        self.ws = ws
        self.user: Any = None
        self.damaged: PovdeskError | None = None
        self.setWindowTitle(QCoreApplication.translate("app", "Log in"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{ws.name}（{ws.region_code}）"))
        form = QFormLayout()
        self.name = QLineEdit(user)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(QCoreApplication.translate("app", "User"), self.name)
        form.addRow(QCoreApplication.translate("app", "Password"), self.password)
        layout.addLayout(form)
        if hint:
            layout.addWidget(QLabel(hint))
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b00020")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._login)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        (self.password if user else self.name).setFocus()

    def _login(self) -> None:
        try:
            self.user = self.ws.authenticate(self.name.text().strip(), self.password.text())
        except PovdeskError as exc:
            from povdesk.ops.security import is_damaged

            if is_damaged(exc):
                self.damaged = exc
                self.done(self.DAMAGED)
                return
            app = QCoreApplication.instance()
            self.error.setText(exc.message((app.property("povdesk_lang") if app else None) or "zh"))
            self.password.selectAll()
            self.password.setFocus()
            return
        self.accept()


# ---------------------------------------------------------------------------- demo

def create_demo_workspace(path: Path, households: int = 300, seed: int = 1, *, clock: Clock = SYSTEM_CLOCK,
                          encrypted: bool = True) -> None:
    """The same demo as `povdesk demo`: a synthetic village with its planted mistakes, encrypted
    (as every workspace the app makes; `encrypted=False` for tests whose subject is not that)."""
    from povdesk.core.demo import DEMO_PASSWORD, DEMO_REGION, generate, plant_mistakes
    from povdesk.store import Workspace
    from povdesk.store.demo import ensure_demo_users

    path.parent.mkdir(parents=True, exist_ok=True)
    ws = Workspace.create(path, region_code=DEMO_REGION, name="演示村", level="village", admin_user="admin",
                          admin_password=DEMO_PASSWORD, clock=clock, demo=True, encrypted=encrypted)
    try:
        worker = ensure_demo_users(ws, ws.authenticate("admin", DEMO_PASSWORD), DEMO_PASSWORD)
        households_list = generate(DEMO_REGION, count=households, seed=seed, today=clock.today())
        plant_mistakes(households_list, seed=seed)
        ws.import_households(households_list, worker, source="demo")
    finally:
        ws.close()


# ---------------------------------------------------------------------------- main

def _run_with_progress(title: str, fn: Any) -> bool:
    """A long job before any window exists: the worker helper, waited for in a local event loop."""
    from PySide6.QtCore import QEventLoop

    from povdesk.ui.worker import run_job

    loop = QEventLoop()
    outcome = {"ok": False}
    job = run_job(None, title, fn)
    def finished(_result: Any) -> None:
        outcome["ok"] = True
        loop.quit()

    job.done.connect(finished)
    job.error.connect(lambda _e: loop.quit())
    loop.exec()
    return outcome["ok"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="povdesk app", description="povdesk desktop app")
    p.add_argument("--data-dir", help="keep workspaces, drafts, settings and logs here")
    p.add_argument("--portable", action="store_true", help="keep data beside the program (USB stick)")
    p.add_argument("--demo", action="store_true", help="open a demo workspace with a synthetic village")
    p.add_argument("--workspace", help="open this workspace file")
    p.add_argument("--lang", choices=["zh", "en"], help="user-interface language (default: Chinese)")
    p.add_argument("--today", dest="clock", type=parse_today, default=SYSTEM_CLOCK, metavar="YYYY-MM-DD",
                   help="take this day as today (rules, default dates, demo data)")
    p.add_argument("--version", action="version", version=f"povdesk {__version__}")
    return p


def start(app: QApplication, args: argparse.Namespace) -> Any:
    """Everything between the command line and the login dialog: the Session (a main window once
    someone logs in, the login again after Log out or Switch user); None when the user gives up."""
    from povdesk.ui.session import Session

    data_dir = data_dir_for(args)
    setup_logging(data_dir)
    settings = AppSettings(data_dir)
    lang = args.lang or settings.get("language", "zh")
    install_language(app, lang)
    load_app_font(app)
    install_wheel_guard()
    install_screen_guard()
    install_excepthook()

    hint, user = "", ""
    if args.demo:
        path = data_dir / DEMO_FILE
        if not path.exists() and not _run_with_progress(
                QCoreApplication.translate("app", "Creating the demo village…"),
                lambda progress, cancelled: create_demo_workspace(path, clock=args.clock)):
            return None
        from povdesk.core.demo import DEMO_PASSWORD

        user = "worker"
        hint = QCoreApplication.translate("app", "Demo accounts: worker, township, county, admin; password {password}").format(
            password=DEMO_PASSWORD)
    else:
        path = Path(args.workspace or settings.get("workspace") or data_dir / WORKSPACE_FILE)
        if not path.exists():
            dialog = FirstRunDialog(path)
            if dialog.exec() != QDialog.DialogCode.Accepted or dialog.created is None:
                return None
            path = dialog.created
    session = Session(path, clock=args.clock, data_dir=data_dir, settings=settings, lang=lang)
    try:
        if session.show_login(user, hint) is None:
            return None  # a damaged workspace, and no backup taken in its place
    except PovdeskError as exc:
        show_error(None, exc)
        return None
    if not args.demo:
        settings.set("workspace", str(path))
    return session


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except PovdeskError as exc:  # a malformed --today: one line, as the CLI says it
        sys.stderr.write(f"povdesk: {exc.message()}\n")
        return 2
    if not os.environ.get("QT_QPA_PLATFORM") and sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        sys.stderr.write("povdesk: no display found (set DISPLAY, or QT_QPA_PLATFORM=offscreen)\n")
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("povdesk")
    app.setApplicationVersion(__version__)
    session = start(app, args)  # type: ignore[arg-type]
    if session is None:
        return 0
    # Between a log out and the next login no window is open: the session says when to quit.
    QApplication.setQuitOnLastWindowClosed(False)
    session.finished.connect(app.quit)
    return app.exec()


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    return QMessageBox.question(parent, title, text) == QMessageBox.StandardButton.Yes


if __name__ == "__main__":
    raise SystemExit(main())
