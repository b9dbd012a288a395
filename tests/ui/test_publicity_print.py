"""A village worker prints every publicity list from the Print menu: only the allow-listed columns come out."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from povdesk.core.idnumber import mask
from povdesk.core.model import Household
from povdesk.reports.publicity import at_step, exit_income, masked_id, publicity_steps
from povdesk.store import User, Workspace
from povdesk.ui.main_window import MainWindow
from povdesk.ui.print_centre import PrintCentre, install_print_menu
from tests.ui.conftest import activate, press

PRIVATE_WORDS = ("因病", "因残", "健康", "长期慢性病", "患有大病", "残疾", "致贫原因", "联系电话", "开户银行", "银行账号",
                 "农村信用合作联社")


def pdftext(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("needs pdftotext (poppler-utils; .ci/run installs it)")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def plant_private_details(ws: Workspace, worker: User) -> list[Household]:
    """Every household waiting at a publicity step gets what a public list must never show: a phone,
    a bank account, illness as its cause, disabled members, and a disability certificate's number for
    its head (the ID number, then category 4 and grade 3)."""
    steps = list(publicity_steps().values())
    planted = []
    for n, hh in enumerate(list(ws.iter_households())):
        if hh.head is None or not any(at_step(hh, s) for s in steps):
            continue
        hh.fields.update(phone=f"139{n:08d}", bank_name="农村信用合作联社", bank_account=f"62170{n:014d}",
                         main_cause="01", other_causes=["02"])
        for m in hh.members:
            m.fields.update(health="4", disability_type="4", disability_grade="3")
        hh.head.fields.update(id_type="2", id_number=hh.head.id_number[:18] + "43")
        planted.append(ws.save_household(hh, worker))
    return planted


def test_every_publicity_list_from_the_print_menu_prints_no_private_detail(
        qtbot: QtBot, ws: Workspace, worker: User, tmp_path: Path) -> None:
    planted = plant_private_details(ws, worker)
    window = MainWindow(ws, worker, data_dir=tmp_path, lang="zh")
    qtbot.addWidget(window)
    install_print_menu(window)
    activate(qtbot, window)
    window.resize(1366, 728)
    root = window.tree.topLevelItem(0)
    assert root is not None
    window.tree.setCurrentItem(root)
    window.print_actions["publicity"].trigger()  # Print ▸ Publicity list…
    qtbot.waitUntil(lambda: isinstance(window.print_centre, PrintCentre) and window.print_centre.isVisible())
    dialog = window.print_centre
    assert isinstance(dialog, PrintCentre)
    steps = publicity_steps()
    waiting = {key for key, st in steps.items() if any(at_step(h, st) for h in planted)}
    assert {"identification.first_publicity", "exit.publicity", "removal.publicity"} <= waiting
    dialog.step.setFocus()
    press(Qt.Key.Key_Home)
    printed = set()
    for index in range(dialog.step.count()):
        key = dialog.step.currentData()
        assert key == dialog.step.itemData(index)
        if key in waiting:
            before = dialog.rendered
            qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda before=before: dialog.rendered is not before and dialog.job is None,  # type: ignore[misc]
                            timeout=30000)
            assert dialog.rendered is not None
            text = pdftext(dialog.rendered.path)
            listed = [h for h in planted if at_step(h, steps[key])]
            for hh in listed:
                assert hh.head is not None
                assert hh.head_name in text and masked_id(hh.head.id_number) in text, key
                assert mask(hh.head.id_number) not in text, key  # the certificate's 43 never prints
                for value in (hh.fields["phone"], hh.fields["bank_account"], *[m.id_number for m in hh.members]):
                    assert value not in text, key
                if key.startswith("exit."):
                    assert exit_income(hh) in text, key
            for word in PRIVATE_WORDS:
                assert word not in text, (key, word)
            if key.startswith("removal."):
                assert "清退原因" in text
            printed.add(key)
        dialog.step.setFocus()
        press(Qt.Key.Key_Down)
    assert printed == waiting
    dialog.close()
