"""OpChanges: what an operation changed, so each open screen can decide for itself whether to refresh.

Modelled on Anki's OpChanges: an operation does not know which screens are open; it says what it
touched, and the UI hands that to every screen (povdesk.ui.changes). A screen asks the questions it
cares about (`touches(household_id)`, `list_rows`, `counts`) and redraws only then.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class OpChanges:
    """What one operation changed in the workspace. Everything false / empty: nothing changed."""

    household_ids: frozenset[str] = field(default_factory=frozenset)  # households written, in any way
    households_added: bool = False  # new households (list length, counters, dashboard)
    households_removed: bool = False  # households gone (no operation removes one today; sync may later)
    household: bool = False  # a household's own data: fields, members, years, helpers (list row, editor)
    status: bool = False  # a household's status moved (status column and filter, dashboard by status)
    procedures: bool = False  # procedure events added (timeline, next steps, steps due, funnels)
    sync: bool = False  # sync state: peers, keys, bundles, conflicts (sync centre)

    @property
    def empty(self) -> bool:
        return not (self.household_ids or self.households_added or self.households_removed or self.household
                    or self.status or self.procedures or self.sync)

    def touches(self, household_id: str | None) -> bool:
        """Whether a screen showing this household should read it again."""
        return household_id is not None and household_id in self.household_ids

    @property
    def list_rows(self) -> bool:
        """Whether the household list (its rows, filters and counters) may show something else now."""
        return bool(self.household_ids) or self.households_added or self.households_removed

    @property
    def counts(self) -> bool:
        """Whether counts by status, attribute or step (dashboard, summary) may have moved."""
        return (self.households_added or self.households_removed or self.household or self.status
                or self.procedures)

    @property
    def findings(self) -> bool:
        """Whether the results of the last check (errors, warnings, steps due) may be stale."""
        return self.household or self.procedures or self.households_added or self.households_removed

    def __or__(self, other: OpChanges) -> OpChanges:
        """Both changes at once (an operation made of two)."""
        return OpChanges(
            household_ids=self.household_ids | other.household_ids,
            households_added=self.households_added or other.households_added,
            households_removed=self.households_removed or other.households_removed,
            household=self.household or other.household,
            status=self.status or other.status,
            procedures=self.procedures or other.procedures,
            sync=self.sync or other.sync,
        )


NO_CHANGES = OpChanges()
