"""The print centre: household cards, publicity lists and the summary report, with a preview and Save as PDF.

The documents come from the Qt-free operation povdesk.ops.printing.render (over the renderers in
povdesk.reports); this dialog only collects the choices as a PrintRequest. Rendering runs through
ui.worker.run_op (its own read-only Workspace connection, progress and Cancel) into a temporary PDF, which QtPdf draws as page images
for the preview; Save copies that file when the choices have not changed since, and renders again
otherwise.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QDate, QSize, Qt
from PySide6.QtGui import QAction, QImage, QKeySequence, QPixmap
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from povdesk.errors import BadInput
from povdesk.i18n import Text  # not tr(): lupdate would take it for Qt's
from povdesk.ops.printing import KINDS, PrintRequest, Rendered, render
from povdesk.ui.screen import fit_window, install_screen_guard
from povdesk.ui.wheel import install_wheel_guard
from povdesk.ui.worker import Job, run_op

log = logging.getLogger(__name__)

PREVIEW_PAGES = 30  # page images kept in the preview (a village's cards may run to hundreds of pages)
PREVIEW_WIDTH = 620  # pixels per page image


def parse_household_numbers(text: str) -> tuple[str, ...]:
    """Household numbers typed or pasted as a list: one per line, or separated by spaces, commas or 、."""
    seen: dict[str, None] = {}
    for part in re.split(r"[\s,，、;；]+", text):
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


def _day(d: QDate) -> date:
    return date(d.year(), d.month(), d.day())


# ---------------------------------------------------------------- the dialog


class PrintCentre(QDialog):
    """Choose what to print on the left, see the pages on the right, then Save as PDF."""

    def __init__(self, ws: Any, *, lang: str = "zh", household: Any = None, prefix: str | None = None,
                 kind: str = "cards", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from povdesk.core.procedures import publicity_days
        from povdesk.reports.publicity import publicity_steps

        install_wheel_guard()

        install_screen_guard()
        self.ws = ws
        self.lang = lang
        self.household = household
        self.prefix = prefix or ws.region_code
        self.job: Job | None = None
        self.rendered: Rendered | None = None
        self.rendered_request: PrintRequest | None = None
        self.saved_path: Path | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="povdesk-print-")
        self._renders = 0
        self.pdf = QPdfDocument(self)
        self.page_labels: list[QLabel] = []
        self.setWindowTitle(self.tr("Print centre"))

        # ---- what to print
        self.kind = QComboBox()
        for key, label in (("cards", self.tr("Household cards")), ("publicity", self.tr("Publicity list")),
                           ("report", self.tr("Summary report"))):
            self.kind.addItem(label, key)
        self.pages = QStackedWidget()

        cards = QWidget()
        cl = QVBoxLayout(cards)
        self.scope_group = QButtonGroup(self)
        self.scope_household = QRadioButton()
        self.scope_region = QRadioButton()
        self.scope_list = QRadioButton(self.tr("These households (numbers, one per line):"))
        for i, b in enumerate((self.scope_household, self.scope_region, self.scope_list)):
            self.scope_group.addButton(b, i)
            cl.addWidget(b)
        self.household_list = QPlainTextEdit()
        self.household_list.setPlaceholderText("522634100201-0001-0001\n522634100201-0001-0002")
        self.household_list.textChanged.connect(lambda: self.scope_list.setChecked(True))
        cl.addWidget(self.household_list)
        if household is not None:
            self.scope_household.setText(self.tr("The selected household: {no} {head}").format(
                no=household.household_no, head=household.head_name))
            self.scope_household.setChecked(True)
        else:
            self.scope_household.setText(self.tr("The selected household (none is open)"))
            self.scope_household.setEnabled(False)
            self.scope_region.setChecked(True)
        self.scope_region.setText(self.tr("Every household of {region} ({count})").format(
            region=self._region_name(self.prefix), count=ws.count_households(self.prefix)))

        publicity = QWidget()
        pf = QFormLayout(publicity)
        self.step = QComboBox()
        for key, st in publicity_steps().items():
            self.step.addItem(st.en if lang == "en" else st.zh, key)
        pf.addRow(self.tr("Step"), self.step)
        pf.addRow(self.tr("Villages"), QLabel(self._region_name(self.prefix)))
        self.days = publicity_days(self._step_procedure())
        day = ws.clock.today()
        today = QDate(day.year, day.month, day.day)
        self.start = QDateEdit(today)
        self.end = QDateEdit(today.addDays(self.days - 1))
        for d in (self.start, self.end):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        self.start.dateChanged.connect(self._start_changed)
        self._start_changed(today)
        self.step.currentIndexChanged.connect(self._step_changed)
        pf.addRow(self.tr("First day"), self.start)
        pf.addRow(self.tr("Last day"), self.end)
        self.township = QLineEdit()
        self.township.setPlaceholderText(self.tr("e.g. 丹江镇"))
        pf.addRow(self.tr("Township"), self.township)
        self.contact = QLineEdit()
        self.contact.setPlaceholderText(self.tr("e.g. 李明 0855-3331234"))
        pf.addRow(self.tr("Township contact for objections"), self.contact)
        note = QLabel(self.tr("The list shows ID numbers masked and no health or bank details."))
        note.setWordWrap(True)
        pf.addRow(note)

        report = QWidget()
        rf = QFormLayout(report)
        from povdesk.reports.report import LEVELS

        self.level = QComboBox()
        for key, label in (("village", self.tr("Village")), ("township", self.tr("Township")),
                           ("county", self.tr("County"))):
            if LEVELS[key] <= len(self.prefix):
                self.level.addItem(label, key)
        own = next((k for k, n in LEVELS.items() if n == len(self.prefix)), "county")
        self.level.setCurrentIndex(max(0, self.level.findData(own)))  # the selected region's own level
        rf.addRow(self.tr("Level"), self.level)
        rf.addRow(self.tr("Region"), QLabel(self._region_name(self.prefix)))
        self.year = QSpinBox()
        self.year.setRange(2013, 2100)  # 建档立卡 began in 2014; 2013 for the baseline
        self.year.setValue(ws.clock.today().year)
        rf.addRow(self.tr("Identified, exited and removed in"), self.year)

        for w in (cards, publicity, report):
            self.pages.addWidget(w)
        self.kind.currentIndexChanged.connect(self.pages.setCurrentIndex)

        self.preview_button = QPushButton(self.tr("Preview"))
        self.preview_button.clicked.connect(self.preview)
        self.save_button = QPushButton(self.tr("Save as PDF…"))
        self.save_button.clicked.connect(self.save)
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        left = QVBoxLayout()
        form = QFormLayout()
        form.addRow(self.tr("Print"), self.kind)
        left.addLayout(form)
        left.addWidget(self.pages)
        row = QHBoxLayout()
        row.addWidget(self.preview_button)
        row.addWidget(self.save_button)
        left.addLayout(row)
        left.addWidget(self.status)
        left.addStretch(1)

        # ---- the preview
        self.preview_area = QScrollArea()
        self.preview_area.setWidgetResizable(True)
        self.preview_area.setMinimumWidth(PREVIEW_WIDTH + 40)
        self.preview_widget = QWidget()
        self.preview_widget.setStyleSheet("background: #7f7f7f")
        self.preview_layout = QVBoxLayout(self.preview_widget)
        self.preview_layout.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.preview_area.setWidget(self.preview_widget)
        self.preview_note = QLabel(self.tr("Press Preview to see the pages."))
        right = QVBoxLayout()
        right.addWidget(self.preview_note)
        right.addWidget(self.preview_area, 1)

        side = QWidget()
        side.setLayout(left)
        # The choices scroll on a short screen; Close stays at the bottom edge, always in sight.
        self.side_area = QScrollArea()
        self.side_area.setWidgetResizable(True)
        self.side_area.setFrameShape(QFrame.Shape.NoFrame)
        self.side_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_area.setWidget(side)
        self.side_area.setMinimumWidth(side.minimumSizeHint().width() + 20)
        self.side_area.setMaximumWidth(440)
        body = QHBoxLayout()
        body.addWidget(self.side_area)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(buttons)
        self.close_buttons = buttons
        self.kind.setCurrentIndex(max(0, KINDS.index(kind) if kind in KINDS else 0))
        fit_window(self, 1120, 820)

    # ------------------------------------------------------------------ choices

    def _region_name(self, code: str) -> str:
        from povdesk.core.regions import lookup

        region = lookup(code)
        return region.name if region else code

    def _step_procedure(self) -> str | None:
        from povdesk.reports.publicity import publicity_steps

        chosen = publicity_steps().get(self.step.currentData())
        return chosen.procedure if chosen is not None else None

    def _step_changed(self) -> None:
        # Each procedure has its own minimum (a monitoring publicity 5 days, the others 7).
        from povdesk.core.procedures import publicity_days

        self.days = publicity_days(self._step_procedure())
        start = self.start.date()
        self.end.setMinimumDate(start.addDays(self.days - 1))
        self.end.setDate(start.addDays(self.days - 1))

    def _start_changed(self, start: QDate) -> None:
        # A publicity lasts at least `publicity_days` counting both ends: never let the end come sooner.
        earliest = start.addDays(self.days - 1)
        self.end.setMinimumDate(earliest)
        if self.end.date() < earliest:
            self.end.setDate(earliest)

    def request(self) -> PrintRequest:
        """The current choices as plain data (what the worker renders)."""
        kind = self.kind.currentData()
        if kind == "cards":
            if self.scope_household.isChecked() and self.household is not None:
                return PrintRequest("cards", household_ids=(self.household.id,))
            if self.scope_list.isChecked():
                nos = parse_household_numbers(self.household_list.toPlainText())
                if not nos:
                    raise BadInput(Text("请输入要打印的户编号", "type the household numbers to print"))
                return PrintRequest("cards", household_nos=nos)
            return PrintRequest("cards", prefix=self.prefix)
        if kind == "publicity":
            return PrintRequest("publicity", prefix=self.prefix, step=self.step.currentData(),
                                start=_day(self.start.date()), end=_day(self.end.date()),
                                township=self.township.text().strip(), contact=self.contact.text().strip())
        return PrintRequest("report", level=self.level.currentData(), region=self.prefix, year=self.year.value())

    def _request_or_say(self) -> PrintRequest | None:
        try:
            return self.request()
        except BadInput as exc:
            from povdesk.ui.errors import show_error

            show_error(self, exc)
            return None

    # ------------------------------------------------------------------ rendering

    def _start(self, request: PrintRequest, out: Path, fmt: str, on_done: Callable[[Rendered], None]) -> None:
        if self.job is not None:
            return
        self.preview_button.setEnabled(False)
        self.save_button.setEnabled(False)
        self.status.setText(self.tr("Rendering…"))

        def finished(result: Rendered) -> None:
            self._job_over()
            on_done(result)

        job = run_op(self, self.tr("Rendering the document…"), self.ws,
                     lambda ws, progress, cancelled: render(ws, request, out, progress, cancelled, fmt), finished)
        job.error.connect(lambda _exc: self._job_over(failed=True))
        self.job = job

    def _job_over(self, failed: bool = False) -> None:
        self.job = None
        self.preview_button.setEnabled(True)
        self.save_button.setEnabled(True)
        if failed:
            self.status.setText(self.tr("Nothing was printed."))

    def preview(self) -> None:
        request = self._request_or_say()
        if request is None:
            return
        self._renders += 1
        out = Path(self._tmp.name) / f"preview-{self._renders}.pdf"

        def done(result: Rendered) -> None:
            self.rendered, self.rendered_request = result, request
            self._show_pages(result)

        self._start(request, out, "pdf", done)

    def _describe(self, result: Rendered) -> str:
        text = self.tr("Pages: {pages}").format(pages=result.pages)
        if result.missing:
            names = "、".join(sorted({m.text for m in result.missing}))
            text += "\n" + self.tr("The font cannot draw some characters of: {names}. They print as 〓; "
                                   "write them in by hand.").format(names=names)
        return text

    def _show_pages(self, result: Rendered) -> None:
        for label in self.page_labels:
            self.preview_layout.removeWidget(label)
            label.deleteLater()
        self.page_labels = []
        self.pdf.close()
        self.pdf.load(str(result.path))
        count = self.pdf.pageCount()
        shown = min(count, PREVIEW_PAGES)
        for page in range(shown):
            size = self.pdf.pagePointSize(page)
            height = int(PREVIEW_WIDTH * size.height() / size.width()) if size.width() else PREVIEW_WIDTH
            image = self.pdf.render(page, QSize(PREVIEW_WIDTH, height))
            if image.isNull():
                continue
            if image.hasAlphaChannel():  # pages are transparent where nothing is drawn: put them on paper
                paper = QImage(image.size(), QImage.Format.Format_RGB32)
                paper.fill(Qt.GlobalColor.white)
                from PySide6.QtGui import QPainter

                painter = QPainter(paper)
                painter.drawImage(0, 0, image)
                painter.end()
                image = paper
            label = QLabel()
            label.setPixmap(QPixmap.fromImage(image))
            label.setObjectName(f"page_{page + 1}")
            self.preview_layout.addWidget(label)
            self.page_labels.append(label)
        if shown < count:
            self.preview_note.setText(self.tr("Showing the first {shown} of {pages} pages; the saved PDF has "
                                              "them all.").format(shown=shown, pages=count))
        else:
            self.preview_note.setText(self.tr("Pages: {pages}").format(pages=count))
        self.status.setText(self._describe(result))

    def save(self, path: str | Path | None = None) -> None:
        """Save as PDF (or xlsx for the report): the previewed file when the choices are unchanged."""
        request = self._request_or_say()
        if request is None:
            return
        if not path:
            filters = self.tr("PDF (*.pdf)")
            if request.kind == "report":
                filters += ";;" + self.tr("Excel workbook (*.xlsx)")
            chosen, _ = QFileDialog.getSaveFileName(self, self.tr("Save as"), self._suggested_name(request), filters)
            if not chosen:
                return
            path = chosen
        target = Path(path)
        fmt = "xlsx" if target.suffix.lower() == ".xlsx" and request.kind == "report" else "pdf"
        if fmt == "pdf" and target.suffix.lower() != ".pdf":
            target = target.with_name(target.name + ".pdf")
        if fmt == "pdf" and self.rendered is not None and self.rendered_request == request:
            self._write(self.rendered.path, target, self.rendered)
            return
        self._renders += 1
        tmp = Path(self._tmp.name) / f"save-{self._renders}.{fmt}"
        self._start(request, tmp, fmt, lambda result: self._write(tmp, target, result))

    def _write(self, source: Path, target: Path, result: Rendered) -> None:
        part = target.with_name(target.name + ".part")
        try:
            shutil.copyfile(source, part)
            part.replace(target)
        except OSError as exc:
            part.unlink(missing_ok=True)
            QMessageBox.warning(self, self.tr("Save as"), self.tr("Cannot write {path}: {error}").format(
                path=str(target), error=exc.strerror or str(exc)))
            return
        self.saved_path = target
        text = self.tr("Saved {path}").format(path=str(target))
        if result.pages:
            text += "\n" + self._describe(result)
        self.status.setText(text)

    def _suggested_name(self, request: PrintRequest) -> str:
        stem = {"cards": self.tr("cards"), "publicity": self.tr("publicity"), "report": self.tr("report")}
        if request.household_ids and self.household is not None:
            which = self.household.household_no
        else:
            which = request.prefix or request.region or self.ws.region_code
        return str(Path.home() / f"{stem[request.kind]}-{which}.pdf")

    def done(self, result: int) -> None:
        if self.job is not None:
            self.job.cancel()
        self.pdf.close()
        super().done(result)

    def closeEvent(self, event: Any) -> None:
        self.pdf.close()
        super().closeEvent(event)


# ---------------------------------------------------------------- the main window's menu


def open_print_centre(window: Any, kind: str = "cards", scope: str = "household") -> PrintCentre | None:
    """Open the print centre on the main window's current household or region (`scope` household|region)."""
    household = window.editor.household
    if kind == "cards" and scope == "household" and household is None:
        QMessageBox.information(window, QCoreApplication.translate("PrintCentre", "Print centre"),
                                QCoreApplication.translate("PrintCentre", "Open a household first."))
        return None
    dialog = PrintCentre(window.ws, lang=window.lang, household=household, prefix=window.current_prefix(),
                         kind=kind, parent=window)
    if kind == "cards" and scope == "region":
        dialog.scope_region.setChecked(True)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.print_centre = dialog
    dialog.show()
    if kind == "cards" and scope == "household":
        dialog.preview()  # one card renders in a moment: show it straight away
    return dialog


def install_print_menu(window: Any) -> None:
    """Add a Print menu to a MainWindow (uses its ws, lang, editor.household and current_prefix()); once."""
    if getattr(window, "print_actions", None):
        return  # a second menu would make Ctrl+P ambiguous: neither action would fire
    # QCoreApplication.translate written out each time: lupdate only sees direct calls
    menu = window.menuBar().addMenu(QCoreApplication.translate("PrintMenu", "&Print"))
    items = (
        ("cards_household", QCoreApplication.translate("PrintMenu", "Card of the current household…"), "Ctrl+P",
         "cards", "household"),
        ("cards_region", QCoreApplication.translate("PrintMenu", "Cards of the current village…"), "Ctrl+Shift+P",
         "cards", "region"),
        ("publicity", QCoreApplication.translate("PrintMenu", "Publicity list…"), "", "publicity", "region"),
        ("report", QCoreApplication.translate("PrintMenu", "Summary report…"), "", "report", "region"),
    )
    window.print_actions = {}
    window.print_centre = None
    for key, label, shortcut, kind, scope in items:
        action = QAction(label, window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _c=False, kind=kind, scope=scope: open_print_centre(window, kind, scope))
        menu.addAction(action)
        window.print_actions[key] = action
