"""The mouse wheel over a form scrolls it: no drop-down, number or date box changes unless it has the focus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from povdesk.store import User, Workspace
from povdesk.ui.editor import HouseholdEditor
from povdesk.ui.main_window import MainWindow
from povdesk.ui.print_centre import PrintCentre
from povdesk.ui.wheel import all_widgets
from tests.ui.conftest import activate

DOWN = -120  # one notch of the wheel, towards the user


def wheel(widget: QWidget, notches: int = 1) -> None:
    """A real wheel event at the middle of the widget, as the mouse sends it."""
    local = QPointF(widget.rect().center())
    event = QWheelEvent(local, QPointF(widget.mapToGlobal(local.toPoint())), QPoint(0, 0),
                        QPoint(0, DOWN * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def page_of(widget: QWidget) -> QScrollArea:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    assert parent is not None, "the widget is not on a scrolling page"
    return parent


@pytest.fixture
def editor(qtbot: QtBot, ws: Workspace, worker: User) -> Iterator[HouseholdEditor]:
    e = HouseholdEditor(ws, worker, lang="zh")
    qtbot.addWidget(e)
    activate(qtbot, e)
    e.resize(900, 600)  # a laptop's share of the screen: the basic form scrolls
    e.load(next(ws.iter_households()).id)
    yield e


def test_wheel_over_a_yes_no_drop_down_scrolls_the_form_and_keeps_the_answer(editor: HouseholdEditor) -> None:
    form = editor.basic_form
    combo = form.widget("military_family")
    assert isinstance(combo, QComboBox)
    editor.basic_form.focus_field(form.first_key() or "")  # typing in the first field
    bar = page_of(combo).verticalScrollBar()
    bar.setValue(0)
    page_of(combo).ensureWidgetVisible(combo)
    before, at = combo.currentIndex(), bar.value()
    assert bar.maximum() > at, "the form should be taller than its page"
    wheel(combo, 3)
    assert combo.currentIndex() == before  # 是否军烈属 stays as it was
    assert bar.value() > at  # and the page moved on
    assert not combo.hasFocus()


def test_wheel_changes_a_drop_down_the_user_chose_to_work_in(editor: HouseholdEditor) -> None:
    combo = editor.basic_form.widget("military_family")
    assert isinstance(combo, QComboBox)
    combo.setFocus()
    before = combo.currentIndex()
    wheel(combo, 1 if before == 0 else -1)
    assert combo.currentIndex() != before


def test_wheel_over_the_income_year_and_code_fields_of_other_tabs(editor: HouseholdEditor) -> None:
    editor.tabs.setCurrentIndex(2)  # income
    year = editor.income_year.value()
    editor.income_form.setFocus()
    wheel(editor.income_year, 2)
    assert editor.income_year.value() == year
    editor.tabs.setCurrentIndex(3)  # living conditions
    for key in editor.living_form.keys():  # noqa: SIM118 (a FormView, not a dict)
        w = editor.living_form.widget(key)
        if isinstance(w, QComboBox) and w.isVisible():
            index = w.currentIndex()
            wheel(w)
            assert w.currentIndex() == index, key


def test_no_drop_down_or_spin_box_anywhere_takes_the_focus_from_the_wheel(qtbot: QtBot, ws: Workspace,
                                                                         worker: User, tmp_path: Path) -> None:
    """Qt gives a combo the focus on a wheel turn (WheelFocus) before anything can refuse it: every
    such widget of every screen takes the focus by click or Tab only."""
    window = MainWindow(ws, worker, data_dir=tmp_path, lang="zh")
    qtbot.addWidget(window)
    activate(qtbot, window)
    centre = PrintCentre(ws, lang="zh", parent=window)
    qtbot.addWidget(centre)
    centre.show()
    QApplication.processEvents()
    guarded = [w for w in all_widgets() if isinstance(w, QComboBox | QAbstractSpinBox)]
    assert len(guarded) > 20
    assert [w for w in guarded if w.focusPolicy() == Qt.FocusPolicy.WheelFocus] == []
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=20000)


def test_wheel_over_the_print_centre_dates_and_year(qtbot: QtBot, ws: Workspace) -> None:
    centre = PrintCentre(ws, lang="zh", kind="publicity")
    qtbot.addWidget(centre)
    activate(qtbot, centre)
    centre.kind.setFocus()
    start, end = centre.start.date(), centre.end.date()
    wheel(centre.start, 2)
    wheel(centre.end, 2)
    assert (centre.start.date(), centre.end.date()) == (start, end)
    centre.kind.setCurrentIndex(2)  # the summary report
    centre.kind.setFocus()
    year = centre.year.value()
    wheel(centre.year)
    assert centre.year.value() == year
    kind = centre.kind.currentIndex()
    centre.year.setFocus()
    wheel(centre.kind)
    assert centre.kind.currentIndex() == kind


def test_wheel_over_the_list_filters(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> None:
    window = MainWindow(ws, worker, data_dir=tmp_path, lang="zh")
    qtbot.addWidget(window)
    activate(qtbot, window)
    window.search.setFocus()
    for combo in (window.status_filter, window.attribute_filter, window.cause_filter, window.problem_filter):
        wheel(combo, 2)
        assert combo.currentIndex() == 0
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=20000)
