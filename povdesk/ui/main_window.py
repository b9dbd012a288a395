"""The main window: region tree, lazy household list with search and filters, editor and dashboard."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from povdesk.core.codes import code_list
from povdesk.core.model import ROLE_LABELS, STATUS_LABELS, STATUSES
from povdesk.core.regions import full_name, lookup, townships, villages
from povdesk.ops.changes import OpChanges
from povdesk.ops.listing import VOIDED, Interrupt, count_found
from povdesk.ops.scan import ScanResult, rescan, scan
from povdesk.store import Workspace
from povdesk.ui.changes import ChangeBus
from povdesk.ui.dashboard import Dashboard
from povdesk.ui.models import NAME_COLUMN, STATUS_COLUMN, HouseholdListModel
from povdesk.ui.screen import FRAME_ALLOWANCE, available_geometry, fit_window, install_screen_guard
from povdesk.ui.session import IDLE_POLL_MS, IdleWatch, LockScreen, LockSettingDialog, lock_minutes
from povdesk.ui.signals import emit
from povdesk.ui.wheel import guards_paused, install_wheel_guard
from povdesk.ui.worker import Job, run_job, run_op, run_op_in_process

log = logging.getLogger(__name__)

SEARCH_DELAY_MS = 120
STATUS_PADDING = 16  # a cell's margins either side of its text
# The name column holds a three-character head with a three-character member a search found beside
# it, read whole (侯国华（梁春花）, not 侯国华（梁春…); longer names are cut and said whole in the tooltip.
NAME_SAMPLE = ("侯国华", "梁春花")
AUTO_SCAN_LIMIT = 20_000
# The sync centre says only that records changed (an import, a resolved conflict), not which:
# every screen reads again what it shows.
SYNC_CHANGES = OpChanges(households_added=True, household=True, status=True, procedures=True, sync=True)
LANGUAGE_NOTICE = ("语言将在重新启动 povdesk 后切换。\n"
                   "The language changes when povdesk is started again.")


class MainWindow(QMainWindow):
    sync_centre_action: QAction  # set by install_sync_menu (Sync › Sync centre…)
    # File › Log out / Switch user, after unsaved changes were dealt with (a Session listens);
    # `closed` once the window has closed and its workspace with it.
    log_out_requested = Signal()
    switch_user_requested = Signal()
    closed = Signal()

    def __init__(self, ws: Any, user: Any, *, data_dir: Path, settings: Any = None, lang: str = "zh",
                 idle_clock: Callable[[], float] = time.monotonic, idle_poll_ms: int = IDLE_POLL_MS) -> None:
        """`idle_clock` (monotonic seconds) and `idle_poll_ms` say how idle time is measured for the lock."""
        super().__init__()
        from povdesk.ui.editor import HouseholdEditor

        install_wheel_guard()

        install_screen_guard()
        self.ws = ws
        self.user = user
        self.data_dir = data_dir
        self.settings = settings
        self.lang = lang
        self.scan: ScanResult | None = None
        # From this many households the check of every household runs in a process of its own.
        self.scan_in_process_from = AUTO_SCAN_LIMIT + 1  # a county, checked on F5 only
        self._counting = -1  # the list's generation being counted in the background
        self._count_job: Job | None = None
        self._count_interrupt = Interrupt()  # stops the count running in the background
        self._closed = False  # the workspace closed with the window: a count ending later is dropped
        self.scan_job: Job | None = None
        # Households changed since the last check began, to check again when it ends ("all": every one).
        self._stale: set[str] = set()
        self._stale_all = False
        # The app's one broadcast of OpChanges: every screen below listens and redraws itself.
        self.changes = ChangeBus(self)
        self.changes.changed.connect(self._workspace_changed)
        self.setWindowTitle(self.tr("povdesk — {name}").format(name=ws.name))

        # left: regions
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self._fill_tree()
        self.tree.currentItemChanged.connect(self._region_changed)

        # middle: search, filters, list
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search: name, ID number, household number or pinyin initials"))
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.status_filter = self._combo([(s, self._pick(STATUS_LABELS[s])) for s in STATUSES]
                                         + [(VOIDED, self.tr("Voided households"))], self.tr("All statuses"))
        self.attribute_filter = self._combo([(c.code, c.label(lang)) for c in code_list("hh_attribute").codes],
                                            self.tr("All attributes"))
        self.cause_filter = self._combo([(c.code, c.label(lang)) for c in code_list("poverty_cause").codes],
                                        self.tr("All causes"))
        self.problem_filter = self._combo([("errors", self.tr("Has errors")), ("warnings", self.tr("Has warnings"))]
                                          + self._due_choices(), self.tr("Any state"))
        for combo in (self.status_filter, self.attribute_filter, self.cause_filter, self.problem_filter):
            combo.currentIndexChanged.connect(self._apply_filters)
        self.model = HouseholdListModel(ws, lang, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 210)  # the whole household number: village-device-sequence
        # The status with its mark (未纳入 · 未完成, 已脱贫 · 已作废) is read whole, not cut to 未纳入 · 未…
        metrics = self.table.fontMetrics()
        self.table.setColumnWidth(STATUS_COLUMN, max(metrics.horizontalAdvance(t) for t in self.model.status_texts())
                                  + STATUS_PADDING)
        self.table.setColumnWidth(NAME_COLUMN, metrics.horizontalAdvance(self.model.name_text(*NAME_SAMPLE))
                                  + STATUS_PADDING)
        if len(ws.region_code) == 12:
            self.table.setColumnHidden(2, True)  # a village workspace: the village column says nothing
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.activated.connect(self._row_activated)
        self.count_label = QLabel()
        self.model.rowsInserted.connect(lambda *_a: self._update_count())  # a page more as the list scrolls

        middle = QWidget()
        mid = QVBoxLayout(middle)
        mid.setContentsMargins(0, 0, 0, 0)
        mid.addWidget(self.search)
        filters = QHBoxLayout()
        for w in (self.status_filter, self.attribute_filter, self.cause_filter, self.problem_filter):
            filters.addWidget(w)
        mid.addLayout(filters)
        mid.addWidget(self.table)
        mid.addWidget(self.count_label)

        # right: editor or dashboard (its thousand widgets made with the app-wide filters away)
        with guards_paused():
            self.editor = HouseholdEditor(ws, user, lang=lang, drafts_dir=data_dir / "drafts", parent=self,
                                          changes=self.changes)
        self.editor.saved.connect(self._saved)
        self.editor.open_household_requested.connect(self.open_household)
        self.editor.close_requested.connect(self.table.setFocus)  # Esc: back to the list
        self.dashboard = Dashboard(ws, lang, self, changes=self.changes)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.editor)
        self.stack.addWidget(self.dashboard)

        splitter = QSplitter()
        splitter.addWidget(self.tree)
        splitter.addWidget(middle)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 5)
        self.splitter = splitter
        self.setCentralWidget(splitter)
        self._actions()
        from povdesk.ui.help import install_help_menu
        from povdesk.ui.import_wizard import install_import_menu
        from povdesk.ui.print_centre import install_print_menu
        from povdesk.ui.sync_centre import install_sync_menu

        install_print_menu(self)
        install_import_menu(self)
        install_sync_menu(self)
        install_help_menu(self)  # last: Help is the rightmost menu
        self.sync_centre_action.triggered.connect(self._follow_sync_centre)
        role = ROLE_LABELS.get(user.role, (user.role, user.role))
        self.statusBar().addPermanentWidget(QLabel(f"{user.display_name or user.name} · {self._pick(role)}"))
        fit_window(self, 1360, 820)
        width = self.width()
        splitter.setSizes([width * 17 // 136, width * 44 // 136, width * 75 // 136])  # after the resize
        self._restore_geometry()
        top = self.tree.topLevelItem(0)
        if top is not None:
            self.tree.setCurrentItem(top)
        self.model.refresh()
        self._update_count()
        # A village or township is checked at once in the background; a county (a minute of
        # work) waits for F5 so opening stays instant.
        if ws.count_households() <= AUTO_SCAN_LIMIT:
            self.start_scan(show_dialog=False)
        else:
            self.statusBar().showMessage(self.tr("Press F5 to check every household."))
        # Shared laptops: locked after the idle time of the settings (0 = never).
        self.lock_screen: LockScreen | None = None
        self._hidden_for_lock: list[QWidget] = []
        self._was_maximised = False
        self.idle = IdleWatch(self.lock, lock_minutes(settings), now=idle_clock, poll_ms=idle_poll_ms, parent=self)

    # ------------------------------------------------------------------ building
    def _pick(self, pair: tuple[str, str]) -> str:
        return pair[1] if self.lang == "en" else pair[0]

    def _combo(self, items: list[tuple[str, str]], everything: str) -> QComboBox:
        combo = QComboBox()
        # Long labels (steps due) must not widen the list pane; the popup still shows them whole.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(5)
        combo.addItem(everything, None)
        for value, label in items:
            combo.addItem(label, value)
        return combo

    def _due_choices(self) -> list[tuple[str, str]]:
        from povdesk.core.procedures import load_procedures

        out = []
        for spec in load_procedures().values():
            for step in spec.steps[1:]:
                label = f"{self._pick((spec.zh, spec.en))} · {self._pick((step.zh, step.en))}"
                out.append((f"due:{spec.key}.{step.key}", self.tr("Due: {step}").format(step=label)))
        return out

    def _fill_tree(self) -> None:
        code = self.ws.region_code
        region = lookup(code)
        root = QTreeWidgetItem([region.name if region else code])
        root.setData(0, Qt.ItemDataRole.UserRole, None)
        root.setToolTip(0, full_name(code))
        self.tree.addTopLevelItem(root)
        if len(code) == 6:
            for town in townships(code):
                t = QTreeWidgetItem([town.name])
                t.setData(0, Qt.ItemDataRole.UserRole, town.code)
                root.addChild(t)
                for v in villages(town.code):
                    item = QTreeWidgetItem([v.name])
                    item.setData(0, Qt.ItemDataRole.UserRole, v.code)
                    t.addChild(item)
        elif len(code) == 9:
            for v in villages(code):
                item = QTreeWidgetItem([v.name])
                item.setData(0, Qt.ItemDataRole.UserRole, v.code)
                root.addChild(item)
        root.setExpanded(True)

    def _actions(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))  # first: the import wizard adds itself here
        self.lock_action = QAction(self.tr("Lock"), self, shortcut=QKeySequence("Ctrl+L"))
        self.lock_action.triggered.connect(self.lock)
        file_menu.addAction(self.lock_action)
        self.switch_user_action = QAction(self.tr("Switch user…"), self)
        self.switch_user_action.triggered.connect(lambda: self._end_login(self.switch_user_requested))
        file_menu.addAction(self.switch_user_action)
        self.log_out_action = QAction(self.tr("Log out"), self)
        self.log_out_action.triggered.connect(lambda: self._end_login(self.log_out_requested))
        file_menu.addAction(self.log_out_action)
        file_menu.addSeparator()
        menu = self.menuBar().addMenu(self.tr("&Household"))
        self.new_action = QAction(self.tr("New household"), self, shortcut=QKeySequence("Ctrl+Shift+N"))
        self.new_action.triggered.connect(self.new_household)
        menu.addAction(self.new_action)
        self.find_action = QAction(self.tr("Find"), self, shortcut=QKeySequence(QKeySequence.StandardKey.Find))
        self.find_action.triggered.connect(self._focus_search)
        menu.addAction(self.find_action)
        # Ctrl+Q written out: the standard Quit key is empty on Windows (and offscreen).
        quit_action = QAction(self.tr("Quit"), self, shortcut=QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view = self.menuBar().addMenu(self.tr("&View"))
        self.dashboard_action = QAction(self.tr("Dashboard"), self, shortcut=QKeySequence("Ctrl+D"), checkable=True)
        self.dashboard_action.toggled.connect(self.show_dashboard)
        view.addAction(self.dashboard_action)
        self.check_action = QAction(self.tr("Check all households"), self, shortcut=QKeySequence("F5"))
        self.check_action.triggered.connect(lambda: self.start_scan(show_dialog=True))
        view.addAction(self.check_action)
        settings = self.menuBar().addMenu(self.tr("&Settings"))
        for lang, label in (("zh", "中文"), ("en", "English")):
            action = QAction(label, self, checkable=True, checked=lang == self.lang)
            action.triggered.connect(lambda _c=False, lang=lang: self.set_language(lang))
            settings.addAction(action)
        settings.addSeparator()
        self.lock_setting_action = QAction(self.tr("Lock after idle…"), self)
        self.lock_setting_action.triggered.connect(self.ask_lock_minutes)
        settings.addAction(self.lock_setting_action)

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # ------------------------------------------------------------------ list and selection
    def current_prefix(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item else None

    def _region_changed(self, *_args: Any) -> None:
        self._apply_filters()
        if self.stack.currentWidget() is self.dashboard:
            self._show_dashboard_region()

    def _apply_search(self) -> None:
        self.model.set_query(self.search.text())
        self._update_count()

    def _apply_filters(self, *_args: Any) -> None:
        self.model.set_filters(village_prefix=self.current_prefix(), status=self.status_filter.currentData(),
                               attribute=self.attribute_filter.currentData(),
                               main_cause=self.cause_filter.currentData())
        self.model.set_only(self._problem_ids())
        self._update_count()

    def _problem_ids(self) -> AbstractSet[str] | None:
        choice = self.problem_filter.currentData()
        if not choice:
            return None
        if self.scan is None:
            self.statusBar().showMessage(self.tr("Checking households; the filter applies when the check ends."), 5000)
            return set()
        if choice == "errors":
            return self.scan.with_errors
        if choice == "warnings":
            return self.scan.with_warnings
        return self.scan.due.get(choice.removeprefix("due:"), frozenset())

    def _update_count(self) -> None:
        """How many households the search and filters find, of how many, and how many are shown yet.
        Counting a search that fills more than a page is as slow as the page itself at county
        size: it is counted off the GUI thread, so the list follows the keystroke without it."""
        if self._counting not in (-1, self.model.count_request()[0]):
            self._count_interrupt()  # a count for rows no longer shown: stopped where it is
            self._counting = -1
        total = self.ws.count_households(self.current_prefix())
        shown, found = self.model.rowCount(), self.model.found_if_known()
        if found is None:
            self._count_in_background(total)
            text = self.tr("{shown}+ found of {total} households, counting…").format(shown=shown, total=total)
        elif found == total and not self.model.query:
            text = self.tr("{shown} shown of {total} households").format(
                shown=shown if shown == found else f"{shown}+", total=total)
        elif shown == found:
            text = self.tr("{found} found of {total} households").format(found=found, total=total)
        else:
            text = self.tr("{found} found of {total} households, {shown} shown: scroll for more").format(
                found=found, total=total, shown=shown)
        self.count_label.setText(text)

    def _count_in_background(self, total: int) -> None:
        generation, query, filters = self.model.count_request()
        if self._counting == generation:
            return  # already being counted
        self._counting = generation
        # The count of the search typed on from is stopped where it is (_update_count): a count of
        # "l" in a county takes a second of a core, and each keystroke would queue one more.
        self._count_interrupt = interrupt = Interrupt()

        path, clock = Path(self.ws.path), self.ws.clock

        def count(_progress: Any, _cancelled: Any) -> int | None:
            try:  # its own read-only connection, as run_op opens one
                with Workspace.open(path, readonly=True, clock=clock) as ws:
                    return count_found(ws, query, filters, interrupt=interrupt)
            except InterruptedError:
                return None
            except Exception:  # noqa: BLE001 - a count is a hint: the window may be closing, its file gone
                log.warning("counting the list in the background failed", exc_info=True)
                return None

        def counted(n: int | None) -> None:
            if self._counting == generation:
                self._counting = -1
            if n is not None and not self._closed and self.model.set_found(generation, n):
                self._update_count()

        self._count_job = run_job(self, "", count, counted, show_dialog=False)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.open_household(self.model.row(current.row()).household_id)

    def _row_activated(self, index: QModelIndex) -> None:
        self._row_changed(index, QModelIndex())
        self.editor.setFocus()

    def open_household(self, household_id: str) -> None:
        current = self.editor.household
        if current is not None and current.id == household_id:
            return
        if not self.editor.maybe_close():
            return
        self.dashboard_action.setChecked(False)
        self.stack.setCurrentWidget(self.editor)
        self.editor.load(household_id)

    def new_household(self) -> None:
        if not self.editor.maybe_close():
            return
        prefix = self.current_prefix() or self.ws.region_code
        if len(prefix) != 12:
            QMessageBox.information(self, self.tr("New household"),
                                    self.tr("Choose a village in the tree first."))
            return
        self.dashboard_action.setChecked(False)
        self.stack.setCurrentWidget(self.editor)
        self.editor.new_household(prefix)

    def _saved(self, household_id: str) -> None:
        unfinished = bool(self.editor.errors())
        self.model.mark_unfinished(household_id, unfinished)  # at once; the check confirms it later
        self.statusBar().showMessage(self.tr("Saved unfinished: correct its errors.") if unfinished
                                     else self.tr("Saved."), 3000)

    # ------------------------------------------------------------------ after an operation
    def _workspace_changed(self, changes: OpChanges) -> None:
        """An operation changed the workspace (OpChanges from the bus): the list, its counter and
        the check's results (error filters, steps due, the dashboard's data quality) follow."""
        if changes.list_rows:
            self._refresh_list()
        if changes.findings:
            if changes.household_ids:
                self._stale |= changes.household_ids
            else:
                self._stale_all = True
            self._check_again()

    def _follow_sync_centre(self) -> None:
        """What the sync centre changes (bundles imported, conflicts resolved) reaches every screen."""
        centre = getattr(self, "sync_centre", None)
        if centre is not None and not getattr(self, "_following_sync_centre", False):
            centre.changed.connect(lambda: self.changes.announce(SYNC_CHANGES))
            self._following_sync_centre = True

    def _refresh_list(self) -> None:
        """Rows read again under the same search and filters, the open household still selected."""
        self.model.set_only(self._problem_ids())  # (reads the rows again)
        self._update_count()
        current = self.editor.household
        row = self.model.row_of(current.id) if current is not None else -1
        if row >= 0:
            self.table.selectionModel().blockSignals(True)
            self.table.selectRow(row)
            self.table.selectionModel().blockSignals(False)

    def _check_again(self) -> None:
        """Bring the check up to date for what changed, in the background (one job at a time)."""
        if self.scan_job is not None:
            return  # picked up when the running check ends
        if self._stale_all:
            self._stale_all = False
            self._stale.clear()
            if self.scan is not None or self.ws.count_households() <= AUTO_SCAN_LIMIT:
                self.start_scan(show_dialog=False, quiet=True)
            return
        if not self._stale or self.scan is None:
            return  # nothing to do, or no check yet (a county before F5): F5 reads everything anyway
        ids, previous = frozenset(self._stale), self.scan
        self._stale = set()
        job = run_op(self, self.tr("Checking every household…"), self.ws,
                     lambda ws, progress, cancelled: rescan(ws, previous, ids, None, progress, cancelled),
                     lambda result: self._scan_done(result, quiet=True), show_dialog=False)
        job.error.connect(lambda _e: setattr(self, "scan_job", None))
        self.scan_job = job

    # ------------------------------------------------------------------ dashboard and checks
    def show_dashboard(self, on: bool) -> None:
        # The charts need the width: the list folds away while the dashboard is shown.
        if on:
            self._list_sizes = self.splitter.sizes()
            self._show_dashboard_region()
            self.stack.setCurrentWidget(self.dashboard)
            sizes = self.splitter.sizes()
            self.splitter.setSizes([sizes[0], 0, sizes[1] + sizes[2]])
        else:
            self.stack.setCurrentWidget(self.editor)
            if getattr(self, "_list_sizes", None):
                self.splitter.setSizes(self._list_sizes)

    def _show_dashboard_region(self) -> None:
        item = self.tree.currentItem()
        self.dashboard.show_region(self.current_prefix(), item.text(0) if item else self.ws.name)

    def start_scan(self, show_dialog: bool, quiet: bool = False) -> None:
        if self.scan_job is not None:
            return
        self._stale.clear()  # this check reads every household
        self._stale_all = False
        if not quiet:
            self.statusBar().showMessage(self.tr("Checking every household…"))
        title = self.tr("Checking every household…")
        if self.ws.count_households() >= self.scan_in_process_from:
            # A county: in a process of its own, so typing in the search never waits on it
            job = run_op_in_process(self, title, self.ws, scan, (None,),
                                    lambda result: self._scan_done(result, quiet), show_dialog=show_dialog)
        else:
            job = run_op(self, title, self.ws, lambda ws, progress, cancelled: scan(ws, None, progress, cancelled),
                         lambda result: self._scan_done(result, quiet), show_dialog=show_dialog)
        job.error.connect(lambda _e: setattr(self, "scan_job", None))
        self.scan_job = job

    def _scan_done(self, result: ScanResult, quiet: bool = False) -> None:
        self.scan_job = None
        self.scan = result
        self.dashboard.set_quality(result.with_errors, result.with_warnings)
        self.model.set_unfinished(result.with_errors)
        if not quiet:
            self.statusBar().showMessage(self.tr("{errors} households with errors, {warnings} with warnings only")
                                         .format(errors=len(result.with_errors), warnings=len(result.with_warnings)),
                                         10000)
        if self.problem_filter.currentData():
            self._apply_filters()
        self._check_again()  # what changed while this check ran

    # ------------------------------------------------------------------ settings, drafts, closing
    def set_language(self, lang: str) -> None:
        if self.settings is not None:
            self.settings.set("language", lang)
        # Both languages: whoever picked the wrong one by mistake must still read it.
        QMessageBox.information(self, "povdesk", LANGUAGE_NOTICE)

    # ------------------------------------------------------------------ shared laptops
    def _end_login(self, signal: Any) -> None:
        """Log out or switch user: unsaved changes first (saved, discarded or kept: then nothing happens)."""
        if self.editor.maybe_close():
            emit(signal)

    def ask_lock_minutes(self) -> None:
        dialog = LockSettingDialog(self.idle.minutes, self)
        if dialog.exec() != LockSettingDialog.DialogCode.Accepted:
            return
        self.idle.minutes = dialog.minutes.value()
        self.idle.touch()
        if self.settings is not None:
            self.settings.set("lock_after_minutes", self.idle.minutes)
        self.statusBar().showMessage(self.tr("Locks after {minutes} minutes without use.").format(
            minutes=self.idle.minutes) if self.idle.minutes else self.tr("Never locks by itself."), 5000)

    @property
    def locked(self) -> bool:
        return self.lock_screen is not None

    def lock(self) -> None:
        """Hide every window of the app behind the lock screen, which asks for the user's password."""
        if self.locked or not self.isVisible():
            return
        self.idle.paused = True
        self._was_maximised = self.isMaximized()
        self._hidden_for_lock = [w for w in QApplication.topLevelWidgets()
                                 if w.isVisible() and w is not self and not isinstance(w, LockScreen)]
        for w in self._hidden_for_lock:
            w.hide()
        self.hide()
        screen = LockScreen(self.ws, self.user, self.windowTitle())
        screen.unlocked.connect(self.unlock)
        self.lock_screen = screen
        screen.show()
        screen.activateWindow()
        screen.password.setFocus()

    def unlock(self) -> None:
        screen, self.lock_screen = self.lock_screen, None
        if screen is None:
            return
        if self._was_maximised:
            self.showMaximized()
        else:
            self.show()
        for w in self._hidden_for_lock:
            w.show()
        self._hidden_for_lock = []
        screen.hide()
        screen.deleteLater()
        self.activateWindow()
        self.idle.touch()
        self.idle.paused = False

    def _restore_geometry(self) -> None:
        """Where and how big the window was last time (kept in the settings on close)."""
        saved = self.settings.get("main_window") if self.settings is not None else None
        if not isinstance(saved, dict):
            return
        geometry = saved.get("geometry")
        if isinstance(geometry, str):
            try:
                self.restoreGeometry(QByteArray.fromHex(geometry.encode("ascii")))
            except (UnicodeError, ValueError):
                log.warning("unreadable window geometry in the settings")
        area = available_geometry(self)
        if not area.intersects(self.geometry()) or self.height() > area.height() or self.width() > area.width():
            fit_window(self, 1360, 820)  # saved on a bigger screen, or one no longer attached

    def show_as_last_time(self) -> None:
        """Show the window maximised if it was maximised when the app was closed (or on a small
        screen the first time), else at its saved size."""
        saved = self.settings.get("main_window") if self.settings is not None else None
        area = available_geometry(self)
        if isinstance(saved, dict):
            maximised = bool(saved.get("maximized"))
        else:  # first start: a village laptop's screen is used whole
            maximised = area.height() < 820 + FRAME_ALLOWANCE
        if maximised:
            self.showMaximized()
        else:
            self.show()

    def _save_geometry(self) -> None:
        if self.settings is None:
            return
        self.settings.set("main_window", {"maximized": self.isMaximized(),
                                          "geometry": bytes(self.saveGeometry().toHex().data()).decode("ascii")})

    def offer_draft_recovery(self) -> None:
        from povdesk.ui.editor import HouseholdEditor

        drafts = HouseholdEditor.recoverable_drafts(self.data_dir / "drafts")
        if not drafts:
            return
        answer = QMessageBox.question(self, self.tr("Recover unsaved work"), self.tr(
            "povdesk was closed with unsaved changes ({count} households). Open them again?").format(
                count=len(drafts)))
        if answer == QMessageBox.StandardButton.Yes:
            self.stack.setCurrentWidget(self.editor)
            self.editor.load_draft(drafts[0])

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.editor.maybe_close():
            event.ignore()
            return
        if not self.locked:
            self._save_geometry()
        self.idle.stop()
        if self.lock_screen is not None:
            self.lock_screen.deleteLater()
            self.lock_screen = None
        if self.scan_job is not None:
            self.scan_job.cancel()
        # Debounced checks (findings, duplicates, drafts) must not fire on a closed workspace.
        for timer in self.findChildren(QTimer):
            timer.stop()
        self._closed = True
        self.ws.close()
        event.accept()
        emit(self.closed)
