"""The domain model: households, members, per-year records, helpers and procedure events.

Form values live in plain `fields` dicts keyed by the form specs (forms/*.toml), holding JSON
values only: str for text, codes, dates (ISO `YYYY-MM-DD`) and ID numbers; int; float for
decimals and money; bool for yes/no; list[str] for multi-codes. A missing key or None means
"not filled". The same dict shape is what the store saves, JSON Lines export and sync carry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

ROLES = ("village_worker", "township_official", "county_coordinator", "admin")
ROLE_LABELS = {
    "village_worker": ("村级工作人员", "Village worker"),
    "township_official": ("乡镇工作人员", "Township official"),
    "county_coordinator": ("县级管理员", "County coordinator"),
    "admin": ("系统管理员", "Administrator"),
}

# Workspace levels, lowest first. A role belongs to a level; a workspace holds accounts and records
# procedure steps of its own level or below (povdesk.core.authority).
LEVELS = ("village", "township", "county")
LEVEL_LABELS = {"village": ("村级", "village"), "township": ("乡镇级", "township"), "county": ("县级", "county")}
ROLE_LEVELS = {"village_worker": "village", "township_official": "township", "county_coordinator": "county"}

# Lifecycle of a household; only procedures move it (never set by hand).
STATUSES = ("applicant", "registered", "exited", "removed", "returned", "not_identified")
STATUS_LABELS = {
    "applicant": ("识别中", "Being identified"),
    "registered": ("未脱贫", "Registered, not yet out of poverty"),
    "exited": ("已脱贫", "Exited poverty"),
    "removed": ("已清退", "Removed after review"),
    "returned": ("返贫", "Returned to poverty"),
    "not_identified": ("未纳入", "Not identified"),
}
# Statuses in which a household is a registered poor household receiving support.
POOR_STATUSES = frozenset({"registered", "returned"})

HEAD_RELATION = "01"
SPOUSE_RELATION = "02"


def new_id() -> str:
    return str(uuid.uuid4())


def parse_date(value: Any) -> date | None:
    """An ISO date string from a fields dict, or None when empty or not a real date."""
    if not value or not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@dataclass
class Member:
    id: str = field(default_factory=new_id)
    fields: dict[str, Any] = field(default_factory=dict)

    # Text or nothing: an imported file can hold a value of another type in any field (the rules
    # report it); whatever reads these properties gets a string.
    @property
    def name(self) -> str:
        v = self.fields.get("name")
        return v if type(v) is str else ""

    @property
    def id_number(self) -> str:
        v = self.fields.get("id_number")
        return v if type(v) is str else ""

    @property
    def relation(self) -> str | None:
        v = self.fields.get("relation")
        return v if type(v) is str else None

    @property
    def birth_date(self) -> date | None:
        return parse_date(self.fields.get("birth_date"))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "fields": dict(self.fields)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Member:
        # Filled in directly rather than through __init__: an import makes millions of these.
        obj = cls.__new__(cls)
        obj.__dict__.update(id=data["id"], fields=dict(data.get("fields") or {}))
        return obj


@dataclass
class YearRecord:
    """Dynamic-management data of one income year: income items and support measures."""

    year: int
    income: dict[str, Any] = field(default_factory=dict)
    measures: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "income": dict(self.income), "measures": [dict(m) for m in self.measures]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> YearRecord:
        obj = cls.__new__(cls)
        obj.__dict__.update(
            year=int(data["year"]),
            income=dict(data.get("income") or {}),
            measures=[dict(m) for m in data.get("measures") or []],
        )
        return obj


@dataclass
class ProcedureEvent:
    """One performed step of a procedure, with its evidence; events are only ever appended."""

    procedure: str
    step: str
    date: str  # ISO date the step took place (not when it was typed in)
    role: str
    user: str
    evidence: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    recorded_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "procedure": self.procedure,
            "step": self.step,
            "date": self.date,
            "role": self.role,
            "user": self.user,
            "evidence": dict(self.evidence),
            "recorded_at": self.recorded_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcedureEvent:
        obj = cls.__new__(cls)
        obj.__dict__.update(
            id=data["id"],
            procedure=data["procedure"],
            step=data["step"],
            date=data["date"],
            role=data["role"],
            user=data["user"],
            evidence=dict(data.get("evidence") or {}),
            recorded_at=data.get("recorded_at") or "",
        )
        return obj


@dataclass
class Household:
    village_code: str
    household_no: str = ""
    id: str = field(default_factory=new_id)
    status: str = "applicant"
    fields: dict[str, Any] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)
    years: dict[int, YearRecord] = field(default_factory=dict)
    helpers: list[dict[str, Any]] = field(default_factory=list)
    events: list[ProcedureEvent] = field(default_factory=list)
    form_version: str = ""
    rule_version: str = ""
    version: int = 0  # incremented by the store on every save
    updated_at: str = ""
    updated_by: str = ""

    @property
    def head(self) -> Member | None:
        heads = [m for m in self.members if m.relation == HEAD_RELATION]
        return heads[0] if len(heads) == 1 else None

    @property
    def head_name(self) -> str:
        head = self.head
        return head.name if head else ""

    def year(self, year: int) -> YearRecord:
        """The record of an income year, created empty on first use."""
        if year not in self.years:
            self.years[year] = YearRecord(year)
        return self.years[year]

    def to_dict(self) -> dict[str, Any]:
        """The exchange shape (JSON Lines, sync); see resources/schema/household.schema.json."""
        return {
            "id": self.id,
            "household_no": self.household_no,
            "village_code": self.village_code,
            "status": self.status,
            "form_version": self.form_version,
            "rule_version": self.rule_version,
            "version": self.version,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
            "fields": dict(self.fields),
            "members": [m.to_dict() for m in self.members],
            "years": [self.years[y].to_dict() for y in sorted(self.years)],
            "helpers": [dict(h) for h in self.helpers],
            "events": [e.to_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Household:
        years = [YearRecord.from_dict(y) for y in data.get("years") or []]
        member = Member.from_dict
        event = ProcedureEvent.from_dict
        get = data.get
        obj = cls.__new__(cls)
        obj.__dict__.update(
            id=data["id"],
            household_no=get("household_no") or "",
            village_code=data["village_code"],
            status=get("status") or "applicant",
            fields=dict(get("fields") or {}),
            members=[member(m) for m in get("members") or []],
            years={y.year: y for y in years},
            helpers=[dict(h) for h in get("helpers") or []],
            events=[event(e) for e in get("events") or []],
            form_version=get("form_version") or "",
            rule_version=get("rule_version") or "",
            version=int(get("version") or 0),
            updated_at=get("updated_at") or "",
            updated_by=get("updated_by") or "",
        )
        return obj


# A household's official number starts with its village's code (the store hands out
# `<village>-<device prefix>-<NNNN>`, so laptops working offline never clash). Any other number a
# record brings (a village's own 1, 2, 3 from its sheets) is the village's own number: kept in
# this field and printed beside the official one, never used as the official number.
OWN_NUMBER_FIELD = "own_no"


# A household registered by mistake (entered twice, never existed) is voided, never deleted: this
# field holds the mark {"reason", "user", "role", "date", "at"} (povdesk.ops.households.void_household),
# so it is audited like any field, travels in bundles and merges like one, and the store leaves a
# household that carries it out of lists, counts and reports. Restoring it (the county's decision)
# takes the mark away and leaves one of the same shape in RESTORED_FIELD.
VOIDED_FIELD = "voided"
RESTORED_FIELD = "restored"


def void_mark(hh: Household) -> dict[str, Any] | None:
    """The household's void mark, or None when it is not voided."""
    mark = hh.fields.get(VOIDED_FIELD)
    return mark if isinstance(mark, dict) else None


def is_official_number(no: str, village_code: str) -> bool:
    return bool(village_code) and no.startswith(village_code)


def with_own_number(hh: Household) -> Household:
    """`hh` itself when its number is official or empty; else a copy whose number is empty (the
    store assigns one) and whose own-number field holds the number it brought (unless that field
    already says something, which then wins)."""
    no = hh.household_no.strip() if isinstance(hh.household_no, str) else ""
    if not no or not isinstance(hh.village_code, str) or is_official_number(no, hh.village_code):
        return hh
    out = Household.__new__(Household)
    out.__dict__.update(hh.__dict__)
    out.household_no = ""
    out.fields = dict(hh.fields)
    if not str(out.fields.get(OWN_NUMBER_FIELD) or "").strip():
        out.fields[OWN_NUMBER_FIELD] = no
    return out
