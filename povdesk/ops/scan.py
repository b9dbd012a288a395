"""Checking a whole workspace: which households have errors or warnings, and which step each one awaits.

`scan` is one pass over every household (the app's background check at start and on F5); after an
operation changed a few households, `rescan` brings a scan up to date without reading the rest:
their own findings and steps are checked again, and the across-household rules (a person in two
households, helpers sharing a phone) again over the light rows the store gives for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from povdesk.core.model import Household, void_mark
from povdesk.core.procedures import next_steps
from povdesk.core.rules import CrossChecker, Finding, validate_household
from povdesk.errors import Cancelled
from povdesk.store import Workspace
from povdesk.store.thresholds import rule_context

Progress = Callable[[int, int], None]
CancelledFn = Callable[[], bool]

_PROGRESS_EVERY = 500


@dataclass(frozen=True)
class ScanResult:
    """What one pass over every household tells the list filters and the dashboard.

    Findings of a household's own rules and of the across-household rules are kept apart, so
    `rescan` can replace each for what changed.
    """

    households: int = 0
    own_errors: frozenset[str] = frozenset()
    own_warnings: frozenset[str] = frozenset()
    cross_errors: frozenset[str] = frozenset()
    cross_warnings: frozenset[str] = frozenset()
    # "procedure.step" -> households for which that step is next (a procedure under way)
    due: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def with_errors(self) -> frozenset[str]:
        return self.own_errors | self.cross_errors

    @property
    def with_warnings(self) -> frozenset[str]:
        """Households with warnings (not explained) and no error."""
        return (self.own_warnings | self.cross_warnings) - self.with_errors


def _due_steps(hh: Household) -> list[str]:
    return [f"{spec.key}.{step.key}" for spec, step in next_steps(hh) if hh.events and spec.first.key != step.key]


def _split(findings: Iterable[Finding]) -> tuple[set[str], set[str]]:
    errors: set[str] = set()
    warnings: set[str] = set()
    for f in findings:
        if not f.explained:
            (errors if f.severity == "error" else warnings).add(f.household_id)
    return errors, warnings


def _cross(households: Iterable[Household]) -> tuple[set[str], set[str]]:
    cross = CrossChecker()
    for hh in households:
        cross.add(hh)
    return _split(cross.findings())


def scan(ws: Workspace, village_prefix: str | None, progress: Progress, cancelled: CancelledFn) -> ScanResult:
    """Validate every household under the prefix (or all) and note the step each one awaits.

    Raises Cancelled when `cancelled()` says so (asked every few hundred households).
    """
    total = ws.count_households(village_prefix)
    ctx = rule_context(ws)
    own_errors: set[str] = set()
    own_warnings: set[str] = set()
    due: dict[str, set[str]] = {}

    def stream() -> Iterator[Household]:
        for n, hh in enumerate(ws.iter_households(village_prefix), 1):
            if cancelled():
                raise Cancelled()
            if n % _PROGRESS_EVERY == 0:
                progress(n, total)
            yield hh

    cross = CrossChecker()
    for hh in stream():
        errors, warnings = _split(validate_household(hh, ctx))
        own_errors |= errors
        own_warnings |= warnings
        for key in _due_steps(hh):
            due.setdefault(key, set()).add(hh.id)
        cross.add(hh)
    if cancelled():
        raise Cancelled()
    cross_errors, cross_warnings = _split(cross.findings())
    return ScanResult(total, frozenset(own_errors), frozenset(own_warnings), frozenset(cross_errors),
                      frozenset(cross_warnings), {k: frozenset(v) for k, v in due.items()})


def rescan(ws: Workspace, previous: ScanResult, household_ids: Iterable[str], village_prefix: str | None = None,
           progress: Progress | None = None, cancelled: CancelledFn | None = None) -> ScanResult:
    """`previous` brought up to date after the households in `household_ids` changed (or were added)."""
    ids = sorted(set(household_ids))
    ctx = rule_context(ws)
    changed = ws.load_households(ids)
    own_errors, own_warnings = set(previous.own_errors), set(previous.own_warnings)
    due = {k: set(v) for k, v in previous.due.items()}
    for hid in ids:
        own_errors.discard(hid)
        own_warnings.discard(hid)
        for members in due.values():
            members.discard(hid)
    for hid, hh in changed.items():
        if (village_prefix and not hh.village_code.startswith(village_prefix)) or void_mark(hh) is not None:
            continue
        errors, warnings = _split(validate_household(hh, ctx))
        own_errors |= errors
        own_warnings |= warnings
        for key in _due_steps(hh):
            due.setdefault(key, set()).add(hid)
    if cancelled is not None and cancelled():
        raise Cancelled()
    light = [hh for hh in ws.households_for_cross_checks()
             if not village_prefix or hh.village_code.startswith(village_prefix)]
    cross_errors, cross_warnings = _cross(light)
    if progress is not None:
        progress(1, 1)
    return ScanResult(ws.count_households(village_prefix), frozenset(own_errors), frozenset(own_warnings),
                      frozenset(cross_errors), frozenset(cross_warnings),
                      {k: frozenset(v) for k, v in due.items() if v})
