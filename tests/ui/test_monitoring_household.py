"""An ordinary rural household entered in the editor to be monitored against falling into poverty:
chosen as 一般农户 by keyboard, it is asked none of the 建档立卡 fields, its next step is the
monitoring identification, and it is saved as 未纳入 (never an applicant)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from povdesk.store import User, Workspace
from tests.cli.test_monitoring_flow import ordinary_household
from tests.ui.conftest import DEMO_REGION, focused, press, type_text
from tests.ui.test_editor import make_editor

TAB = Qt.Key.Key_Tab
REGISTRATION = ("standard", "attribute", "identification_year", "main_cause", "other_causes")


def test_an_ordinary_household_is_chosen_by_keyboard_and_saved_as_not_identified(
        qtbot: QtBot, ws: Workspace, worker: User) -> None:
    editor = make_editor(qtbot, ws, worker)
    editor.new_household(DEMO_REGION)
    basic = editor.basic_form
    assert all(basic.is_visible_field(k) for k in REGISTRATION)
    assert ("identification", "application") in editor.procedure_panel.next_step_keys()
    while focused() is not basic.widget("household_kind"):
        press(TAB)
    type_text("2")  # 一般农户, picked by its code
    assert basic.values()["household_kind"] == "2"
    assert not any(basic.is_visible_field(k) for k in REGISTRATION)
    assert ("monitoring_identification_general", "discovery") in editor.procedure_panel.next_step_keys()
    assert ("monitoring_identification", "discovery") not in editor.procedure_panel.next_step_keys()
    press(TAB)  # the next field is the first after the hidden ones, not a hidden one
    assert focused() is not basic.widget("standard")

    # The rest of the household, as if typed, then Ctrl+S: stored as 未纳入, asked nothing.
    hh = ordinary_household()
    hh.village_code = DEMO_REGION
    editor.open_household(hh, dirty=True)
    assert not any(basic.is_visible_field(k) for k in REGISTRATION)
    assert basic.widget("household_kind").isEnabled()  # no steps yet: still a choice
    press(Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not editor.has_unsaved_changes())
    stored = ws.load_household(hh.id)
    assert stored.status == "not_identified" and stored.fields["household_kind"] == "2"
    assert not {"F-REQUIRED"} & {f.rule for f in editor.findings()}
