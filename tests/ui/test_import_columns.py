"""The import wizard shows how a village's own sheet is read, column by column, and lets the worker
change a column's target with its drop-down; the check runs again with that mapping, and the import
brings the households in with it."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QWizard
from pytestqt.qtbot import QtBot

from povdesk.core.idnumber import check_digit
from povdesk.store import User, Workspace
from povdesk.ui.import_wizard import ImportWizard
from tests.ui.conftest import activate, answer_dialog, type_text

NO = "522634100201-OWN-0001"


def valid_id(first17: str) -> str:
    return first17 + check_digit(first17)


def village_sheet(path: Path) -> str:
    """A village's own sheet: a title row, known headings, and one no synonym knows (吃低保)."""
    head = valid_id("52263419650312123")
    wb = Workbook()
    sheet = wb.active
    sheet.title = "我村名单"
    sheet["A1"] = "东门村名单"
    for col, text in zip("ABCDEF", ("户编号", "户主", "姓名", "与户主关系", "身份证号", "吃低保"), strict=True):
        sheet[f"{col}2"] = text
    for col, value in zip("ABCDEF", (NO, "龙老大", "龙老大", "户主", head, "是"), strict=True):
        sheet[f"{col}3"] = value
    wb.save(path)
    return head


def pick(combo: QComboBox, target: str) -> None:
    """Choose a target in a column's drop-down with the keyboard, as a person would."""
    combo.setFocus()
    while combo.currentData() != target and combo.currentIndex() < combo.count() - 1:
        QTest.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentData() == target


def test_a_column_is_mapped_on_screen_and_imported_with_it(qtbot: QtBot, ws: Workspace, worker: User,
                                                           tmp_path: Path) -> None:
    src = tmp_path / "own.xlsx"
    village_sheet(src)
    wizard = ImportWizard(ws, worker, lang="en")
    qtbot.addWidget(wizard)
    activate(qtbot, wizard)
    wizard.file_page.file.setFocus()
    type_text(str(src))
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    check = wizard.check_page
    qtbot.waitUntil(lambda: wizard.check is not None and wizard.job is None, timeout=30000)

    # the mapping as detected: six columns, 吃低保 not read
    table = check.columns
    shown = [(table.item(i, 0).text(), table.item(i, 1).text(), table.cellWidget(i, 2).currentData())
             for i in range(table.rowCount())]
    assert shown == [("A", "户编号", "household_no"), ("B", "户主", "head_name"), ("C", "姓名", "member.name"),
                     ("D", "与户主关系", "member.relation"), ("E", "身份证号", "member.id_number"),
                     ("F", "吃低保", "ignore")], shown
    assert "row 2" in check.columns_note.text() and "5 of 6 columns" in check.columns_note.text()
    person = wizard.check.plan.households[0].members[0]
    assert "dibao" not in person.fields
    assert not check.remap.isEnabled()

    # the worker says 吃低保 is the 低保 column, and checks again
    pick(check.combos[5], "member.dibao")
    assert check.remap.isEnabled()
    qtbot.mouseClick(check.remap, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.check is not None and wizard.job is None, timeout=30000)
    mapping = Path(wizard.file_page.mapping.text())
    assert mapping.is_file() and '"吃低保" = "member.dibao"' in mapping.read_text(encoding="utf-8")
    assert wizard.check.plan.households[0].members[0].fields.get("dibao") is True
    assert check.combos[5].currentData() == "member.dibao"  # the table shows the mapping now used

    button = wizard.button(QWizard.WizardButton.CommitButton)
    assert button.isEnabled(), check.summary.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.imported == 1, timeout=30000)
    stored = ws.find_household_by_no(NO)
    assert stored is not None and stored.members[0].fields.get("dibao") is True


def test_a_sheet_with_no_known_heading_can_be_mapped_by_hand(qtbot: QtBot, ws: Workspace, worker: User,
                                                             tmp_path: Path) -> None:
    src = tmp_path / "odd.xlsx"
    head = valid_id("52263419650312123")
    wb = Workbook()
    sheet = wb.active
    for col, text in zip("ABCD", ("编号", "名字", "关系", "证件"), strict=True):
        sheet[f"{col}1"] = text
    for col, value in zip("ABCD", (NO, "龙老大", "户主", head), strict=True):
        sheet[f"{col}2"] = value
    wb.save(src)
    wizard = ImportWizard(ws, worker, lang="en")
    qtbot.addWidget(wizard)
    activate(qtbot, wizard)
    wizard.file_page.file.setText(str(src))
    said: list[str] = []
    answer_dialog("OK", said)  # the check says no heading was found
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    check = wizard.check_page
    qtbot.waitUntil(lambda: wizard.job is None and check.found_columns is not None, timeout=30000)
    assert wizard.check is None  # no heading found: the check failed
    qtbot.waitUntil(lambda: bool(said), timeout=5000)
    assert "no heading was recognised" in check.columns_note.text()
    for index, target in ((0, "household_no"), (1, "member.name"), (2, "member.relation"), (3, "member.id_number")):
        pick(check.combos[index], target)
    qtbot.mouseClick(check.remap, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.check is not None and wizard.job is None, timeout=30000)
    assert len(wizard.check.plan.households) == 1
    assert wizard.check.plan.households[0].members[0].name == "龙老大"
