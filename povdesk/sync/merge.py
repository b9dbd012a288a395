"""Field-level three-way merge of household records: changes combine, only true clashes conflict.

A record is flattened into paths (`fields.phone`, `members[<id>].fields.name`, `members[<id>]` =
its position, `years[2024].income.wage_income`, `years[2024].measures`, `helpers`, ...). With the
common base version, a path changed on one side only takes that side's value; a path changed on
both sides to the same value is no conflict; a path changed differently on both sides is a
conflict: the local value stays in the record and both values are kept in the conflict queue.
Procedure events are append-only and merge as a union by event id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from povdesk.core.model import Household, Member, ProcedureEvent, YearRecord

_MEMBER = re.compile(r"^members\[([^\]]+)\](?:\.fields\.(.+))?$")
_YEAR = re.compile(r"^years\[(\d+)\](?:\.income\.(.+)|\.(measures))?$")


def flatten(hh: Household) -> dict[str, Any]:
    """The mergeable content of a household as {path: JSON value}; empty values are left out."""
    flat: dict[str, Any] = {"household_no": hh.household_no, "village_code": hh.village_code}
    for k, v in hh.fields.items():
        if v is not None:
            flat[f"fields.{k}"] = v
    for pos, m in enumerate(hh.members):
        flat[f"members[{m.id}]"] = pos
        for k, v in m.fields.items():
            if v is not None:
                flat[f"members[{m.id}].fields.{k}"] = v
    for y, rec in hh.years.items():
        flat[f"years[{y}]"] = 1
        for k, v in rec.income.items():
            if v is not None:
                flat[f"years[{y}].income.{k}"] = v
        flat[f"years[{y}].measures"] = rec.measures
    if hh.helpers:
        flat["helpers"] = hh.helpers
    return flat


def unflatten(flat: dict[str, Any], like: Household) -> Household:
    """A household with the content of `flat` and the identity, status, events and stamps of `like`."""
    out = Household.from_dict(like.to_dict())
    out.household_no = flat.get("household_no") or like.household_no
    out.village_code = flat.get("village_code") or like.village_code
    out.fields = {}
    members: dict[str, dict[str, Any]] = {}
    positions: dict[str, int] = {}
    years: dict[int, dict[str, Any]] = {}
    helpers: list[dict[str, Any]] = []
    for path, value in flat.items():
        if path.startswith("fields."):
            out.fields[path[7:]] = value
        elif path.startswith("members["):
            mm = _MEMBER.match(path)
            if mm is None:
                continue
            mid, key = mm.group(1), mm.group(2)
            if key is None:
                positions[mid] = int(value)
            else:
                members.setdefault(mid, {})[key] = value
        elif path.startswith("years["):
            ym = _YEAR.match(path)
            if ym is None:
                continue
            rec = years.setdefault(int(ym.group(1)), {"income": {}, "measures": [], "present": False})
            if ym.group(2):
                rec["income"][ym.group(2)] = value
            elif ym.group(3):
                rec["measures"] = value
            else:
                rec["present"] = True
        elif path == "helpers":
            helpers = value
    out.members = []
    for mid in sorted(positions, key=lambda i: (positions[i], i)):
        out.members.append(Member(id=mid, fields=members.get(mid, {})))
    out.years = {y: YearRecord(y, dict(r["income"]), list(r["measures"]))
                 for y, r in sorted(years.items()) if r["present"]}
    out.helpers = [dict(h) for h in helpers]
    return out


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


@dataclass
class MergeResult:
    flat: dict[str, Any]
    conflicts: list[tuple[str, Any, Any, Any]] = field(default_factory=list)  # (path, base, local, remote)
    took_remote: int = 0  # paths taken from the remote side
    kept_local: int = 0  # paths changed only locally


def merge3(base: dict[str, Any] | None, local: dict[str, Any], remote: dict[str, Any]) -> MergeResult:
    """Three-way merge of flattened records. Without a base every difference is a conflict."""
    b = base or {}
    merged: dict[str, Any] = {}
    result = MergeResult(merged)
    for path in local.keys() | remote.keys() | b.keys():
        lv, rv = local.get(path), remote.get(path)
        if _same(lv, rv):
            value = lv
        elif base is not None and _same(lv, b.get(path)):
            value = rv
            result.took_remote += 1
        elif base is not None and _same(rv, b.get(path)):
            value = lv
            result.kept_local += 1
        else:
            value = lv
            result.conflicts.append((path, b.get(path), lv, rv))
        if value is not None:
            merged[path] = value
    # A member or year record removed on one side but with a clashing field kept stays in place.
    for path, _b, _lv, _r in result.conflicts:
        for rx, fmt in ((_MEMBER, "members[{}]"), (_YEAR, "years[{}]")):
            m = rx.match(path)
            if m and m.group(0) != fmt.format(m.group(1)):
                holder = fmt.format(m.group(1))
                if holder not in merged and holder in local:
                    merged[holder] = local[holder]
    result.conflicts.sort(key=lambda c: c[0])
    return result


def mask(flat: dict[str, Any], open_conflicts: dict[str, Any]) -> dict[str, Any]:
    """What to send a peer while conflicts are open: their own value on the clashing fields, so
    that the clash is not mistaken for a fresh change on this side."""
    if not open_conflicts:
        return flat
    out = dict(flat)
    for path, remote in open_conflicts.items():
        if remote is None:
            out.pop(path, None)
        else:
            out[path] = remote
    return out


def union_events(local: list[ProcedureEvent], remote: list[ProcedureEvent]) -> list[ProcedureEvent]:
    """Local events, then the remote ones not yet known (events are append-only, keyed by id)."""
    known = {e.id for e in local}
    return [*local, *(e for e in remote if e.id not in known)]
