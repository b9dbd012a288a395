"""The household editor: every tab rendered from forms/, findings as you type, duplicates at entry, drafts."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from povdesk.clock import SYSTEM_CLOCK
from povdesk.core import idnumber
from povdesk.core.codes import code_list
from povdesk.core.forms import FieldSpec, SectionSpec, household_form, member_form
from povdesk.core.income import counts_in_household, poverty_line, reference_year, summarize
from povdesk.core.model import HEAD_RELATION, STATUS_LABELS, Household, Member, void_mark
from povdesk.core.procedures import initial_status, load_procedures
from povdesk.core.rules import RULES, Finding, validate_household
from povdesk.errors import PovdeskError
from povdesk.ops import drafts as draft_codec
from povdesk.ops.changes import OpChanges
from povdesk.ops.households import (
    PossibleDuplicate,
    possible_duplicates,
    restore_household,
    restore_refusal,
    save_household,
    void_household,
    void_refusal,
)
from povdesk.store import User, Workspace
from povdesk.store.thresholds import rule_context
from povdesk.ui.changes import ChangeBus
from povdesk.ui.form_renderer import ERROR_COLOUR, WARNING_COLOUR, FormView
from povdesk.ui.procedure_panel import ProcedurePanel
from povdesk.ui.signals import emit

log = logging.getLogger(__name__)

VALIDATE_DELAY_MS = 200
DUPLICATE_DELAY_MS = 300
DRAFT_DELAY_MS = 2000
DRAFT_FORMAT = 1

TAB_BASIC, TAB_MEMBERS, TAB_INCOME, TAB_LIVING, TAB_HELPERS, TAB_PROCEDURE = range(6)


def display_value(spec: FieldSpec, value: Any, lang: str) -> str:
    """A stored value as a table cell shows it (code labels, yes/no, masked private numbers)."""
    if value is None or value == "" or value == []:
        return ""
    if spec.kind == "code" and spec.codes:
        return code_list(spec.codes).label(str(value), lang)
    if spec.kind == "multi_code" and spec.codes and isinstance(value, list):
        codes = code_list(spec.codes)
        return "、".join(codes.label(v, lang) for v in value)
    if spec.kind == "yes_no":
        return ("Yes" if value else "No") if lang == "en" else ("是" if value else "否")
    if spec.kind == "id_number":
        return idnumber.mask(str(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------------------- drafts


@dataclass(frozen=True)
class Draft:
    """An unsaved household left behind by a crash or a power cut."""

    path: Path
    household_id: str
    household_no: str
    head_name: str
    saved_at: str
    user: str


def recoverable_drafts(drafts_dir: Path) -> list[Draft]:
    """Drafts in the directory, newest first; unreadable files are skipped (and logged), and so
    are drafts sealed for an encrypted workspace not unlocked in this process (ops.drafts)."""
    out: list[Draft] = []
    if not drafts_dir.is_dir():
        return out
    for path in drafts_dir.glob("*.json"):
        try:
            data = draft_codec.decode(path.read_bytes(), path.name)
            if data is None:
                continue
            hh = Household.from_dict(data["household"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("unreadable draft %s: %s", path, exc)
            continue
        out.append(Draft(path, hh.id, hh.household_no, hh.head_name or (hh.members[0].name if hh.members else ""),
                         str(data.get("saved_at", "")), str(data.get("user", ""))))
    out.sort(key=lambda d: d.saved_at, reverse=True)
    return out


def read_draft(path: Path) -> Household:
    """The household saved in a draft file."""
    path = Path(path)
    data = draft_codec.decode(path.read_bytes(), path.name)
    if data is None:
        raise ValueError("the draft belongs to a workspace not signed in to")
    return Household.from_dict(data["household"])


def _local_now() -> str:
    """Local wall-clock time, as a worker reads it in the list of drafts."""
    return SYSTEM_CLOCK.now().astimezone().replace(tzinfo=None).isoformat(timespec="seconds")


def write_draft(drafts_dir: Path, hh: Household, user: str, workspace: Path | None = None) -> Path:
    """Written to a temporary file and renamed, so a crash mid-write never leaves half a draft;
    sealed when `workspace` is an encrypted one (ops.drafts)."""
    drafts_dir.mkdir(parents=True, exist_ok=True)
    path = drafts_dir / f"{hh.id}.json"
    tmp = path.with_suffix(".json.tmp")
    payload = {"format": DRAFT_FORMAT, "saved_at": _local_now(),
               "user": user, "household": hh.to_dict()}
    tmp.write_bytes(draft_codec.encode(payload, workspace, path.name))
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------------------- rows


class RowsEditor(QWidget):
    """A repeating section (helpers, measures): a table of rows and the section's form for one row."""

    rows_changed = Signal()

    def __init__(self, section: SectionSpec, columns: Sequence[str], lang: str, add_text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.section = section
        self.lang = lang
        self.columns = [section.fields[[f.key for f in section.fields].index(c)] for c in columns]
        self._rows: list[dict[str, Any]] = []
        self._filling = False
        self.table = QTableWidget(0, len(self.columns))
        self.table.setHorizontalHeaderLabels([c.label(lang) for c in self.columns])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.currentCellChanged.connect(lambda r, _c, _pr, _pc: self._select(r))
        self.add_button = QPushButton(add_text)
        self.remove_button = QPushButton(self.tr("Remove"))
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_row)
        self.form = FormView([section], lang, titles=False, scroll=True)
        self.form.changed.connect(self._form_changed)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.table)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        ll.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.form)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._update_enabled()

    def rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._rows]

    def set_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        self._rows = [dict(r) for r in rows]
        self._refill()
        self._select(0 if self._rows else -1)

    def current(self) -> int:
        return self.table.currentRow()

    def _refill(self) -> None:
        self._filling = True
        try:
            self.table.setRowCount(len(self._rows))
            for i in range(len(self._rows)):
                self._refresh_row(i)
        finally:
            self._filling = False

    def _refresh_row(self, i: int) -> None:
        for c, spec in enumerate(self.columns):
            self.table.setItem(i, c, QTableWidgetItem(display_value(spec, self._rows[i].get(spec.key), self.lang)))

    def _select(self, row: int) -> None:
        if self._filling:
            return
        if 0 <= row < len(self._rows):
            if self.table.currentRow() != row:
                self._filling = True
                self.table.setCurrentCell(row, 0)
                self._filling = False
            self.form.set_values(self._rows[row])
        else:
            self.form.clear()
        self._update_enabled()

    def _update_enabled(self) -> None:
        has = 0 <= self.table.currentRow() < len(self._rows)
        self.form.setEnabled(has)
        self.remove_button.setEnabled(has)

    def add_row(self) -> None:
        self._rows.append({})
        self._refill()
        self._select(len(self._rows) - 1)
        emit(self.rows_changed)
        self.form.focus_field(self.form.first_key() or "")

    def remove_row(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self._rows):
            del self._rows[row]
            self._refill()
            self._select(min(row, len(self._rows) - 1))
            emit(self.rows_changed)

    def _form_changed(self, _key: str) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self._rows):
            self._rows[row] = self.form.values()
            self._refresh_row(row)
            emit(self.rows_changed)


# ---------------------------------------------------------------------------------------- editor


class RemovalReasonDialog(QDialog):
    """Why a member leaves the roster: one of the member change codes that take a person out of the
    household (died, married out, emigrated, imprisoned, moved out), or a row entered by mistake."""

    def __init__(self, name: str, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reason: str | None = None
        self.setWindowTitle(self.tr("Remove member"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("Why does {name} leave this household?").format(name=name)))
        self.group = QButtonGroup(self)
        self.choices: dict[str, QRadioButton] = {}
        for code in code_list("member_change").codes:
            if code_list("member_change").attr(code.code, "leaves", False):
                self.choices[code.code] = QRadioButton(code.label(lang))
        self.choices[""] = QRadioButton(self.tr("Entered by mistake: delete the row"))
        for button in self.choices.values():
            self.group.addButton(button)
            layout.addWidget(button)
        layout.addWidget(QLabel(self.tr("A person who left stays on the roster with the reason; the card and "
                                        "the register show it, and the household's size no longer counts them.")))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)  # a reason first
        self.group.buttonClicked.connect(
            lambda _b: self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True))
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _accept(self) -> None:
        self.reason = next((code for code, b in self.choices.items() if b.isChecked()), None)
        if self.reason is not None:
            self.accept()


class ReasonDialog(QDialog):
    """Asks why a household is voided (or restored): the reason is required, OK stays greyed until
    something is typed."""

    def __init__(self, title: str, question: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        label = QLabel(question)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.reason_edit = QLineEdit()
        self.reason_edit.setObjectName("reason")
        self.reason_edit.setPlaceholderText(self.tr("Reason (required)"))
        layout.addWidget(self.reason_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(False)
        self.reason_edit.textChanged.connect(lambda text: ok.setEnabled(bool(text.strip())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(420, self.sizeHint().height())

    @property
    def reason(self) -> str:
        return self.reason_edit.text().strip()


class HouseholdEditor(QWidget):
    """Edits one household at a time; the main window owns it and asks `maybe_close()` before switching."""

    saved = Signal(str)
    dirty_changed = Signal(bool)
    open_household_requested = Signal(str)
    close_requested = Signal()  # Esc, once unsaved changes were saved or discarded

    def __init__(self, ws: Workspace, user: User, lang: str = "zh", parent: QWidget | None = None,
                 drafts_dir: Path | None = None, *, changes: ChangeBus | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.lang = lang
        self.changes = changes if changes is not None else ChangeBus(self)
        self.changes.changed.connect(self._workspace_changed)
        self.drafts_dir = Path(drafts_dir) if drafts_dir is not None else None
        # Asked on Esc / close with unsaved changes: returns "save", "discard" or "cancel".
        self.ask_unsaved: Callable[[], str] = self._ask_unsaved
        # Asked on saving a household with errors: True to save it unfinished.
        self.ask_save_with_errors: Callable[[Sequence[Finding]], bool] = self._ask_save_with_errors
        self._errors_accepted: dict[str, frozenset[tuple[str, str | None, str | None]]] = {}
        # Asked on removing a member: a member_change code, "" for a row entered by mistake, None to cancel.
        self.ask_removal_reason: Callable[[Member], str | None] = self._ask_removal_reason
        # Asked on voiding (or restoring) a household: the reason, None to cancel.
        self.ask_void_reason: Callable[[Household], str | None] = self._ask_void_reason
        self.ask_restore_reason: Callable[[Household], str | None] = self._ask_restore_reason
        self._hh: Household | None = None
        self._dirty = False
        self._findings: list[Finding] = []
        self._autofilled: dict[tuple[str, str], Any] = {}
        self._member_row = -1
        self._filling = False
        self.duplicates: list[tuple[str, str, str]] = []  # (household_id, household_no, text)

        hform, mform = household_form(), member_form()
        self._basic_sections = (hform.section("basic"), hform.section("review"))
        self._living_section = hform.section("living")
        self._income_section = hform.section("income")
        self._keys_basic = {f.key for s in self._basic_sections for f in s.fields}
        self._keys_living = {f.key for f in self._living_section.fields}
        self._keys_income = {f.key for f in self._income_section.fields}
        self._keys_helpers = {f.key for f in hform.section("helpers").fields}
        self._keys_measures = {f.key for f in hform.section("measures").fields}
        self._mspec = {f.key: f for s in mform.sections for f in s.fields}

        # --- header, duplicate banner
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.state_label = QLabel()
        self.save_button = QPushButton(self.tr("Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)
        self.save_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.void_button = QPushButton(self.tr("Void household…"))
        self.void_button.setToolTip(self.tr("A household registered by mistake (entered twice, or one that does "
                                            "not exist) is voided with a reason: it stays, marked, and no list, "
                                            "count or report includes it"))
        self.void_button.clicked.connect(self.void_household)
        self.void_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.restore_button = QPushButton(self.tr("Restore household…"))
        self.restore_button.clicked.connect(self.restore_household)
        self.restore_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.state_label, 1)
        header.addWidget(self.void_button)
        header.addWidget(self.restore_button)
        header.addWidget(self.save_button)

        self.void_label = QLabel()
        self.void_label.setObjectName("void_banner")
        self.void_label.setWordWrap(True)
        self.void_label.setStyleSheet("#void_banner { background: #fde2e2; border: 1px solid #c62828; "
                                      "border-radius: 4px; padding: 6px; color: #8e0000; }")
        self.void_label.hide()

        self.banner = QFrame()
        self.banner.setObjectName("duplicate_banner")
        self.banner.setStyleSheet("#duplicate_banner { background: #fff4d6; border: 1px solid #e0b000; "
                                  "border-radius: 4px; }")
        self.banner_layout = QVBoxLayout(self.banner)
        self.banner_layout.setContentsMargins(8, 6, 8, 6)
        self.banner_title = QLabel()
        self.banner_title.setWordWrap(True)
        self.banner_layout.addWidget(self.banner_title)
        self.banner_buttons: list[QPushButton] = []
        self.banner.hide()

        # --- tabs
        self.tabs = QTabWidget()
        self.basic_form = FormView(self._basic_sections, lang, scroll=True)
        self.basic_form.changed.connect(lambda k: self._plain_changed(self.basic_form, k))
        self.tabs.addTab(self.basic_form, "")

        self.tabs.addTab(self._build_members(mform.sections), "")

        self.tabs.addTab(self._build_income(), "")

        self.living_form = FormView([self._living_section], lang, scroll=True)
        self.living_form.changed.connect(lambda k: self._plain_changed(self.living_form, k))
        self.tabs.addTab(self.living_form, "")

        self.tabs.addTab(self._build_helpers(hform.section("helpers"), hform.section("measures")), "")

        self.procedure_panel = ProcedurePanel(ws, user, lang, changes=self.changes)
        self.tabs.addTab(self.procedure_panel, "")

        # --- findings panel
        self.findings_label = QLabel()
        self.findings_list = QListWidget()
        self.findings_list.setObjectName("findings")
        self.findings_list.setWordWrap(True)
        self.findings_list.itemActivated.connect(self._finding_activated)
        self.findings_list.itemDoubleClicked.connect(self._finding_activated)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.findings_label)
        sl.addWidget(self.findings_list)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([760, 280])

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.void_label)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)

        # --- timers and keys
        self._validate_timer = self._timer(VALIDATE_DELAY_MS, self.validate_now)
        self._dup_timer = self._timer(DUPLICATE_DELAY_MS, self.check_duplicates_now)
        self._draft_timer = self._timer(DRAFT_DELAY_MS, self.write_draft_now)
        for seq, slot in ((QKeySequence.StandardKey.Save, self.save), ("Ctrl+N", self.add_member)):
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        # Window-wide (from the list, the search box or a drop-down too): the tab keys, which a
        # focused QComboBox would otherwise take as "next item", and Esc.
        for seq, slot in (("Ctrl+PgDown", lambda: self.step_tab(1)), ("Ctrl+PgUp", lambda: self.step_tab(-1)),
                          ("Ctrl+Tab", lambda: self.step_tab(1)), ("Ctrl+Shift+Tab", lambda: self.step_tab(-1)),
                          ("Ctrl+Backtab", lambda: self.step_tab(-1)), ("Esc", self._escape)):
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
        self._update_titles()
        self.setEnabled(False)

    def _timer(self, ms: int, slot: Callable[[], object]) -> QTimer:
        t = QTimer(self)
        t.setSingleShot(True)
        t.setInterval(ms)
        t.timeout.connect(slot)
        return t

    # ------------------------------------------------------------------ building tabs

    def _build_members(self, sections: Sequence[SectionSpec]) -> QWidget:
        self._roster_keys = ("name", "relation", "sex", "birth_date", "id_number")
        self.roster = QTableWidget(0, len(self._roster_keys))
        self.roster.setObjectName("roster")
        self.roster.setHorizontalHeaderLabels([self._mspec[k].label(self.lang) for k in self._roster_keys])
        self.roster.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.roster.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.roster.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.roster.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.roster.verticalHeader().hide()
        self.roster.currentCellChanged.connect(lambda r, _c, _pr, _pc: self._select_member(r))
        self.roster.activated.connect(lambda _i: self.edit_member())
        self.add_member_button = QPushButton(self.tr("Add member (Ctrl+N)"))
        self.edit_member_button = QPushButton(self.tr("Edit"))
        self.remove_member_button = QPushButton(self.tr("Remove"))
        self.head_button = QPushButton(self.tr("Set as head"))
        self.add_member_button.clicked.connect(self.add_member)
        self.edit_member_button.clicked.connect(self.edit_member)
        self.remove_member_button.clicked.connect(self.remove_member)
        self.head_button.clicked.connect(self.set_head)
        buttons = QHBoxLayout()
        for b in (self.add_member_button, self.edit_member_button, self.remove_member_button, self.head_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.roster)
        tl.addLayout(buttons)
        self.member_form = FormView(sections, self.lang, scroll=True)
        self.member_form.changed.connect(self._member_changed)
        self.member_form.finished.connect(self._member_finished)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.member_form)
        split.setSizes([200, 500])
        return split

    def _build_income(self) -> QWidget:
        self.income_year = QSpinBox()
        self.income_year.setObjectName("income_year")
        self.income_year.setRange(2000, self.ws.clock.today().year)
        self.income_year.valueChanged.connect(self._income_year_changed)
        self.income_form = FormView([self._income_section], self.lang, titles=False)
        self.income_form.changed.connect(self._income_changed)
        self.income_summary = QLabel()
        self.income_summary.setWordWrap(True)
        self.income_summary.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout()
        year_label = QLabel(self.tr("Income year"))
        year_label.setBuddy(self.income_year)
        row.addWidget(year_label)
        row.addWidget(self.income_year)
        row.addStretch(1)
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.addLayout(row)
        box = QGroupBox(self._income_section.label(self.lang))
        QVBoxLayout(box).addWidget(self.income_form)
        lay.addWidget(box)
        lay.addWidget(self.income_summary)
        lay.addStretch(1)
        scroll = QScrollArea()  # the income items outgrow a laptop's height: scroll, never clip
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setWidget(w)
        return scroll

    def _build_helpers(self, helpers: SectionSpec, measures: SectionSpec) -> QWidget:
        self.helpers_editor = RowsEditor(helpers, ("name", "phone", "unit_name", "start_date"), self.lang,
                                         self.tr("Add helper"))
        self.helpers_editor.rows_changed.connect(self._helpers_changed)
        self.measures_year = QSpinBox()
        self.measures_year.setObjectName("measures_year")
        self.measures_year.setRange(2000, self.ws.clock.today().year)
        self.measures_year.valueChanged.connect(self._measures_year_changed)
        self.measures_editor = RowsEditor(measures, ("measure_type", "content", "date", "amount"), self.lang,
                                          self.tr("Add measure"))
        self.measures_editor.rows_changed.connect(self._measures_changed)
        hbox = QGroupBox(helpers.label(self.lang))
        QVBoxLayout(hbox).addWidget(self.helpers_editor)
        mbox = QGroupBox(measures.label(self.lang))
        ml = QVBoxLayout(mbox)
        yr = QHBoxLayout()
        yl = QLabel(self.tr("Year"))
        yl.setBuddy(self.measures_year)
        yr.addWidget(yl)
        yr.addWidget(self.measures_year)
        yr.addStretch(1)
        ml.addLayout(yr)
        ml.addWidget(self.measures_editor)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(hbox)
        split.addWidget(mbox)
        return split

    # ------------------------------------------------------------------ loading

    @property
    def household(self) -> Household | None:
        """The household as edited so far (not necessarily saved)."""
        return self._hh

    def load(self, household_id: str) -> None:
        """Open a saved household (the caller asks `maybe_close()` first)."""
        self._show(self.ws.load_household(household_id), dirty=False)

    def new_household(self, village_code: str) -> None:
        self._show(Household(village_code=village_code), dirty=False)
        self.tabs.setCurrentIndex(TAB_BASIC)
        self.basic_form.focus_field(self.basic_form.first_key() or "")

    def open_household(self, hh: Household, dirty: bool = True) -> None:
        """Show a household object, e.g. a recovered draft (unsaved until Ctrl+S)."""
        self._show(hh, dirty=dirty)

    def load_draft(self, draft: Draft | Path) -> None:
        """Open a recovered draft (from `recoverable_drafts`) in the editor, unsaved until Ctrl+S."""
        self.open_household(read_draft(draft.path if isinstance(draft, Draft) else draft), dirty=True)

    restore_draft = load_draft

    def _show(self, hh: Household, dirty: bool) -> None:
        self._hh = hh
        self._autofilled = {}
        self._filling = True
        try:
            self.basic_form.set_status(hh.status)
            self.basic_form.set_values(hh.fields)
            # The kind decides where the history starts: fixed once a step is recorded.
            self.basic_form.widget("household_kind").setEnabled(not hh.events)
            self.living_form.set_values(hh.fields)
            self._refill_roster()
            ident = hh.fields.get("identification_year")
            year = (reference_year(ident) if isinstance(ident, int) else
                    max(hh.years) if hh.years else self.ws.clock.today().year - 1)
            self.income_year.setValue(year)
            self.income_form.set_values(hh.years[year].income if year in hh.years else {})
            self.helpers_editor.set_rows(hh.helpers)
            measure_years = [y for y, r in hh.years.items() if r.measures]
            self.measures_year.setValue(max(measure_years) if measure_years else year + 1)
            self.measures_editor.set_rows(hh.years[self.measures_year.value()].measures
                                          if self.measures_year.value() in hh.years else [])
        finally:
            self._filling = False
        self._select_member(0 if hh.members else -1)
        self.setEnabled(True)
        self._set_dirty(dirty)
        self.procedure_panel.set_household(hh, unsaved=dirty)
        self._show_void_state(hh)
        self._clear_banner()
        self._update_income_summary()
        self.validate_now()

    # ------------------------------------------------------------------ dirty, drafts

    def has_unsaved_changes(self) -> bool:
        return self._dirty

    def _set_dirty(self, dirty: bool) -> None:
        changed = dirty != self._dirty
        self._dirty = dirty
        self._update_titles()
        self.procedure_panel.set_unsaved(dirty)
        if changed:
            emit(self.dirty_changed, dirty)

    def _touched(self) -> None:
        if self._filling:
            return
        self._set_dirty(True)
        self._validate_timer.start()
        if self.drafts_dir is not None:
            self._draft_timer.start()

    def draft_path(self) -> Path | None:
        if self.drafts_dir is None or self._hh is None:
            return None
        return self.drafts_dir / f"{self._hh.id}.json"

    def write_draft_now(self) -> None:
        if self.drafts_dir is None or self._hh is None or not self._dirty:
            return
        try:
            write_draft(self.drafts_dir, self._hh, self.user.name, Path(self.ws.path))
        except (OSError, PovdeskError):
            log.exception("could not write the draft of %s", self._hh.id)

    def set_aside(self) -> None:
        """The workspace can take no save (a damaged file): unsaved changes are written to their
        draft and the editor is left clean, so closing asks nothing."""
        if self._dirty:
            self.write_draft_now()
        for timer in (self._validate_timer, self._dup_timer, self._draft_timer):
            timer.stop()
        self._set_dirty(False)

    def _delete_draft(self) -> None:
        self._draft_timer.stop()
        path = self.draft_path()
        if path is not None:
            path.unlink(missing_ok=True)

    recoverable_drafts = staticmethod(recoverable_drafts)
    read_draft = staticmethod(read_draft)

    # ------------------------------------------------------------------ edits from the forms

    def _plain_changed(self, form: FormView, key: str) -> None:
        if self._hh is None or self._filling:
            return
        fields = self._hh.fields
        for k in form.keys():  # noqa: SIM118 (a FormView, not a dict)
            fields.pop(k, None)
        fields.update(form.values())
        if key == "identification_year" and isinstance(fields.get(key), int):
            self._update_income_summary()
        if key == "household_kind" and not self._hh.events:
            # An ordinary household starts at 未纳入: its 建档立卡 fields go, its next steps change.
            self._hh.status = initial_status(fields)
            self.basic_form.set_status(self._hh.status)
            self.procedure_panel.set_household(self._hh, unsaved=True)
        self._touched()

    def current_member(self) -> Member | None:
        if self._hh is None or not 0 <= self._member_row < len(self._hh.members):
            return None
        return self._hh.members[self._member_row]

    def _member_changed(self, key: str) -> None:
        m = self.current_member()
        if m is None or self._filling:
            return
        if key == "id_number":
            self._fill_from_id(m)
        for k in self.member_form.keys():  # noqa: SIM118 (a FormView, not a dict)
            m.fields.pop(k, None)
        m.fields.update(self.member_form.values())
        self._refresh_roster_row(self._member_row)
        if key in ("name", "id_number", "birth_date"):
            self._dup_timer.start()
        self._touched()

    def _member_finished(self, key: str) -> None:
        """The user left the ID number (Tab, Enter, a click elsewhere): a 15-digit old number is
        complete only now, since while typing it is also the start of an 18-digit one."""
        m = self.current_member()
        if key != "id_number" or m is None or self._filling:
            return
        before = {k: self.member_form.value(k) for k in ("birth_date", "sex")}
        self._fill_from_id(m, finished=True)
        if {k: self.member_form.value(k) for k in before} != before:
            self._member_changed("birth_date")

    def _fill_from_id(self, m: Member, *, finished: bool = False) -> None:
        """Birth date and sex follow the ID number unless the user typed something else.

        Filled only from a complete, valid number: 18 digits (or a 20-digit disability certificate)
        as soon as it is typed, 15 old-style digits only once the user leaves the field. While the
        number is incomplete or wrong, whatever was filled from it before is taken away again.
        """
        raw = self.member_form.value("id_number")
        info = None
        if raw and self.member_form.value("id_type") in (None, "1", "2") and (len(raw) != 15 or finished):
            try:
                info = idnumber.parse(raw, today=self.ws.clock.today())
            except idnumber.IdNumberError:
                info = None
        for key in ("birth_date", "sex"):
            current = self.member_form.value(key)
            filled = self._autofilled.get((m.id, key))
            ours = current in (None, "") or (filled is not None and current == filled)
            if not ours:
                continue  # the user's own entry stays
            if info is not None:
                value = info.birth_date.isoformat() if key == "birth_date" else info.sex
                self.member_form.set_value(key, value)
                self._autofilled[(m.id, key)] = value
            elif filled is not None:
                self.member_form.set_value(key, None)
                del self._autofilled[(m.id, key)]

    def _income_year_changed(self, year: int) -> None:
        if self._filling or self._hh is None:
            return
        self._filling = True
        try:
            record = self._hh.years.get(year)
            self.income_form.set_values(record.income if record else {})
        finally:
            self._filling = False
        self._update_income_summary()
        self._apply_marks()

    def _income_changed(self, _key: str) -> None:
        if self._hh is None or self._filling:
            return
        year = self.income_year.value()
        values = self.income_form.values()
        if values:
            self._hh.year(year).income = values
        elif year in self._hh.years:
            self._hh.years[year].income = {}
            if not self._hh.years[year].measures:
                del self._hh.years[year]
        self._update_income_summary()
        self._touched()

    def _update_income_summary(self) -> None:
        hh = self._hh
        if hh is None:
            self.income_summary.setText("")
            return
        year = self.income_year.value()
        s = summarize(hh, year)
        line = poverty_line(year, hh.fields.get("standard"))
        parts = []
        if s is None:
            parts.append(self.tr("No income recorded for {year}.").format(year=year))
        else:
            parts.append(self.tr("Net income {net} yuan, {size} people").format(net=f"{s.net:,.2f}", size=s.size))
            if s.per_capita is not None:
                parts.append(self.tr("per capita <b>{value}</b> yuan").format(value=f"{s.per_capita:,.2f}"))
        if line is None:
            parts.append(self.tr("no poverty line for {year}").format(year=year))
        else:
            text = self.tr("poverty line {line} yuan").format(line=f"{line.line:,.0f}")
            if s is not None and s.per_capita is not None:
                above = s.per_capita > line.line
                colour = "#2e7d32" if above else ERROR_COLOUR
                verdict = self.tr("above the line") if above else self.tr("at or below the line")
                text += f' — <span style="color:{colour}">{verdict}</span>'
            parts.append(text)
        ident = hh.fields.get("identification_year")
        if isinstance(ident, int) and reference_year(ident) == year:
            parts.append(self.tr("(the year judged for identification in {year})").format(year=ident))
        self.income_summary.setText("; ".join(parts))

    def _helpers_changed(self) -> None:
        if self._hh is None or self._filling:
            return
        self._hh.helpers = self.helpers_editor.rows()
        self._touched()

    def _measures_year_changed(self, year: int) -> None:
        if self._filling or self._hh is None:
            return
        self._filling = True
        try:
            record = self._hh.years.get(year)
            self.measures_editor.set_rows(record.measures if record else [])
        finally:
            self._filling = False

    def _measures_changed(self) -> None:
        if self._hh is None or self._filling:
            return
        year = self.measures_year.value()
        rows = self.measures_editor.rows()
        if rows:
            self._hh.year(year).measures = rows
        elif year in self._hh.years:
            self._hh.years[year].measures = []
            if not self._hh.years[year].income:
                del self._hh.years[year]
        self._touched()

    # ------------------------------------------------------------------ members

    def _refill_roster(self) -> None:
        hh = self._hh
        members = hh.members if hh else []
        was = self._filling
        self._filling = True
        try:
            self.roster.setRowCount(len(members))
            for i in range(len(members)):
                self._refresh_roster_row(i)
        finally:
            self._filling = was

    def _refresh_roster_row(self, i: int) -> None:
        m = self._hh.members[i] if self._hh else None
        if m is None:
            return
        for c, key in enumerate(self._roster_keys):
            item = QTableWidgetItem(display_value(self._mspec[key], m.fields.get(key), self.lang))
            change = m.fields.get("change")
            if key == "name" and change and not counts_in_household(m):  # left: shown, not counted
                item.setText(self.tr("{name} ({change})").format(
                    name=item.text(), change=code_list("member_change").label(change, self.lang)))
                item.setForeground(QColor("#777777"))
            if key == "relation" and m.relation == HEAD_RELATION:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.roster.setItem(i, c, item)

    def _select_member(self, row: int) -> None:
        if self._filling or self._hh is None:
            return
        self._member_row = row if 0 <= row < len(self._hh.members) else -1
        if self.roster.currentRow() != self._member_row and self._member_row >= 0:
            self._filling = True
            self.roster.setCurrentCell(self._member_row, 0)
            self._filling = False
        m = self.current_member()
        self._filling = True
        try:
            self.member_form.set_values(m.fields if m else {})
        finally:
            self._filling = False
        self.member_form.setEnabled(m is not None)
        for b in (self.edit_member_button, self.remove_member_button, self.head_button):
            b.setEnabled(m is not None)
        self._apply_marks()
        self._clear_banner()
        if m is not None and (m.name or m.id_number):
            self._dup_timer.start()

    def add_member(self) -> None:
        """Ctrl+N: a new member row, its form ready for the name."""
        hh = self._hh
        if hh is None:
            return
        fields: dict[str, Any] = {"id_type": "1"}
        if not any(m.relation == HEAD_RELATION for m in hh.members):
            fields["relation"] = HEAD_RELATION
        hh.members.append(Member(fields=fields))
        self._refill_roster()
        self.tabs.setCurrentIndex(TAB_MEMBERS)
        self._select_member(len(hh.members) - 1)
        self.member_form.focus_field("name")
        self._touched()

    def edit_member(self) -> None:
        if self.current_member() is not None:
            self.tabs.setCurrentIndex(TAB_MEMBERS)
            self.member_form.focus_field("name")

    def remove_member(self) -> None:
        """Asks why: a member who died, married out, emigrated, was imprisoned or moved out stays on
        the roster marked with that change (the card and the register show it; size and income per
        head no longer count them); only a row entered by mistake is deleted."""
        m = self.current_member()
        if m is None or self._hh is None:
            return
        reason = self.ask_removal_reason(m)
        if reason is None:
            return
        row = self._member_row
        if reason:
            m.fields["change"] = reason
            self._refresh_roster_row(row)
            self._select_member(row)
        else:
            del self._hh.members[row]
            self._refill_roster()
            self._select_member(min(row, len(self._hh.members) - 1))
        self._touched()

    def _ask_removal_reason(self, m: Member) -> str | None:
        dialog = RemovalReasonDialog(m.name or self.tr("(no name)"), self.lang, self)
        return dialog.reason if dialog.exec() == QDialog.DialogCode.Accepted else None

    def set_head(self) -> None:
        """The selected member becomes the head; the former head's relation must be chosen anew."""
        m = self.current_member()
        if m is None or self._hh is None:
            return
        for other in self._hh.members:
            if other is not m and other.relation == HEAD_RELATION:
                other.fields.pop("relation", None)
        m.fields["relation"] = HEAD_RELATION
        self._refill_roster()
        self._select_member(self._member_row)
        self._touched()

    # ------------------------------------------------------------------ findings

    def findings(self) -> list[Finding]:
        return list(self._findings)

    def validate_now(self) -> None:
        self._validate_timer.stop()
        if self._hh is None:
            self._findings = []
        else:
            self._findings = validate_household(self._hh, rule_context(self.ws))
        self._findings.sort(key=lambda f: (f.severity != "error", f.explained))
        self._apply_marks()
        self._fill_findings_list()
        self._update_titles()

    def _apply_marks(self) -> None:
        plain = [f for f in self._findings if f.member_id is None]
        self.basic_form.mark(f for f in plain if f.field in self._keys_basic)
        self.living_form.mark(f for f in plain if f.field in self._keys_living)
        self.income_form.mark(f for f in plain if f.field in self._keys_income)
        m = self.current_member()
        self.member_form.mark(f for f in self._findings if m is not None and f.member_id == m.id)

    def _where(self, f: Finding) -> str:
        parts = []
        if f.member_id and self._hh is not None:
            m = next((x for x in self._hh.members if x.id == f.member_id), None)
            if m is not None:
                parts.append(m.name or self.tr("(no name)"))
        return " · ".join(parts)

    def _blocks(self, f: Finding) -> str:
        """Which procedures' steps an error blocks (each rule says so)."""
        rule = RULES.get(f.rule)
        names = [spec.label.get(self.lang) for key, spec in load_procedures().items()
                 if rule is None or rule.blocks_procedure(key)]
        return self.tr("Blocks the steps of: {procedures}").format(procedures=self.tr(", ").join(names))

    def _fill_findings_list(self) -> None:
        self.findings_list.clear()
        style = self.style()
        errors = warnings = 0
        for i, f in enumerate(self._findings):
            if f.explained:
                continue
            where = self._where(f)
            item = QListWidgetItem(f"{where}: {f.message.get(self.lang)}" if where else f.message.get(self.lang))
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setToolTip(f"{f.rule}\n{self._blocks(f)}" if f.severity == "error" else f.rule)
            if f.severity == "error":
                errors += 1
                item.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical))
                item.setForeground(QBrush(QColor(ERROR_COLOUR)))
            else:
                warnings += 1
                item.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
                item.setForeground(QBrush(QColor(WARNING_COLOUR)))
            self.findings_list.addItem(item)
        if errors or warnings:
            self.findings_label.setText(self.tr("Findings: {errors} errors, {warnings} warnings").format(
                errors=errors, warnings=warnings))
        else:
            self.findings_label.setText(self.tr("No findings"))

    def _tab_of(self, f: Finding) -> int:
        if f.member_id:
            return TAB_MEMBERS
        if f.field in self._keys_basic or f.field is None:
            return TAB_BASIC
        if f.field in self._keys_living:
            return TAB_LIVING
        if f.field in self._keys_income or f.field == "income":
            return TAB_INCOME
        if f.field == "helpers" or f.field in self._keys_helpers or f.field in self._keys_measures:
            return TAB_HELPERS
        return TAB_BASIC

    def _finding_activated(self, item: QListWidgetItem) -> None:
        index = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(index, int) and 0 <= index < len(self._findings):
            self.go_to(self._findings[index])

    def go_to(self, f: Finding) -> None:
        """Show the tab, member and field a finding is about, with the cursor in the field."""
        tab = self._tab_of(f)
        self.tabs.setCurrentIndex(tab)
        if tab == TAB_MEMBERS and self._hh is not None:
            row = next((i for i, m in enumerate(self._hh.members) if m.id == f.member_id), -1)
            if row >= 0:
                self._select_member(row)
            if not (f.field and self.member_form.focus_field(f.field)):
                self.roster.setFocus()
        elif tab == TAB_BASIC and f.field:
            self.basic_form.focus_field(f.field)
        elif tab == TAB_LIVING and f.field:
            self.living_form.focus_field(f.field)
        elif tab == TAB_INCOME:
            if not (f.field and self.income_form.focus_field(f.field)):
                self.income_year.setFocus()
        elif tab == TAB_HELPERS:
            self.helpers_editor.table.setFocus()

    def _update_titles(self) -> None:
        counts = [0] * 6
        for f in self._findings:
            if f.severity == "error" and not f.explained:
                counts[self._tab_of(f)] += 1
        error_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
        names = [self.tr("Basic information"), self.tr("Members"), self.tr("Income"),
                 self.tr("Living conditions"), self.tr("Helpers and measures"), self.tr("Procedures")]
        for i, name in enumerate(names):
            self.tabs.setTabText(i, f"{name} ({counts[i]})" if counts[i] else name)
            self.tabs.setTabIcon(i, error_icon if counts[i] else QIcon())
        hh = self._hh
        if hh is None:
            self.title.setText("")
            self.state_label.setText("")
            return
        if hh.household_no:
            self.title.setText(self.tr("Household {no}").format(no=hh.household_no))
        else:
            self.title.setText(self.tr("New household"))
        status = STATUS_LABELS.get(hh.status, (hh.status, hh.status))
        text = status[1] if self.lang == "en" else status[0]
        if void_mark(hh) is not None:
            text += " · " + self.tr("voided")
        if self._dirty:
            text += " · " + self.tr("unsaved changes")
        self.state_label.setText(text)

    # ------------------------------------------------------------------ duplicates at entry

    def check_duplicates_now(self) -> None:
        """People already registered with this member's ID number, or name (or its pinyin) and birth date."""
        self._dup_timer.stop()
        m = self.current_member()
        hh = self._hh
        if m is None or hh is None:
            self._clear_banner()
            return
        self._show_duplicates(possible_duplicates(self.ws, hh, m))

    def _clear_banner(self) -> None:
        self._show_duplicates([])

    def _how(self, dup: PossibleDuplicate) -> str:
        if dup.reason == "id_number":
            return self.tr("same ID number {id}").format(id=idnumber.mask(dup.id_number))
        if dup.reason == "name_birth":
            return self.tr("same name and birth date")
        return self.tr("name {name} sounds the same, same birth date").format(name=dup.name)

    def _show_duplicates(self, found: Sequence[PossibleDuplicate]) -> None:
        for b in self.banner_buttons:
            b.setParent(None)
            b.deleteLater()
        self.banner_buttons = []
        self.duplicates = []
        if not found:
            self.banner.hide()
            return
        lines = []
        for dup in found[:5]:
            how, hid = self._how(dup), dup.household_id
            lines.append(self.tr("{name} is already registered in household {no} ({how})").format(
                name=dup.name, no=dup.household_no, how=how))
            self.duplicates.append((hid, dup.household_no, how))
            button = QPushButton(self.tr("Open household {no}").format(no=dup.household_no))
            button.setObjectName(f"open_{hid}")
            button.clicked.connect(lambda _c=False, h=hid: emit(self.open_household_requested, h))
            self.banner_layout.addWidget(button)
            button.show()
            self.banner_buttons.append(button)
        self.banner_title.setText(self.tr("Possible duplicate — check before saving:") + "\n" + "\n".join(lines))
        self.banner.show()

    # ------------------------------------------------------------------ saving and closing

    def errors(self) -> list[Finding]:
        """The errors the household has now (as the form shows them)."""
        return [f for f in self._findings if f.severity == "error" and not f.explained]

    # ------------------------------------------------------------------ voiding

    def _show_void_state(self, hh: Household) -> None:
        """A voided household is shown read-only under a banner saying who voided it, when and why;
        the buttons offer what this user may do (void it, or, at the county, restore it)."""
        mark = void_mark(hh)
        saved = hh.version > 0
        self.void_button.setVisible(saved and mark is None)
        refusal = void_refusal(self.user, hh) if saved and mark is None else None
        self.void_button.setEnabled(refusal is None)
        self.void_button.setToolTip(refusal.get(self.lang) if refusal is not None else self.void_button.toolTip())
        self.restore_button.setVisible(mark is not None and restore_refusal(self.ws, self.user, hh) is None)
        self.tabs.setEnabled(mark is None)
        self.save_button.setEnabled(mark is None)
        if mark is None:
            self.void_label.hide()
            return
        self.void_label.setText(self.tr("Voided on {date} by {user}: {reason}. It stays in the workspace, left out "
                                        "of the list, counts and reports; the county may restore it.").format(
            date=mark.get("date", ""), user=mark.get("user", ""), reason=mark.get("reason", "")))
        self.void_label.show()

    def _ask_void_reason(self, hh: Household) -> str | None:
        dialog = ReasonDialog(self.tr("Void household"),
                              self.tr("Why is household {no} voided? (for instance: entered twice, does not exist) "
                                      "It stays in the workspace, marked, and is sent to the county.").format(
                                  no=hh.household_no), self)
        return dialog.reason if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _ask_restore_reason(self, hh: Household) -> str | None:
        dialog = ReasonDialog(self.tr("Restore household"),
                              self.tr("Why is household {no} restored?").format(no=hh.household_no), self)
        return dialog.reason if dialog.exec() == QDialog.DialogCode.Accepted else None

    def void_household(self) -> bool:
        """Void the saved household shown (unsaved changes are asked about first), with a reason."""
        hh = self._hh
        if hh is None or hh.version == 0 or not self.maybe_close():
            return False
        hh = self._hh
        if hh is None:
            return False
        reason = self.ask_void_reason(hh)
        if not reason:
            return False
        return self._apply(lambda: void_household(self.ws, self.user, hh, reason), self.tr("Not voided"))

    def restore_household(self) -> bool:
        hh = self._hh
        if hh is None or void_mark(hh) is None:
            return False
        reason = self.ask_restore_reason(hh)
        if not reason:
            return False
        return self._apply(lambda: restore_household(self.ws, self.user, hh, reason), self.tr("Not restored"))

    def _apply(self, op: Callable[[], Any], failed: str) -> bool:
        try:
            result = op()
        except PovdeskError as exc:
            QMessageBox.warning(self, failed, exc.message(self.lang))
            return False
        self._delete_draft()
        self._show(result.household, dirty=False)
        self.changes.announce(result.changes)
        return True

    def save(self) -> bool:
        """Ctrl+S: write the household; the store's refusal (conflict, read-only…) goes to a dialog.

        A household with errors can be saved unfinished: asked once, naming its errors (again only
        when they are other errors). It then shows as unfinished in the list until they are gone."""
        hh = self._hh
        if hh is None or void_mark(hh) is not None:  # a voided household is read-only
            return False
        self.validate_now()
        errors = self.errors()
        seen = frozenset((f.rule, f.member_id, f.field) for f in errors)
        if errors and seen != self._errors_accepted.get(hh.id):
            if not self.ask_save_with_errors(errors):
                return False
            self._errors_accepted[hh.id] = seen
        try:
            result = save_household(self.ws, self.user, hh)
        except PovdeskError as exc:
            QMessageBox.warning(self, self.tr("Not saved"), exc.message(self.lang))
            return False
        stored = result.household
        self._delete_draft()
        tab, row = self.tabs.currentIndex(), self._member_row
        focus = self.focusWidget()
        self._show(stored, dirty=False)
        self.tabs.setCurrentIndex(tab)
        if 0 <= row < len(stored.members):
            self._select_member(row)
        if focus is not None and focus.isVisible():
            focus.setFocus()
        self.changes.announce(result.changes)
        emit(self.saved, stored.id)
        return True

    def discard(self) -> None:
        """Forget unsaved changes: back to the stored household, or an empty new one."""
        hh = self._hh
        self._delete_draft()
        if hh is None:
            return
        if hh.version > 0:
            try:
                self._show(self.ws.load_household(hh.id), dirty=False)
                return
            except PovdeskError:
                pass
        self._show(Household(village_code=hh.village_code), dirty=False)

    def _ask_save_with_errors(self, errors: Sequence[Finding]) -> bool:
        shown = [f"· {self._where(f) + ': ' if self._where(f) else ''}{f.message.get(self.lang)}" for f in errors[:8]]
        if len(errors) > len(shown):
            shown.append(self.tr("… and {count} more").format(count=len(errors) - len(shown)))
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Save with errors?"),
                          self.tr("This household has {count} errors:").format(count=len(errors)) + "\n"
                          + "\n".join(shown) + "\n\n"
                          + self.tr("Save it unfinished? It shows as unfinished in the list, and no procedure "
                                    "step can be recorded, until the errors are corrected."), parent=self)
        save = box.addButton(self.tr("Save unfinished"), QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton(self.tr("Keep editing"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is save

    def _ask_unsaved(self) -> str:
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Unsaved changes"),
                          self.tr("This household has unsaved changes. Save them?"),
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer), "cancel")

    def maybe_close(self) -> bool:
        """True when the editor may be closed or switch household (changes saved or discarded)."""
        if not self._dirty:
            return True
        answer = self.ask_unsaved()
        if answer == "save":
            return self.save()
        if answer == "discard":
            self.discard()
            return True
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        # Checks still pending must not run on a workspace that is being closed; an unsaved
        # change still due for its draft is written now.
        if self._draft_timer.isActive():
            self.write_draft_now()
        for timer in (self._validate_timer, self._dup_timer, self._draft_timer):
            timer.stop()
        super().closeEvent(event)

    def step_tab(self, step: int) -> None:
        """The next (1) or previous (-1) tab, round the end; the focus goes to its first field."""
        if not self.isEnabled():
            return
        index = (self.tabs.currentIndex() + step) % self.tabs.count()
        self.tabs.setCurrentIndex(index)
        form = {TAB_BASIC: self.basic_form, TAB_MEMBERS: self.member_form, TAB_INCOME: self.income_form,
                TAB_LIVING: self.living_form}.get(index)
        if form is not None and form.isEnabled() and form.focus_field(form.first_key() or ""):
            return
        self.tabs.tabBar().setFocus(Qt.FocusReason.TabFocusReason)

    def _escape(self) -> None:
        if self.maybe_close():
            emit(self.close_requested)

    def _workspace_changed(self, changes: OpChanges) -> None:
        """Another screen (the procedure panel, a sync, another editor) wrote the household shown
        here: show it as stored now, on the same tab and member. Unsaved edits are left alone (their
        save then meets the newer version and says so)."""
        hh = self._hh
        unnamed = changes.household and not changes.household_ids  # e.g. a sync: any household may have moved
        if hh is None or hh.version == 0 or self._dirty or not (changes.touches(hh.id) or unnamed):
            return
        try:
            current = self.ws.load_household(hh.id)
        except PovdeskError:
            return
        if current.version == hh.version:  # what is shown already (this editor saved it)
            return
        tab, row = self.tabs.currentIndex(), self._member_row
        self._show(current, dirty=False)
        self.tabs.setCurrentIndex(tab)
        if 0 <= row < len(current.members):
            self._select_member(row)
