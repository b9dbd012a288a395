"""The print centre as a village worker uses it: Print menu, preview of real pages, Save as PDF read back."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from povdesk.core.procedures import next_steps
from povdesk.ops.printing import PrintRequest
from povdesk.store import User, Workspace
from povdesk.ui.main_window import MainWindow
from povdesk.ui.print_centre import PrintCentre, install_print_menu
from tests.ui.conftest import DEMO_HOUSEHOLDS, TODAY, activate, press, type_text

VILLAGE = "522634100201"


def pdftext(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("needs pdftotext (poppler-utils; .ci/run installs it)")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def window(qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> Iterator[MainWindow]:
    w = MainWindow(ws, worker, data_dir=tmp_path, lang="en")
    qtbot.addWidget(w)
    install_print_menu(w)
    activate(qtbot, w)
    yield w
    if w.scan_job is not None:
        qtbot.waitUntil(lambda: w.scan_job is None, timeout=30000)


def choose_village(window: MainWindow) -> None:
    root = window.tree.topLevelItem(0)
    assert root is not None
    window.tree.setCurrentItem(root)  # a village workspace: the root is the village


def print_centre(qtbot: QtBot, window: Any) -> PrintCentre:
    qtbot.waitUntil(lambda: isinstance(window.print_centre, PrintCentre) and window.print_centre.isVisible())
    return window.print_centre


def save_as(monkeypatch: pytest.MonkeyPatch, qtbot: QtBot, dialog: PrintCentre, path: Path) -> None:
    """Click Save as PDF… and answer the file dialog with `path`."""
    asked: list[str] = []

    def answer(*args: Any, **kwargs: Any) -> tuple[str, str]:
        asked.append(str(args[3]) if len(args) > 3 else "")
        return str(path), "PDF (*.pdf)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.saved_path == path, timeout=30000)
    assert asked and "PDF" in asked[0]


def test_cards_of_the_current_village_preview_and_save(qtbot: QtBot, window: MainWindow, ws: Workspace,
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    choose_village(window)
    window.print_actions["cards_region"].trigger()
    dialog = print_centre(qtbot, window)
    assert dialog.kind.currentData() == "cards" and dialog.scope_region.isChecked()
    assert f"({DEMO_HOUSEHOLDS})" in dialog.scope_region.text()
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(dialog.page_labels) > 0, timeout=60000)
    assert dialog.rendered is not None and dialog.rendered.households == DEMO_HOUSEHOLDS
    pages = dialog.rendered.pages
    assert len(dialog.page_labels) == min(pages, 30) and pages >= 20
    image = dialog.page_labels[0].pixmap().toImage()
    assert image.width() > 500 and image.pixelColor(5, 5).name() == "#ffffff"  # a white page, drawn on
    assert len({image.pixelColor(x, y).name() for x in range(0, image.width(), 7)
                for y in range(0, image.height(), 7)}) > 2
    assert str(pages) in dialog.preview_note.text()

    out = tmp_path / "village cards.pdf"
    save_as(monkeypatch, qtbot, dialog, out)
    assert "Saved" in dialog.status.text()
    text = pdftext(out)
    households = list(ws.iter_households(VILLAGE))
    for hh in households:
        assert hh.household_no in text and hh.head_name in text
        for m in hh.members:
            assert m.name in text
    assert "东门村" in text and not list(tmp_path.glob("*.part"))


def test_ctrl_p_prints_the_open_household_straight_into_the_preview(qtbot: QtBot, window: MainWindow,
                                                                   ws: Workspace) -> None:
    window.table.setFocus()
    window.table.selectRow(3)
    expected = window.model.row(3).household_id
    qtbot.waitUntil(lambda: window.editor.household is not None and window.editor.household.id == expected)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    QTest.keyClick(window.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = print_centre(qtbot, window)
    hh = ws.load_household(expected)
    assert dialog.scope_household.isChecked() and hh.household_no in dialog.scope_household.text()
    qtbot.waitUntil(lambda: dialog.rendered is not None, timeout=30000)
    assert dialog.rendered is not None and dialog.rendered.households == 1
    assert dialog.rendered_request == PrintRequest("cards", household_ids=(hh.id,))
    assert hh.head_name in pdftext(dialog.rendered.path)


def test_a_typed_list_of_households(qtbot: QtBot, ws: Workspace, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    hhs = list(ws.iter_households())[:2]
    dialog = PrintCentre(ws, lang="en", prefix=VILLAGE)
    qtbot.addWidget(dialog)
    activate(qtbot, dialog)
    assert not dialog.scope_household.isEnabled()  # no household is open
    dialog.household_list.setFocus()
    type_text(hhs[0].household_no)
    press(Qt.Key.Key_Return)
    type_text(hhs[1].household_no)
    assert dialog.scope_list.isChecked()
    out = tmp_path / "two.pdf"
    save_as(monkeypatch, qtbot, dialog, out)  # no preview first: renders straight to the file
    text = pdftext(out)
    assert hhs[0].head_name in text and hhs[1].head_name in text


def test_publicity_list_and_summary_report(qtbot: QtBot, ws: Workspace, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    at_step = [hh for hh in ws.iter_households()
               if ("identification", "first_publicity") in [(s.key, st.key) for s, st in next_steps(hh)]]
    assert at_step, "the demo village has no household waiting for identification.first_publicity"
    dialog = PrintCentre(ws, lang="en", prefix=VILLAGE, kind="publicity")
    assert dialog.start.date().toString("yyyy-MM-dd") == TODAY.isoformat()  # the workspace's today
    qtbot.addWidget(dialog)
    activate(qtbot, dialog)
    dialog.step.setCurrentIndex(dialog.step.findData("identification.first_publicity"))
    # the period cannot be shortened below the legal days
    dialog.start.setDate(dialog.start.date().addDays(3))
    assert dialog.start.date().daysTo(dialog.end.date()) + 1 >= dialog.days
    dialog.township.setFocus()
    type_text("丹江镇")
    dialog.contact.setFocus()
    type_text("李明 0855-3331234")
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(dialog.page_labels), timeout=30000)
    assert dialog.rendered is not None
    text = pdftext(dialog.rendered.path)
    assert all(hh.head_name in text for hh in at_step)
    flat = "".join(text.split())  # the paragraph wraps anywhere
    assert "李明0855-3331234" in flat and "丹江镇人民政府" in flat and "12317" in flat
    assert all(hh.head.id_number not in text for hh in at_step if hh.head and hh.head.id_number)

    dialog.kind.setCurrentIndex(dialog.kind.findData("report"))
    assert dialog.level.currentData() == "village"
    dialog.year.setValue(2018)
    out = tmp_path / "report.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.saved_path == out, timeout=30000)
    from openpyxl import load_workbook

    rows = list(load_workbook(out)["汇总"].iter_rows(values_only=True))
    assert ("户数", ws.count_households(), None) in rows
