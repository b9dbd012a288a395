"""The dry run of an Excel import, shared by `povdesk import-xlsx` and the app's import wizard.

Reads the workbook into households (xlsx_import.read_register, the workspace's own households
looked up in batches) and decides each one as the import pipeline does: a household with a
blocking problem in the sheet is refused (the others come in); a new household is judged by
core.importing.decide at the workspace's level; the rules run on every household, and the checks
across households with the rest of the workspace. Every finding is placed on its sheet, row and
column. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from povdesk.core.model import Household
from povdesk.reports.xlsx_import import ImportPlan, Refusal, check_file, load_mapping, read_register
from povdesk.store.thresholds import rule_context


@dataclass
class ImportCheck:
    plan: ImportPlan
    findings: list[dict[str, Any]] = field(default_factory=list)  # {"sheet", "row", "column", ...Finding}

    @property
    def members(self) -> int:
        return sum(len(h.members) for h in self.plan.households)

    @property
    def households(self) -> list[Household]:
        """Those that will be imported."""
        return self.plan.households

    @property
    def refused(self) -> list[Refusal]:
        return self.plan.refused

    @property
    def can_import(self) -> bool:
        """Something to import (a refused household never stops the others; rule findings never
        block, as on entry)."""
        return bool(self.plan.households)

    def summary(self) -> dict[str, Any]:
        plan = self.plan
        return {"sheet": plan.sheet, "rows": plan.rows, "households": len(plan.households) + len(plan.refused) + plan.unchanged,
                "to_import": len(plan.households), "refused": len(plan.refused), "members": self.members,
                "updated": plan.updated, "unchanged": plan.unchanged, "problems": len(plan.blocking), "notes": len(plan.notes),
                "blocking": len(plan.blocking), "findings": len(self.findings)}


def default_village(ws: Any, village: str | None) -> str | None:
    """The village of rows without a village code: the one given, else a village workspace's own."""
    return village or (ws.region_code if len(ws.region_code) == 12 else None)


def workspace_lookup(ws: Any) -> Callable[[list[str], list[str]], dict[str, Household]]:
    """`lookup(ids, numbers)` for read_register over a workspace."""
    def lookup(ids: list[str], numbers: list[str]) -> dict[str, Household]:
        found: dict[str, Household] = dict(ws.load_households(ids)) if ids else {}
        for no in numbers:
            hh = ws.find_household_by_no(no)
            if hh is not None:
                found[f"no:{no}"] = hh
        return found
    return lookup


def check_import(ws: Any, file: str | Path, mapping_file: str | Path | None = None, *, village: str | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> ImportCheck:
    from povdesk.core.importing import decide
    from povdesk.core.rules import CrossChecker, validate_household
    from povdesk.i18n import Text
    from povdesk.reports.xlsx_import import Problem

    check_file(file)
    mapping = load_mapping(mapping_file) if mapping_file else None
    plan = read_register(file, mapping, village=default_village(ws, village), lookup=workspace_lookup(ws),
                         progress=progress, cancelled=cancelled)
    ctx = rule_context(ws)
    level = ws.authority_level
    findings: list[dict[str, Any]] = []

    def place(f: dict[str, Any]) -> dict[str, Any]:
        sheet, row, column = plan.locate(f["household_id"], f.get("member_id"), f.get("field"), f["message"]["zh"])
        return {"sheet": sheet, "row": row, "column": column, **f}

    kept: list[Household] = []
    for hh in plan.households:
        if hh.id in plan.existing:
            # Its history is the workspace's own: only the edited values are judged.
            found = [f.to_dict() for f in validate_household(hh, ctx)]
        else:
            problems, found = decide(hh, ctx, level)
            if problems:
                sheet, row, _col = plan.locate(hh.id, None, None)
                reasons = [Problem(sheet, row, "", "", Text(p["zh"], p["en"]), True, hh.id) for p in problems]
                plan.problems += reasons
                plan.refused.append(Refusal(hh.id, sheet, row, hh.household_no, hh.head_name, reasons))
                continue
        kept.append(hh)
        findings += [place(f) for f in found]
    plan.households = kept
    ids = {hh.id for hh in kept}
    cross = CrossChecker()
    for hh in ws.households_for_cross_checks(skip=ids):
        cross.add(hh)
    for hh in kept:
        cross.add(hh)
    for f in cross.findings():
        if f.household_id in ids:
            findings.append(place(f.to_dict()))
    return ImportCheck(plan, findings)
