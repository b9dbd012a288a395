"""Households: saving one from the editor, and the people already registered that a new entry may repeat.

Deleting a household is not offered: the store has no deletion (a household leaves the register
through the removal procedure, and sync carries records, never their absence).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from povdesk.core import idnumber
from povdesk.core.model import Household, Member
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.ops.changes import OpChanges
from povdesk.store import User, Workspace
from povdesk.store.search import name_terms

_PINYIN = 4  # search-term kind of a name's pinyin initials (povdesk.store.search)
_NAME_HITS = 20  # search hits looked at per name or initials


@dataclass(frozen=True)
class HouseholdSaved:
    """A household written from the editor: as stored now, whether it was new, and what changed."""

    household: Household
    created: bool
    changes: OpChanges

    @property
    def changed(self) -> bool:
        """False when there was nothing to save (no new version was written)."""
        return not self.changes.empty


def save_household(ws: Workspace, actor: User, household: Household) -> HouseholdSaved:
    """Save the household with its members, years and helpers in one transaction.

    The status is not the caller's to set: the store derives it from the household's procedure
    steps and refuses a household that says otherwise. `household` is not modified.
    """
    created = household.version == 0
    stored = ws.save_household(household, actor)
    if stored.version == household.version:  # nothing differed from what is stored
        return HouseholdSaved(stored, False, OpChanges())
    return HouseholdSaved(stored, created, OpChanges(household_ids=frozenset({stored.id}), household=True,
                                                     households_added=created))


@dataclass(frozen=True)
class PossibleDuplicate:
    """Someone already registered in another household who may be the member being entered."""

    household_id: str
    household_no: str
    member_id: str
    name: str  # the person's name as registered there
    reason: str  # "id_number" | "name_birth" (same name and birth date) | "sounds_like" (same initials and birth date)
    id_number: str = ""  # the number both carry, for "id_number"


def possible_duplicates(ws: Workspace, household: Household, member: Member) -> list[PossibleDuplicate]:
    """People in other households with this member's ID number, or with the same name (also one
    that sounds the same: same pinyin initials) and birth date; ID number matches first.

    A read: nothing changes, so there is no actor and no OpChanges.
    """
    found: dict[tuple[str, str], tuple[str, str, str]] = {}  # (household, member) -> (reason, name, number)
    number = str(member.fields.get("id_number") or "")
    if len(number) >= 15:
        with contextlib.suppress(idnumber.IdNumberError):
            number = idnumber.parse(number, today=ws.clock.today()).number
        for hid, mid, _no, _village in ws.households_with_person(number):
            if hid != household.id:
                found[(hid, mid)] = ("id_number", "", number)
    name = str(member.fields.get("name") or "").strip()
    birth = member.fields.get("birth_date")
    if name and isinstance(birth, str):
        initials = {t for kind, t in name_terms(name) if kind == _PINYIN}
        hits = {(h.household_id, h.member_id): h for h in ws.search(name, limit=_NAME_HITS) if h.name == name}
        for p in initials:
            for h in ws.search(p, limit=_NAME_HITS):
                if {t for kind, t in name_terms(h.name) if kind == _PINYIN} & initials:
                    hits.setdefault((h.household_id, h.member_id), h)
        candidates = {(hid, pid): h for (hid, pid), h in hits.items()
                      if hid != household.id and pid is not None and (hid, pid) not in found}
        others = ws.load_households(sorted({hid for hid, _ in candidates}))
        for (hid, pid), h in candidates.items():
            other = others.get(hid)
            person = next((x for x in other.members if x.id == pid), None) if other else None
            if person is not None and person.fields.get("birth_date") == birth:
                found[(hid, pid)] = ("name_birth" if h.name == name else "sounds_like", h.name, "")
    households = ws.load_households(sorted({hid for hid, _ in found}))
    out = []
    for (hid, mid), (reason, who, num) in found.items():
        other = households.get(hid)
        if other is None:  # gone since the search (another window, a sync)
            continue
        person = next((x for x in other.members if x.id == mid), None)
        out.append(PossibleDuplicate(hid, other.household_no, mid, who or (person.name if person else ""),
                                     reason, num))
    return out


def move_household(ws: Workspace, actor: User, household: Household, village: str, reason: str) -> Household:
    """The county moves a household to another village of the county (a village's households never
    change village through sync): refused with the reason unless this is a county workspace, the
    village is one of its villages and not the household's own, and a reason is given."""
    village = village.strip()
    where = household.household_no or household.id
    if ws.level != "county":
        raise BadInput(tr("迁户由县里办理", "households are moved by the county"), where=where)
    if not (len(village) == 12 and village.isdigit() and village.startswith(ws.region_code)):
        raise BadInput(tr("“{v}”不是本县（{c}）的村代码（12 位）", "'{v}' is not a 12-digit village code of this "
                          "county ({c})", v=village, c=ws.region_code), where=where)
    if village == household.village_code:
        raise BadInput(tr("这户已在村 {v}", "the household is already in village {v}", v=village), where=where)
    if not reason.strip():
        raise BadInput(tr("请写明迁户原因（--reason）", "say why (--reason)"), where=where)
    return ws.move_household(actor, household.id, village, reason.strip())
