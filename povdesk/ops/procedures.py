"""Recording a procedure step: the one place that checks a step (role, dates, evidence, errors, exit
criteria) and writes it, for the CLI (`povdesk step`) and the procedure panel alike.

A mistaken step is voided (`void_step`): a void mark is appended (events stay append-only), the
step stays in the history marked void, the status is derived again, and the mark travels in
bundles like any step.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from povdesk.core.model import Household, ProcedureEvent, void_mark
from povdesk.core.procedures import load_procedures, parse_evidence, perform_step
from povdesk.core.procedures import void_step as _void_step
from povdesk.core.rules import blocking, exit_failures, validate_household
from povdesk.errors import ProcedureRefused
from povdesk.i18n import tr
from povdesk.ops.changes import OpChanges
from povdesk.store import User, Workspace
from povdesk.store.thresholds import rule_context


@dataclass(frozen=True)
class StepRecorded:
    """A step written: the household as stored after it, the event, and what changed."""

    household: Household
    event: ProcedureEvent
    status_before: str
    changes: OpChanges

    @property
    def status(self) -> str:
        return self.household.status


def evidence_from_text(procedure: str, step: str, raw: Mapping[str, str]) -> dict[str, Any]:
    """Evidence typed as text (`--set key=value`) converted to the kinds of the step's fields; for an
    unknown procedure or step it is left as typed, and record_step names what is wrong."""
    spec = load_procedures().get(procedure)
    step_spec = spec.step(step) if spec else None
    return parse_evidence(step_spec, raw) if step_spec else dict(raw)


def record_step(ws: Workspace, actor: User, household: Household, procedure: str, step: str, *, date: str,
                evidence: Mapping[str, Any]) -> StepRecorded:
    """Check the step for `household` as of the workspace's today and record it in one transaction.

    Refused with every reason (ProcedureRefused) when the step is not allowed; VersionConflict when
    the household changed in the workspace since `household` was read. `household` itself is not
    modified: the result carries the household as stored.
    """
    if void_mark(household) is not None:
        raise ProcedureRefused([tr("这户已作废，不再办理程序（县里可以恢复它）",
                                   "this household is voided: no step is recorded for it (the county may restore it)")],
                               where=household.household_no or household.id)
    ctx = rule_context(ws)
    # Only the errors whose rules block this procedure count (an exclusion criterion blocks
    # identification and exit, not the removal meant for exactly that case).
    blockers = blocking(validate_household(household, ctx), procedure)
    work = copy.deepcopy(household)  # perform_step appends the event and moves the status on what it is given
    event = perform_step(work, procedure, step, role=actor.role, user=actor.name, date=date, evidence=evidence,
                         error_count=len(blockers), today=ctx.today, exit_failures=exit_failures(household, ctx),
                         level=ws.authority_level, blocking=[f.message for f in blockers])
    ws.append_event(work, event, actor)
    recorded = work.events[-1]
    return StepRecorded(
        household=work, event=recorded, status_before=household.status,
        changes=OpChanges(household_ids=frozenset({household.id}), procedures=True,
                          status=work.status != household.status),
    )


def void_step(ws: Workspace, actor: User, household: Household, event_id: str, *, reason: str,
              date: str | None = None) -> StepRecorded:
    """Void one recorded step of `household` (its id as `povdesk history` lists it) in one
    transaction: allowed to the role that recorded it or a higher level's, at a workspace of the
    step's level or above; refused with every reason (ProcedureRefused) otherwise. `date` defaults
    to the workspace's today. `household` itself is not modified."""
    work = copy.deepcopy(household)
    mark = _void_step(work, event_id, role=actor.role, user=actor.name,
                      date=date or ws.clock.today().isoformat(), reason=reason, level=ws.authority_level)
    ws.append_event(work, mark, actor)
    return StepRecorded(
        household=work, event=work.events[-1], status_before=household.status,
        changes=OpChanges(household_ids=frozenset({household.id}), procedures=True,
                          status=work.status != household.status),
    )
