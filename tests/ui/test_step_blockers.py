"""The procedure panel says which finding blocks which next step: each rule names the procedures its
errors block, so a registered household without a helper cannot begin its exit, while the removal
meant for such a household is blocked only by its other errors."""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from povdesk.core.model import Household
from povdesk.core.procedures import next_steps
from povdesk.ops.households import save_household
from povdesk.store import User, Workspace
from povdesk.ui.editor import HouseholdEditor
from tests.ui.conftest import activate, days_after_last_event
from tests.ui.test_procedure_panel import choose, fill, make_panel

LEFT = Qt.MouseButton.LeftButton
NO_HELPER = "a registered poor household has no assigned helper"


def registered_with_nothing_begun(ws: Workspace) -> Household:
    for hh in ws.iter_households():
        if [(s.key, st.key) for s, st in next_steps(hh)] == [("exit", "proposal"), ("removal", "proposal")] \
                and hh.helpers and len(hh.members) > 1:
            return hh
    raise AssertionError("the demo village has no registered household with nothing begun")


def saved(ws: Workspace, user: User, hh: Household) -> Household:
    return save_household(ws, user, hh).household


def test_each_next_step_names_the_errors_that_block_it(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    hh = registered_with_nothing_begun(ws)
    panel = make_panel(qtbot, ws, worker, hh)
    assert panel.blocker_texts("exit", "proposal") == [] and panel.blocker_texts("removal", "proposal") == []
    assert panel.findChild(type(panel.status_label), "blocked_exit_proposal") is None

    # The helper left, and a member's ID number was mistyped: both block the exit; only the ID
    # number blocks the removal (a household without a helper is what a removal may be for).
    changed = copy.deepcopy(hh)
    changed.helpers = []
    member = changed.members[1]
    right_number = member.id_number
    member.fields["id_number"] = right_number[:17] + ("1" if right_number[17] != "1" else "2")
    hh = saved(ws, worker, changed)
    panel.set_household(hh)
    exit_blockers = panel.blocker_texts("exit", "proposal")
    removal_blockers = panel.blocker_texts("removal", "proposal")
    assert len(exit_blockers) == 2
    assert any(NO_HELPER in t for t in exit_blockers)
    assert any(t.startswith(f"• {member.name}: ID number invalid") for t in exit_blockers)
    assert len(removal_blockers) == 1 and removal_blockers[0].startswith(f"• {member.name}: ID number invalid")
    note = panel.findChild(type(panel.status_label), "blocked_exit_proposal")
    assert note is not None and note.isVisible()
    assert note.text().startswith("Blocked until corrected by 2 errors:")
    qtbot.wait(100)  # laid out, as a person sees it

    # The ID number corrected: the exit is still blocked by the missing helper, the removal no longer.
    fixed = copy.deepcopy(hh)
    next(m for m in fixed.members if m.id == member.id).fields["id_number"] = right_number
    hh = saved(ws, worker, fixed)
    panel.set_household(hh)
    assert panel.blocker_texts("exit", "proposal") == [f"• {NO_HELPER}"]
    assert panel.blocker_texts("removal", "proposal") == []

    # Recording the exit proposal anyway is refused, naming the same finding.
    day = days_after_last_event(hh)
    choose(qtbot, panel, "exit", "proposal")
    fill(panel, day(1), [("reason", "收入稳定超过标准")])
    qtbot.mouseClick(panel.perform_button, LEFT)
    assert any("block this step" in r and NO_HELPER in r for r in panel.reason_texts()), panel.reason_texts()
    assert len(ws.load_household(hh.id).events) == len(hh.events)


def test_the_editor_says_which_procedures_a_finding_blocks(qtbot: QtBot, ws: Workspace, worker: User) -> None:
    hh = registered_with_nothing_begun(ws)
    changed = copy.deepcopy(hh)
    changed.helpers = []
    saved(ws, worker, changed)
    editor = HouseholdEditor(ws, worker, lang="en")
    qtbot.addWidget(editor)
    activate(qtbot, editor)
    editor.load(hh.id)
    tips = {editor.findings_list.item(i).text(): editor.findings_list.item(i).toolTip()
            for i in range(editor.findings_list.count())}
    tip = tips[NO_HELPER]
    assert tip.startswith("HELPER-NONE\nBlocks the steps of: ")
    assert "Identification" in tip and "Exit from poverty" in tip and "Removal" not in tip
