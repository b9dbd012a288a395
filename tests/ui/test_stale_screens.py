"""Screens that would go stale without F5: the dashboard's data-quality line per region, and an open
editor after the sync centre resolved a conflict on its household."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from povdesk.store import User, Workspace
from povdesk.sync import service
from povdesk.ui.dashboard import Dashboard
from povdesk.ui.main_window import MainWindow
from tests.sync.conftest import Pair, make_pair
from tests.ui.conftest import activate, press, type_text

EMPTY_VILLAGE = "522634100299"  # under the same township, with no household


def test_the_data_quality_line_counts_the_region_shown(qtbot: QtBot, ws: Workspace) -> None:
    dashboard = Dashboard(ws, "en")
    qtbot.addWidget(dashboard)
    ids = [h.id for h in ws.iter_households()]
    dashboard.show_region(None, "东门村")
    dashboard.set_quality(frozenset(ids[:15]), frozenset(ids[15:17]))
    assert dashboard.quality_label.text() == "Data quality: 15 households with errors, 2 with warnings only"
    dashboard.show_region(EMPTY_VILLAGE, "空村")  # an empty village has no problem of its own
    assert dashboard.quality_label.text() == "Data quality: 0 households with errors, 0 with warnings only"
    dashboard.show_region(ws.region_code, "东门村")
    assert "15 households with errors" in dashboard.quality_label.text()


@pytest.fixture
def conflict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Pair, str]]:
    """A county holding a conflict on one household's address: the village and the county both changed it."""
    monkeypatch.setenv("POVDESK_LANG", "en")
    pair = make_pair(tmp_path, 6)
    first = tmp_path / "b1.pvb"
    service.export_bundle(pair.village, pair.worker, first)
    service.import_bundles(pair.county, pair.coordinator, [first])
    hid = next(pair.village.iter_households()).id
    for ws, user, value in ((pair.village, pair.worker, "村里改的地址"), (pair.county, pair.coordinator, "县里改的地址")):
        hh = ws.load_household(hid)
        hh.fields["address"] = value
        ws.save_household(hh, user)
    second = tmp_path / "b2.pvb"
    service.export_bundle(pair.village, pair.worker, second)
    service.import_bundles(pair.county, pair.coordinator, [second])
    assert len(service.list_conflicts(pair.county)) == 1
    yield pair, hid
    pair.village.close()
    pair.county.close()


def test_resolving_a_conflict_reloads_the_open_editor_and_the_next_save_goes_through(  # type: ignore[no-untyped-def]
        qtbot: QtBot, conflict: tuple[Pair, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pair, hid = conflict
    refused: list[str] = []

    def warning(_parent: Any, _title: str, text: str, *_a: Any) -> QMessageBox.StandardButton:
        refused.append(text)
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(warning))
    user: User = pair.coordinator
    window = MainWindow(pair.county, user, data_dir=tmp_path / "data", lang="en")
    qtbot.addWidget(window)
    activate(qtbot, window)
    window.open_household(hid)
    editor = window.editor
    assert editor.basic_form.value("address") == "县里改的地址"

    window.sync_centre_action.trigger()  # Sync › Sync centre…
    centre = window.sync_centre
    qtbot.addWidget(centre)
    centre.tabs.setCurrentIndex(3)
    centre.conflicts_table.selectRow(0)
    qtbot.mouseClick(centre.take_remote, Qt.MouseButton.LeftButton)

    # The editor shows the household as it is stored now, without F5 and without reopening it.
    assert editor.basic_form.value("address") == "村里改的地址"
    assert editor.household is not None and editor.household.version == pair.county.load_household(hid).version
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    editor.basic_form.focus_field("address")
    press(Qt.Key.Key_End)
    type_text("1号")
    with qtbot.waitSignal(editor.saved, timeout=3000):
        press(Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert refused == []
    assert pair.county.load_household(hid).fields["address"] == "村里改的地址1号"
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=30000)
