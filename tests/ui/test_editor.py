"""The household editor driven as a village worker would: keyboard first, Chinese typed, offscreen."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from povdesk.core import idnumber
from povdesk.store import User, Workspace
from povdesk.ui.editor import HouseholdEditor, read_draft, recoverable_drafts
from tests.ui.conftest import DEMO_REGION, activate, answer_dialog, focused, press, type_text

CTRL = Qt.KeyboardModifier.ControlModifier
TAB = Qt.Key.Key_Tab
ENTER = Qt.Key.Key_Return

# Four people of one family; sequence numbers in the 900s never occur in the demo data.
FAMILY = [
    ("王建国", idnumber.make("522634", date(1968, 5, 3), 911), "01"),
    ("李秀英", idnumber.make("522634", date(1970, 9, 21), 922), "02"),
    ("王小明", idnumber.make("522634", date(1994, 1, 15), 933), "03"),
    ("王小红", idnumber.make("522634", date(1997, 12, 1), 944), "04"),
]


def make_editor(qtbot: QtBot, ws: Workspace, user: User, drafts_dir: Path | None = None) -> HouseholdEditor:
    editor = HouseholdEditor(ws, user, lang="en", drafts_dir=drafts_dir)
    qtbot.addWidget(editor)
    activate(qtbot, editor)
    return editor


def finding_rules(editor: HouseholdEditor, member_id: str | None = None) -> set[str]:
    return {f.rule for f in editor.findings() if member_id is None or f.member_id == member_id}


def findings_panel_texts(editor: HouseholdEditor) -> list[str]:
    return [editor.findings_list.item(i).text() for i in range(editor.findings_list.count())]


def type_member(qtbot: QtBot, editor: HouseholdEditor, name: str, number: str, relation: str) -> None:
    """Ctrl+N, then the identity section by keyboard; sex and birth date come from the ID number."""
    press(Qt.Key.Key_N, CTRL)
    form = editor.member_form
    assert focused() is form.widget("name")
    type_text(name)
    press(TAB)  # sex: left empty, the ID number fills it
    assert focused() is form.widget("sex")
    press(TAB)  # document type: prefilled resident ID card
    press(TAB)
    assert focused() is form.widget("id_number")
    type_text(number)
    press(ENTER)  # Enter moves on like Tab
    assert focused() is form.widget("birth_date")
    press(TAB)
    assert focused() is form.widget("relation")
    if relation != "01":  # the first member is proposed as the head
        type_text(relation)
    press(TAB)
    assert focused() is form.widget("ethnicity")
    type_text("01")  # 汉族, picked by its code
    press(ENTER)


def test_new_household_with_four_members_by_keyboard(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    editor = make_editor(qtbot, ws, worker)
    editor.new_household(DEMO_REGION)
    basic = editor.basic_form
    assert focused() is basic.widget("group")
    type_text("一组")
    press(TAB)
    type_text("丹江镇东门村一组8号")
    press(ENTER)
    type_text("13912345678")
    press(TAB)  # bank
    press(TAB)  # account
    press(TAB)  # kind of household: left empty, a household for the registration
    press(TAB)
    assert focused() is basic.widget("standard")
    type_text("1")
    press(TAB)
    type_text("01")  # ordinary poor household: the extreme-poverty mode stays hidden
    press(TAB)
    assert focused() is basic.widget("identification_year")
    type_text("2021")
    press(TAB)
    press(TAB)
    assert focused() is basic.widget("main_cause")
    type_text("07")
    assert basic.values()["main_cause"] == "07"

    for name, number, relation in FAMILY[:1]:
        type_member(qtbot, editor, name, number, relation)

    # The spouse's number is typed with a wrong check digit: flagged while typing, on the field and
    # in the findings panel.
    name, number, relation = FAMILY[1]
    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    press(Qt.Key.Key_N, CTRL)
    type_text(name)
    press(TAB)
    press(TAB)
    press(TAB)
    type_text(wrong)
    member = editor.current_member()
    assert member is not None
    qtbot.waitUntil(lambda: editor.member_form.mark_of("id_number") == "error")
    assert "ID-INVALID" in finding_rules(editor, member.id)
    assert any(name in t and "check digit" in t for t in findings_panel_texts(editor))
    assert editor.member_form.value("birth_date") is None  # nothing filled from a wrong number
    press(Qt.Key.Key_Backspace)
    type_text(number[17])
    qtbot.waitUntil(lambda: editor.member_form.mark_of("id_number") is None)
    assert not any("check digit" in t for t in findings_panel_texts(editor))
    assert editor.member_form.value("birth_date") == "1970-09-21"
    assert editor.member_form.value("sex") == "2"
    press(TAB)
    press(TAB)
    type_text(relation)
    press(TAB)
    type_text("01")

    for name, number, relation in FAMILY[2:]:
        type_member(qtbot, editor, name, number, relation)

    assert editor.has_unsaved_changes()
    assert editor.roster.rowCount() == 4
    # The living conditions are not filled in yet: saving names the errors, and the worker saves
    # the household unfinished to come back to it.
    assert any(f.rule == "F-REQUIRED" and f.field == "arable_land" for f in editor.errors())
    asked: list[str] = []
    answer_dialog("Save unfinished", asked)
    with qtbot.waitSignal(editor.saved, timeout=3000) as saved:
        press(Qt.Key.Key_S, CTRL)
    assert len(asked) == 1
    assert f"This household has {len(editor.errors())} errors:" in asked[0]
    assert "Arable land (mu): required" in asked[0]
    assert not editor.has_unsaved_changes()

    stored = ws.load_household(saved.args[0])
    assert stored.household_no
    assert stored.fields["address"] == "丹江镇东门村一组8号"
    assert stored.fields["group"] == "一组"
    assert stored.fields["phone"] == "13912345678"
    assert stored.fields["standard"] == "1" and stored.fields["attribute"] == "01"
    assert stored.fields["identification_year"] == 2021 and stored.fields["main_cause"] == "07"
    got = [(m.name, m.id_number, m.relation, m.fields["sex"], m.fields["birth_date"], m.fields.get("ethnicity"))
           for m in stored.members]
    want = [(n, num, rel, idnumber.parse(num, today=ws.clock.today()).sex,
             idnumber.parse(num, today=ws.clock.today()).birth_date.isoformat(), "01")
            for n, num, rel in FAMILY]
    assert got == want
    assert stored.head_name == "王建国"
    assert editor.household is not None and editor.household.version == stored.version


def test_duplicate_person_banner_offers_the_other_household(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    other = next(ws.iter_households())
    person = other.members[0]
    editor = make_editor(qtbot, ws, worker)
    editor.new_household(DEMO_REGION)
    press(Qt.Key.Key_N, CTRL)
    press(TAB)
    press(TAB)
    press(TAB)
    assert editor.banner.isHidden()
    type_text(person.id_number)
    qtbot.waitUntil(lambda: editor.banner.isVisible())
    assert other.household_no in editor.banner_title.text()
    button = editor.banner.findChild(QPushButton, f"open_{other.id}")
    assert button is not None and button.isVisible()
    with qtbot.waitSignal(editor.open_household_requested) as opened:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert opened.args == [other.id]


def test_duplicate_by_name_and_birth_date(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    other = next(ws.iter_households())
    person = other.members[0]
    editor = make_editor(qtbot, ws, worker)
    editor.new_household(DEMO_REGION)
    press(Qt.Key.Key_N, CTRL)
    type_text(person.name)
    editor.member_form.focus_field("birth_date")
    assert person.birth_date is not None
    type_text(person.birth_date.strftime("%Y.%m.%d"))  # normalised to ISO when the field is left
    press(TAB)
    assert editor.member_form.value("birth_date") == person.birth_date.isoformat()
    qtbot.waitUntil(lambda: editor.banner.isVisible())
    assert [d[0] for d in editor.duplicates] == [other.id]


def answer_next_dialog(button: QMessageBox.StandardButton) -> list[str]:
    """Answer the next modal message box as a user would, by clicking one of its buttons."""
    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, click)
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, click)
    return seen


def test_escape_asks_about_unsaved_changes(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    hh = next(ws.iter_households())
    editor = make_editor(qtbot, ws, worker)
    editor.load(hh.id)
    editor.basic_form.focus_field("address")
    press(Qt.Key.Key_End)
    type_text("附1")
    assert editor.has_unsaved_changes()

    closed: list[bool] = []
    editor.close_requested.connect(lambda: closed.append(True))
    seen = answer_next_dialog(QMessageBox.StandardButton.Cancel)
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: bool(seen))
    assert "unsaved" in seen[0]
    assert editor.has_unsaved_changes() and not closed
    activate(qtbot, editor)  # offscreen there is no window manager to give the focus back

    seen = answer_next_dialog(QMessageBox.StandardButton.Discard)
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: bool(closed))
    assert not editor.has_unsaved_changes()
    assert editor.basic_form.value("address") == hh.fields["address"]
    assert ws.load_household(hh.id).fields["address"] == hh.fields["address"]
    activate(qtbot, editor)

    # Nothing unsaved: Esc closes without asking.
    closed.clear()
    press(Qt.Key.Key_Escape)
    assert closed == [True]


def test_escape_then_save(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    hh = next(ws.iter_households())
    editor = make_editor(qtbot, ws, worker)
    editor.load(hh.id)
    editor.basic_form.focus_field("address")
    press(Qt.Key.Key_End)
    type_text("附1")
    answer_next_dialog(QMessageBox.StandardButton.Save)
    with qtbot.waitSignal(editor.close_requested, timeout=3000):
        press(Qt.Key.Key_Escape)
    assert ws.load_household(hh.id).fields["address"] == hh.fields["address"] + "附1"


def test_unsaved_form_survives_as_a_draft(qtbot: QtBot, ws: Workspace, worker: User, drafts_dir: Path) -> None:
    hh = next(ws.iter_households())
    editor = make_editor(qtbot, ws, worker, drafts_dir)
    editor.load(hh.id)
    editor.basic_form.focus_field("address")
    press(Qt.Key.Key_End)
    type_text("附2号")
    draft_file = drafts_dir / f"{hh.id}.json"
    qtbot.waitUntil(draft_file.exists, timeout=5000)

    drafts = recoverable_drafts(drafts_dir)
    assert [d.household_id for d in drafts] == [hh.id]
    assert drafts[0].household_no == hh.household_no and drafts[0].user == "worker"
    recovered = read_draft(drafts[0].path)
    assert recovered.fields["address"] == hh.fields["address"] + "附2号"

    # The app restarts: a new editor opens the draft, unsaved until saved.
    editor.close()
    again = make_editor(qtbot, ws, worker, drafts_dir)
    again.load_draft(drafts[0])
    assert again.has_unsaved_changes()
    assert again.basic_form.value("address") == hh.fields["address"] + "附2号"
    assert again.save()
    assert not draft_file.exists() and recoverable_drafts(drafts_dir) == []
    assert ws.load_household(hh.id).fields["address"] == hh.fields["address"] + "附2号"


def click_finding(qtbot: QtBot, editor: HouseholdEditor, rule: str, field: str) -> None:
    lst = editor.findings_list
    for i in range(lst.count()):
        f = editor.findings()[lst.item(i).data(Qt.ItemDataRole.UserRole)]
        if f.rule == rule and f.field == field:
            rect = lst.visualItemRect(lst.item(i))
            qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            qtbot.mouseDClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            return
    raise AssertionError(f"no finding {rule} on {field}: {findings_panel_texts(editor)}")


def test_clicking_a_finding_goes_to_its_field(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    editor = make_editor(qtbot, ws, worker)
    editor.new_household(DEMO_REGION)
    press(Qt.Key.Key_N, CTRL)
    type_text("张三")
    qtbot.waitUntil(lambda: any(f.member_id and f.field == "id_number" for f in editor.findings()))

    editor.tabs.setCurrentIndex(3)  # somewhere else entirely
    click_finding(qtbot, editor, "F-REQUIRED", "address")
    assert editor.tabs.currentIndex() == 0
    assert focused() is editor.basic_form.widget("address")

    click_finding(qtbot, editor, "F-REQUIRED", "id_number")
    assert editor.tabs.currentIndex() == 1
    assert focused() is editor.member_form.widget("id_number")

    click_finding(qtbot, editor, "F-REQUIRED", "arable_land")
    assert editor.tabs.currentIndex() == 3
    assert focused() is editor.living_form.widget("arable_land")
