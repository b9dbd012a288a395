"""Procedure engine: resources/procedures.toml as state machines that check and record each step."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any

from povdesk.clock import SYSTEM_CLOCK
from povdesk.core.authority import rank, role_level, step_refusal
from povdesk.core.codes import code_list, code_lists
from povdesk.core.model import (
    LEVELS,
    ROLE_LABELS,
    ROLE_LEVELS,
    ROLES,
    STATUS_LABELS,
    STATUSES,
    Household,
    ProcedureEvent,
    parse_date,
)
from povdesk.errors import ProcedureRefused
from povdesk.i18n import Text, tr
from povdesk.paths import resource

log = logging.getLogger(__name__)

FIELD_KINDS = ("date", "integer", "text", "yes_no", "multi_code")
STEP_KINDS = ("record", "appraisal", "publicity", "verification")

# Evidence keys the engine itself reads for a step kind, with the field kind they must have.
# Everything else in a step's evidence is only checked for presence and kind.
_KIND_FIELDS: dict[str, dict[str, str]] = {
    "appraisal": {
        "representatives_total": "integer",
        "representatives_present": "integer",
        "votes_for": "integer",
        "votes_against": "integer",
    },
    "publicity": {"start_date": "date", "end_date": "date"},
}
_OPTIONAL_KIND_FIELDS: dict[str, dict[str, str]] = {
    "publicity": {"objections": "integer", "objections_resolved": "integer"},
}

_TOP_KEYS = frozenset({"settings", "evidence_sets", "procedures"})
_SETTINGS_KEYS = frozenset({"publicity_days", "attendance_quorum", "vote_majority"})
_PROCEDURE_KEYS = frozenset({"zh", "en", "start_from", "end_status", "status_while_open", "publicity_days", "after",
                             "household_kinds", "steps"})
_STEP_KEYS = frozenset({"key", "zh", "en", "kind", "roles", "level", "evidence_set", "evidence", "fail_status"})
_FIELD_KEYS = frozenset({"key", "kind", "zh", "en", "required", "codes", "min", "must_be_yes"})


class ProcedureSpecError(ValueError):
    """procedures.toml is malformed; raised at load time so a broken file never reaches a village."""


# ---------------------------------------------------------------------------- specs


@dataclass(frozen=True, slots=True)
class EvidenceField:
    key: str
    kind: str
    zh: str
    en: str
    required: bool = False
    codes: str | None = None  # a list in resources/codes.toml (multi_code)
    min: int | None = None  # integer: smallest value; multi_code: fewest codes
    must_be_yes: bool = False  # yes_no: "no" refuses the step (e.g. the head did not sign)

    @property
    def label(self) -> Text:
        return Text(self.zh, self.en)


@dataclass(frozen=True, slots=True)
class StepSpec:
    procedure: str
    key: str
    index: int  # position in its procedure, 0 = the step that opens it
    zh: str
    en: str
    kind: str
    roles: tuple[str, ...]
    evidence: tuple[EvidenceField, ...]
    fail_status: str | None = None  # appraisal only: the status a lost vote leaves behind
    level: str = "village"  # the level the step belongs to (povdesk.core.authority)

    @property
    def label(self) -> Text:
        return Text(self.zh, self.en)

    def field(self, key: str) -> EvidenceField | None:
        return next((f for f in self.evidence if f.key == key), None)


@dataclass(frozen=True, slots=True)
class ProcedureSpec:
    key: str
    zh: str
    en: str
    start_from: tuple[str, ...]
    end_status: str
    steps: tuple[StepSpec, ...]
    status_while_open: str | None = None
    publicity_days: int = 7  # its own minimum publicity, else [settings] publicity_days
    # It starts only once one of these procedures is complete and it has not run since (a risk is
    # eliminated only after an identification for monitoring); empty: no such condition.
    after: tuple[str, ...] = ()
    # The kinds of household (the form's household_kind codes) it applies to; empty: every kind.
    # 建档立卡 identification is not for an ordinary household entered to be monitored.
    household_kinds: tuple[str, ...] = ()

    def applies_to_kind(self, kind: str) -> bool:
        return not self.household_kinds or kind in self.household_kinds

    @property
    def label(self) -> Text:
        return Text(self.zh, self.en)

    @property
    def first(self) -> StepSpec:
        return self.steps[0]

    @property
    def last(self) -> StepSpec:
        return self.steps[-1]

    def step(self, key: str) -> StepSpec | None:
        return next((s for s in self.steps if s.key == key), None)


@dataclass(frozen=True, slots=True)
class ProcedureSettings:
    publicity_days: int
    attendance_quorum: Fraction  # share of representatives that must attend an appraisal
    vote_majority: Fraction  # votes for must exceed this share of those present


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded event with the labels to display it; spec parts are None if no longer defined."""

    event: ProcedureEvent
    procedure: ProcedureSpec | None
    step: StepSpec | None
    status_after: str
    voided: ProcedureEvent | None = None  # the void mark, when the step was voided (it moved nothing)

    @property
    def label(self) -> Text:
        proc = self.procedure.label if self.procedure else Text(self.event.procedure, self.event.procedure)
        step = self.step.label if self.step else Text(self.event.step, self.event.step)
        return _step_title(proc, step)


# ---------------------------------------------------------------------------- loading


def _fraction(value: Any, where: str) -> Fraction:
    try:
        share = Fraction(str(value))
    except (ValueError, ZeroDivisionError) as exc:
        raise ProcedureSpecError(f'{where}: {value!r} is not a fraction like "2/3"') from exc
    if not 0 < share <= 1:
        raise ProcedureSpecError(f"{where}: {value!r} must be above 0 and at most 1")
    return share


def _check_keys(body: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ProcedureSpecError(f"{where}: unknown keys {unknown}")


def _require_text(body: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        if not isinstance(body.get(key), str) or not body[key]:
            raise ProcedureSpecError(f"{where}: '{key}' is required")


def _parse_field(body: Any, where: str) -> EvidenceField:
    if not isinstance(body, dict):
        raise ProcedureSpecError(f"{where}: an evidence field must be a table")
    _check_keys(body, _FIELD_KEYS, where)
    _require_text(body, ("key", "kind", "zh", "en"), where)
    where = f"{where} ({body['key']})"
    kind = body["kind"]
    if kind not in FIELD_KINDS:
        raise ProcedureSpecError(f"{where}: kind {kind!r} is not one of {FIELD_KINDS}")
    codes = body.get("codes")
    if kind == "multi_code":
        if codes not in code_lists():
            raise ProcedureSpecError(f"{where}: codes {codes!r} is not a list in resources/codes.toml")
    elif codes is not None:
        raise ProcedureSpecError(f"{where}: only multi_code fields take 'codes'")
    minimum = body.get("min")
    if minimum is not None and (kind not in ("integer", "multi_code") or not isinstance(minimum, int)):
        raise ProcedureSpecError(f"{where}: 'min' is a whole number, for integer and multi_code fields")
    if body.get("must_be_yes") and kind != "yes_no":
        raise ProcedureSpecError(f"{where}: 'must_be_yes' is for yes_no fields")
    return EvidenceField(
        key=body["key"],
        kind=kind,
        zh=body["zh"],
        en=body["en"],
        required=bool(body.get("required", False)),
        codes=codes,
        min=minimum,
        must_be_yes=bool(body.get("must_be_yes", False)),
    )


def _parse_step(
    body: Any, procedure: str, index: int, sets: Mapping[str, tuple[EvidenceField, ...]]
) -> StepSpec:
    where = f"procedures.{procedure}.steps[{index}]"
    if not isinstance(body, dict):
        raise ProcedureSpecError(f"{where}: a step must be a table")
    _check_keys(body, _STEP_KEYS, where)
    _require_text(body, ("key", "zh", "en", "kind"), where)
    where = f"procedures.{procedure}.{body['key']}"
    kind = body["kind"]
    if kind not in STEP_KINDS:
        raise ProcedureSpecError(f"{where}: kind {kind!r} is not one of {STEP_KINDS}")
    roles = body.get("roles")
    if not isinstance(roles, list) or not roles:
        raise ProcedureSpecError(f"{where}: 'roles' must list at least one role")
    for role in roles:
        if role not in ROLES:
            raise ProcedureSpecError(f"{where}: unknown role {role!r}")
        if role == "admin":
            # Separation of duties: every change to a household must name a worker or official.
            raise ProcedureSpecError(f"{where}: the administrator may not perform procedure steps")
    level = body.get("level")
    if level not in LEVELS:
        raise ProcedureSpecError(f"{where}: 'level' must be one of {LEVELS}")
    below = [r for r in roles if rank(ROLE_LEVELS[r]) < rank(level)]
    if below:
        raise ProcedureSpecError(f"{where}: a {level} step cannot be recorded by {below} (a lower level)")
    fields: list[EvidenceField] = []
    set_name = body.get("evidence_set")
    if set_name is not None:
        if set_name not in sets:
            raise ProcedureSpecError(f"{where}: evidence_set {set_name!r} is not defined")
        fields.extend(sets[set_name])
    extra = body.get("evidence", [])
    if not isinstance(extra, list):
        raise ProcedureSpecError(f"{where}: 'evidence' must be a list of fields")
    fields.extend(_parse_field(f, f"{where}.evidence[{n}]") for n, f in enumerate(extra))
    keys = [f.key for f in fields]
    if len(set(keys)) != len(keys):
        raise ProcedureSpecError(f"{where}: evidence keys repeat: {keys}")
    by_key = {f.key: f for f in fields}
    for needs, required in ((_KIND_FIELDS, True), (_OPTIONAL_KIND_FIELDS, False)):
        for key, field_kind in needs.get(kind, {}).items():
            found = by_key.get(key)
            if found is None and not required:
                continue
            if found is None or found.kind != field_kind or (required and not found.required):
                raise ProcedureSpecError(
                    f"{where}: a {kind} step needs a{' required' if required else 'n'} {field_kind} field {key!r}"
                )
    fail_status = body.get("fail_status")
    if fail_status is not None:
        if kind != "appraisal":
            raise ProcedureSpecError(f"{where}: only appraisal steps take 'fail_status'")
        if fail_status not in STATUSES:
            raise ProcedureSpecError(f"{where}: unknown status {fail_status!r}")
    return StepSpec(
        procedure=procedure,
        key=body["key"],
        index=index,
        zh=body["zh"],
        en=body["en"],
        kind=kind,
        roles=tuple(roles),
        evidence=tuple(fields),
        fail_status=fail_status,
        level=level,
    )


def _days(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ProcedureSpecError(f"{where}: {value!r} must be a whole number of days >= 1")
    return value


def _parse_procedure(key: str, body: Any, sets: Mapping[str, tuple[EvidenceField, ...]],
                     default_days: int) -> ProcedureSpec:
    where = f"procedures.{key}"
    if not isinstance(body, dict):
        raise ProcedureSpecError(f"{where}: a procedure must be a table")
    _check_keys(body, _PROCEDURE_KEYS, where)
    _require_text(body, ("zh", "en", "end_status"), where)
    start_from = body.get("start_from")
    if not isinstance(start_from, list) or not start_from:
        raise ProcedureSpecError(f"{where}: 'start_from' must list at least one status")
    while_open = body.get("status_while_open")
    for status in [*start_from, body["end_status"], *([while_open] if while_open else [])]:
        if status not in STATUSES:
            raise ProcedureSpecError(f"{where}: unknown status {status!r}")
    raw_steps = body.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ProcedureSpecError(f"{where}: a procedure needs at least one step")
    steps = tuple(_parse_step(s, key, n, sets) for n, s in enumerate(raw_steps))
    step_keys = [s.key for s in steps]
    if len(set(step_keys)) != len(step_keys):
        raise ProcedureSpecError(f"{where}: step keys repeat: {step_keys}")
    if while_open:
        # The status before the procedure is not kept anywhere, so a lost vote must say where to go.
        for s in steps:
            if s.kind == "appraisal" and s.fail_status is None:
                raise ProcedureSpecError(
                    f"{where}.{s.key}: needs fail_status because status_while_open is set"
                )
    return ProcedureSpec(
        key=key,
        zh=body["zh"],
        en=body["en"],
        start_from=tuple(start_from),
        end_status=body["end_status"],
        steps=steps,
        status_while_open=while_open,
        publicity_days=_days(body.get("publicity_days", default_days), f"{where}.publicity_days"),
        after=_after(body.get("after", []), f"{where}.after"),
        household_kinds=_kinds(body.get("household_kinds", []), f"{where}.household_kinds"),
    )


def _kinds(value: Any, where: str) -> tuple[str, ...]:
    known = {c.code for c in code_list("household_kind").codes}
    if not isinstance(value, list) or not all(isinstance(v, str) and v in known for v in value):
        raise ProcedureSpecError(f"{where}: must list codes of household_kind ({', '.join(sorted(known))})")
    return tuple(value)


def _after(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProcedureSpecError(f"{where}: must list procedure keys")
    return tuple(value)


def parse_procedures(
    data: Mapping[str, Any],
) -> tuple[MappingProxyType[str, ProcedureSpec], ProcedureSettings]:
    """Procedure specs and settings from parsed TOML; raises ProcedureSpecError when malformed."""
    _check_keys(data, _TOP_KEYS, "procedures.toml")
    raw_settings = data.get("settings", {})
    _check_keys(raw_settings, _SETTINGS_KEYS, "settings")
    days = _days(raw_settings.get("publicity_days", 7), "settings.publicity_days")
    settings = ProcedureSettings(
        publicity_days=days,
        attendance_quorum=_fraction(
            raw_settings.get("attendance_quorum", "2/3"), "settings.attendance_quorum"
        ),
        vote_majority=_fraction(raw_settings.get("vote_majority", "1/2"), "settings.vote_majority"),
    )
    sets: dict[str, tuple[EvidenceField, ...]] = {}
    for name, fields in (data.get("evidence_sets") or {}).items():
        if not isinstance(fields, list):
            raise ProcedureSpecError(f"evidence_sets.{name}: must be a list of fields")
        sets[name] = tuple(_parse_field(f, f"evidence_sets.{name}[{n}]") for n, f in enumerate(fields))
    raw_procedures = data.get("procedures") or {}
    if not raw_procedures:
        raise ProcedureSpecError("procedures.toml defines no procedures")
    procedures = {key: _parse_procedure(key, body, sets, days) for key, body in raw_procedures.items()}
    for spec in procedures.values():
        unknown = [a for a in spec.after if a not in procedures]
        if unknown:
            raise ProcedureSpecError(f"procedures.{spec.key}.after: unknown procedures {unknown}")
    return MappingProxyType(procedures), settings


_Catalogue = tuple[MappingProxyType[str, ProcedureSpec], ProcedureSettings]


@cache
def bundled_catalogue() -> _Catalogue:
    """resources/procedures.toml, as shipped."""
    path = resource("procedures.toml")
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    try:
        return parse_procedures(data)
    except ProcedureSpecError as exc:
        raise ProcedureSpecError(f"{path}: {exc}") from exc


@lru_cache(maxsize=4)
def catalogue_from_text(text: str) -> _Catalogue:
    """A province's own procedures file (the TOML text a workspace keeps); raises
    ProcedureSpecError (or tomllib.TOMLDecodeError) when malformed."""
    return parse_procedures(tomllib.loads(text))


# The procedures in force in this process: a province's own file kept in the workspace opened last
# (store.workspace activates it when the workspace becomes readable; a worker process is handed the
# text), else the bundled file. One process works on one workspace's procedures at a time.
_in_force: tuple[str, _Catalogue] | None = None


def use_procedures(text: str | None) -> None:
    """Put a province's own procedures (its TOML text, already checked) in force, or the bundled
    ones with None."""
    global _in_force
    _in_force = None if text is None else (text, catalogue_from_text(text))


def procedures_text_in_force() -> str | None:
    """The TOML text of the procedures in force when they are a province's own, else None (for
    handing to worker processes)."""
    return _in_force[0] if _in_force is not None else None


def _catalogue() -> _Catalogue:
    return _in_force[1] if _in_force is not None else bundled_catalogue()


def load_procedures() -> Mapping[str, ProcedureSpec]:
    """Every procedure in force (a province's own file kept in the workspace, else
    resources/procedures.toml), in the order the file defines them."""
    return _catalogue()[0]


def compatibility(candidate: _Catalogue, base: _Catalogue | None = None) -> tuple[list[Text], list[Text]]:
    """Whether a province's own procedures can replace the bundled ones (`base`) in a workspace that
    already holds histories recorded under them: (problems that refuse it, notes on what changes).

    Histories are replayed under the procedures in force, and the code reads some steps and
    evidence by key, so every bundled procedure keeps its steps in the same order with the same
    key, kind and level, its statuses and conditions, and every evidence field its key, kind and
    code list; a field may become optional, never newly required (a step recorded earlier has no
    value for it). Labels, roles, publicity periods, the appraisal quorum and majority may change,
    fields may be added as optional, and new procedures may be added."""
    base = base or bundled_catalogue()
    old, old_settings = base
    new, new_settings = candidate
    problems: list[Text] = []
    notes: list[Text] = []
    for key, was in old.items():
        now = new.get(key)
        if now is None:
            problems.append(tr("缺少程序“{p}”（{k}）", "the procedure '{p}' ({k}) is missing", p=was.label, k=key))
            continue
        if [s.key for s in now.steps] != [s.key for s in was.steps]:
            problems.append(tr("“{p}”的步骤应为 {want}（顺序不变），文件中是 {got}",
                               "the steps of '{p}' must stay {want} in that order; the file has {got}",
                               p=was.label, want=", ".join(s.key for s in was.steps),
                               got=", ".join(s.key for s in now.steps)))
            continue
        for attr in ("start_from", "end_status", "status_while_open", "after", "household_kinds"):
            if getattr(now, attr) != getattr(was, attr):
                problems.append(tr("“{p}”的 {a} 不能改（{old} → {new}）", "'{p}': {a} cannot change ({old} -> {new})",
                                   p=was.label, a=attr, old=str(getattr(was, attr)), new=str(getattr(now, attr))))
        if now.publicity_days != was.publicity_days:
            notes.append(tr("“{p}”公示至少 {old} 天 → {new} 天（也用于核对已经办理的记录）",
                            "'{p}': publicity at least {old} days -> {new} (also judged on steps already recorded)",
                            p=now.label, old=was.publicity_days, new=now.publicity_days))
        for a, b in zip(was.steps, now.steps, strict=True):
            where = f"{key}.{a.key}"
            for attr in ("kind", "level", "fail_status"):
                if getattr(a, attr) != getattr(b, attr):
                    problems.append(tr("步骤 {w} 的 {a} 不能改（{old} → {new}）", "step {w}: {a} cannot change ({old} -> {new})",
                                       w=where, a=attr, old=str(getattr(a, attr)), new=str(getattr(b, attr))))
            if (a.zh, a.en) != (b.zh, b.en):
                notes.append(tr("步骤 {w} 改名为“{name}”", "step {w} is now called '{name}'", w=where, name=b.label))
            if a.roles != b.roles:
                notes.append(tr("步骤 {w} 的办理角色：{r}", "step {w} is recorded by: {r}", w=where, r=", ".join(b.roles)))
            for f in a.evidence:
                g = b.field(f.key)
                if g is None:
                    problems.append(tr("步骤 {w} 缺少记录项 {f}", "step {w} lacks its evidence field {f}", w=where, f=f.key))
                elif (g.kind, g.codes) != (f.kind, f.codes):
                    problems.append(tr("步骤 {w} 的记录项 {f} 类型不能改", "step {w}: the kind of evidence field {f} "
                                       "cannot change", w=where, f=f.key))
                elif g.required and not f.required:
                    problems.append(tr("步骤 {w} 的记录项 {f} 不能改为必填（已办理的步骤没有这一项）",
                                       "step {w}: evidence field {f} cannot become required (steps recorded earlier "
                                       "have no value for it)", w=where, f=f.key))
            for g in b.evidence:
                if a.field(g.key) is None:
                    if g.required:
                        problems.append(tr("步骤 {w} 新增的记录项 {f} 只能是选填（已办理的步骤没有这一项）",
                                           "step {w}: the new evidence field {f} must be optional (steps recorded "
                                           "earlier have no value for it)", w=where, f=g.key))
                    else:
                        notes.append(tr("步骤 {w} 新增记录项“{name}”", "step {w} gains the evidence field '{name}'",
                                        w=where, name=g.label))
    for key in new.keys() - old.keys():
        notes.append(tr("新增程序“{p}”", "a new procedure '{p}'", p=new[key].label))
    if new_settings != old_settings:
        notes.append(tr("[settings] 改为：公示 {d} 天，到会 {q}，赞成超过 {m}",
                        "[settings] now: publicity {d} days, attendance {q}, votes for above {m}",
                        d=new_settings.publicity_days, q=str(new_settings.attendance_quorum),
                        m=str(new_settings.vote_majority)))
    return problems, notes


def procedure_settings() -> ProcedureSettings:
    return _catalogue()[1]


def publicity_days(procedure: str | None = None) -> int:
    """The minimum publicity period of a procedure (its own `publicity_days`, else the [settings]
    of procedures.toml), or the [settings] one when no procedure is named."""
    procedures, settings = _catalogue()
    spec = procedures.get(procedure) if procedure is not None else None
    return spec.publicity_days if spec is not None else settings.publicity_days


# ---------------------------------------------------------------------------- messages


def _fill(text: Text, **values: object) -> Text:
    """Fill a tr() template (Text.format: a Text value gives each language its own wording)."""
    return text.format(**values)


def _join(texts: Sequence[Text]) -> Text:
    return Text("、".join(t.zh for t in texts), ", ".join(t.en for t in texts))


def _role_label(role: str) -> Text:
    return Text(*ROLE_LABELS.get(role, (role, role)))


def _status_label(status: str) -> Text:
    return Text(*STATUS_LABELS.get(status, (status, status)))


def _step_title(procedure: Text, step: Text) -> Text:
    return _fill(tr("{procedure}·{step}", "{procedure}: {step}"), procedure=procedure, step=step)


def _title(step: StepSpec) -> Text:
    return _step_title(load_procedures()[step.procedure].label, step.label)


# ---------------------------------------------------------------------------- state


def appraisal_passed(evidence: Mapping[str, Any], settings: ProcedureSettings | None = None) -> bool:
    """Whether an appraisal's vote carried: votes for above the majority share of those present."""
    majority = (settings or procedure_settings()).vote_majority
    present = _int(evidence, "representatives_present")
    votes_for = _int(evidence, "votes_for")
    if present is None or votes_for is None:
        return False
    # votes_for > present * majority, in integers (Fraction arithmetic is slow; this is exact).
    return votes_for * majority.denominator > present * majority.numerator


def publicity_period(evidence: Mapping[str, Any]) -> int | None:
    """Days a publicity lasted, counting both ends, or None when its dates are missing or reversed."""
    start = parse_date(evidence.get("start_date"))
    end = parse_date(evidence.get("end_date"))
    if start is None or end is None or end < start:
        return None
    return (end - start).days + 1


def _int(evidence: Mapping[str, Any], key: str) -> int | None:
    value = evidence.get(key)
    # bool is an int in Python, but True votes is nonsense, not 1 vote.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _spec_of(event: ProcedureEvent) -> tuple[ProcedureSpec, StepSpec] | None:
    spec = load_procedures().get(event.procedure)
    step = spec.step(event.step) if spec else None
    return (spec, step) if spec and step else None


def _closes(spec: ProcedureSpec, step: StepSpec, event: ProcedureEvent) -> bool:
    if step.kind == "appraisal" and not appraisal_passed(event.evidence):
        return True
    return step is spec.last


def _status_after_event(status: str, event: ProcedureEvent) -> str:
    found = _spec_of(event)
    if found is None:
        return status
    spec, step = found
    if step.index == 0 and spec.status_while_open:
        status = spec.status_while_open
    if step.kind == "appraisal" and not appraisal_passed(event.evidence):
        return step.fail_status or status
    if step is spec.last:
        return spec.end_status
    return status


def open_procedure(household: Household) -> tuple[ProcedureSpec, list[ProcedureEvent]] | None:
    """The procedure in progress and its events since it started, or None when none is open."""
    current: tuple[ProcedureSpec, list[ProcedureEvent]] | None = None
    for event in effective(household.events):
        found = _spec_of(event)
        if found is None:
            # An event of a procedure this province no longer defines cannot continue anything.
            continue
        spec, step = found
        if current is None or current[0] is not spec or step.index == 0:
            current = (spec, [])
        current[1].append(event)
        if _closes(spec, step, event):
            current = None
    return current


def _next_of(spec: ProcedureSpec, events: list[ProcedureEvent]) -> StepSpec:
    last = spec.step(events[-1].step)
    assert last is not None and last is not spec.last  # an open procedure has a step to come
    return spec.steps[last.index + 1]


def next_steps(household: Household) -> list[tuple[ProcedureSpec, StepSpec]]:
    """The legal next steps: the open procedure's next one, else the first of each that may start."""
    current = open_procedure(household)
    if current is not None:
        spec, events = current
        return [(spec, _next_of(spec, events))]
    done = effective(household.events)
    kind = household_kind(household.fields)
    return [(spec, spec.first) for spec in load_procedures().values()
            if household.status in spec.start_from and spec.applies_to_kind(kind) and _after_met(spec, done)]


def _after_met(spec: ProcedureSpec, events: Sequence[ProcedureEvent]) -> bool:
    """Whether `spec.after` allows the procedure to start after these (effective) events: the
    latest of its `after` procedures and itself to be completed is one of `after`."""
    if not spec.after:
        return True
    procedures = load_procedures()
    watched = (*spec.after, spec.key)
    for event in reversed(events):
        if event.procedure in watched:
            other = procedures.get(event.procedure)
            if other is not None and event.step == other.last.key:
                return event.procedure in spec.after
    return False


def history(household: Household) -> list[HistoryEntry]:
    """The household's events with their labels and the status each one left, for display."""
    entries: list[HistoryEntry] = []
    status = initial_status(household.fields)
    marks = void_marks(household.events)
    for event in household.events:
        if is_void(event):
            continue
        mark = marks.get(event.id)
        if mark is None:
            status = _status_after_event(status, event)
        spec = load_procedures().get(event.procedure)
        entries.append(HistoryEntry(event, spec, spec.step(event.step) if spec else None, status, mark))
    return entries


# The household form's 农户类别: an ordinary rural household (一般农户) is entered to be monitored
# against falling into poverty; it starts "not_identified" and never was a registration applicant.
GENERAL_HOUSEHOLD = "2"


def household_kind(fields: Mapping[str, Any]) -> str:
    """The form's 农户类别, "1" (建档立卡户 or applicant) when not given."""
    return GENERAL_HOUSEHOLD if fields.get("household_kind") == GENERAL_HOUSEHOLD else "1"


def _kind_label(kind: str) -> Text:
    code = next((c for c in code_list("household_kind").codes if c.code == kind), None)
    return Text(code.zh, code.en) if code is not None else Text(kind, kind)


def initial_status(fields: Mapping[str, Any]) -> str:
    """Where a household's history starts: "not_identified" for an ordinary rural household (its
    form's household_kind), else "applicant" (a household entered for the registration)."""
    return "not_identified" if fields.get("household_kind") == GENERAL_HOUSEHOLD else "applicant"


def status_from(events: Sequence[ProcedureEvent], start: str = "applicant") -> str:
    """The status the events lead to from `start` (initial_status), each applied as recorded: what
    the store writes (it never takes a status from the caller). For a legal history this is
    status_after(); an event of a procedure no longer defined moves nothing."""
    status = start
    for event in effective(events):
        status = _status_after_event(status, event)
    return status


# ---------------------------------------------------------------------------- checks


def _sequence_problems(household: Household, spec: ProcedureSpec, step: StepSpec) -> list[Text]:
    legal = next_steps(household)
    if any(s is spec and st is step for s, st in legal):
        return []
    current = open_procedure(household)
    if current is not None:
        open_spec, events = current
        return [
            _fill(
                tr(
                    "“{open}”正在进行，下一步应是“{next}”，不能执行“{step}”",
                    "'{open}' is in progress and its next step is '{next}', not '{step}'",
                ),
                open=open_spec.label,
                next=_next_of(open_spec, events).label,
                step=_title(step),
            )
        ]
    kind = household_kind(household.fields)
    if step is spec.first and household.status in spec.start_from and not spec.applies_to_kind(kind):
        return [
            _fill(
                tr("“{procedure}”不适用于“{kind}”（只适用于：{kinds}）",
                   "'{procedure}' is not for a household of kind '{kind}' (only: {kinds})"),
                procedure=spec.label,
                kind=_kind_label(kind),
                kinds=_join([_kind_label(k) for k in spec.household_kinds]),
            )
        ]
    if step is spec.first and household.status in spec.start_from:
        return [
            _fill(
                tr("“{procedure}”只能在“{after}”办结之后开始（且此后没有再办过）",
                   "'{procedure}' starts only after '{after}' is complete (and not again since)"),
                procedure=spec.label,
                after=_join([load_procedures()[a].label for a in spec.after]),
            )
        ]
    if step is spec.first:
        return [
            _fill(
                tr(
                    "户状态“{status}”不能开始“{procedure}”（可开始的状态：{allowed}）",
                    "status '{status}' does not allow starting '{procedure}' (it starts from: {allowed})",
                ),
                status=_status_label(household.status),
                procedure=spec.label,
                allowed=_join([_status_label(s) for s in spec.start_from]),
            )
        ]
    if legal:
        return [
            _fill(
                tr(
                    "“{step}”不是下一步：“{procedure}”尚未开始，应从“{first}”开始；当前可以执行：{legal}",
                    "'{step}' is not the next step: '{procedure}' has not started and begins with "
                    "'{first}'; the next step may be: {legal}",
                ),
                step=_title(step),
                procedure=spec.label,
                first=spec.first.label,
                legal=_join([_title(st) for _, st in legal]),
            )
        ]
    return [
        _fill(
            tr(
                "“{step}”不是下一步：户状态“{status}”下不能开始任何程序",
                "'{step}' is not the next step: no procedure may start from status '{status}'",
            ),
            step=_title(step),
            status=_status_label(household.status),
        )
    ]


def _role_problems(role: str, step: StepSpec) -> list[Text]:
    if role in step.roles:
        return []
    return [
        _fill(
            tr(
                "角色“{role}”不能执行“{step}”，只有{allowed}可以",
                "the role '{role}' may not perform '{step}'; only {allowed} may",
            ),
            role=_role_label(role),
            step=_title(step),
            allowed=_join([_role_label(r) for r in step.roles]),
        )
    ]


def _event_title(event: ProcedureEvent, found: tuple[ProcedureSpec, StepSpec] | None) -> Text:
    if found:
        return _title(found[1])
    return Text(f"{event.procedure}·{event.step}", f"{event.procedure}: {event.step}")


@dataclass(frozen=True, slots=True)
class _Floor:
    """The earliest date the next step may carry, from the household's previous event."""

    day: dt.date
    strict: bool  # after a publicity the next step must fall after its end, not on it
    event: ProcedureEvent  # the previous event, named in the message (made only when needed)
    found: tuple[ProcedureSpec, StepSpec] | None

    @property
    def title(self) -> Text:
        return _event_title(self.event, self.found)

    def refuses(self, day: dt.date) -> bool:
        return day <= self.day if self.strict else day < self.day


def _floor_after(last: ProcedureEvent, found: tuple[ProcedureSpec, StepSpec] | None) -> _Floor | None:
    if found and found[1].kind == "publicity":
        end = parse_date(last.evidence.get("end_date"))
        if end is not None:
            return _Floor(end, True, last, found)
    day = parse_date(last.date)
    return _Floor(day, False, last, found) if day else None


def _floor(events: Sequence[ProcedureEvent]) -> _Floor | None:
    if not events:
        return None
    return _floor_after(events[-1], _spec_of(events[-1]))


def _floor_problem(what: Text, day: dt.date, floor: _Floor) -> Text:
    if floor.strict:
        return _fill(
            tr(
                "{what}（{day}）必须晚于上一步“{previous}”的公示结束日期（{floor}）",
                "{what} ({day}) must be after the end of the previous step '{previous}' ({floor})",
            ),
            what=what,
            day=day.isoformat(),
            previous=floor.title,
            floor=floor.day.isoformat(),
        )
    return _fill(
        tr(
            "{what}（{day}）早于上一步“{previous}”的日期（{floor}）",
            "{what} ({day}) is before the date of the previous step '{previous}' ({floor})",
        ),
        what=what,
        day=day.isoformat(),
        previous=floor.title,
        floor=floor.day.isoformat(),
    )


_STEP_DATE = tr("办理日期", "the step's date")


def _date_problems(
    floor: _Floor | None, step: StepSpec, date: str, evidence: Mapping[str, Any], today: dt.date
) -> list[Text]:
    problems: list[Text] = []
    day = parse_date(date)
    if not date:
        problems.append(tr("缺少办理日期", "the step's date is missing"))
    elif day is None:
        problems.append(
            _fill(
                tr(
                    "办理日期“{date}”不是有效日期（格式 2019-03-01）",
                    "the step's date '{date}' is not a date like 2019-03-01",
                ),
                date=date,
            )
        )
    else:
        if day > today:
            problems.append(
                _fill(
                    tr(
                        "办理日期 {day} 晚于今天（{today}）", "the step's date {day} is after today ({today})"
                    ),
                    day=day.isoformat(),
                    today=today.isoformat(),
                )
            )
        if floor is not None and floor.refuses(day):
            problems.append(_floor_problem(_STEP_DATE, day, floor))
    if step.kind == "publicity" and floor is not None:
        start = parse_date(evidence.get("start_date"))
        start_field = step.field("start_date")
        if start is not None and start_field is not None and floor.refuses(start):
            problems.append(
                _floor_problem(_fill(tr("“{field}”", "'{field}'"), field=start_field.label), start, floor)
            )
    return problems


def _is_empty(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | tuple) and not value)


def _field_problem(f: EvidenceField, value: Any, today: dt.date) -> Text | None:
    if f.kind == "date":
        day = parse_date(value)
        if day is None:
            return _fill(
                tr(
                    "“{field}”的值“{value}”不是有效日期（格式 2019-03-01）",
                    "'{field}' is not a date like 2019-03-01: {value!r}",
                ),
                field=f.label,
                value=value,
            )
        if day > today:
            return _fill(
                tr("“{field}”（{day}）晚于今天（{today}）", "'{field}' ({day}) is after today ({today})"),
                field=f.label,
                day=day.isoformat(),
                today=today.isoformat(),
            )
        return None
    if f.kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return _fill(
                tr(
                    "“{field}”必须是整数（填的是“{value}”）",
                    "'{field}' must be a whole number, not {value!r}",
                ),
                field=f.label,
                value=value,
            )
        if f.min is not None and value < f.min:
            return _fill(
                tr(
                    "“{field}”不能小于 {min}（填的是 {value}）",
                    "'{field}' must be at least {min} (got {value})",
                ),
                field=f.label,
                min=f.min,
                value=value,
            )
        return None
    if f.kind == "text":
        if not isinstance(value, str):
            return _fill(
                tr("“{field}”必须是文字", "'{field}' must be text, not {value!r}"), field=f.label, value=value
            )
        return None
    if f.kind == "yes_no":
        if not isinstance(value, bool):
            return _fill(
                tr("“{field}”必须填“是”或“否”", "'{field}' must be yes or no, not {value!r}"),
                field=f.label,
                value=value,
            )
        if f.must_be_yes and not value:
            return _fill(tr("“{field}”必须为“是”", "'{field}' must be yes"), field=f.label)
        return None
    # multi_code
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        return _fill(
            tr("“{field}”必须是代码列表", "'{field}' must be a list of codes, not {value!r}"),
            field=f.label,
            value=value,
        )
    codes = code_lists()[f.codes] if f.codes else None
    unknown = [v for v in value if codes is not None and v not in codes]
    if unknown:
        return _fill(
            tr("“{field}”含有未知代码：{codes}", "'{field}' has unknown codes: {codes}"),
            field=f.label,
            codes=", ".join(unknown),
        )
    if f.min is not None and len(set(value)) < f.min:
        return _fill(
            tr("“{field}”至少要选 {min} 项", "'{field}' needs at least {min} code(s)"),
            field=f.label,
            min=f.min,
        )
    return None


def _evidence_problems(step: StepSpec, evidence: Mapping[str, Any], today: dt.date) -> list[Text]:
    problems: list[Text] = []
    known = {f.key for f in step.evidence}
    for key in evidence:
        if key not in known:
            problems.append(
                _fill(
                    tr(
                        "“{step}”没有证明材料项“{key}”（可填：{known}）",
                        "'{step}' has no evidence field '{key}' (fields: {known})",
                    ),
                    step=_title(step),
                    key=key,
                    known=", ".join(f.key for f in step.evidence) or "-",
                )
            )
    for f in step.evidence:
        value = evidence.get(f.key)
        if _is_empty(value):
            # An empty minimum-count list is a missing value, said as such, not as "too few".
            if f.required:
                problems.append(_fill(tr("缺少“{field}”", "'{field}' is missing"), field=f.label))
            continue
        problem = _field_problem(f, value, today)
        if problem is not None:
            problems.append(problem)
    return problems


def _appraisal_problems(
    step: StepSpec, evidence: Mapping[str, Any], settings: ProcedureSettings
) -> list[Text]:
    problems: list[Text] = []
    total = _int(evidence, "representatives_total")
    present = _int(evidence, "representatives_present")
    votes_for = _int(evidence, "votes_for")
    votes_against = _int(evidence, "votes_against")
    if total is not None and present is not None:
        needed = math.ceil(total * settings.attendance_quorum)
        if present > total:
            problems.append(
                _fill(
                    tr(
                        "到会代表 {present} 人多于代表总数 {total} 人",
                        "{present} representatives present is more than the {total} in total",
                    ),
                    present=present,
                    total=total,
                )
            )
        elif present < needed:
            problems.append(
                _fill(
                    tr(
                        "到会代表 {present}/{total} 人，不足 {quorum}，至少需要 {needed} 人，评议无效",
                        "only {present} of {total} representatives present, below {quorum}: at least {needed} "
                        "must attend for the appraisal to count",
                    ),
                    present=present,
                    total=total,
                    quorum=str(settings.attendance_quorum),
                    needed=needed,
                )
            )
    if (
        present is not None
        and votes_for is not None
        and votes_against is not None
        and votes_for + votes_against > present
    ):
        problems.append(
            _fill(
                tr(
                    "赞成 {votes_for} 票加反对 {votes_against} 票多于到会的 {present} 人",
                    "{votes_for} votes for plus {votes_against} against is more than the {present} present",
                ),
                votes_for=votes_for,
                votes_against=votes_against,
                present=present,
            )
        )
    return problems


def _publicity_problems(step: StepSpec, date: str, evidence: Mapping[str, Any], days: int) -> list[Text]:
    problems: list[Text] = []
    start = parse_date(evidence.get("start_date"))
    end = parse_date(evidence.get("end_date"))
    if start is not None and end is not None:
        if end < start:
            problems.append(
                _fill(
                    tr(
                        "“{step}”结束日期 {end} 早于开始日期 {start}",
                        "'{step}' ends ({end}) before it starts ({start})",
                    ),
                    step=step.label,
                    start=start.isoformat(),
                    end=end.isoformat(),
                )
            )
        else:
            period = (end - start).days + 1
            if period < days:
                problems.append(
                    _fill(
                        tr(
                            "“{step}”只有 {period} 天（{start} 至 {end}），至少需要 {days} 天",
                            "'{step}' lasted {period} days ({start} to {end}); at least {days} days are required",
                        ),
                        step=step.label,
                        period=period,
                        start=start.isoformat(),
                        end=end.isoformat(),
                        days=days,
                    )
                )
        day = parse_date(date)
        if day is not None and day < end:
            # Objections are only known once the period is over, so that is when it is recorded.
            problems.append(
                _fill(
                    tr(
                        "“{step}”要在公示期满后登记：办理日期 {day} 早于结束日期 {end}",
                        "'{step}' is recorded once its period is over: the step's date {day} is before its end ({end})",
                    ),
                    step=step.label,
                    day=day.isoformat(),
                    end=end.isoformat(),
                )
            )
    objections = _int(evidence, "objections")
    resolved = _int(evidence, "objections_resolved")
    resolved_field = step.field("objections_resolved")
    if (
        resolved is None
        and objections is not None
        and resolved_field is not None
        and not resolved_field.required
    ):
        resolved = 0  # an optional count left empty means none were resolved, not "unknown"
    if objections is not None and resolved is not None:
        if resolved > objections:
            problems.append(
                _fill(
                    tr(
                        "已处理异议 {resolved} 件多于收到的 {objections} 件",
                        "{resolved} objections resolved is more than the {objections} received",
                    ),
                    resolved=resolved,
                    objections=objections,
                )
            )
        elif resolved < objections:
            problems.append(
                _fill(
                    tr(
                        "“{step}”还有 {open} 件异议未处理（收到 {objections} 件，已处理 {resolved} 件）",
                        "'{step}' has {open} unresolved objection(s) ({objections} received, {resolved} resolved)",
                    ),
                    step=step.label,
                    open=objections - resolved,
                    objections=objections,
                    resolved=resolved,
                )
            )
    return problems


def check_step(
    household: Household,
    procedure: str,
    step: str,
    *,
    role: str,
    date: str,
    evidence: Mapping[str, Any],
    error_count: int,
    today: dt.date,
    exit_failures: Sequence[Text] = (),
    publicity_days: int | None = None,
    level: str | None = None,
    blocking: Sequence[Text] = (),
) -> list[Text]:
    """Every reason the step is refused for this household now; an empty list means it is allowed.

    `level` is the recording workspace's level: a step above it is refused (None: not checked,
    as in a demo workspace)."""
    procedures, settings = _catalogue()
    spec = procedures.get(procedure)
    if spec is None:
        return [
            _fill(
                tr(
                    "未知的程序“{procedure}”（已定义：{known}）",
                    "unknown procedure '{procedure}' (defined: {known})",
                ),
                procedure=procedure,
                known=", ".join(procedures),
            )
        ]
    step_spec = spec.step(step)
    if step_spec is None:
        return [
            _fill(
                tr(
                    "“{procedure}”没有步骤“{step}”（步骤：{known}）",
                    "'{procedure}' has no step '{step}' (steps: {known})",
                ),
                procedure=spec.label,
                step=step,
                known=", ".join(s.key for s in spec.steps),
            )
        ]
    days = spec.publicity_days if publicity_days is None else publicity_days
    above = step_refusal(_step_title(spec.label, step_spec.label), step_spec.level, level) if level else None
    return ([above] if above else []) + _step_reasons(
        _sequence_problems(household, spec, step_spec), _floor(effective(household.events)), step_spec,
        role=role, date=date, evidence=evidence, error_count=error_count, today=today,
        exit_failures=exit_failures, days=days, settings=settings, blocking=blocking,
    )


def _step_reasons(
    sequence: list[Text],
    floor: _Floor | None,
    step_spec: StepSpec,
    *,
    role: str,
    date: str,
    evidence: Mapping[str, Any],
    error_count: int,
    today: dt.date,
    exit_failures: Sequence[Text],
    days: int,
    settings: ProcedureSettings,
    blocking: Sequence[Text] = (),
) -> list[Text]:
    """check_step for a known step, once its sequence problems and date floor are known.
    `error_count` counts the household's errors that block this procedure; `blocking` their
    messages, named in the refusal."""
    reasons = sequence
    reasons += _role_problems(role, step_spec)
    if error_count > 0 and blocking:
        shown = "；".join(t.zh for t in blocking[:3]), "; ".join(t.en for t in blocking[:3])
        more = (f"（另有 {len(blocking) - 3} 个）", f" (and {len(blocking) - 3} more)") if len(blocking) > 3 else ("", "")
        reasons.append(Text(f"该户还有 {error_count} 个校验错误阻止办理此步骤，须先改正：{shown[0]}{more[0]}",
                            f"the household still has {error_count} validation error(s) that block this step; "
                            f"correct them first: {shown[1]}{more[1]}"))
    elif error_count > 0:
        reasons.append(
            _fill(
                tr(
                    "该户还有 {count} 个校验错误，改正后才能办理任何程序步骤",
                    "the household still has {count} validation error(s); every procedure step needs an error-free household",
                ),
                count=error_count,
            )
        )
    reasons += _date_problems(floor, step_spec, date, evidence, today)
    reasons += _evidence_problems(step_spec, evidence, today)
    if step_spec.kind == "appraisal":
        reasons += _appraisal_problems(step_spec, evidence, settings)
    elif step_spec.kind == "publicity":
        reasons += _publicity_problems(step_spec, date, evidence, days)
    elif step_spec.kind == "verification":
        reasons += [
            _fill(tr("未达到退出标准：{failure}", "exit criteria not met: {failure}"), failure=failure)
            for failure in exit_failures
        ]
    return reasons


def _apply(household: Household, event: ProcedureEvent) -> None:
    household.events.append(event)
    household.status = _status_after_event(household.status, event)


def perform_step(
    household: Household,
    procedure: str,
    step: str,
    *,
    role: str,
    user: str,
    date: str,
    evidence: Mapping[str, Any],
    error_count: int,
    today: dt.date,
    exit_failures: Sequence[Text] = (),
    publicity_days: int | None = None,
    level: str | None = None,
    blocking: Sequence[Text] = (),
) -> ProcedureEvent:
    """Record the step on the household (event appended, status moved) or raise ProcedureRefused.

    Nothing is saved here: the store writes the household and its new event in one transaction.
    """
    reasons = check_step(
        household,
        procedure,
        step,
        role=role,
        date=date,
        evidence=evidence,
        error_count=error_count,
        today=today,
        exit_failures=exit_failures,
        publicity_days=publicity_days,
        level=level,
        blocking=blocking,
    )
    if not user.strip():
        # The audit trail must name a person behind every step.
        reasons.append(tr("没有办理人", "no user is named for the step"))
    if reasons:
        raise ProcedureRefused(reasons, where=household.household_no or household.id)
    event = ProcedureEvent(
        procedure=procedure,
        step=step,
        date=date,
        role=role,
        user=user,
        evidence=copy.deepcopy(dict(evidence)),
        recorded_at=SYSTEM_CLOCK.now().isoformat(timespec="seconds"),
    )
    _apply(household, event)
    log.info(
        "household %s: %s.%s by %s (%s) -> %s", household.id, procedure, step, user, role, household.status
    )
    return event


# ---------------------------------------------------------------------------- replay


def _replay(
    events: Sequence[ProcedureEvent], publicity_days: int | None, today: dt.date | None, start: str = "applicant"
) -> tuple[str, list[Text]]:
    """Replays the events from a new household of status `start`: (status reached, problems).

    Same result as calling check_step on a scratch household event by event, but the open
    procedure, the status and the date floor are carried along instead of rescanned from the
    history at each event (which made a long history quadratic); messages are built only for
    events that have problems.
    """
    procedures, settings = _catalogue()
    day_limit = today or dt.date.max
    # The kind of household made its start (initial_status): an ordinary one starts not_identified.
    kind = GENERAL_HOUSEHOLD if start == "not_identified" else "1"
    scratch = Household(village_code="", status=start, fields={"household_kind": kind})
    done = scratch.events
    status = start
    problems: list[Text] = _void_problems(events)
    if any(is_void(e) for e in events):
        events = effective(events)
    # The open procedure and its last step, as open_procedure() would find them.
    open_spec: ProcedureSpec | None = None
    open_last: StepSpec | None = None
    floor: _Floor | None = None
    for number, event in enumerate(events, 1):
        spec = procedures.get(event.procedure)
        step = spec.step(event.step) if spec is not None else None
        found = (spec, step) if spec is not None and step is not None else None
        # Validation errors and exit rules are judged when the step is taken; the record of
        # what happened is what can be checked again later.
        if spec is None or step is None:
            reasons = check_step(
                scratch, event.procedure, event.step, role=event.role, date=event.date, evidence=event.evidence,
                error_count=0, today=day_limit, publicity_days=publicity_days,
            )
        else:
            if open_spec is not None:
                assert open_last is not None
                legal = spec is open_spec and step is spec.steps[open_last.index + 1]
            else:
                legal = (step is spec.steps[0] and status in spec.start_from and spec.applies_to_kind(kind)
                         and _after_met(spec, done))
            reasons = _step_reasons(
                [] if legal else _sequence_problems(scratch, spec, step), floor, step,
                role=event.role, date=event.date, evidence=event.evidence, error_count=0, today=day_limit,
                exit_failures=(), days=spec.publicity_days if publicity_days is None else publicity_days,
                settings=settings,
            )
        if not event.user.strip():
            reasons.append(tr("没有办理人", "no user is named for the step"))
        if reasons:
            title = _event_title(event, found)
            problems += [
                _fill(
                    tr("第 {number} 步（{title}）：{reason}", "event {number} ({title}): {reason}"),
                    number=number,
                    title=title,
                    reason=r,
                )
                for r in reasons
            ]
        # Applied even when wrong, so one bad event is reported once instead of tainting the rest.
        done.append(event)
        if spec is not None and step is not None:
            failed = step.kind == "appraisal" and not appraisal_passed(event.evidence, settings)
            # the status (_status_after_event)
            if step.index == 0 and spec.status_while_open:
                status = spec.status_while_open
            if failed:
                status = step.fail_status or status
            elif step is spec.last:
                status = spec.end_status
            # the open procedure (open_procedure)
            if open_spec is None or open_spec is not spec or step.index == 0:
                open_spec = spec
            open_last = step
            if failed or step is spec.last:
                open_spec = open_last = None
        scratch.status = status
        floor = _floor_after(event, found)
    return status, problems


def replay(
    events: Sequence[ProcedureEvent], publicity_days: int | None = None, *, today: dt.date | None = None,
    start: str = "applicant",
) -> list[Text]:
    """Every problem found replaying the events from a new household of status `start` (import
    checks); [] when legal."""
    return _replay(events, publicity_days, today, start)[1]


def replay_status(
    events: Sequence[ProcedureEvent], publicity_days: int | None = None, *, today: dt.date | None = None,
    start: str = "applicant",
) -> tuple[str | None, list[Text]]:
    """replay() and status_after() from one pass: (status or None when not legal, problems)."""
    status, problems = _replay(events, publicity_days, today, start)
    return (None if problems else status), problems


def history_problems(events: Sequence[ProcedureEvent], status: str, start: str = "applicant") -> list[Text]:
    """What is wrong with a record's history as imported: a step out of order, or a history that
    does not lead to the status it states (status only moves through procedures; it is refused
    rather than trusted). One replay gives both."""
    reached, problems = _replay(events, None, None, start)
    if not problems and (reached or start) != status:
        problems = [tr("状态“{s}”与程序记录不符", "status '{s}' does not follow from its procedure history", s=status)]
    return problems


def status_after(events: Sequence[ProcedureEvent], publicity_days: int | None = None,
                 start: str = "applicant") -> str | None:
    """The status the events lead to from `start`, or None when they are not a legal sequence."""
    status, problems = _replay(events, publicity_days, None, start)
    return None if problems else status


# ---------------------------------------------------------------------------- input helpers

_YES = frozenset({"是", "有", "y", "yes", "true", "1"})
_NO = frozenset({"否", "无", "n", "no", "false", "0"})


def _split_codes(text: str, list_key: str) -> list[str]:
    codes = code_lists()[list_key]
    items: list[str] = []
    # Labels themselves contain 、 (商品房、门面房), so split on it only when a piece is no label.
    for part in filter(None, re.split(r"[,，;；\n]+", text)):
        part = part.strip()
        if codes.find(part) is not None:
            items.append(part)
        else:
            items.extend(p for p in re.split(r"[、\s]+", part) if p)
    return [found.code if (found := codes.find(p)) else p for p in items]


def parse_evidence(step: StepSpec, raw: Mapping[str, str]) -> dict[str, Any]:
    """Evidence typed as text (CLI, spreadsheets) converted to field kinds.

    Values that do not convert are left as typed, so check_step names them instead of guessing.
    """
    out: dict[str, Any] = {}
    for key, text in raw.items():
        f = step.field(key)
        value: Any = text.strip() if isinstance(text, str) else text
        if value == "":
            continue
        if f is not None and isinstance(value, str):
            if f.kind == "integer" and re.fullmatch(r"[+-]?\d+", value):
                value = int(value)
            elif f.kind == "yes_no" and value.lower() in _YES | _NO:
                value = value.lower() in _YES
            elif f.kind == "multi_code" and f.codes:
                value = _split_codes(value, f.codes)
        out[key] = value
    return out


def level_refusal(event: ProcedureEvent, level: str, events: Sequence[ProcedureEvent] = ()) -> Text | None:
    """Why a workspace or device of `level` may not record this event's step (None: it may, or
    the step is unknown, which the replay reports). A void mark is of its step's level: `events`
    is the history holding the step it voids."""
    if is_void(event):
        target = next((e for e in events if e.id == event.evidence.get("event") and not is_void(e)), None)
        if target is None:
            return None
        why = level_refusal(target, level)
        return None if why is None else _fill(tr("作废{why}", "voiding: {why}"), why=why)
    found = _spec_of(event)
    if found is None:
        return None
    spec, step = found
    return step_refusal(_step_title(spec.label, step.label), step.level, level)


def as_held_at(households: Sequence[Household], level: str) -> Sequence[Household]:
    """The households as a workspace of `level` registers them itself: each history cut before
    its first step above that level (a village records no township review), the status to match.
    For demo data and benches that fill a village or township workspace (a full register, with
    its county approvals, comes in at the county and goes down in a return bundle). In place."""
    for hh in households:
        cut = next((i for i, e in enumerate(hh.events) if level_refusal(e, level, hh.events) is not None),
                   len(hh.events))
        if cut < len(hh.events):
            hh.events = hh.events[:cut]
            hh.status = status_from(hh.events, initial_status(hh.fields))
    return households


def events_above(events: Sequence[ProcedureEvent], level: str) -> list[Text]:
    """For each event of a step above `level`, why it cannot come in at that level: an import
    file's history is trusted only up to the importing workspace's level (povdesk.core.authority)."""
    out: list[Text] = []
    for e in events:
        why = level_refusal(e, level, events)
        if why is not None:
            out.append(_fill(tr("{why}（{date} 的记录，用户 {user}）；这样的历史由县里通过回传同步包下发",
                                "{why} (recorded {date} by {user}); such history comes down from the county in a "
                                "return bundle"), why=why, date=e.date, user=e.user))
    return out


# ---------------------------------------------------------------------------- voiding a step
#
# A mistaken step is voided, never deleted: a void mark is itself an event, appended to the
# history (procedure VOID, evidence {"event": the voided step's id, "reason": why}), so it is
# audited, travels in bundles like any step and merges by id. A voided step stays in the history,
# shown marked; it moves no status and opens or continues no procedure.

VOID = "void"


def is_void(event: ProcedureEvent) -> bool:
    return event.procedure == VOID


def void_marks(events: Sequence[ProcedureEvent]) -> dict[str, ProcedureEvent]:
    """The void mark of each voided step, by the step's id (the first mark wins)."""
    out: dict[str, ProcedureEvent] = {}
    for e in events:
        target = e.evidence.get("event") if is_void(e) else None
        if isinstance(target, str):
            out.setdefault(target, e)
    return out


def effective(events: Sequence[ProcedureEvent]) -> list[ProcedureEvent]:
    """The steps that count: neither void marks nor voided."""
    if not any(is_void(e) for e in events):
        return list(events)
    marks = void_marks(events)
    return [e for e in events if not is_void(e) and e.id not in marks]


def _role_rank(role: str) -> int:
    level = role_level(role)
    return rank(level) if level is not None else -1


def _void_reasons(target: ProcedureEvent | None, mark: ProcedureEvent) -> list[Text]:
    """Why this void mark cannot stand, whatever the history around it."""
    reasons: list[Text] = []
    if target is None:
        reasons.append(tr("要作废的步骤不在这户的办理记录中", "the step to void is not in the household's history"))
    elif is_void(target):
        reasons.append(tr("作废记录本身不能再作废", "a void cannot itself be voided"))
    elif _role_rank(mark.role) < _role_rank(target.role) or role_level(mark.role) is None:
        reasons.append(_fill(tr("“{role}”不能作废“{by}”办理的步骤：只有办理该步骤的角色或更高一级可以作废",
                                "a '{role}' cannot void a step recorded by a '{by}': only that role or a higher "
                                "level may"), role=_role_label(mark.role), by=_role_label(target.role)))
    reason = mark.evidence.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        reasons.append(tr("作废步骤必须写明原因", "voiding a step needs a reason"))
    if not mark.user.strip():
        reasons.append(tr("没有办理人", "no user is named for the step"))
    if parse_date(mark.date) is None:
        reasons.append(tr("作废日期无效", "the date of the void is not a valid date"))
    return reasons


def _void_problems(events: Sequence[ProcedureEvent]) -> list[Text]:
    """Every void mark in the history that cannot stand (numbered as the replay numbers events)."""
    if not any(is_void(e) for e in events):
        return []
    by_id = {e.id: e for e in events}
    problems: list[Text] = []
    for number, e in enumerate(events, 1):
        if is_void(e):
            ref = e.evidence.get("event")
            target = by_id.get(ref) if isinstance(ref, str) else None
            problems += [_fill(tr("第 {number} 步（作废）：{reason}", "event {number} (void): {reason}"),
                               number=number, reason=r) for r in _void_reasons(target, e)]
    return problems


def void_step(household: Household, event_id: str, *, role: str, user: str, date: str, reason: str,
              level: str | None = None) -> ProcedureEvent:
    """Void one recorded step of the household (a void mark appended, the status derived again)
    or raise ProcedureRefused with every reason.

    Allowed to the role that recorded the step or a higher level's, at a workspace of the step's
    level or above; the history left must stay a legal sequence (void the latest steps first: a
    step in the middle of a procedure cannot be taken out from under the ones after it), except that
    a history already broken by clashing steps may be mended by voiding one side.
    """
    target = next((e for e in household.events if e.id == event_id), None)
    where = household.household_no or household.id
    mark = ProcedureEvent(procedure=VOID, step=VOID, date=date, role=role, user=user,
                          evidence={"event": event_id, "reason": reason.strip()},
                          recorded_at=SYSTEM_CLOCK.now().isoformat(timespec="seconds"))
    reasons = _void_reasons(target, mark)
    if target is not None and target.id in void_marks(household.events):
        reasons.append(tr("这个步骤已经作废过", "this step has already been voided"))
    if level is not None and target is not None and not is_void(target):
        above = level_refusal(target, level)
        if above is not None:
            reasons.append(_fill(tr("作废{why}", "voiding: {why}"), why=above))
    if not reasons:
        start = initial_status(household.fields)
        before = len(_replay(household.events, None, None, start)[1])
        after = _replay([*household.events, mark], None, None, start)[1]
        if len(after) > before:
            reasons.append(tr("作废后办理记录前后接不上：请先作废这个步骤之后的步骤",
                              "voiding it would leave the steps after it hanging: void the later steps first"))
    if reasons:
        raise ProcedureRefused(reasons, where=where)
    household.events.append(mark)
    household.status = status_from(household.events, initial_status(household.fields))
    log.info("household %s: step %s voided by %s (%s)", household.id, event_id, user, role)
    return mark
