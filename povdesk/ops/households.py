"""Households: saving one from the editor, the people already registered that a new entry may
repeat, voiding one registered by mistake, and moving one to another village.

Deleting a household is not offered: the store has no deletion (a household leaves the register
through the removal procedure, and sync carries records, never their absence). A household entered
by mistake (twice, or one that does not exist) is voided instead (`void_household`): it stays, with
a void mark saying who, when and why (core.model.VOIDED_FIELD), audited, carried in bundles, and left
out of the list, counts, the dashboard, checks, publicity lists and reports; the county may restore
it (`restore_household`).
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

from povdesk.core import idnumber
from povdesk.core.authority import rank, role_level
from povdesk.core.model import RESTORED_FIELD, ROLE_LABELS, VOIDED_FIELD, Household, Member, void_mark
from povdesk.core.procedures import is_void
from povdesk.errors import BadInput, NotPermitted
from povdesk.i18n import Text, tr
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


def creator_role(household: Household) -> str | None:
    """The role that registered the household: the one that recorded its first step (the
    application, as a rule); None for a household with no steps yet."""
    first = next((e for e in household.events if not is_void(e)), None)
    return first.role if first is not None else None


def _role_name(role: str) -> tuple[str, str]:
    return ROLE_LABELS.get(role, (role, role))


def void_refusal(actor: User, household: Household) -> Text | None:
    """Why `actor` may not void the household, or None when they may: only a role at or above the
    level of the one that registered it, and not twice."""
    if void_mark(household) is not None:
        return tr("这户已经作废", "this household is already voided")
    level = role_level(actor.role)
    if level is None:
        return tr("系统管理员不办理户的登记，不能作废户", "an administrator registers no household and may not void one")
    creator = creator_role(household)
    made = role_level(creator) if creator else None
    if made is not None and rank(level) < rank(made):
        zh, en = _role_name(actor.role)
        czh, cen = _role_name(creator or "")
        return Text(f"“{zh}”不能作废“{czh}”登记的户：只有登记它的角色或更高一级可以作废",
                    f"a '{en}' cannot void a household registered by a '{cen}': only that role or a higher level may")
    return None


def _stamp_for(ws: Workspace, actor: User, reason: str) -> dict[str, str]:
    return {"reason": reason, "user": actor.name, "role": actor.role, "date": ws.clock.today().isoformat(),
            "at": ws.clock.now().isoformat(timespec="seconds")}


def void_household(ws: Workspace, actor: User, household: Household, reason: str) -> HouseholdSaved:
    """Void a household registered by mistake, with the reason (required): the household stays,
    marked with who, when and why, in one audited save, and drops out of every list and count.
    Refused (NotPermitted) for a role below the one that registered it; BadInput without a reason
    or when it is already voided. `household` is not modified."""
    where = household.household_no or household.id
    reason = reason.strip()
    if not reason:
        raise BadInput(tr("作废户必须写明原因", "voiding a household needs a reason"), where=where)
    refusal = void_refusal(actor, household)
    if refusal is not None:
        if void_mark(household) is not None:
            raise BadInput(refusal, where=where)
        raise NotPermitted(refusal, where=where)
    work = copy.deepcopy(household)
    work.fields[VOIDED_FIELD] = _stamp_for(ws, actor, reason)
    stored = ws.save_household(work, actor)
    return HouseholdSaved(stored, False, OpChanges(household_ids=frozenset({stored.id}), household=True,
                                                   households_removed=True))


def restore_refusal(ws: Workspace, actor: User, household: Household) -> Text | None:
    """Why `actor` may not restore the voided household, or None: the county decides."""
    if void_mark(household) is None:
        return tr("这户没有作废", "this household is not voided")
    if actor.role != "county_coordinator" or ws.level != "county":
        return tr("恢复作废的户由县里决定", "restoring a voided household is the county's decision")
    return None


def restore_household(ws: Workspace, actor: User, household: Household, reason: str) -> HouseholdSaved:
    """The county restores a voided household (its mark taken away, the reason audited beside the
    old mark), so it counts again; it travels down in the county's return bundle."""
    where = household.household_no or household.id
    reason = reason.strip()
    refusal = restore_refusal(ws, actor, household)
    if refusal is not None:
        raise (BadInput if void_mark(household) is None else NotPermitted)(refusal, where=where)
    if not reason:
        raise BadInput(tr("恢复作废的户必须写明原因", "restoring a voided household needs a reason"), where=where)
    work = copy.deepcopy(household)
    work.fields.pop(VOIDED_FIELD, None)
    work.fields[RESTORED_FIELD] = _stamp_for(ws, actor, reason)
    stored = ws.save_household(work, actor)
    return HouseholdSaved(stored, False, OpChanges(household_ids=frozenset({stored.id}), household=True,
                                                   households_added=True))


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
