"""The Help menu: the user guide (the README this povdesk was built with, rendered in the app) and
About (version, this workspace's file, level and region, the data folder with logs and drafts)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

import povdesk
from povdesk.core.authority import level_label

GUIDE_FILE = "README.md"  # beside forms/ and resources/: the source tree, and a frozen build (packaging/povdesk.spec)


def guide_root() -> Path | None:
    """The folder holding the user guide as a file (with the screenshots it shows under docs/), or
    None when this installation carries it only in its package metadata (a wheel)."""
    from povdesk.paths import resources_dir

    root = resources_dir().parent
    return root if (root / GUIDE_FILE).is_file() else None


def guide_markdown(root: Path | None = None) -> str:
    """The README this povdesk was built with: the file shipped beside its resources (a source tree,
    or a PyInstaller build, which carries no package metadata), else the long description of the
    installed package (a wheel); "" when this build has neither."""
    root = root if root is not None else guide_root()
    if root is not None and (root / GUIDE_FILE).is_file():
        return (root / GUIDE_FILE).read_text(encoding="utf-8")
    try:
        return importlib.metadata.metadata("povdesk").get_payload() or ""  # type: ignore[attr-defined]
    except importlib.metadata.PackageNotFoundError:
        return ""


class GuideDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("User guide"))
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        root = guide_root()
        if root is not None:  # the screenshots the guide shows (docs/screenshots/…)
            self.browser.setSearchPaths([str(root)])
        text = guide_markdown(root)
        if text:
            self.browser.setMarkdown(text)
        else:
            self.browser.setPlainText(self.tr("This build carries no user guide; see README.md where povdesk was "
                                              "installed from."))
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(900, 620)  # fits 1366x768 with the title bar and the taskbar


class AboutDialog(QDialog):
    def __init__(self, ws: Any, data_dir: Path, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("About povdesk"))
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("povdesk {version}: the offline registry for targeted poverty registration "
                               "and monitoring").format(version=povdesk.__version__))
        title.setWordWrap(True)
        layout.addWidget(title)
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        level = level_label(ws.level).get(lang) if getattr(ws, "level", None) else ""
        for key, label, value in (
            ("workspace", self.tr("Workspace"), f"{ws.name} · {ws.region_code} · {level}"),
            ("file", self.tr("Workspace file"), str(ws.path)),
            ("data", self.tr("Data folder (logs, drafts, settings)"), str(data_dir)),
            ("version", self.tr("Version"), povdesk.__version__),
        ):
            shown = QLabel(value)
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            shown.setWordWrap(True)
            self.values[key] = shown
            form.addRow(label, shown)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def install_help_menu(window: Any) -> None:
    """Help › User guide (F1) and Help › About povdesk, on the main window."""
    menu = window.menuBar().addMenu(QCoreApplication.translate("HelpMenu", "&Help"))
    guide = QAction(QCoreApplication.translate("HelpMenu", "User guide"), window, shortcut=QKeySequence("F1"))
    guide.triggered.connect(lambda: open_guide(window))
    menu.addAction(guide)
    about = QAction(QCoreApplication.translate("HelpMenu", "About povdesk"), window)
    about.triggered.connect(lambda: open_about(window))
    menu.addAction(about)
    window.guide_action, window.about_action = guide, about


def open_guide(window: Any) -> GuideDialog:
    dialog = GuideDialog(window)
    window.guide_dialog = dialog
    dialog.show()
    return dialog


def open_about(window: Any) -> AboutDialog:
    dialog = AboutDialog(window.ws, window.data_dir, getattr(window, "lang", "zh"), window)
    window.about_dialog = dialog
    dialog.show()
    return dialog
