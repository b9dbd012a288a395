"""The sync centre: device keys, bundle export and import, the relay, what has reached the county, conflicts.

Every step calls the same povdesk.sync.service or povdesk.relay.exchange function as the CLI (`keys`,
`bundle`, `conflicts`, `upload`, `fetch`); imports, exports, uploads and fetches run through
ui.worker, in a Workspace the job opens itself, so nothing in the window waits on the disk or the
network. RelayUploader is the background uploader a main window starts with its Sync menu.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.core.forms import household_form, member_form
from povdesk.core.model import Household
from povdesk.errors import PovdeskError
from povdesk.store import User, Workspace
from povdesk.store.sync import Conflict
from povdesk.sync import service
from povdesk.sync.bundle import BundleRefused, describe, read_manifest
from povdesk.sync.keys import DeviceCard, read_key_file
from povdesk.ui.editor import display_value
from povdesk.ui.errors import show_error
from povdesk.ui.signals import emit
from povdesk.ui.worker import Cancelled, Job, JobCancelled, Progress, run_job, run_op

if TYPE_CHECKING:  # the relay's HTTP client (httpx) is imported when the relay is used, not at start
    from povdesk.relay import exchange

log = logging.getLogger(__name__)

BUNDLE_SUFFIX = ".pvb"
_MEMBER_PATH = re.compile(r"^members\[([^\]]+)\](?:\.fields\.(.+))?$")
_YEAR_PATH = re.compile(r"^years\[(\d+)\](?:\.income\.(.+)|\.(measures))?$")


@dataclass
class ImportOutcome:
    """What an import job hands back: a report per bundle, or the refusal."""

    files: list[str]
    bundles: list[service.BundleReport] = field(default_factory=list)
    refused: PovdeskError | None = None


def import_job(path: Path, user: User, files: list[Path],
               clock: Clock = SYSTEM_CLOCK) -> Callable[[Progress, Cancelled], ImportOutcome]:
    """A run_job function: opens its own Workspace (connections never cross threads)."""

    def job(progress: Progress, cancelled: Cancelled) -> ImportOutcome:
        ws = Workspace.open(path, clock=clock)
        try:
            reports = service.import_bundles(ws, user, files, progress=progress, cancelled=cancelled)
        except service.ImportCancelled:
            raise JobCancelled() from None
        except BundleRefused as exc:
            return ImportOutcome([f.name for f in files], refused=exc)
        finally:
            ws.close()
        return ImportOutcome([f.name for f in files], reports)

    return job


def export_job(path: Path, user: User, out: Path, full: bool, to: str | None,
               clock: Clock = SYSTEM_CLOCK) -> Callable[[Progress, Cancelled], service.ExportResult]:
    def job(progress: Progress, _cancelled: Cancelled) -> service.ExportResult:
        ws = Workspace.open(path, clock=clock)
        try:
            return service.export_bundle(ws, user, out, full=full, to=to, progress=progress)
        finally:
            ws.close()

    return job


def _item(text: Any, data: Any = None, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem("" if text is None else str(text))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if data is not None:
        item.setData(Qt.ItemDataRole.UserRole, data)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _left(widget: QWidget) -> QHBoxLayout:
    """A button at its natural width, on the left."""
    row = QHBoxLayout()
    row.addWidget(widget)
    row.addStretch(1)
    return row


def _when(stamp: str | None) -> str:
    """An ISO UTC stamp as `2025-06-01 09:30` (to the minute is what people compare)."""
    return (stamp or "")[:16].replace("T", " ")


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setStretchLastSection(True)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return t


def parse_entered(text: str, like: Any) -> Any:
    """A value typed for a conflict, read as the kind of value the field holds (a phone number stays text)."""
    text = text.strip()
    if text == "":
        return None
    if isinstance(like, bool):
        return text.lower() in ("1", "true", "yes", "y", "是")
    if isinstance(like, int):
        with contextlib.suppress(ValueError):
            return int(text)
    if isinstance(like, (int, float)):
        with contextlib.suppress(ValueError):
            return float(text)
    if isinstance(like, str) or like is None:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


class SyncCentre(QDialog):
    """Keys, export, import with a report, status and the conflicts queue, in one window."""

    changed = Signal()  # records changed (an import applied, a conflict resolved)

    def __init__(self, ws: Workspace, user: User, *, lang: str = "zh", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.user, self.lang = ws, user, lang
        self.job: Job | None = None
        self.last_import: ImportOutcome | None = None
        self.last_export: Path | None = None
        self._status: service.SyncStatus | None = None
        self.setWindowTitle(self.tr("Sync centre — {name}").format(name=ws.name))
        self.tabs = QTabWidget()
        self.tabs.addTab(self._keys_page(), self.tr("Device keys"))
        self.tabs.addTab(self._exchange_page(), self.tr("Export and import"))
        self.tabs.addTab(self._status_page(), self.tr("Status"))
        self.tabs.addTab(self._conflicts_page(), self.tr("Conflicts"))
        self.tabs.addTab(self._relay_page(), self.tr("Online (relay)"))
        self.preview: BundlePreview | None = None
        self.last_fetch: exchange.FetchReport | None = None
        self.last_upload: exchange.UploadReport | None = None
        self.relay_job: Job | None = None
        self._poll = QTimer(self)  # while a relay job runs, its progress is read back from the workspace
        self._poll.setInterval(500)
        self._poll.timeout.connect(self._refresh_relay)
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addLayout(bottom)
        self.resize(1040, 700)
        self.refresh()

    # ------------------------------------------------------------------ helpers
    def _pick(self, text: Mapping[str, str]) -> str:
        """A bilingual message {zh, en} (as reports carry them) in the UI language."""
        return text.get("en" if self.lang == "en" else "zh", "")

    def _fail(self, exc: PovdeskError) -> None:
        show_error(self, exc)

    def _allowed(self, roles: Any) -> bool:
        """Whether this user holds one of `roles`; if not, the refusal is shown."""
        try:
            service.require_role(self.user, roles)
        except PovdeskError as exc:
            self._fail(exc)
            return False
        return True

    def _busy(self, on: bool) -> None:
        for b in (self.export_button, self.import_button):
            b.setEnabled(not on)
        if not on:
            self.job = None
        self._update_export_enabled()

    def refresh(self) -> None:
        self._refresh_keys()
        self._refresh_status()
        self._refresh_conflicts()
        self._suggest_name()
        if hasattr(self, "outbox_table"):
            self._refresh_relay()

    # ------------------------------------------------------------------ keys
    def _keys_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        mine = QGroupBox(self.tr("This device"))
        form = QFormLayout(mine)
        self.fingerprint_label = QLabel()
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSize(13)
        self.fingerprint_label.setFont(mono)
        self.fingerprint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.device_label = QLabel()
        self.device_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.tr("Fingerprint"), self.fingerprint_label)
        form.addRow(self.tr("Device"), self.device_label)
        self.export_key_button = QPushButton(self.tr("Export this workspace's public key file…"))
        self.export_key_button.clicked.connect(lambda: self.export_key())
        form.addRow("", _left(self.export_key_button))
        layout.addWidget(mine)

        county = self.ws.level == "county"
        trusted = QGroupBox(self.tr("Enrolled devices") if county else self.tr("County key"))
        tl = QVBoxLayout(trusted)
        self.county_key_label = QLabel()
        self.county_key_label.setWordWrap(True)
        tl.addWidget(self.county_key_label)
        self.peers_table = _table([self.tr("Region code"), self.tr("Workspace name"), self.tr("Workspace level"),
                                   self.tr("Fingerprint"),
                                   self.tr("Trusted since"), self.tr("By")])
        tl.addWidget(self.peers_table)
        self.trust_button = QPushButton(self.tr("Enrol a device key…") if county else self.tr("Set the county key…"))
        self.trust_button.clicked.connect(lambda: self.trust_key())
        row = QHBoxLayout()
        row.addWidget(self.trust_button)
        if county:
            # A lost or stolen laptop: its bundles are refused from then on (povdesk keys revoke).
            self.revoke_button = QPushButton(self.tr("Revoke the selected device…"))
            self.revoke_button.clicked.connect(lambda: self.revoke_device())
            row.addWidget(self.revoke_button)
            # The signed list the relay serves devices by (povdesk relay devices export).
            self.device_list_button = QPushButton(self.tr("Export the device list for the relay…"))
            self.device_list_button.clicked.connect(lambda: self.export_device_list())
            row.addWidget(self.device_list_button)
        row.addStretch(1)
        tl.addLayout(row)
        hint = QLabel(self.tr("Compare the fingerprint with the other side by phone before you trust a key: "
                              "the key file alone does not prove who made it."))
        hint.setWordWrap(True)
        tl.addWidget(hint)
        layout.addWidget(trusted, 1)
        return page

    def _refresh_keys(self) -> None:
        card = service.my_card(self.ws)
        self.fingerprint_label.setText(card.fingerprint)
        self.device_label.setText(f"{card.region_code} {card.name} · {self._level(card.level)} · {card.device_id}")
        peers = self.ws.sync_peers()
        self.peers_table.setRowCount(0)
        for p in peers:
            r = self.peers_table.rowCount()
            self.peers_table.insertRow(r)
            state = "" if p.active else self.tr(" (inactive)")
            for col, value in enumerate((p.region_code, p.name + state, self._level(p.level), p.fingerprint,
                                         _when(p.added_at), p.added_by)):
                self.peers_table.setItem(r, col, _item(value, p.device_id))
        if self.ws.level == "county":
            n = len([p for p in peers if p.active and p.relation == "device"])
            self.county_key_label.setText(self.tr("{n} devices enrolled.").format(n=n))
        else:
            found = [p for p in peers if p.relation == "county" and p.active]
            if found:
                c = found[0]
                self.county_key_label.setText(self.tr("Set: {region} {name}, fingerprint {fp}").format(
                    region=c.region_code, name=c.name, fp=c.fingerprint))
            else:
                self.county_key_label.setText(self.tr("Unknown: set the county key (from the county's key file) "
                                                      "before exporting bundles."))

    def _level(self, level: str) -> str:
        return {"village": self.tr("village"), "township": self.tr("township"),
                "county": self.tr("county")}.get(level, level)

    def export_key(self, path: Path | None = None) -> Path | None:
        if path is None:
            suggested = str(Path.home() / f"{self.ws.region_code}-{self.ws.level}.povkey")
            name, _ = QFileDialog.getSaveFileName(self, self.tr("Export the public key file"), suggested,
                                                  self.tr("povdesk key files (*.povkey);;All files (*)"))
            if not name:
                return None
            path = Path(name)
        try:
            card = service.export_key_file(self.ws, path)
        except PovdeskError as exc:
            self._fail(exc)
            return None
        QMessageBox.information(self, self.tr("Public key exported"), self.tr(
            "Saved {file}.\nFingerprint: {fp}\nGive the file to the other side and read them the fingerprint "
            "by phone.").format(file=path, fp=card.fingerprint))
        return path

    def trust_key(self, path: Path | None = None) -> bool:
        """Enrol a device (county) or set the county key (village), after the fingerprint is confirmed."""
        try:
            service.require_role(self.user, service.KEYS)
        except PovdeskError as exc:
            self._fail(exc)
            return False
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, self.trust_button.text().rstrip("…"), str(Path.home()),
                                                  self.tr("povdesk key files (*.povkey *.key *.json);;All files (*)"))
            if not name:
                return False
            path = Path(name)
        try:
            card = read_key_file(path)
        except PovdeskError as exc:
            self._fail(exc)
            return False
        if not self._confirm_trust(card):
            return False
        relation = "device" if self.ws.level == "county" else "county"
        try:
            _card, old = service.trust(self.ws, self.user, path, relation)
        except PovdeskError as exc:
            self._fail(exc)
            return False
        if old is not None and old.fingerprint != card.fingerprint:
            QMessageBox.information(self, self.tr("Key replaced"), self.tr(
                "This replaces the device's previous key (fingerprint {fp}).").format(fp=old.fingerprint))
        self.refresh()
        return True

    def revoke_device(self, reason: str | None = None) -> bool:
        """Revoke the enrolled device selected in the table, with a reason (required)."""
        if not self._allowed(service.KEYS):
            return False
        row = self.peers_table.currentRow()
        item = self.peers_table.item(row, 0) if row >= 0 else None
        if item is None:
            QMessageBox.information(self, self.tr("Revoke a device"), self.tr("Select the device to revoke first."))
            return False
        device_id = str(item.data(Qt.ItemDataRole.UserRole))
        name_item = self.peers_table.item(row, 1)
        if reason is None:
            text, ok = QInputDialog.getText(self, self.tr("Revoke a device"), self.tr(
                "Revoke {region} {name}: its bundles are refused from now on and its key cannot be enrolled again.\n"
                "Why (lost, stolen, replaced)?").format(region=item.text(), name=name_item.text() if name_item else ""))
            if not ok:
                return False
            reason = text
        try:
            service.revoke(self.ws, self.user, device_id, reason)
        except PovdeskError as exc:
            self._fail(exc)
            return False
        self.refresh()
        return True

    def export_device_list(self, path: Path | None = None) -> Path | None:
        """Write the county's signed device list, to load on the relay machine."""
        if not self._allowed(service.KEYS):
            return None
        if path is None:
            suggested = str(Path.home() / f"{self.ws.region_code}-devices.json")
            name, _ = QFileDialog.getSaveFileName(self, self.tr("Export the device list for the relay"), suggested,
                                                  self.tr("Device lists (*.json);;All files (*)"))
            if not name:
                return None
            path = Path(name)
        try:
            from povdesk.relay import exchange
            text = exchange.device_list(self.ws, self.user)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            QMessageBox.warning(self, self.tr("Export the device list for the relay"), str(exc.strerror))
            return None
        except PovdeskError as exc:
            self._fail(exc)
            return None
        QMessageBox.information(self, self.tr("Export the device list for the relay"), self.tr(
            "Wrote {file}. Load it on the relay machine: povdesk relay devices load").format(file=path))
        return path

    def _confirm_trust(self, card: DeviceCard) -> bool:
        text = self.tr("{region} {name} ({level})\nDevice {device}\n\nFingerprint:\n{fp}\n\nRead this fingerprint "
                       "to the other side by phone (or have them read theirs). Trust this key only if every "
                       "group matches.").format(region=card.region_code, name=card.name,
                                                level=self._level(card.level), device=card.device_id,
                                                fp=card.fingerprint)
        answer = QMessageBox.question(self, self.tr("Trust this key?"), text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------------ export and import
    def _exchange_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        export = QGroupBox(self.tr("Export a bundle"))
        grid = QGridLayout(export)
        row = 0
        self.to_combo = QComboBox()
        if self.ws.level == "county":
            grid.addWidget(QLabel(self.tr("To")), row, 0)
            grid.addWidget(self.to_combo, row, 1, 1, 2)
            row += 1
        self.to_combo.currentIndexChanged.connect(lambda _i: self._suggest_name())
        self.folder_edit = QLineEdit(str(self.ws.setting("sync.export_folder", "") or ""))
        self.folder_edit.setPlaceholderText(self.tr("A folder or a USB stick"))
        self.folder_edit.textChanged.connect(lambda _t: self._update_export_enabled())
        choose = QPushButton(self.tr("Choose…"))
        choose.clicked.connect(self.choose_folder)
        grid.addWidget(QLabel(self.tr("Folder")), row, 0)
        grid.addWidget(self.folder_edit, row, 1)
        grid.addWidget(choose, row, 2)
        row += 1
        self.name_edit = QLineEdit()
        self.name_edit.textChanged.connect(lambda _t: self._update_export_enabled())
        grid.addWidget(QLabel(self.tr("File name")), row, 0)
        grid.addWidget(self.name_edit, row, 1, 1, 2)
        row += 1
        self.full_check = QCheckBox(self.tr("Every record (a full bundle; use it when a bundle was lost)"))
        self.full_check.toggled.connect(lambda _c: self._suggest_name())
        grid.addWidget(self.full_check, row, 1, 1, 2)
        row += 1
        self.export_button = QPushButton(self.tr("Export bundle"))
        self.export_button.clicked.connect(lambda: self.export_bundle())
        self.export_result = QLabel()
        self.export_result.setWordWrap(True)
        self.export_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addLayout(_left(self.export_button), row, 1)
        grid.addWidget(self.export_result, row + 1, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        layout.addWidget(export)

        imp = QGroupBox(self.tr("Import bundles"))
        il = QVBoxLayout(imp)
        top = QHBoxLayout()
        self.import_button = QPushButton(self.tr("Import bundles…"))
        self.import_button.clicked.connect(lambda: self.import_bundles())
        top.addWidget(self.import_button)
        self.import_summary = QLabel(self.tr("Choose one or more bundle files; they are all checked before "
                                             "anything is changed."))
        self.import_summary.setWordWrap(True)
        top.addWidget(self.import_summary, 1)
        il.addLayout(top)
        self.report_table = _table([self.tr("File"), self.tr("Result"), self.tr("Applied"), self.tr("Unchanged"),
                                    self.tr("Conflicts"), self.tr("Rejected"), self.tr("Flagged"),
                                    self.tr("Details")])
        self.report_details = QTreeWidget()
        self.report_details.setHeaderLabels([self.tr("Household"), self.tr("What"), self.tr("Why")])
        self.report_details.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.report_table)
        split.addWidget(self.report_details)
        il.addWidget(split, 1)
        layout.addWidget(imp, 1)
        return page

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Export to which folder or USB stick?"),
                                                  self.folder_edit.text() or str(Path.home()))
        if folder:
            self.folder_edit.setText(folder)

    def _target_peer(self) -> str | None:
        """The device id a bundle would go to (None: no county key, or no device enrolled)."""
        if self.ws.level == "county":
            device = self.to_combo.currentData()
            return None if device is None else str(device)
        found = [p for p in self.ws.sync_peers("county") if p.active]
        return found[0].device_id if found else None

    def _suggest_name(self) -> None:
        if self.ws.level == "county":
            current = self.to_combo.currentData()
            self.to_combo.blockSignals(True)
            self.to_combo.clear()
            for p in self.ws.sync_peers("device"):
                if p.active:
                    self.to_combo.addItem(f"{p.region_code} {p.name} ({p.fingerprint[:9]})", p.device_id)
            index = self.to_combo.findData(current)
            self.to_combo.setCurrentIndex(max(index, 0))
            self.to_combo.blockSignals(False)
        peer = self._target_peer()
        st = self._status if self._status is not None else service.status(self.ws)
        target = st.peer(peer)
        sent = target.sent_up_to if target is not None else 0
        last = st.outbox_last
        first = 1 if self.full_check.isChecked() else sent + 1
        region = target.region_code if target is not None else ""
        stem = self.ws.region_code if self.ws.level != "county" else f"{self.ws.region_code}-to-{region}"
        if self.full_check.isChecked():
            stem += f"-full-{last}"
        else:  # an empty range still carries the acknowledgement
            stem += f"-seq{first}-{last}" if first <= last else f"-upto{last}"
        folder = Path(self.folder_edit.text().strip() or ".")
        name, n = stem + BUNDLE_SUFFIX, 2
        while (folder / name).exists():
            name, n = f"{stem}-{n}{BUNDLE_SUFFIX}", n + 1
        self.name_edit.setText(name)
        self._update_export_enabled()

    def _update_export_enabled(self) -> None:
        ok = (self.job is None and bool(self.folder_edit.text().strip()) and bool(self.name_edit.text().strip())
              and self._target_peer() is not None)
        self.export_button.setEnabled(ok)

    def export_bundle(self) -> Job | None:
        try:
            service.require_role(self.user, service.EXCHANGE)
        except PovdeskError as exc:
            self._fail(exc)
            return None
        folder = Path(self.folder_edit.text().strip())
        if not folder.is_dir():
            QMessageBox.warning(self, self.tr("Export a bundle"),
                                self.tr("The folder {folder} does not exist (is the USB stick plugged in?).")
                                .format(folder=folder))
            return None
        name = self.name_edit.text().strip()
        if not name.endswith(BUNDLE_SUFFIX):
            name += BUNDLE_SUFFIX
        out = folder / name
        if out.exists():
            answer = QMessageBox.question(self, self.tr("Export a bundle"),
                                          self.tr("{file} exists. Replace it?").format(file=out))
            if answer != QMessageBox.StandardButton.Yes:
                return None
        with contextlib.suppress(PovdeskError):
            self.ws.set_setting("sync.export_folder", str(folder))
        to = self._target_peer() if self.ws.level == "county" else None
        self._busy(True)
        self.job = run_job(self, self.tr("Exporting the bundle…"),
                           export_job(self.ws.path, self.user, out, self.full_check.isChecked(), to, self.ws.clock),
                           self._exported)
        self.job.error.connect(lambda _e: self._busy(False))
        return self.job

    def _exported(self, res: service.ExportResult) -> None:
        self._busy(False)
        first, last = res.seq
        if not res.written:
            self.export_result.setText(self.tr("Nothing new to send (sent up to sequence {last}); no file was "
                                               "written.").format(last=first - 1))
            self.refresh()
            return
        self.last_export = res.path
        self.export_result.setText(self.tr("Exported {file}: {n} households, sequences {first}–{last}, encrypted "
                                           "to {fp}.").format(file=res.path, n=res.households, first=first,
                                                              last=last, fp=res.recipient_fingerprint))
        self.refresh()

    def import_bundles(self, files: list[Path] | None = None) -> Job | None:
        try:
            service.require_role(self.user, service.EXCHANGE)
        except PovdeskError as exc:
            self._fail(exc)
            return None
        if files is None:
            names, _ = QFileDialog.getOpenFileNames(self, self.tr("Import bundles"),
                                                    self.folder_edit.text() or str(Path.home()),
                                                    self.tr("povdesk bundles (*.pvb);;All files (*)"))
            if not names:
                return None
            files = [Path(n) for n in names]
            # What the files say they are, before anything is imported (read from their manifests).
            self.preview = BundlePreview(files, self.lang, self)
            self.preview.accepted.connect(lambda: self.import_bundles(files))
            self.preview.open()
            return None
        self._busy(True)
        self.import_summary.setText(self.tr("Importing {n} bundles…").format(n=len(files)))
        self.job = run_job(self, self.tr("Importing bundles…"), import_job(self.ws.path, self.user, files, self.ws.clock),
                           self._imported)
        self.job.error.connect(self._import_failed)
        return self.job

    def _import_failed(self, _exc: object) -> None:
        self._busy(False)
        self.import_summary.setText(self.tr("Nothing was imported."))

    def _imported(self, outcome: ImportOutcome) -> None:
        self._busy(False)
        self.last_import = outcome
        self._show_report(outcome)
        self.refresh()
        if outcome.bundles:
            emit(self.changed)

    def _show_report(self, outcome: ImportOutcome) -> None:
        t = self.report_table
        t.setRowCount(0)
        self.report_details.clear()
        if outcome.refused is not None:
            exc = outcome.refused
            bad = Path(exc.where).name if exc.where else ""
            for name in outcome.files:
                r = t.rowCount()
                t.insertRow(r)
                refused = name == bad or not bad
                t.setItem(r, 0, _item(name))
                t.setItem(r, 1, _item(self.tr("refused") if refused else self.tr("not imported")))
                for col in range(2, 7):
                    t.setItem(r, col, _item(""))
                t.setItem(r, 7, _item(exc.text.get(self.lang) if refused else
                                      self.tr("another bundle of this import was refused")))
            self.import_summary.setText(self.tr("Refused: {reason} Nothing was imported; remove or replace that "
                                                "file and import again.").format(
                reason=exc.message(self.lang)))
            return
        applied = 0
        for b in outcome.bundles:
            s = b.summary()
            applied += s.applied
            r = t.rowCount()
            t.insertRow(r)
            notes = []
            if b.note:
                notes.append(b.note)
            if s.audit_problems:
                notes.append(self.tr("audit chain: {n} problems").format(n=s.audit_problems))
            if b.county_steps:
                notes.append(self.tr("{n} steps recorded by the county").format(n=len(b.county_steps)))
            values = (b.file, self.tr("applied {n}").format(n=s.applied),
                      self.tr("{inserted} new, {merged} merged").format(inserted=s.inserted, merged=s.merged),
                      s.unchanged, s.conflicted, s.rejected, s.flagged, "; ".join(notes))
            for col, value in enumerate(values):
                t.setItem(r, col, _item(value, align_right=2 < col < 7))
            self._report_details(b)
        self.report_details.expandAll()
        self.import_summary.setText(self.tr("Imported {n} bundle(s): {applied} households applied.").format(
            n=len(outcome.bundles), applied=applied))

    def _report_details(self, b: service.BundleReport) -> None:
        top = QTreeWidgetItem([b.file, "", ""])
        for rec in b.records:
            for reason in rec.reasons:
                top.addChild(QTreeWidgetItem([rec.household_no, self.tr("rejected"), self._pick(reason)]))
            for c in rec.conflicts:
                top.addChild(QTreeWidgetItem([rec.household_no, self.tr("conflict"), self.tr(
                    "{field}: here {local}, there {remote}").format(field=self.field_label(c["path"]),
                                                                     local=self.value_text(c["path"], c["local"]),
                                                                     remote=self.value_text(c["path"], c["remote"]))]))
            for message in rec.error_messages():
                top.addChild(QTreeWidgetItem([rec.household_no, self.tr("finding"), self._pick(message)]))
        for household_no, message in b.flagged():
            top.addChild(QTreeWidgetItem([household_no, self.tr("duplicate person"), self._pick(message)]))
        for s in b.county_steps:
            top.addChild(QTreeWidgetItem([s["household_no"], self.tr("county step"), self._pick(s["message"])]))
        for p in b.audit_problems:
            top.addChild(QTreeWidgetItem(["", self.tr("audit chain"), self._pick(p)]))
        if top.childCount():
            self.report_details.addTopLevelItem(top)

    # ------------------------------------------------------------------ the relay
    def _relay_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        setup = QGroupBox(self.tr("Relay server"))
        form = QFormLayout(setup)
        self.relay_label = QLabel()
        self.relay_label.setWordWrap(True)
        self.relay_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.relay_label)
        self.relay_url_edit = QLineEdit()
        self.relay_url_edit.setPlaceholderText("https://relay.example.gov.cn")
        self.relay_fp_edit = QLineEdit()
        self.relay_fp_edit.setPlaceholderText(self.tr("Given by the county; compare it by phone"))
        self.tls_fp_edit = QLineEdit()
        self.tls_fp_edit.setPlaceholderText(self.tr("With https:// only: the certificate's SHA-256 fingerprint"))
        form.addRow(self.tr("Address"), self.relay_url_edit)
        form.addRow(self.tr("Relay fingerprint"), self.relay_fp_edit)
        form.addRow(self.tr("Certificate fingerprint"), self.tls_fp_edit)
        self.connect_button = QPushButton(self.tr("Set the relay"))
        self.connect_button.clicked.connect(lambda: self.connect_relay())
        form.addRow("", _left(self.connect_button))
        layout.addWidget(setup)

        box = QGroupBox(self.tr("Bundles through the relay"))
        bl = QVBoxLayout(box)
        row = QHBoxLayout()
        self.upload_button = QPushButton(self.tr("Upload now"))
        self.upload_button.clicked.connect(lambda: self.upload_now())
        self.fetch_button = QPushButton(self.tr("Fetch"))
        self.fetch_button.clicked.connect(lambda: self.fetch_now())
        row.addWidget(self.upload_button)
        row.addWidget(self.fetch_button)
        self.relay_summary = QLabel()
        self.relay_summary.setWordWrap(True)
        row.addWidget(self.relay_summary, 1)
        bl.addLayout(row)
        self.outbox_table = _table([self.tr("File"), self.tr("To"), self.tr("Sequences"), self.tr("State")])
        bl.addWidget(self.outbox_table, 1)
        hint = QLabel(self.tr("Uploads also run by themselves whenever the relay can be reached. A bundle is kept "
                              "until the other side's acknowledgement has come back."))
        hint.setWordWrap(True)
        bl.addWidget(hint)
        layout.addWidget(box, 1)
        return page

    def _refresh_relay(self) -> None:
        from povdesk.relay import exchange
        ln = exchange.link(self.ws)
        if ln is None:
            self.relay_label.setText(self.tr("No relay is set: enter the address and fingerprint the county gave."))
        else:
            pinned = self.tr(", certificate pinned") if ln.tls_cert else ""
            self.relay_label.setText(self.tr("Relay: {url} (fingerprint {fp}{pinned})").format(
                url=ln.url, fp=ln.fingerprint, pinned=pinned))
        peers = {p.device_id: f"{p.region_code} {p.name}" for p in self.ws.sync_peers()}
        t = self.outbox_table
        t.setRowCount(0)
        for item in exchange.outbox_items(self.ws):
            r = t.rowCount()
            t.insertRow(r)
            for col, value in enumerate((Path(item.file).name, peers.get(item.peer, item.peer),
                                         f"{item.seq[0]}–{item.seq[1]}", item.label(self.lang))):
                t.setItem(r, col, _item(value, item.bundle_id))
        idle = self.relay_job is None
        for b in (self.upload_button, self.fetch_button):
            b.setEnabled(idle and ln is not None)
        self.connect_button.setEnabled(idle)

    def _relay_busy(self, job: Job | None) -> None:
        self.relay_job = job
        if job is None:
            self._poll.stop()
        else:
            self._poll.start()
        self._refresh_relay()

    def _relay_failed(self, _exc: object) -> None:
        self._relay_busy(None)

    def connect_relay(self) -> Job | None:
        url, fp, tls = (self.relay_url_edit.text().strip(), self.relay_fp_edit.text().strip(),
                        self.tls_fp_edit.text().strip())
        if not self._allowed(service.KEYS):
            return None
        if not url or not fp:
            QMessageBox.warning(self, self.tr("Relay server"), self.tr("Enter the relay's address and fingerprint."))
            return None
        user = self.user

        def op(ws: Workspace, _progress: Progress, _cancelled: Cancelled) -> str:
            from povdesk.relay import exchange
            return exchange.connect(ws, user, url, fp, tls_fingerprint=tls or None).url

        job = run_op(self, self.tr("Contacting the relay…"), self.ws, op, self._connected, readonly=False)
        job.error.connect(self._relay_failed)
        self._relay_busy(job)
        return job

    def _connected(self, url: str) -> None:
        self._relay_busy(None)
        self.relay_summary.setText(self.tr("The relay at {url} is set.").format(url=url))

    def upload_now(self) -> Job | None:
        """Export what is new and upload every queued bundle (the same as `povdesk upload`)."""
        if not self._allowed(service.EXCHANGE):
            return None
        job = run_op(self, self.tr("Uploading…"), self.ws, upload_op(self.user), self._uploaded, readonly=False)
        job.error.connect(self._relay_failed)
        self._relay_busy(job)
        return job

    def _uploaded(self, report: exchange.UploadReport) -> None:
        self._relay_busy(None)
        self.last_upload = report
        self.relay_summary.setText(self.upload_text(report))
        self.refresh()

    def upload_text(self, report: exchange.UploadReport) -> str:
        text = self.tr("{n} bundles uploaded, {r} refused.").format(n=report.uploaded, r=report.refused)
        if report.error is not None:
            text += " " + self.tr("Not reachable now: {reason}").format(reason=report.error.get(self.lang))
        return text

    def fetch_now(self) -> Job | None:
        """Fetch what the relay holds for this workspace and import it (the same as `povdesk fetch`)."""
        if not self._allowed(service.EXCHANGE):
            return None
        user = self.user

        def op(ws: Workspace, _progress: Progress, cancelled: Cancelled) -> exchange.FetchReport:
            try:
                from povdesk.relay import exchange
                return exchange.fetch(ws, user, cancelled=cancelled)
            except service.ImportCancelled:
                raise JobCancelled() from None

        job = run_op(self, self.tr("Fetching from the relay…"), self.ws, op, self._fetched, readonly=False)
        job.error.connect(self._relay_failed)
        self._relay_busy(job)
        return job

    def _fetched(self, report: exchange.FetchReport) -> None:
        self._relay_busy(None)
        self.last_fetch = report
        if report.reports or report.refused:
            self._show_report(ImportOutcome([p.name for p in report.fetched], report.reports))
        lines = [self.tr("Fetched {n} bundles.").format(n=len(report.fetched))]
        lines += [self.tr("{file}: not imported: {reason} (the file is kept)").format(
            file=p.name, reason=m.get(self.lang)) for p, m in report.refused]
        if report.held:
            lines.append(self.tr("The relay holds {n} more behind a missing bundle.").format(n=report.held))
        self.relay_summary.setText(" ".join(lines))
        self.refresh()
        if report.reports:
            emit(self.changed)

    # ------------------------------------------------------------------ status
    def _status_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.status_summary = QLabel()
        self.status_summary.setWordWrap(True)
        layout.addWidget(self.status_summary)
        self.status_table = _table([self.tr("Other side"), self.tr("Sent up to"), self.tr("Acknowledged up to"),
                                    self.tr("Not yet acknowledged"), self.tr("Received from it up to"),
                                    self.tr("Audit chain")])
        layout.addWidget(self.status_table, 1)
        layout.addWidget(QLabel(self.tr("Duplicates and procedure steps from the county")
                                if self.ws.level != "county" else self.tr("Duplicates found at import")))
        self.flags_table = _table([self.tr("Household"), self.tr("Kind"), self.tr("Date"), self.tr("Message")])
        layout.addWidget(self.flags_table, 1)
        refresh = QPushButton(self.tr("Refresh"))
        refresh.clicked.connect(self.refresh)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(refresh)
        layout.addLayout(row)
        return page

    def _refresh_status(self) -> None:
        st = self._status = service.status(self.ws)
        lines = [self.tr("Changes recorded up to sequence {last}; {n} open conflicts.").format(
            last=st.outbox_last, n=st.open_conflicts)]
        t = self.status_table
        t.setRowCount(0)
        for p in st.peers:
            if not p.active:
                continue
            r = t.rowCount()
            t.insertRow(r)
            breaks = p.audit_breaks
            audit = (self.tr("{n} breaks").format(n=len(breaks)) if breaks else
                     self.tr("continuous up to {seq}").format(seq=p.audit_received_up_to)
                     if p.audit_received_up_to else "")
            unacknowledged = p.not_acknowledged_seq
            pending = (self.tr("sequences {a}–{b} ({n} households)").format(
                a=unacknowledged[0], b=unacknowledged[1], n=p.not_yet_acknowledged_households)
                if unacknowledged else self.tr("nothing"))
            values = (f"{p.region_code} {p.name}", p.sent_up_to, p.acknowledged_up_to, pending, p.received_up_to,
                      audit)
            for col, value in enumerate(values):
                t.setItem(r, col, _item(value, p.device_id))
            audit_cell = t.item(r, 5)
            if breaks and audit_cell is not None:
                audit_cell.setToolTip("\n".join(f"{_when(b.at)}: {self._pick(b.message)}" for b in breaks))
            if p.relation == "county":
                if unacknowledged:
                    lines.append(self.tr("Sequences {a}–{b} ({n} households) have not yet reached the county.")
                                 .format(a=unacknowledged[0], b=unacknowledged[1],
                                         n=p.not_yet_acknowledged_households))
                else:
                    lines.append(self.tr("Everything has reached the county."))
        self.status_summary.setText("\n".join(lines))
        ft = self.flags_table
        ft.setRowCount(0)
        for f in st.flags:
            r = ft.rowCount()
            ft.insertRow(r)
            kind = {"DUP-PERSON": self.tr("duplicate person"), "COUNTY-STEP": self.tr("county step")}.get(
                f.rule, f.rule)
            for col, value in enumerate((f.household_no, kind, _when(f.created_at), self._pick(f.message))):
                ft.setItem(r, col, _item(value, f.household_id))

    # ------------------------------------------------------------------ conflicts
    def _conflicts_page(self) -> QWidget:
        page = QWidget()
        layout = QHBoxLayout(page)
        self.conflicts_table = _table([self.tr("No."), self.tr("Household"), self.tr("Field"), self.tr("Here"),
                                       self.tr("Other side")])
        self.conflicts_table.itemSelectionChanged.connect(self._conflict_selected)
        detail = QWidget()
        dl = QVBoxLayout(detail)
        self.conflict_title = QLabel(self.tr("Select a conflict to compare both versions."))
        self.conflict_title.setWordWrap(True)
        title_font = self.conflict_title.font()
        title_font.setBold(True)
        self.conflict_title.setFont(title_font)
        dl.addWidget(self.conflict_title)
        sides = QGridLayout()
        self.local_caption = QLabel(self.tr("This workspace"))
        self.remote_caption = QLabel(self.tr("Other side"))
        self.local_value = QLabel()
        self.remote_value = QLabel()
        for w in (self.local_caption, self.remote_caption, self.local_value, self.remote_value):
            w.setWordWrap(True)
            w.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # both sides equally wide
        for w in (self.local_value, self.remote_value):
            w.setFrameShape(QLabel.Shape.StyledPanel)
            w.setMinimumHeight(60)
            w.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        sides.addWidget(self.local_caption, 0, 0)
        sides.addWidget(self.remote_caption, 0, 1)
        sides.addWidget(self.local_value, 1, 0)
        sides.addWidget(self.remote_value, 1, 1)
        self.take_local = QPushButton(self.tr("Take this workspace's value"))
        self.take_remote = QPushButton(self.tr("Take the other side's value"))
        self.take_local.clicked.connect(lambda: self.resolve("local"))
        self.take_remote.clicked.connect(lambda: self.resolve("remote"))
        sides.addWidget(self.take_local, 2, 0)
        sides.addWidget(self.take_remote, 2, 1)
        sides.setColumnStretch(0, 1)
        sides.setColumnStretch(1, 1)
        dl.addLayout(sides)
        self.base_value = QLabel()
        self.base_value.setWordWrap(True)
        dl.addWidget(self.base_value)
        entered = QHBoxLayout()
        self.value_edit = QLineEdit()
        self.value_edit.setPlaceholderText(self.tr("Or enter the correct value"))
        self.value_edit.returnPressed.connect(lambda: self.resolve("value"))
        self.enter_button = QPushButton(self.tr("Use this value"))
        self.enter_button.clicked.connect(lambda: self.resolve("value"))
        entered.addWidget(self.value_edit, 1)
        entered.addWidget(self.enter_button)
        dl.addLayout(entered)
        note = QLabel(self.tr("The record keeps this workspace's value until the conflict is resolved; the "
                              "resolution is saved like any edit and travels with the next bundle."))
        note.setWordWrap(True)
        dl.addWidget(note)
        dl.addStretch(1)
        split = QSplitter()
        split.addWidget(self.conflicts_table)
        split.addWidget(detail)
        split.setSizes([520, 480])
        layout.addWidget(split)
        return page

    def _refresh_conflicts(self) -> None:
        keep = self.selected_conflict()
        items = service.list_conflicts(self.ws, "open")
        t = self.conflicts_table
        t.blockSignals(True)
        t.setRowCount(0)
        households: dict[str, Household | None] = {}
        for cf in items:
            if cf.household_id not in households:
                try:
                    households[cf.household_id] = self.ws.load_household(cf.household_id)
                except PovdeskError:
                    households[cf.household_id] = None
            hh = households[cf.household_id]
            r = t.rowCount()
            t.insertRow(r)
            who = f"{cf.household_no} {hh.head_name}" if hh is not None else cf.household_no
            values = (cf.id, who, self.field_label(cf.path, hh), self.value_text(cf.path, cf.local),
                      self.value_text(cf.path, cf.remote))
            for col, value in enumerate(values):
                t.setItem(r, col, _item(value, cf.id))
        t.blockSignals(False)
        self.tabs.setTabText(3, self.tr("Conflicts ({n})").format(n=len(items)) if items else self.tr("Conflicts"))
        ids = [cell.data(Qt.ItemDataRole.UserRole) if (cell := t.item(r, 0)) is not None else None
               for r in range(t.rowCount())]
        row = ids.index(keep) if keep is not None and keep in ids else -1
        if row < 0 and t.rowCount():
            row = 0
        if row >= 0:
            t.selectRow(row)
        self._conflict_selected()

    def selected_conflict(self) -> int | None:
        if not hasattr(self, "conflicts_table"):
            return None
        rows = self.conflicts_table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.conflicts_table.item(rows[0].row(), 0)
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _conflict_selected(self) -> None:
        cid = self.selected_conflict()
        on = cid is not None
        controls: tuple[QWidget, ...] = (self.take_local, self.take_remote, self.enter_button, self.value_edit)
        for control in controls:
            control.setEnabled(on)
        if cid is None:
            self.conflict_title.setText(self.tr("No open conflicts.") if not self.conflicts_table.rowCount()
                                        else self.tr("Select a conflict to compare both versions."))
            for w in (self.local_value, self.remote_value, self.base_value):
                w.setText("")
            return
        try:
            cf = service.get_conflict(self.ws, cid)
            hh: Household | None = self.ws.load_household(cf.household_id)
        except PovdeskError as exc:
            self._fail(exc)
            return
        self._show_conflict(cf, hh)

    def _show_conflict(self, cf: Conflict, hh: Household | None) -> None:
        head = f" {hh.head_name}" if hh is not None and hh.head_name else ""
        self.conflict_title.setText(self.tr("Household {no}{head} — {field}").format(
            no=cf.household_no, head=head, field=self.field_label(cf.path, hh)))
        peer = self.ws.sync_peer(cf.peer)
        self.remote_caption.setText(self.tr("Other side: {name}").format(
            name=f"{peer.region_code} {peer.name}" if peer else cf.peer))
        self.local_caption.setText(self.tr("This workspace: {name}").format(name=self.ws.name))
        self.local_value.setText(self.value_text(cf.path, cf.local) or self.tr("(empty)"))
        self.remote_value.setText(self.value_text(cf.path, cf.remote) or self.tr("(empty)"))
        self.base_value.setText(self.tr("Before both changes: {value}").format(
            value=self.value_text(cf.path, cf.base)) if cf.base is not None else
            self.tr("The value before both changes is not known."))
        self.value_edit.clear()
        steps = cf.path == service.STEPS
        # Clashing steps: one side is kept, the other's steps are voided (kept in the history,
        # marked); only the county decides, and nothing can be typed instead.
        self.take_local.setText(self.tr("Keep this workspace's steps") if steps else
                                self.tr("Take this workspace's value"))
        self.take_remote.setText(self.tr("Keep the other side's steps") if steps else
                                 self.tr("Take the other side's value"))
        if steps:
            self.base_value.setText(
                self.tr("Both sides recorded steps that cannot follow each other. The steps of the side not "
                        "kept are voided: they stay in the history, marked, and the decision goes down in the "
                        "next return bundle.") if self.ws.level == "county" else
                self.tr("Both sides recorded steps that cannot follow each other: the county decides which "
                        "are kept, and its decision comes in the next return bundle."))
        county_decides = steps and self.ws.level != "county"
        self.take_local.setEnabled(not county_decides)
        self.take_remote.setEnabled(not county_decides)
        self.value_edit.setVisible(not steps)
        self.enter_button.setVisible(not steps)

    def resolve(self, how: str) -> bool:
        """Take local, take remote or the entered value: the same function as `povdesk conflicts resolve`."""
        cid = self.selected_conflict()
        if cid is None:
            return False
        try:
            if how == "value":
                cf = service.get_conflict(self.ws, cid)
                like = cf.local if cf.local is not None else cf.remote
                service.resolve_conflict(self.ws, self.user, cid, None, parse_entered(self.value_edit.text(), like))
            else:
                service.resolve_conflict(self.ws, self.user, cid, how)
        except PovdeskError as exc:
            self._fail(exc)
            return False
        self.value_edit.clear()
        self.refresh()
        emit(self.changed)
        return True

    # ------------------------------------------------------------------ field labels and values
    def field_label(self, path: str, hh: Household | None = None) -> str:
        """A merge path (`fields.phone`, `members[id].fields.name`, `years[2024].income.x`) as the form names it."""
        lang = self.lang
        if path == service.STEPS:
            return self.tr("Procedure steps")
        if path.startswith("fields."):
            spec = household_form().by_key.get(path[7:])
            return spec.label(lang) if spec else path[7:]
        m = _MEMBER_PATH.match(path)
        if m:
            member = next((x for x in hh.members if x.id == m.group(1)), None) if hh is not None else None
            who = member.name if member is not None and member.name else self.tr("a member")
            if m.group(2) is None:
                return self.tr("Member {name}: place in the list").format(name=who)
            spec = member_form().by_key.get(m.group(2))
            return self.tr("Member {name}: {field}").format(name=who, field=spec.label(lang) if spec else m.group(2))
        y = _YEAR_PATH.match(path)
        if y:
            year = y.group(1)
            if y.group(2):
                spec = household_form().by_key.get(y.group(2))
                return self.tr("{field} ({year})").format(field=spec.label(lang) if spec else y.group(2), year=year)
            if y.group(3):
                return self.tr("Support measures ({year})").format(year=year)
            return self.tr("Income year {year}").format(year=year)
        if path == "helpers":
            return self.tr("Helpers")
        if path == "household_no":
            return self.tr("Household number")
        if path == "village_code":
            return self.tr("Village")
        return path

    def value_text(self, path: str, value: Any) -> str:
        if value is None:
            return ""
        if path == service.STEPS:  # clashing steps: each as its label, date and who recorded it
            return service.steps_summary(value, self.lang).replace("; ", "\n")
        spec = None
        if path.startswith("fields."):
            spec = household_form().by_key.get(path[7:])
        else:
            m = _MEMBER_PATH.match(path)
            y = _YEAR_PATH.match(path)
            if m and m.group(2):
                spec = member_form().by_key.get(m.group(2))
            elif y and y.group(2):
                spec = household_form().by_key.get(y.group(2))
        if spec is not None and spec.kind != "id_number":
            return display_value(spec, value, self.lang)
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False)
        return str(value)


def upload_op(user: User) -> Callable[[Workspace, Progress, Cancelled], exchange.UploadReport]:
    """A run_op operation: export what is new and upload the queue; the progress is the bytes of the
    bundle being sent."""

    def op(ws: Workspace, progress: Progress, _cancelled: Cancelled) -> exchange.UploadReport:
        from povdesk.relay import exchange
        return exchange.upload(ws, user, progress=lambda _bid, done, total: progress(done, total))

    return op


def background_upload_op(user: User) -> Callable[[Workspace, Progress, Cancelled], exchange.UploadReport]:
    """upload_op for the background: first asks whether the relay answers at all (so an offline laptop
    does not export a bundle each round), and hands every refusal back in the report, never a dialog."""
    upload = upload_op(user)

    def op(ws: Workspace, progress: Progress, cancelled: Cancelled) -> exchange.UploadReport:
        from povdesk.relay import client as relay_client
        from povdesk.relay import exchange

        try:
            ln = exchange.link(ws)
            if ln is None:
                return exchange.UploadReport()
            relay_client.fetch_about(ln.url, tls_cert=ln.tls_cert, timeout=5.0)
            return upload(ws, progress, cancelled)
        except PovdeskError as exc:
            return exchange.UploadReport(items=exchange.outbox_items(ws), error=exc.text)

    return op


class BundlePreview(QDialog):
    """What bundle files say they are (their manifests: sender, villages, sequences, counts), before
    they are imported; a file that cannot be read shows why, and the import will refuse it."""

    def __init__(self, files: list[Path], lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Import these bundles?"))
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels([self.tr("File"), self.tr("Value")])
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.households = 0
        for f in files:
            top = QTreeWidgetItem([f.name, ""])
            try:
                manifest = read_manifest(f)
            except PovdeskError as exc:
                top.setText(1, self.tr("cannot be read: {reason}").format(reason=exc.text.get(lang)))
            else:
                counts = manifest["counts"]
                self.households += int(counts.get("households", 0))
                top.setText(1, self.tr("{households} households from {sender}, sequences {first}–{last}").format(
                    households=counts.get("households", 0),
                    sender=f"{manifest['sender']['region_code']} {manifest['sender']['name']}",
                    first=manifest["seq"]["first"], last=manifest["seq"]["last"]))
                for label, value in describe(manifest):
                    top.addChild(QTreeWidgetItem([label.get(lang), value]))
            self.tree.addTopLevelItem(top)
        self.summary = QLabel(self.tr("{n} files, {households} households. Nothing is changed until every file "
                                      "has been checked.").format(n=len(files), households=self.households))
        self.summary.setWordWrap(True)
        self.import_button = QPushButton(self.tr("Import"))
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.accept)
        cancel = QPushButton(self.tr("Cancel"))
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.resize(760, 480)


class RelayUploader(QObject):
    """The background uploader: every few minutes, and soon after a failure (backing off, with jitter),
    it uploads what is queued if the relay can be reached; a round runs in the worker pool with no
    dialog, so nothing in the window ever waits on the network. `wake()` starts a round now."""

    round_done = Signal(object)  # the UploadReport, or None when there was nothing to do

    EVERY = 300_000  # ms between rounds while the relay answers
    RETRY_FIRST = 30_000  # ms after the first failure, doubling up to RETRY_MAX
    RETRY_MAX = 1_800_000

    def __init__(self, ws: Workspace, user: User, parent: QObject | None = None,
                 rng: random.Random | None = None) -> None:
        super().__init__(parent)
        self.ws, self.user = ws, user
        self.failures = 0
        self.job: Job | None = None
        self.last: exchange.UploadReport | None = None
        self._rng = rng or random.Random()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.wake)

    def start(self) -> None:
        self._timer.start(self.next_delay())

    def stop(self) -> None:
        self._timer.stop()

    def next_delay(self) -> int:
        """Milliseconds to the next round: EVERY while it works, else RETRY_FIRST doubling per failure up
        to RETRY_MAX, each with ±50 % jitter so a county's villages do not all come back at once."""
        base = self.EVERY if not self.failures else min(self.RETRY_MAX, self.RETRY_FIRST * 2 ** (self.failures - 1))
        return int(base * (0.5 + self._rng.random()))

    def wake(self) -> Job | None:
        """A round now (unless one runs, or the workspace has no relay or the user may not send)."""
        if self.job is not None:
            return self.job
        try:
            service.require_role(self.user, service.EXCHANGE)
            from povdesk.relay import exchange
            has_link = exchange.link(self.ws) is not None
        except PovdeskError:
            has_link = False
        if not has_link:
            self._timer.start(self.EVERY)
            emit(self.round_done, None)
            return None
        self.job = run_op(None, "", self.ws, background_upload_op(self.user), self._done, readonly=False,
                          show_dialog=False)
        self.job.error.connect(self._failed)
        return self.job

    def _done(self, report: exchange.UploadReport) -> None:
        self.job, self.last = None, report
        self.failures = self.failures + 1 if report.error is not None else 0
        self._timer.start(self.next_delay())
        emit(self.round_done, report)

    def _failed(self, _exc: object) -> None:
        self.job = None
        self.failures += 1
        self._timer.start(self.next_delay())
        emit(self.round_done, None)


def open_sync_centre(window: Any) -> SyncCentre:
    """Show the window's sync centre (one per window), up to date."""
    centre: SyncCentre | None = getattr(window, "sync_centre", None)
    if centre is None:
        centre = SyncCentre(window.ws, window.user, lang=getattr(window, "lang", "zh"), parent=window)

        def changed() -> None:
            model = getattr(window, "model", None)
            if model is not None and hasattr(model, "refresh"):
                model.refresh()
            window.statusBar().showMessage(QCoreApplication.translate("SyncCentre", "Sync: records updated."), 5000)

        centre.changed.connect(changed)
        window.sync_centre = centre
    else:
        centre.refresh()
    centre.show()
    centre.raise_()
    centre.activateWindow()
    return centre


def install_sync_menu(window: Any) -> None:
    """Add the "Sync" menu with "Sync centre…" (Ctrl+Shift+Y) to a MainWindow (once)."""
    if getattr(window, "sync_centre_action", None) is not None:
        return  # a second action would make the shortcut ambiguous: neither would fire
    menu = window.menuBar().addMenu(QCoreApplication.translate("SyncCentre", "S&ync"))
    action = QAction(QCoreApplication.translate("SyncCentre", "Sync centre…"), window)
    action.setShortcut(QKeySequence("Ctrl+Shift+Y"))
    action.triggered.connect(lambda: open_sync_centre(window))
    menu.addAction(action)
    window.sync_centre_action = action
    uploader = RelayUploader(window.ws, window.user, parent=window)
    uploader.round_done.connect(lambda _r: _uploaded_in_background(window))
    uploader.start()
    window.relay_uploader = uploader


def _uploaded_in_background(window: Any) -> None:
    centre: SyncCentre | None = getattr(window, "sync_centre", None)
    if centre is not None and centre.isVisible() and centre.relay_job is None:
        centre._refresh_relay()
