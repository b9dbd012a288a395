"""An ID number typed digit by digit fills birth date and sex only once it is complete and valid."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from povdesk.core import idnumber
from povdesk.store import User, Workspace
from povdesk.ui.editor import HouseholdEditor
from tests.ui.conftest import DEMO_REGION, activate, focused, press

CTRL = Qt.KeyboardModifier.ControlModifier
TAB = Qt.Key.Key_Tab

# Born 2010-11-15; its first 15 digits read as an old-style number would say 1920-10-11.
CHILD = idnumber.make("522634", date(2010, 11, 15), 923)


def new_member(qtbot: QtBot, ws: Workspace, worker: User) -> HouseholdEditor:
    editor = HouseholdEditor(ws, worker, lang="zh")
    qtbot.addWidget(editor)
    activate(qtbot, editor)
    editor.new_household(DEMO_REGION)
    press(Qt.Key.Key_N, CTRL)
    editor.member_form.focus_field("id_number")
    return editor


def type_digit_by_digit(editor: HouseholdEditor, text: str) -> list[tuple[str | None, str | None]]:
    """Each character one key press, as a person types; birth date and sex after each one."""
    seen = []
    for ch in text:
        QTest.keyClicks(focused(), ch)
        seen.append((editor.member_form.value("birth_date"), editor.member_form.value("sex")))
    return seen


def test_an_18_digit_number_fills_nothing_until_its_last_digit(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    editor = new_member(qtbot, ws, worker)
    seen = type_digit_by_digit(editor, CHILD)
    assert seen[:17] == [(None, None)] * 17  # not 1920-10-11 after the 15th digit
    assert seen[17] == ("2010-11-15", "1")
    m = editor.current_member()
    assert m is not None and m.fields["birth_date"] == "2010-11-15"


def test_a_wrong_check_digit_fills_nothing_and_no_false_age(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    editor = new_member(qtbot, ws, worker)
    wrong = CHILD[:17] + ("1" if CHILD[17] != "1" else "2")
    seen = type_digit_by_digit(editor, wrong)
    assert seen == [(None, None)] * 18
    press(TAB)  # leaving it changes nothing either
    assert editor.member_form.value("birth_date") is None
    editor.validate_now()
    texts = " ".join(f.message.get("zh") for f in editor.findings())
    assert "106" not in texts


def test_what_the_number_filled_goes_when_the_number_stops_being_valid(qtbot: QtBot, ws: Workspace,
                                                                      worker: User) -> None:
    editor = new_member(qtbot, ws, worker)
    type_digit_by_digit(editor, CHILD)
    assert editor.member_form.value("birth_date") == "2010-11-15"
    press(Qt.Key.Key_Backspace)  # 17 digits now
    assert (editor.member_form.value("birth_date"), editor.member_form.value("sex")) == (None, None)
    m = editor.current_member()
    assert m is not None and "birth_date" not in m.fields
    QTest.keyClicks(focused(), CHILD[17])
    assert editor.member_form.value("birth_date") == "2010-11-15"


def test_a_birth_date_the_user_typed_is_never_taken_away(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    editor = new_member(qtbot, ws, worker)
    editor.member_form.focus_field("birth_date")
    QTest.keyClicks(focused(), "2010-11-16")
    editor.member_form.focus_field("id_number")
    type_digit_by_digit(editor, CHILD[:16])
    assert editor.member_form.value("birth_date") == "2010-11-16"


def test_a_15_digit_old_number_fills_once_the_user_leaves_it(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    editor = new_member(qtbot, ws, worker)
    old = "522634680503911"  # 1968-05-03, a man (an odd last digit)
    seen = type_digit_by_digit(editor, old)
    assert seen == [(None, None)] * 15  # it might still become an 18-digit number
    press(TAB)
    assert (editor.member_form.value("birth_date"), editor.member_form.value("sex")) == ("1968-05-03", "1")
    m = editor.current_member()
    assert m is not None and m.fields["birth_date"] == "1968-05-03" and m.fields["sex"] == "1"
