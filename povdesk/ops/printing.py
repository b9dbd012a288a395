"""Rendering a print job: household cards, a publicity list or the summary report, from plain choices.

The print centre collects a PrintRequest and runs `render` in its worker (on a read-only
Workspace of its own); nothing is written to the workspace, so there are no OpChanges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from povdesk.errors import BadInput, Cancelled
from povdesk.i18n import Text
from povdesk.store import Workspace

KINDS = ("cards", "publicity", "report")


@dataclass(frozen=True)
class PrintRequest:
    """Everything a render needs; compared to tell whether the preview still shows the current choices."""

    kind: str  # cards | publicity | report
    household_ids: tuple[str, ...] = ()  # cards of these households (by id)
    household_nos: tuple[str, ...] = ()  # cards of these households (by number, typed in a list)
    prefix: str | None = None  # cards / publicity: every household under this region code
    step: str = ""  # publicity: "<procedure>.<step>"
    start: date | None = None
    end: date | None = None
    township: str = ""
    contact: str = ""
    level: str = ""  # report
    region: str = ""
    year: int = 0


@dataclass(frozen=True)
class Rendered:
    """The document written: where, how many pages, how many households, characters the font lacks."""

    path: Path
    pages: int = 0
    households: int = 0
    missing: tuple[Any, ...] = field(default=())


def render(ws: Workspace, request: PrintRequest, out: Path, progress: Callable[[int, int], None],
           cancelled: Callable[[], bool], fmt: str = "pdf") -> Rendered:
    """Render `request` into `out` (pdf; xlsx too for the report), as of the workspace's today.

    Raises BadInput when nothing matches and Cancelled when `cancelled()` said so.
    """
    result = _render(ws, request, out, progress, cancelled, fmt)
    if cancelled():
        raise Cancelled()
    return result


def _render(ws: Workspace, request: PrintRequest, out: Path, progress: Callable[[int, int], None],
            cancelled: Callable[[], bool], fmt: str) -> Rendered:
    today = ws.clock.today()
    if request.kind == "cards":
        from povdesk.reports.cards import render_cards

        households: Any
        if request.household_ids or request.household_nos:
            households = [ws.load_household(i) for i in request.household_ids]
            unknown = []
            for no in request.household_nos:
                hh = ws.find_household_by_no(no)
                if hh is None:
                    unknown.append(no)
                else:
                    households.append(hh)
            if unknown:
                raise BadInput(Text("工作区中没有这些户编号：{nos}", "no household with these numbers: {nos}")
                               .format(nos="、".join(unknown)))
            total = len(households)
        else:
            total = ws.count_households(request.prefix)
            households = ws.iter_households(request.prefix)
        if total == 0:
            raise BadInput(Text("没有符合条件的户", "no household matches"))
        cards = render_cards(households, out, today=today, total=total, progress=progress, cancelled=cancelled)
        return Rendered(out, cards.pages, cards.households, tuple(cards.missing))
    if request.kind == "publicity":
        from povdesk.reports.publicity import PublicityOptions, render_publicity, resolve_step

        step = resolve_step(request.step)
        if request.start is None or request.end is None:
            raise BadInput(Text("请填写公示的起止日期", "give the first and last day of the publicity"))
        opts = PublicityOptions(start=request.start, end=request.end, contact=request.contact,
                                township=request.township)
        listed = render_publicity(ws.iter_households(request.prefix), step, out, opts, progress=progress,
                                  cancelled=cancelled)
        if listed.households == 0 and not cancelled():
            raise BadInput(Text(f"没有处于“{step.zh}”这一步的户", f"no household is at the step '{step.en}'"))
        return Rendered(out, listed.pages, listed.households, tuple(listed.missing))
    if request.kind == "report":
        from povdesk.reports.report import build_report, write_report

        report = build_report(ws, request.level or None, request.region or None, today=today,
                              year=request.year or None)
        written = write_report(report, out, fmt, progress=progress, cancelled=cancelled)
        return Rendered(out, written.pages, report.summary.households, tuple(written.missing))
    raise BadInput(Text(f"未知的打印类型“{request.kind}”", f"unknown kind of print job '{request.kind}'"))
