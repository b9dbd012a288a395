"""The one form renderer: FieldSpecs (forms/*.toml, procedure evidence) become Qt widgets, by kind."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRegularExpression, Qt, Signal
from PySide6.QtGui import QKeyEvent, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from povdesk.core import idnumber
from povdesk.core.codes import code_list
from povdesk.core.forms import CONTEXT_FIELDS, FieldSpec, SectionSpec, with_context
from povdesk.core.procedures import EvidenceField
from povdesk.core.rules import Finding
from povdesk.ui.screen import install_screen_guard
from povdesk.ui.signals import emit
from povdesk.ui.wheel import install_wheel_guard

# Units as stored in the form specs, with what a reader sees in each language.
UNITS = {"mu": ("亩", "mu"), "km": ("公里", "km"), "m2": ("平方米", "m²")}
# Evidence counts (representatives, votes, objections) are a village's: never more than 4 digits,
# so a date typed into the wrong field ("到会代表 202611") cannot be taken for a count.
EVIDENCE_MAX = 9999
ERROR_COLOUR = "#c62828"
WARNING_COLOUR = "#b26a00"

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def normalize_date(text: str) -> str | None:
    """An ISO date from what people type (1965-03-12, 1965.03.12, 1965/3/12, 19650312, 1965年3月12日)."""
    text = text.strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
            except ValueError:
                return None
    return None


def evidence_field_spec(f: EvidenceField, section: str = "evidence") -> FieldSpec:
    """A procedure evidence field as a FieldSpec, so the same renderer draws it."""
    return FieldSpec(key=f.key, kind=f.kind, zh=f.zh, en=f.en, section=section, codes=f.codes,
                     required=f.required, min=f.min if f.kind == "integer" else None,
                     max=EVIDENCE_MAX if f.kind == "integer" else None)


def evidence_specs(fields: Iterable[EvidenceField], section: str = "evidence") -> tuple[FieldSpec, ...]:
    return tuple(evidence_field_spec(f, section) for f in fields)


@dataclass
class _Row:
    """One rendered field: the spec, its input widget and the parts of its row."""

    spec: FieldSpec
    widget: QWidget
    row: QWidget  # the field widget with its unit and mark icon
    label: QLabel
    mark: QLabel
    form: QFormLayout
    severity: str | None = None
    message: str = ""


class _MultiCodeList(QListWidget):
    """A compact checkable list; once max_items are checked the others cannot be."""

    toggled = Signal()

    def __init__(self, spec: FieldSpec, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_items = spec.max_items
        assert spec.codes is not None
        for c in code_list(spec.codes).codes:
            item = QListWidgetItem(f"{c.code} {c.label(lang)}")
            item.setToolTip(item.text())
            item.setData(Qt.ItemDataRole.UserRole, c.code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.addItem(item)
        # A long criterion (家庭成员或户主父母、配偶、子女为公职人员或财政供养人员) wraps onto a second
        # line instead of running off the edge behind a horizontal scroll bar.
        self.setWordWrap(True)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rows = min(self.count(), 5)
        self.setFixedHeight(self.sizeHintForRow(0) * rows + 2 * self.frameWidth() + 4)
        self.itemChanged.connect(self._item_changed)
        self._quiet = False

    def _item_changed(self, _item: QListWidgetItem) -> None:
        if self._quiet:
            return
        self._limit()
        emit(self.toggled)

    def _limit(self) -> None:
        full = self.max_items is not None and len(self.codes()) >= self.max_items
        self._quiet = True
        try:
            for i in range(self.count()):
                item = self.item(i)
                enabled = not full or item.checkState() == Qt.CheckState.Checked
                flags = item.flags()
                item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if enabled else flags & ~Qt.ItemFlag.ItemIsEnabled)
        finally:
            self._quiet = False

    def codes(self) -> list[str]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())
                if self.item(i).checkState() == Qt.CheckState.Checked]

    def set_codes(self, codes: Iterable[str]) -> None:
        wanted = set(codes)
        self._quiet = True
        try:
            for i in range(self.count()):
                item = self.item(i)
                item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in wanted
                                   else Qt.CheckState.Unchecked)
        finally:
            self._quiet = False
        self._limit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        # Space toggles the current item even when the list has no current item yet.
        if event.key() == Qt.Key.Key_Space and self.currentItem() is None and self.count():
            self.setCurrentRow(0)
        super().keyPressEvent(event)


class FormView(QWidget):
    """Sections (or loose fields) of a form as one widget: values in, values out, marks, focus."""

    changed = Signal(str)  # a field key, after the user changed that field
    finished = Signal(str)  # a text field's key, when the user left it or pressed Enter (editingFinished)

    def __init__(self, sections: Sequence[SectionSpec] | Sequence[FieldSpec], lang: str = "zh",
                 parent: QWidget | None = None, *, scroll: bool = False, titles: bool = True) -> None:
        super().__init__(parent)
        install_wheel_guard()
        install_screen_guard()
        self.lang = lang
        self._rows: dict[str, _Row] = {}
        self._order: list[str] = []
        self._loading = False
        self._status: str | None = None  # the household's status, for `visible_if = {field = "status"}`
        self._typed = ""
        self._typed_at = 0.0
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(4, 4, 4, 4)
        groups: list[tuple[str | None, Sequence[FieldSpec]]]
        if sections and isinstance(sections[0], SectionSpec):
            groups = [(s.label(lang) if titles else None, s.fields) for s in sections  # type: ignore[union-attr]
                      ]
        else:
            groups = [(None, sections)]  # type: ignore[list-item]
        for title, fields in groups:
            form = QFormLayout()
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if title:
                box = QGroupBox(title)
                box.setLayout(form)
                outer.addWidget(box)
            else:
                outer.addLayout(form)
            for spec in fields:
                self._add_field(form, spec)
        outer.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._scroll: QScrollArea | None = None
        if scroll:
            self._scroll = QScrollArea()
            self._scroll.setWidgetResizable(True)
            self._scroll.setWidget(body)
            self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            layout.addWidget(self._scroll)
        else:
            layout.addWidget(body)
        widgets = [self._rows[k].widget for k in self._order]
        for a, b in zip(widgets, widgets[1:], strict=False):
            QWidget.setTabOrder(a, b)
        self._apply_visibility()

    # ------------------------------------------------------------------ building

    def _label_text(self, spec: FieldSpec) -> str:
        text = spec.label(self.lang)
        if spec.required:
            text += f' <span style="color:{ERROR_COLOUR}">*</span>'
        return text

    def _add_field(self, form: QFormLayout, spec: FieldSpec) -> None:
        widget = self._make_widget(spec)
        widget.setObjectName(f"field_{spec.key}")
        widget.setAccessibleName(spec.label(self.lang))
        help_text = spec.help_en if self.lang == "en" else spec.help_zh
        if help_text:
            widget.setToolTip(help_text)
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        h.setSpacing(4)
        h.addWidget(widget, 1)
        if spec.unit:
            zh, en = UNITS.get(spec.unit, (spec.unit, spec.unit))
            unit = en if self.lang == "en" else zh
            if unit not in spec.label(self.lang):
                h.addWidget(QLabel(unit))
        mark = QLabel()
        mark.setFixedWidth(18)
        h.addWidget(mark)
        label = QLabel(self._label_text(spec))
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setBuddy(widget)
        form.addRow(label, row)
        self._rows[spec.key] = _Row(spec, widget, row, label, mark, form)
        self._order.append(spec.key)
        widget.installEventFilter(self)

    def _make_widget(self, spec: FieldSpec) -> QWidget:
        kind = spec.kind
        key = spec.key
        if kind == "code":
            combo = QComboBox()
            combo.addItem("", None)
            assert spec.codes is not None
            for c in code_list(spec.codes).codes:
                # The code first: typing it picks the item on any keyboard, without an input method.
                combo.addItem(f"{c.code} {c.label(self.lang)}", c.code)
            combo.setMaxVisibleItems(15)
            combo.currentIndexChanged.connect(lambda _i, k=key: self._emit(k))
            return combo
        if kind == "yes_no":
            combo = QComboBox()
            combo.addItem("", None)
            combo.addItem(self.tr("Yes"), True)
            combo.addItem(self.tr("No"), False)
            combo.setProperty("yes_no", True)
            combo.currentIndexChanged.connect(lambda _i, k=key: self._emit(k))
            return combo
        if kind == "multi_code":
            lst = _MultiCodeList(spec, self.lang)
            lst.toggled.connect(lambda k=key: self._emit(k))
            return lst
        edit = QLineEdit()
        if spec.max_length:
            edit.setMaxLength(spec.max_length)
        if kind == "integer":
            sign = "-?" if spec.min is None or spec.min < 0 else ""
            digits = len(str(int(abs(spec.max)))) if spec.max is not None else 12
            edit.setValidator(QRegularExpressionValidator(QRegularExpression(rf"^{sign}\d{{0,{digits}}}$"), edit))
            edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        elif kind in ("decimal", "money"):
            sign = "-?" if spec.min is None or spec.min < 0 else ""
            places = 2 if kind == "money" else 4
            digits = len(str(int(abs(spec.max)))) if spec.max is not None else 12
            edit.setValidator(QRegularExpressionValidator(
                QRegularExpression(rf"^{sign}\d{{0,{digits}}}(\.\d{{0,{places}}})?$"), edit))
            edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        elif kind == "date":
            edit.setPlaceholderText("YYYY-MM-DD")
            edit.setMaxLength(12)
            edit.editingFinished.connect(lambda e=edit, k=key: self._normalize_date(e, k))
        elif kind == "phone":
            edit.setMaxLength(20)
            edit.setInputMethodHints(Qt.InputMethodHint.ImhDialableCharactersOnly)
        elif kind == "id_number":
            edit.setMaxLength(22)
            edit.setInputMethodHints(Qt.InputMethodHint.ImhPreferUppercase | Qt.InputMethodHint.ImhNoPredictiveText)
        edit.textEdited.connect(lambda _t, k=key: self._emit(k))
        edit.editingFinished.connect(lambda k=key: None if self._loading else emit(self.finished, k))
        return edit

    def _normalize_date(self, edit: QLineEdit, key: str) -> None:
        iso = normalize_date(edit.text())
        if iso is not None and iso != edit.text():
            edit.setText(iso)
            self._emit(key)

    def _emit(self, key: str) -> None:
        if self._loading:
            return
        if any(r.spec.visible_if is not None and r.spec.visible_if.field == key for r in self._rows.values()):
            self._apply_visibility()
        emit(self.changed, key)

    # ------------------------------------------------------------------ values

    def keys(self) -> list[str]:
        return list(self._order)

    def spec(self, key: str) -> FieldSpec:
        return self._rows[key].spec

    def widget(self, key: str) -> QWidget:
        """The input widget of a field (tests and the editor's focus handling use it)."""
        return self._rows[key].widget

    def _raw_value(self, key: str) -> Any:
        r = self._rows[key]
        w = r.widget
        kind = r.spec.kind
        if isinstance(w, _MultiCodeList):
            return w.codes() or None
        if isinstance(w, QComboBox):
            return w.currentData()
        assert isinstance(w, QLineEdit)
        text = w.text().strip()
        if not text:
            return None
        if kind == "integer":
            try:
                return int(text)
            except ValueError:
                return None
        if kind in ("decimal", "money"):
            try:
                return float(text)
            except ValueError:
                return None
        if kind == "date":
            return normalize_date(text) or text  # left as typed so the rules name it
        if kind == "id_number":
            return idnumber.normalize(text)
        return text

    def _raw_values(self) -> dict[str, Any]:
        return with_context({k: v for k in self._order if (v := self._raw_value(k)) is not None}, self._status)

    def values(self) -> dict[str, Any]:
        """JSON values as the model stores them; empty and hidden fields are left out, except a
        value hidden only by the household's status (a 建档立卡 field of an ordinary household),
        which is kept as stored."""
        raw = self._raw_values()
        return {k: v for k, v in raw.items() if k in self._rows and (
            self._rows[k].spec.visible(raw) or self._status_hidden(self._rows[k].spec))}

    @staticmethod
    def _status_hidden(spec: FieldSpec) -> bool:
        return spec.visible_if is not None and spec.visible_if.field in CONTEXT_FIELDS

    def set_status(self, status: str | None) -> None:
        """The household's status, which shows or hides the fields that depend on it."""
        self._status = status
        self._apply_visibility()

    def value(self, key: str) -> Any:
        return self._raw_value(key)

    def set_values(self, values: dict[str, Any]) -> None:
        """Show a record's values; fields it lacks are emptied. Emits no `changed`."""
        self._loading = True
        try:
            for key in self._order:
                self._set(key, values.get(key))
        finally:
            self._loading = False
        self._apply_visibility()

    def set_value(self, key: str, value: Any) -> None:
        """Set one field as if the program filled it (ID number → birth date); emits no `changed`."""
        self._loading = True
        try:
            self._set(key, value)
        finally:
            self._loading = False
        self._apply_visibility()

    def _set(self, key: str, value: Any) -> None:
        w = self._rows[key].widget
        if isinstance(w, _MultiCodeList):
            w.set_codes(value if isinstance(value, list) else [])
        elif isinstance(w, QComboBox):
            index = w.findData(value) if value is not None else 0
            if index < 0:
                # An unknown stored code stays visible (and flagged by the rules) rather than lost.
                w.addItem(str(value), value)
                index = w.count() - 1
            w.setCurrentIndex(index)
        elif isinstance(w, QLineEdit):
            if value is None:
                w.setText("")
            elif isinstance(value, float) and value.is_integer():
                w.setText(str(int(value)))
            else:
                w.setText(str(value))
            w.setCursorPosition(0)

    def clear(self) -> None:
        self.set_values({})

    def _apply_visibility(self) -> None:
        raw = self._raw_values()
        for r in self._rows.values():
            if r.spec.visible_if is not None:
                r.form.setRowVisible(r.row, r.spec.visible(raw))

    def is_visible_field(self, key: str) -> bool:
        r = self._rows[key]
        return r.spec.visible(self._raw_values())

    # ------------------------------------------------------------------ findings

    def mark(self, findings: Iterable[Finding]) -> list[Finding]:
        """Mark each field that has findings (worst first) and clear every other mark.

        Returns the findings that name no field of this form, for the caller to place.
        """
        by_key: dict[str, list[Finding]] = {}
        unplaced: list[Finding] = []
        for f in findings:
            if f.field in self._rows and not f.explained:
                by_key.setdefault(f.field, []).append(f)
            else:
                unplaced.append(f)
        style = self.style()
        for key, r in self._rows.items():
            found = by_key.get(key, [])
            severity = "error" if any(f.severity == "error" for f in found) else ("warning" if found else None)
            message = "\n".join(f.message.get(self.lang) for f in sorted(found, key=lambda f: f.severity != "error"))
            if severity == r.severity and message == r.message:
                continue
            r.severity, r.message = severity, message
            if severity is None:
                r.widget.setStyleSheet("")
                r.mark.clear()
                r.mark.setToolTip("")
                r.widget.setToolTip(r.spec.help_en if self.lang == "en" else r.spec.help_zh)
                continue
            colour = ERROR_COLOUR if severity == "error" else WARNING_COLOUR
            cls = type(r.widget).__name__ if not isinstance(r.widget, _MultiCodeList) else "QListWidget"
            r.widget.setStyleSheet(f"{cls} {{ border: 2px solid {colour}; border-radius: 3px; }}")
            icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical if severity == "error"
                                      else QStyle.StandardPixmap.SP_MessageBoxWarning)
            r.mark.setPixmap(icon.pixmap(16, 16))
            r.mark.setToolTip(message)
            r.widget.setToolTip(message)
        return unplaced

    def mark_of(self, key: str) -> str | None:
        """The severity marked on a field ("error", "warning") or None."""
        return self._rows[key].severity

    def mark_text(self, key: str) -> str:
        return self._rows[key].message

    # ------------------------------------------------------------------ focus and keys

    def focus_field(self, key: str) -> bool:
        r = self._rows.get(key)
        if r is None:
            return False
        if not r.row.isVisibleTo(self) and self.isVisible():
            return False
        if self._scroll is not None:
            self._scroll.ensureWidgetVisible(r.row)
        r.widget.setFocus(Qt.FocusReason.OtherFocusReason)
        if isinstance(r.widget, QLineEdit):
            r.widget.selectAll()
        return True

    def first_key(self) -> str | None:
        return self._order[0] if self._order else None

    def _next_key(self, key: str) -> str | None:
        raw = self._raw_values()
        i = self._order.index(key)
        for k in self._order[i + 1:]:
            r = self._rows[k]
            if r.spec.visible(raw) and r.widget.isEnabled():
                return k
        return None

    def _type_ahead(self, combo: QComboBox, text: str) -> bool:
        """Pick the item whose code (or label) starts with what was typed in quick succession."""
        now = time.monotonic()
        if now - self._typed_at > QApplication.keyboardInputInterval() / 1000:
            self._typed = ""
        self._typed_at = now
        for wanted in (self._typed + text, text):
            needle = wanted.casefold()
            for i in range(1, combo.count()):
                code, _, label = combo.itemText(i).partition(" ")
                if code.casefold().startswith(needle) or label.casefold().startswith(needle):
                    combo.setCurrentIndex(i)
                    self._typed = wanted
                    return True
        self._typed = ""
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and mods == Qt.KeyboardModifier.NoModifier:
                if isinstance(watched, QComboBox) and watched.view().isVisible():
                    return False  # Enter picks the highlighted item in an open list
                field = next((k for k, r in self._rows.items() if r.widget is watched), None)
                if field is not None:
                    nxt = self._next_key(field)
                    if nxt is not None:
                        self.focus_field(nxt)
                    else:
                        self.focusNextChild()
                    return True
            if isinstance(watched, QComboBox) and mods in (Qt.KeyboardModifier.NoModifier,
                                                           Qt.KeyboardModifier.ShiftModifier):
                if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                    watched.setCurrentIndex(0)
                    return True
                if watched.property("yes_no"):  # y/n or 1/0 pick yes/no without an input method
                    text = event.text().lower()
                    if text in ("y", "1"):
                        watched.setCurrentIndex(watched.findData(True))
                        return True
                    if text in ("n", "0", "2"):
                        watched.setCurrentIndex(watched.findData(False))
                        return True
                elif event.text().isprintable() and event.text().strip():
                    return self._type_ahead(watched, event.text())
        elif event.type() == QEvent.Type.FocusIn and isinstance(watched, QComboBox):
            self._typed = ""  # a new visit starts a new search, however fast the next key comes
        return super().eventFilter(watched, event)
