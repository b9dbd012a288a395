"""The dry run of an Excel import, shared by `povdesk import-xlsx` and the app's import wizard.

Reads the sheet into households (xlsx_import.read_register, existing households looked up in the
workspace) and runs the rules on them, the single-household rules and the checks across
households (with the rest of the workspace), without writing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from povdesk.errors import PovdeskError
from povdesk.reports.xlsx_import import ImportPlan, check_file, load_mapping, read_register


@dataclass
class ImportCheck:
    plan: ImportPlan
    findings: list[dict[str, Any]] = field(default_factory=list)  # {"row", ...Finding.to_dict()}

    @property
    def members(self) -> int:
        return sum(len(h.members) for h in self.plan.households)

    @property
    def can_import(self) -> bool:
        """Nothing blocks and there is something to import (rule findings never block, as on entry)."""
        return not self.plan.blocking and bool(self.plan.households)


def default_village(ws: Any, village: str | None) -> str | None:
    """The village of rows without a village code: the one given, else a village workspace's own."""
    return village or (ws.region_code if len(ws.region_code) == 12 else None)


def check_import(ws: Any, file: str | Path, mapping_file: str | Path | None = None, *, village: str | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> ImportCheck:
    from povdesk.core.rules import CrossChecker, RuleContext, validate_household

    check_file(file)
    mapping = load_mapping(mapping_file) if mapping_file else None

    def lookup(hid: str, hno: str) -> Any:
        if hid:
            try:
                return ws.load_household(hid)
            except PovdeskError:
                pass
        return ws.find_household_by_no(hno) if hno else None

    plan = read_register(file, mapping, village=default_village(ws, village), lookup=lookup, progress=progress,
                         cancelled=cancelled)
    ctx = RuleContext(today=ws.clock.today())
    findings: list[dict[str, Any]] = []
    for hh in plan.households:
        for f in validate_household(hh, ctx):
            findings.append({"row": plan.first_row[hh.id], **f.to_dict()})
    ids = {hh.id for hh in plan.households}
    cross = CrossChecker()
    for hh in ws.households_for_cross_checks(skip=ids):
        cross.add(hh)
    for hh in plan.households:
        cross.add(hh)
    for f in cross.findings():
        if f.household_id in ids:
            findings.append({"row": plan.first_row.get(f.household_id or "", 0), **f.to_dict()})
    return ImportCheck(plan, findings)
