"""The Excel import wizard: choose the file (and a column mapping), read the dry run, accept, see the result.

Nothing is written until the user accepts on the check page, and accepting is impossible while
the check lists a blocking problem. The check page lists every problem and every rule finding by
sheet, row and column (a member's finding at that member's row), and how the sheet's columns are
read (ops.column_mapping): each column's target can be changed with a drop-down, which writes a
mapping file and checks the file again with it. The check and the import are the
CLI's own (reports.import_check, then ops.importing.import_checked_xlsx in one transaction), run
through ui.worker.run_job, each on its own workspace connection.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from povdesk.clock import Clock
from povdesk.errors import PovdeskError
from povdesk.ops.changes import OpChanges
from povdesk.ui.screen import fit_window, install_screen_guard
from povdesk.ui.signals import emit
from povdesk.ui.wheel import install_wheel_guard
from povdesk.ui.worker import Job, JobCancelled, run_job

if TYPE_CHECKING:  # the check reads workbooks (openpyxl): imported when a file is checked, not at start
    from povdesk.ops.column_mapping import SheetColumns
    from povdesk.reports.import_check import ImportCheck

log = logging.getLogger(__name__)


def _check_job(db: Path, file: str, mapping: str | None, village: str | None, clock: Clock) -> Any:
    def job(progress: Any, cancelled: Any) -> ImportCheck:
        from povdesk.reports.import_check import check_import
        from povdesk.store import Workspace

        ws = Workspace.open(db, readonly=True, clock=clock)
        try:
            result = check_import(ws, file, mapping, village=village, progress=progress, cancelled=cancelled)
        finally:
            ws.close()
        if cancelled():
            raise JobCancelled()
        return result
    return job


def _import_job(db: Path, check: ImportCheck, user: Any, source: str, clock: Clock) -> Any:
    def job(progress: Any, cancelled: Any) -> Any:
        from povdesk.ops.importing import import_checked_xlsx
        from povdesk.store import Workspace

        ws = Workspace.open(db, clock=clock)
        try:
            return import_checked_xlsx(ws, user, check.plan.households, source=source, cancelled=cancelled)
        finally:
            ws.close()
    return job


class FilePage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.setTitle(self.tr("Choose the spreadsheet"))
        self.setSubTitle(self.tr("The povdesk template or register, or a village's own sheet. Nothing is "
                                 "imported before you have seen the check and accepted it."))
        self.file = QLineEdit()
        self.file.setPlaceholderText(self.tr("register.xlsx"))
        self.file.textChanged.connect(lambda _t: emit(self.completeChanged))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse_file)
        self.mapping = QLineEdit()
        self.mapping.setPlaceholderText(self.tr("optional: a column mapping (.toml) for a legacy sheet"))
        browse_mapping = QPushButton(self.tr("Browse…"))
        browse_mapping.clicked.connect(self._browse_mapping)
        self.village = QLineEdit(wizard.ws.region_code if len(wizard.ws.region_code) == 12 else "")
        self.village.setPlaceholderText(self.tr("12-digit village code"))
        form = QFormLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.file)
        row.addWidget(browse)
        form.addRow(self.tr("Excel file"), row)
        row = QHBoxLayout()
        row.addWidget(self.mapping)
        row.addWidget(browse_mapping)
        form.addRow(self.tr("Column mapping"), row)
        form.addRow(self.tr("Village of rows without a village code"), self.village)

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Excel file"), str(Path.home()),
                                              self.tr("Excel workbook (*.xlsx)"))
        if path:
            self.file.setText(path)

    def _browse_mapping(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Column mapping"), str(Path.home()),
                                              self.tr("Column mapping (*.toml)"))
        if path:
            self.mapping.setText(path)

    def isComplete(self) -> bool:
        return Path(self.file.text().strip()).is_file()


class CheckPage(QWizardPage):
    """The dry run: counts, every problem by sheet/row/column, the marked copy; accept only when clean."""

    COLUMNS = ("Sheet", "Row", "Column", "Field", "Problem")

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle(self.tr("Check"))
        self.setSubTitle(self.tr("The file has been read and checked; nothing has been imported yet."))
        self.setCommitPage(True)  # after Import there is no going back: the data is in
        self.setButtonText(QWizard.WizardButton.CommitButton, self.tr("Import"))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels([self.tr("Sheet"), self.tr("Row"), self.tr("Column"), self.tr("Field"),
                                              self.tr("Problem")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.again = QPushButton(self.tr("Check again"))
        self.again.setToolTip(self.tr("Read the file again after correcting it"))
        self.again.clicked.connect(self.run_check)
        self.report = QPushButton(self.tr("Save the marked copy…"))
        self.report.setToolTip(self.tr("A copy of the sheet with each problem cell filled red and explained "
                                       "in a comment"))
        self.report.clicked.connect(self.save_report)
        buttons = QHBoxLayout()
        buttons.addWidget(self.again)
        buttons.addWidget(self.report)
        buttons.addStretch(1)

        # How the sheet's columns are read (the header synonyms, or the mapping file): each column's
        # target can be changed with a drop-down, then the check runs again with that mapping.
        self.columns_box = QGroupBox(self.tr("Columns: how the sheet is read"))
        self.columns = QTableWidget(0, 3)
        self.columns.setObjectName("columns")
        self.columns.setHorizontalHeaderLabels([self.tr("Column"), self.tr("Heading in the sheet"),
                                                self.tr("Read as")])
        self.columns.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.columns.verticalHeader().setVisible(False)
        self.columns.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.columns.setMinimumHeight(110)
        self.columns_note = QLabel()
        self.columns_note.setWordWrap(True)
        self.remap = QPushButton(self.tr("Check again with these columns"))
        self.remap.setToolTip(self.tr("Writes the columns as chosen into a mapping file (shown on the first page, "
                                      "usable again with povdesk import-xlsx --mapping) and checks the file with it"))
        self.remap.setEnabled(False)
        self.remap.clicked.connect(self.check_with_columns)
        box = QVBoxLayout(self.columns_box)
        box.addWidget(self.columns_note)
        box.addWidget(self.columns, 1)
        box.addWidget(self.remap, 0, Qt.AlignmentFlag.AlignLeft)
        self.found_columns: SheetColumns | None = None
        self.combos: dict[int, QComboBox] = {}
        self._mapping_dir: tempfile.TemporaryDirectory[str] | None = None

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.columns_box)
        split.setSizes([260, 200])
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

    def initializePage(self) -> None:
        self.run_check()

    def run_check(self) -> None:
        if self.w.job is not None:
            return
        self.w.check = None
        self.table.setRowCount(0)
        self.summary.setText(self.tr("Reading and checking the file…"))
        self.again.setEnabled(False)
        self.report.setEnabled(False)
        emit(self.completeChanged)
        fp = self.w.file_page
        mapping = fp.mapping.text().strip() or None
        village = fp.village.text().strip() or None
        self.w.run(self.tr("Checking the spreadsheet…"),
                   _check_job(Path(self.w.ws.path), fp.file.text().strip(), mapping, village, self.w.ws.clock), self._checked,
                   self._failed)

    def _failed(self, _exc: object) -> None:
        self.summary.setText(self.tr("The file could not be checked; nothing was imported."))
        self.again.setEnabled(True)
        self.show_columns()  # a sheet with unknown headings: map its columns here

    # -- the column mapping on screen

    def show_columns(self) -> None:
        """Fill the Columns table from the file's heading (as the check read it)."""
        from povdesk.ops.column_mapping import IGNORE, detect_columns, target_choices

        fp = self.w.file_page
        self.columns.setRowCount(0)
        self.combos = {}
        self.remap.setEnabled(False)
        try:
            found = detect_columns(fp.file.text().strip(), fp.mapping.text().strip() or None)
        except PovdeskError as exc:
            self.found_columns = None
            self.columns_note.setText(exc.message(self.w.lang))
            return
        self.found_columns = found
        choices = [(t, label.get(self.w.lang)) for t, label in target_choices()]
        known = {t for t, _ in choices}
        self.columns.setRowCount(len(found.columns))
        for i, col in enumerate(found.columns):
            self.columns.setItem(i, 0, QTableWidgetItem(col.letter))
            self.columns.setItem(i, 1, QTableWidgetItem(col.header))
            combo = QComboBox()
            combo.setObjectName(f"column_{col.letter}")
            for target, label in choices:
                combo.addItem(label if target == IGNORE else f"{label}  ({target})", target)
            if col.target not in known:  # a target only a mapping file names (e.g. an income column)
                combo.addItem(col.target, col.target)
            combo.setCurrentIndex(max(0, combo.findData(col.target)))
            combo.currentIndexChanged.connect(lambda _i: self.remap.setEnabled(True))
            self.columns.setCellWidget(i, 2, combo)
            self.combos[col.index] = combo
        self.columns.resizeColumnsToContents()
        read = sum(1 for c in found.columns if c.target != IGNORE)
        if found.recognised:
            note = self.tr("Sheet {sheet}, heading in row {row}: {read} of {count} columns are read. Change what a "
                           "column is read as, then press Check again with these columns.")
        else:
            note = self.tr("Sheet {sheet}: no heading was recognised; row {row} is taken as the heading. Choose what "
                           "each column is read as (at least name, relation to the head and ID number), then press "
                           "Check again with these columns.")
        self.columns_note.setText(note.format(sheet=found.sheet, row=found.header_row, read=read,
                                              count=len(found.columns)))

    def chosen_targets(self) -> dict[int, str]:
        return {index: str(combo.currentData()) for index, combo in self.combos.items()}

    def check_with_columns(self) -> None:
        """Write the columns as chosen into a mapping file and check the file again with it."""
        from povdesk.ops.column_mapping import write_mapping

        found = self.found_columns
        if found is None or self.w.job is not None:
            return
        if self._mapping_dir is None:
            self._mapping_dir = tempfile.TemporaryDirectory(prefix="povdesk-mapping-")
        fp = self.w.file_page
        path = Path(self._mapping_dir.name) / (Path(fp.file.text().strip()).stem + "-columns.toml")
        write_mapping(path, found, self.chosen_targets(), village=fp.village.text().strip() or None)
        fp.mapping.setText(str(path))
        self.run_check()

    def _checked(self, check: ImportCheck) -> None:
        self.w.check = check
        plan = check.plan
        lang = self.w.lang
        rows = [(p.sheet, str(p.row), p.column, p.field,
                 (self.tr("Refused: ") if p.blocking else "") + p.message.get(lang)) for p in plan.problems]
        rows += [(str(f.get("sheet") or ""), str(f.get("row") or ""), str(f.get("column") or ""),
                  self._field_label(f.get("field")), self._severity(f.get("severity")) + self._message(f))
                 for f in check.findings]
        self.table.setRowCount(len(rows))
        for i, cells in enumerate(rows):
            for j, value in enumerate(cells):
                item = QTableWidgetItem(value)
                item.setToolTip(value)  # long messages are cut in the cell
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        text = self.tr("{rows} rows: {households} households, {members} people ({updated} already in the "
                       "workspace, which the sheet updates); {findings} rule findings.").format(
            rows=plan.rows, households=len(plan.households), members=check.members, updated=plan.updated,
            findings=len(check.findings))
        if plan.blocking:
            text += "\n" + self.tr("{count} problems must be corrected in the file before it can be imported. "
                                   "Correct them, save the file and press Check again.").format(
                count=len(plan.blocking))
        elif not plan.households:
            text += "\n" + self.tr("There is nothing to import.")
        else:
            text += "\n" + self.tr("No problem blocks the import. Press Import to bring it in, in one step.")
        self.summary.setText(text)
        self.again.setEnabled(True)
        self.report.setEnabled(bool(plan.problems or check.findings))
        self.show_columns()
        emit(self.completeChanged)

    def _severity(self, severity: object) -> str:
        return {"error": self.tr("Error: "), "warning": self.tr("Warning: ")}.get(str(severity), self.tr("Note: "))

    def _message(self, finding: dict[str, Any]) -> str:
        message = finding.get("message") or {}
        return str(message.get(self.w.lang) or message.get("zh") or "") if isinstance(message, dict) else str(message)

    def _field_label(self, key: object) -> str:
        """A finding's field as the sheet's column heading reads (the form's label), else its key."""
        from povdesk.core.forms import household_form, member_form

        if not key:
            return ""
        for form in (household_form(), member_form()):
            spec = form.by_key.get(str(key))
            if spec is not None:
                return spec.zh
        return str(key)

    def save_report(self, path: str | None = None) -> None:
        from povdesk.reports.xlsx_import import write_problem_report

        check = self.w.check
        if check is None:
            return
        source = Path(self.w.file_page.file.text().strip())
        if not path:
            suggested = str(source.with_name(source.stem + "-problems.xlsx"))
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Save the marked copy"), suggested,
                                                  self.tr("Excel workbook (*.xlsx)"))
            if not path:
                return
        target = Path(path)
        part = target.with_name(target.name + ".part")
        try:
            write_problem_report(source, check.plan, part, self.w.lang, check.findings)
            part.replace(target)
        except Exception as exc:  # noqa: BLE001 - a locked or vanished file: say so, keep the wizard
            part.unlink(missing_ok=True)
            QMessageBox.warning(self, self.tr("Save the marked copy"),
                                self.tr("Cannot write {path}: {error}").format(path=str(target), error=str(exc)))
            return
        self.w.report_path = target

    def isComplete(self) -> bool:
        return self.w.job is None and self.w.check is not None and self.w.check.can_import

    def validatePage(self) -> bool:
        return self.isComplete()


class ResultPage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle(self.tr("Import"))
        self.label = QLabel()
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addStretch(1)

    def initializePage(self) -> None:
        check = self.w.check
        assert check is not None and check.can_import
        self.label.setText(self.tr("Importing…"))
        emit(self.completeChanged)
        source = Path(self.w.file_page.file.text().strip()).name
        self.w.run(self.tr("Importing the spreadsheet…"), _import_job(Path(self.w.ws.path), check, self.w.user, source, self.w.ws.clock),
                   self._imported, self._failed)

    def _imported(self, _result: Any) -> None:
        check = self.w.check
        assert check is not None
        self.w.imported = len(check.plan.households)
        self.label.setText(self.tr("Imported {households} households, {members} people ({updated} of them updated). "
                                   "{findings} rule findings: the households with errors are listed under "
                                   "View › Check all households.").format(
            households=len(check.plan.households), members=check.members, updated=check.plan.updated,
            findings=len(check.findings)))
        emit(self.w.imported_households, self.w.imported)
        emit(self.completeChanged)

    def _failed(self, _exc: object) -> None:
        self.label.setText(self.tr("The import failed; nothing was imported."))
        emit(self.completeChanged)

    def isComplete(self) -> bool:
        return self.w.job is None


class ImportWizard(QWizard):
    """File → check (dry run) → import → result."""

    imported_households = Signal(int)

    def __init__(self, ws: Any, user: Any, *, lang: str = "zh", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        install_wheel_guard()
        install_screen_guard()
        self.ws, self.user, self.lang = ws, user, lang
        self.check: ImportCheck | None = None
        self.job: Job | None = None
        self.imported = 0
        self.report_path: Path | None = None
        self.setWindowTitle(self.tr("Import from Excel"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.file_page = FilePage(self)
        self.check_page = CheckPage(self)
        self.result_page = ResultPage(self)
        for page in (self.file_page, self.check_page, self.result_page):
            self.addPage(page)
        fit_window(self, 900, 600)

    def run(self, title: str, fn: Any, on_done: Any, on_failed: Any) -> None:
        def done(result: Any) -> None:
            self.job = None
            on_done(result)

        def failed(exc: object) -> None:
            self.job = None
            on_failed(exc)

        self.job = run_job(self, title, fn, done)
        self.job.error.connect(failed)

    def reject(self) -> None:
        if self.job is not None:
            self.job.cancel()
        super().reject()


def open_import_wizard(window: Any) -> ImportWizard:
    wizard = ImportWizard(window.ws, window.user, lang=window.lang, parent=window)

    def refresh(_n: int) -> None:
        changes = getattr(window, "changes", None)
        if changes is not None:  # the main window's bus: the list, the check and the dashboard follow
            changes.announce(OpChanges(households_added=True, household=True))
            return
        model = getattr(window, "model", None)
        if model is not None:
            model.refresh()
        update = getattr(window, "_update_count", None)
        if update is not None:
            update()

    wizard.imported_households.connect(refresh)
    window.import_wizard = wizard
    wizard.show()
    return wizard


def install_import_menu(window: Any, menu: Any = None) -> QAction:
    """Add "Import from Excel…" to `menu` (default: the main window's first menu, &Household); once."""
    existing = getattr(window, "import_action", None)
    if existing is not None:
        return existing
    if menu is None:
        actions = window.menuBar().actions()
        menu = actions[0].menu() if actions else window.menuBar().addMenu(
            QCoreApplication.translate("ImportMenu", "&File"))
    action = QAction(QCoreApplication.translate("ImportMenu", "Import from Excel…"), window)
    action.triggered.connect(lambda _c=False: open_import_wizard(window))
    quit_key = QKeySequence("Ctrl+Q")  # as the main window sets it
    before = next((a for a in menu.actions() if not quit_key.isEmpty() and a.shortcut() == quit_key), None)
    if before is not None:  # above Quit, where people look for it
        menu.insertAction(before, action)
    else:
        menu.addAction(action)
    window.import_action = action
    window.import_wizard = None
    return action
