"""The procedure panel: a household's timeline, its next legal steps, evidence entry and refusals.

A step recorded by mistake is voided from the timeline (作废): a reason is asked, the operations
layer appends a void mark (the same as `povdesk step void`), and the step stays in the timeline
struck through and marked with who voided it, when and why; the status is derived again."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from povdesk.core import procedures
from povdesk.core.model import ROLE_LABELS, STATUS_LABELS, Household
from povdesk.core.procedures import HistoryEntry, ProcedureSpec, StepSpec
from povdesk.core.rules import Finding, blocking, validate_household
from povdesk.errors import PovdeskError, ProcedureRefused
from povdesk.i18n import Text
from povdesk.ops.procedures import record_step, void_step
from povdesk.store import User, Workspace
from povdesk.store.thresholds import rule_context
from povdesk.ui.changes import ChangeBus
from povdesk.ui.form_renderer import ERROR_COLOUR, FormView, evidence_specs, normalize_date
from povdesk.ui.signals import emit

log = logging.getLogger(__name__)

VOIDED_COLOUR = "#888888"
VOID_COLUMN = 4


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


class VoidStepDialog(QDialog):
    """Asks why a recorded step is voided; the reason is required (the Void button waits for it)."""

    def __init__(self, step: str, date: str, by: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Void a step"))
        layout = QVBoxLayout(self)
        question = QLabel(self.tr("Void “{step}” of {date}, recorded by {by}?").format(step=step, date=date, by=by))
        question.setWordWrap(True)
        layout.addWidget(question)
        explain = QLabel(self.tr("The step stays in the history, struck through and marked voided; the status is "
                                 "derived again without it. Only the role that recorded it, or a higher level, "
                                 "may void it."))
        explain.setWordWrap(True)
        layout.addWidget(explain)
        label = QLabel(self.tr("&Reason (required)"))
        self.reason_edit = QLineEdit()
        self.reason_edit.setObjectName("void_reason")
        label.setBuddy(self.reason_edit)
        layout.addWidget(label)
        layout.addWidget(self.reason_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.void_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.void_button.setText(self.tr("Void the step"))
        self.void_button.setEnabled(False)  # a reason first
        self.reason_edit.textChanged.connect(lambda text: self.void_button.setEnabled(bool(text.strip())))
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(480)  # the wrapped labels then take the height they need

    def reason(self) -> str:
        return self.reason_edit.text().strip()

    def _accept(self) -> None:
        if self.reason():
            self.accept()


class ProcedurePanel(QWidget):
    """Shows what happened to a household and records the next step, refusing with every reason."""

    performed = Signal(str)  # household id, after a step was recorded in the workspace (and announced)

    def __init__(self, ws: Workspace, user: User, lang: str = "zh", parent: QWidget | None = None, *,
                 changes: ChangeBus | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.lang = lang
        self.changes = changes if changes is not None else ChangeBus(self)
        self.household: Household | None = None
        self._unsaved = False
        self._step: tuple[ProcedureSpec, StepSpec] | None = None
        self.evidence: FormView | None = None

        self.status_label = QLabel()
        self.timeline = QTreeWidget()
        self.timeline.setHeaderLabels([self.tr("Date"), self.tr("Step"), self.tr("By"), self.tr("Status after"),
                                       self.tr("Voided")])
        self.timeline.setRootIsDecorated(False)
        self.timeline.setAlternatingRowColors(True)
        self.timeline.currentItemChanged.connect(lambda *_: self._update_void_button())
        self._entries: list[HistoryEntry] = []  # the timeline's rows

        self.void_button = QPushButton(self.tr("&Void this step…"))
        self.void_button.setObjectName("void_step")
        self.void_button.setToolTip(self.tr("A step recorded by mistake is voided, never deleted: it stays in the "
                                            "history marked voided and moves no status. Choose it in the history "
                                            "first."))
        self.void_button.clicked.connect(self.ask_void)
        self.void_dialog: VoidStepDialog | None = None
        self.void_refusal = QLabel()
        self.void_refusal.setObjectName("void_refusal")
        self.void_refusal.setWordWrap(True)
        self.void_refusal.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.void_refusal.hide()

        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.notice.hide()
        self.actions_box = QGroupBox(self.tr("Next steps"))
        self.actions_layout = QVBoxLayout(self.actions_box)
        self.step_buttons: list[QPushButton] = []
        self.step_blockers: dict[tuple[str, str], QLabel] = {}  # a step's note: the errors that block it

        self.step_box = QGroupBox()
        step_layout = QVBoxLayout(self.step_box)
        date_row = QHBoxLayout()
        date_label = QLabel(self.tr("Date of the step"))
        self.date_edit = QLineEdit()
        self.date_edit.setPlaceholderText("YYYY-MM-DD")
        self.date_edit.setObjectName("step_date")
        self.date_edit.editingFinished.connect(self._normalize_date)
        date_label.setBuddy(self.date_edit)
        date_row.addWidget(date_label)
        date_row.addWidget(self.date_edit, 1)
        step_layout.addLayout(date_row)
        self.evidence_holder = QVBoxLayout()
        step_layout.addLayout(self.evidence_holder)
        self.perform_button = QPushButton(self.tr("Record this step"))
        self.perform_button.setDefault(True)
        self.perform_button.clicked.connect(self.perform)
        self.date_edit.returnPressed.connect(self._date_enter)
        step_layout.addWidget(self.perform_button)
        self.reasons_title = QLabel(self.tr("The step was refused:"))
        self.reasons_title.setStyleSheet(f"color: {ERROR_COLOUR}; font-weight: bold;")
        self.reasons = QListWidget()
        self.reasons.setWordWrap(True)
        self.reasons.setStyleSheet(f"color: {ERROR_COLOUR};")
        step_layout.addWidget(self.reasons_title)
        step_layout.addWidget(self.reasons)
        self.reasons_title.hide()
        self.reasons.hide()
        self.step_box.hide()

        # The timeline above, the next steps and their evidence below across the whole width (side
        # by side the evidence fields were 45 px wide on a 1366 px screen); the lower part scrolls.
        lower = QWidget()
        rl = QVBoxLayout(lower)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.notice)
        rl.addWidget(self.actions_box)
        rl.addWidget(self.step_box)
        rl.addStretch(1)
        self.steps_area = QScrollArea()
        self.steps_area.setWidgetResizable(True)
        self.steps_area.setFrameShape(QFrame.Shape.NoFrame)
        self.steps_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.steps_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.steps_area.setWidget(lower)
        upper = QWidget()
        ll = QVBoxLayout(upper)
        ll.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()  # the status, and Void for the step chosen in the history below
        header.addWidget(self.status_label, 1)
        header.addWidget(self.void_button)
        ll.addLayout(header)
        ll.addWidget(self.timeline)
        ll.addWidget(self.void_refusal)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(self.steps_area)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self.refresh()

    # ------------------------------------------------------------------ state

    def set_household(self, hh: Household | None, unsaved: bool = False) -> None:
        self.household = hh
        self._unsaved = unsaved
        self._step = None
        self.void_refusal.hide()
        self.refresh()

    def set_unsaved(self, unsaved: bool) -> None:
        if unsaved != self._unsaved:
            self._unsaved = unsaved
            self._update_notice()

    def _text(self, text: Text) -> str:
        return text.get(self.lang)

    def refresh(self) -> None:
        hh = self.household
        self.timeline.clear()
        self._entries = []
        for widget in [*self.step_buttons, *self.step_blockers.values()]:
            # Hidden and deleted in place: taken out of the window (setParent(None)) they became
            # windows of their own for a moment, and the panel's window lost the keyboard.
            widget.hide()
            widget.setObjectName("")  # until deleted, not found by its name instead of the new one
            self.actions_layout.removeWidget(widget)
            widget.deleteLater()
        self.step_buttons = []
        self.step_blockers = {}
        if hh is None:
            self.status_label.setText("")
            self._update_void_button()
            self.actions_box.hide()
            self.step_box.hide()
            self.notice.hide()
            return
        status = _pick(STATUS_LABELS.get(hh.status, (hh.status, hh.status)), self.lang)
        self.status_label.setText(self.tr("Status: {status}").format(status=status))
        for entry in procedures.history(hh):
            self.timeline.addTopLevelItem(self._timeline_item(entry))
            self._entries.append(entry)
        for column in range(VOID_COLUMN + 1):
            self.timeline.resizeColumnToContents(column)
        last = self.timeline.topLevelItem(self.timeline.topLevelItemCount() - 1)
        if last is not None:
            self.timeline.scrollToItem(last)
        self._update_void_button()
        self.actions_box.show()
        steps = procedures.next_steps(hh)
        findings = validate_household(hh, rule_context(self.ws)) if steps else []
        for spec, step in steps:
            roles = ", ".join(_pick(ROLE_LABELS.get(r, (r, r)), self.lang) for r in step.roles)
            button = QPushButton(f"{spec.label.get(self.lang)} · {step.label.get(self.lang)}")
            button.setObjectName(f"step_{spec.key}_{step.key}")
            button.setToolTip(self.tr("Who may record it: {roles}").format(roles=roles))
            button.clicked.connect(lambda _c=False, s=spec, st=step: self.choose(s.key, st.key))
            self.actions_layout.addWidget(button)
            button.show()
            self.step_buttons.append(button)
            blockers = blocking(findings, spec.key)  # each rule says which procedures its errors block
            if blockers:
                note = QLabel(self._blocked_text(hh, blockers))
                note.setObjectName(f"blocked_{spec.key}_{step.key}")
                note.setWordWrap(True)
                note.setStyleSheet(f"color: {ERROR_COLOUR};")
                self.actions_layout.addWidget(note)
                note.show()
                self.step_blockers[(spec.key, step.key)] = note
        if not steps:
            self.actions_box.hide()
        if self._step is None:
            self.step_box.hide()
        self._update_notice()

    def _update_notice(self) -> None:
        if self.household is not None and self._unsaved:
            self.notice.setText(self.tr("This household has unsaved changes. Save it (Ctrl+S) before "
                                        "recording a procedure step."))
            self.notice.show()
        else:
            self.notice.hide()
        for button in [*self.step_buttons, self.perform_button]:
            button.setEnabled(not self._unsaved)
        self._update_void_button()

    def _blocked_text(self, hh: Household, blockers: Sequence[Finding]) -> str:
        names = {m.id: m.name or self.tr("(no name)") for m in hh.members}
        lines = [f"• {names[f.member_id] + ': ' if f.member_id in names else ''}{self._text(f.message)}"
                 for f in blockers]
        return "\n".join([self.tr("Blocked until corrected by {count} errors:").format(count=len(blockers)),
                          *lines])

    def blocker_texts(self, procedure: str, step: str) -> list[str]:
        """The lines of a next step's note on the errors that block it ([] when none does)."""
        note = self.step_blockers.get((procedure, step))
        return note.text().splitlines()[1:] if note is not None else []

    def _role(self, role: str) -> str:
        return _pick(ROLE_LABELS.get(role, (role, role)), self.lang)

    def _timeline_item(self, entry: HistoryEntry) -> QTreeWidgetItem:
        e = entry.event
        after = _pick(STATUS_LABELS.get(entry.status_after, (entry.status_after,) * 2), self.lang)
        step = self._text(entry.label)
        voided = ""
        if entry.voided is not None:
            v = entry.voided
            step = self.tr("{step} (voided)").format(step=step)
            voided = self.tr("Voided {date} by {user} ({role}): {reason}").format(
                date=v.date, user=v.user, role=self._role(v.role), reason=v.evidence.get("reason", ""))
        item = QTreeWidgetItem([e.date, step, f"{e.user} ({self._role(e.role)})", after, voided])
        item.setData(0, Qt.ItemDataRole.UserRole, e.id)
        item.setToolTip(1, "\n".join(f"{k}: {v}" for k, v in e.evidence.items()))
        if entry.voided is not None:  # struck through: it stays in the history but moved nothing
            for column in range(VOID_COLUMN):
                font = item.font(column)
                font.setStrikeOut(True)
                item.setFont(column, font)
                item.setForeground(column, QBrush(QColor(VOIDED_COLOUR)))
            item.setForeground(VOID_COLUMN, QBrush(QColor(ERROR_COLOUR)))
            item.setToolTip(VOID_COLUMN, voided)
        return item

    # ------------------------------------------------------------------ voiding a step

    def selected_entry(self) -> HistoryEntry | None:
        current = self.timeline.currentItem()
        row = self.timeline.indexOfTopLevelItem(current) if current is not None else -1
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def _update_void_button(self) -> None:
        entry = self.selected_entry()
        self.void_button.setEnabled(self.household is not None and not self._unsaved and entry is not None
                                    and entry.voided is None)

    def ask_void(self) -> None:
        """The Void button: asks the reason for the selected step (the dialog's Void button does the rest)."""
        entry = self.selected_entry()
        if entry is None or entry.voided is not None:
            return
        e = entry.event
        dialog = VoidStepDialog(self._text(entry.label), e.date, f"{e.user} ({self._role(e.role)})", self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.void(e.id, dialog.reason()))
        dialog.finished.connect(lambda _r: setattr(self, "void_dialog", None))
        self.void_dialog = dialog
        dialog.open()
        dialog.reason_edit.setFocus()

    def void(self, event_id: str, reason: str) -> bool:
        """Void one recorded step through the operations layer (the CLI's `povdesk step void`); a
        refusal (the role, a later step, the workspace's level…) is shown under the history."""
        hh = self.household
        if hh is None:
            return False
        if self._unsaved:
            self._show_void_refusal([self.tr("The household has unsaved changes; save it (Ctrl+S) before "
                                             "voiding a step.")])
            return False
        try:
            done = void_step(self.ws, self.user, hh, event_id, reason=reason)
        except ProcedureRefused as exc:
            self._show_void_refusal(exc.reasons)
            return False
        except PovdeskError as exc:
            self._show_void_refusal([exc.text])
            return False
        self.household = hh = done.household
        log.info("voided step %s of %s", event_id, hh.id)
        self.void_refusal.hide()
        self.refresh()
        self.changes.announce(done.changes)  # the list, the dashboard and the editor redraw themselves
        emit(self.performed, hh.id)
        return True

    def _show_void_refusal(self, reasons: Sequence[Text | str]) -> None:
        lines = [f"• {r if isinstance(r, str) else self._text(r)}" for r in reasons]
        self.void_refusal.setText("\n".join([self.tr("The step was not voided:"), *lines]))
        self.void_refusal.show()

    # ------------------------------------------------------------------ choosing and performing

    def next_step_keys(self) -> list[tuple[str, str]]:
        return [(s.key, st.key) for s, st in procedures.next_steps(self.household)] if self.household else []

    def choose(self, procedure: str, step: str) -> None:
        """Show the evidence form of a step (what its button does)."""
        spec = procedures.load_procedures()[procedure]
        step_spec = spec.step(step)
        assert step_spec is not None
        self._step = (spec, step_spec)
        self.step_box.setTitle(f"{spec.label.get(self.lang)} · {step_spec.label.get(self.lang)}")
        if self.evidence is not None:  # deleted in place, as the step buttons are (see refresh)
            self.evidence.hide()
            self.evidence_holder.removeWidget(self.evidence)
            self.evidence.deleteLater()
        self.evidence = FormView(evidence_specs(step_spec.evidence, f"{procedure}.{step}"), self.lang)
        self.evidence_holder.addWidget(self.evidence)
        self.evidence.show()
        # Tab from the date walks the evidence fields, then reaches Record (the form was made
        # after the step buttons, which Qt's creation order would put first).
        chain = [self.date_edit, *(self.evidence.widget(k) for k in self.evidence.keys()),  # noqa: SIM118
                 self.perform_button]
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)
        self.date_edit.setText(self.ws.clock.today().isoformat())
        self.reasons.clear()
        self.reasons.hide()
        self.reasons_title.hide()
        self.step_box.show()
        self._update_notice()
        self.date_edit.setFocus()
        self.date_edit.selectAll()

    def _normalize_date(self) -> None:
        iso = normalize_date(self.date_edit.text())
        if iso:
            self.date_edit.setText(iso)

    def _date_enter(self) -> None:
        if self.evidence is not None and self.evidence.first_key():
            self.evidence.focus_field(self.evidence.first_key() or "")

    def current_step(self) -> tuple[str, str] | None:
        return (self._step[0].key, self._step[1].key) if self._step else None

    def reason_texts(self) -> list[str]:
        return [self.reasons.item(i).text() for i in range(self.reasons.count())]

    def _show_reasons(self, reasons: Sequence[Text | str]) -> None:
        self.reasons.clear()
        for r in reasons:
            item = QListWidgetItem(f"• {r if isinstance(r, str) else self._text(r)}")
            item.setForeground(QBrush(QColor(ERROR_COLOUR)))
            self.reasons.addItem(item)
        self.reasons.setVisible(bool(reasons))
        self.reasons_title.setVisible(bool(reasons))

    def perform(self) -> bool:
        """Check and record the chosen step; every refusal reason is listed in the panel."""
        hh = self.household
        if hh is None or self._step is None or self.evidence is None:
            return False
        if self._unsaved:
            self._show_reasons([self.tr("The household has unsaved changes; save it (Ctrl+S) before "
                                        "recording a step.")])
            return False
        self._normalize_date()
        spec, step = self._step
        try:
            done = record_step(self.ws, self.user, hh, spec.key, step.key, date=self.date_edit.text().strip(),
                               evidence=self.evidence.values())
        except ProcedureRefused as exc:
            self._show_reasons(exc.reasons)
            return False
        except PovdeskError as exc:
            self._show_reasons([exc.text])
            return False
        self.household = hh = done.household
        log.info("recorded %s.%s for %s", spec.key, step.key, hh.id)
        self._step = None
        self.step_box.hide()
        self._show_reasons([])
        self.refresh()
        self.changes.announce(done.changes)  # the list, the dashboard and the editor redraw themselves
        emit(self.performed, hh.id)
        return True
