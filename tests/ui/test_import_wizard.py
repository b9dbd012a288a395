"""The Excel import wizard as a village worker uses it: a damaged sheet is caught and cannot be imported;
once the cell is corrected the household comes in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWizard
from pytestqt.qtbot import QtBot

from povdesk.reports.excel import REGISTER_SHEET, write_register
from povdesk.store import User, Workspace
from povdesk.ui.import_wizard import ImportWizard, install_import_menu
from tests.ui.conftest import activate, type_text

NEW_NO = "522634100201-XLS-0001"


def one_household_sheet(ws: Workspace, path: Path, members: int = 1) -> tuple[str, int, str, str]:
    """The register of the first household (of at least `members` people), made into a new household
    (new number, no system ids); returns (head name, the head's row, the ID number column letter, the
    head's ID number)."""
    hh = next(h for h in ws.iter_households() if len(h.members) >= members and h.head is not None)
    write_register([hh], path)
    wb = load_workbook(path)
    sheet = wb[REGISTER_SHEET]
    header = [c.value for c in sheet[1]]
    col = {name: i + 1 for i, name in enumerate(header)}
    id_letter = sheet.cell(row=1, column=col["证件号码"]).column_letter
    head_row, head_id = 0, ""
    for r in range(2, sheet.max_row + 1):
        sheet.cell(row=r, column=col["户编号"]).value = NEW_NO
        sheet.cell(row=r, column=col["户ID（系统）"]).value = None
        sheet.cell(row=r, column=col["成员ID（系统）"]).value = None
        if sheet.cell(row=r, column=col["姓名"]).value == hh.head_name and not head_row:
            head_row, head_id = r, str(sheet.cell(row=r, column=col["证件号码"]).value)
    wb.save(path)
    return hh.head_name, head_row, id_letter, head_id


def set_cell(path: Path, ref: str, value: Any) -> None:
    wb = load_workbook(path)
    wb[REGISTER_SHEET][ref].value = value
    wb.save(path)


def next_button(wizard: ImportWizard) -> Any:
    page = wizard.currentPage()
    return wizard.button(QWizard.WizardButton.CommitButton if page.isCommitPage()
                         else QWizard.WizardButton.NextButton)


def test_damaged_cell_blocks_then_corrected_file_imports(qtbot: QtBot, ws: Workspace, worker: User,
                                                         tmp_path: Path, monkeypatch: Any) -> None:
    sheet = tmp_path / "register.xlsx"
    head, row, letter, head_id = one_household_sheet(ws, sheet)
    set_cell(sheet, f"{letter}{row}", int(head_id[:17]) * 10)  # Excel turned the ID number into a number
    before = ws.count_households()

    wizard = ImportWizard(ws, worker, lang="en")
    qtbot.addWidget(wizard)
    activate(qtbot, wizard)
    page = wizard.file_page
    assert not page.isComplete()
    page.file.setFocus()
    type_text(str(sheet))
    assert page.isComplete()
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    check = wizard.check_page
    assert wizard.currentPage() is check
    qtbot.waitUntil(lambda: wizard.check is not None, timeout=30000)

    # the problem is listed where it is, and Import cannot be pressed
    table = check.table
    rows = [[table.item(i, j).text() for j in range(5)] for i in range(table.rowCount())]
    assert [r[:4] for r in rows] == [[REGISTER_SHEET, str(row), letter, "证件号码"]], rows
    assert "digits" in rows[0][4] or "15" in rows[0][4]
    assert "1 problems must be corrected" in check.summary.text()
    assert not check.isComplete() and not next_button(wizard).isEnabled()

    # the marked copy shows the cell in red with the problem as a comment
    marked = tmp_path / "marked.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(marked), "")))
    qtbot.mouseClick(check.report, Qt.MouseButton.LeftButton)
    cell = load_workbook(marked)[REGISTER_SHEET][f"{letter}{row}"]
    assert cell.fill.fgColor.rgb.endswith("FF9999") and cell.comment is not None
    assert ws.count_households() == before  # nothing imported yet

    # the worker corrects the cell and checks again
    set_cell(sheet, f"{letter}{row}", head_id)
    qtbot.mouseClick(check.again, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.check is not None and wizard.job is None, timeout=30000)
    listed = [table.item(i, 4).text() for i in range(table.rowCount())]
    assert not any(text.startswith("Refused") for text in listed), listed  # rule findings only (the copied people)
    assert "No problem blocks the import" in check.summary.text()
    assert ws.count_households() == before
    button = next_button(wizard)
    assert button.isEnabled() and button.text() == "Import"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert wizard.currentPage() is wizard.result_page
    qtbot.waitUntil(lambda: wizard.imported == 1, timeout=30000)
    assert "Imported 1 households" in wizard.result_page.label.text()
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()

    imported = ws.find_household_by_no(NEW_NO)
    assert imported is not None and imported.head_name == head
    assert imported.head is not None and imported.head.id_number == head_id
    assert ws.count_households() == before + 1


def test_import_menu_opens_the_wizard(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> None:
    from povdesk.ui.main_window import MainWindow

    window = MainWindow(ws, worker, data_dir=tmp_path, lang="en")
    qtbot.addWidget(window)
    action = install_import_menu(window)
    assert action in window.menuBar().actions()[0].menu().actions()
    action.trigger()
    assert isinstance(window.import_wizard, ImportWizard) and window.import_wizard.isVisible()
    window.import_wizard.reject()
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=30000)


def test_every_rule_finding_is_listed_at_its_sheet_row_and_column(qtbot: QtBot, ws: Workspace, worker: User,
                                                                  tmp_path: Path) -> None:
    """A member's ID number with a wrong check digit: listed before importing at that member's own row
    and the ID column, not only counted; the import goes through the operations layer as the CLI's."""
    sheet = tmp_path / "register.xlsx"
    head, head_row, letter, _head_id = one_household_sheet(ws, sheet, members=3)
    wb = load_workbook(sheet)
    rows = wb[REGISTER_SHEET]
    member_row = next(r for r in range(2, rows.max_row + 1) if r != head_row and rows[f"{letter}{r}"].value)
    number = str(rows[f"{letter}{member_row}"].value)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    rows[f"{letter}{member_row}"].value = wrong
    wb.save(sheet)
    before = ws.count_households()

    window_wizard = ImportWizard(ws, worker, lang="en")
    qtbot.addWidget(window_wizard)
    activate(qtbot, window_wizard)
    window_wizard.file_page.file.setFocus()
    type_text(str(sheet))
    qtbot.mouseClick(window_wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window_wizard.check is not None and window_wizard.job is None, timeout=30000)
    check = window_wizard.check_page
    table = check.table
    listed = [[table.item(i, j).text() for j in range(5)] for i in range(table.rowCount())]
    assert table.rowCount() == len(window_wizard.check.plan.problems) + len(window_wizard.check.findings)
    at_member = [r for r in listed if r[:3] == [REGISTER_SHEET, str(member_row), letter]]
    assert at_member, listed
    assert any("check" in r[4].lower() or "校验" in r[4] for r in at_member), at_member
    assert all(r[0] and r[1] for r in listed), listed  # every finding placed on its sheet and row
    button = next_button(window_wizard)
    if button.isEnabled():  # the finding does not refuse the household: it comes in, through the ops layer
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window_wizard.imported == 1, timeout=30000)
        imported = ws.find_household_by_no(NEW_NO)
        assert imported is not None and imported.head_name == head
        assert ws.count_households() == before + 1
