"""Runs the rules of catalog.py over households; written for speed (a county is 400,000 people)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from povdesk.core import idnumber
from povdesk.core import monitoring as mon
from povdesk.core.codes import CodeList, code_list
from povdesk.core.forms import FieldSpec, FormSpec, household_form, member_form, with_context
from povdesk.core.income import (
    COST_ITEMS,
    INCOME_ITEMS,
    PROPERTY_ITEMS,
    TRANSFER_ITEMS,
    compliant_expenses,
    counts_in_household,
    reference_year,
    summarize,
)
from povdesk.core.model import (
    HEAD_RELATION,
    POOR_STATUSES,
    SPOUSE_RELATION,
    STATUS_LABELS,
    Household,
    Member,
    parse_date,
)
from povdesk.core.regions import id_region_status, region_known_for_id
from povdesk.core.rules.catalog import RULES
from povdesk.i18n import Text


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str
    message: Text
    household_id: str
    household_no: str = ""
    member_id: str | None = None
    field: str | None = None
    explained: bool = False  # a warning with a recorded explanation no longer counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message.as_dict(),
            "household_id": self.household_id,
            "household_no": self.household_no,
            "member_id": self.member_id,
            "field": self.field,
            "explained": self.explained,
        }


@dataclass(frozen=True, slots=True)
class RuleContext:
    today: date  # the day the rules judge by (ages, dates in the future): see povdesk.clock
    # The monitoring thresholds and time limits in force: the workspace's (a province's own table
    # laid over the bundled one, `povdesk thresholds import`), else the bundled table.
    thresholds: mon.ThresholdTable | None = None

    @property
    def table(self) -> mon.ThresholdTable:
        return self.thresholds if self.thresholds is not None else mon.thresholds()


def _age(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class _Collector:
    """Builds findings for one household; explanations are looked up once per finding."""

    __slots__ = ("hh", "out", "explanations", "table")

    def __init__(self, hh: Household, table: mon.ThresholdTable | None = None) -> None:
        self.hh = hh
        self.table = table if table is not None else mon.thresholds()
        self.out: list[Finding] = []
        expl = hh.fields.get("explanations")
        self.explanations: dict[str, str] = expl if isinstance(expl, dict) else {}

    def add(self, rule_id: str, member: Member | None = None, fld: str | None = None, **values: object) -> None:
        rule = RULES[rule_id]
        explained = False
        if rule.severity == "warning" and self.explanations:
            key = f"{rule_id}:{member.id}" if member else rule_id
            explained = bool(self.explanations.get(key))
        self.out.append(
            Finding(rule_id, rule.severity, rule.text(**values), self.hh.id, self.hh.household_no,
                    member.id if member else None, fld, explained)
        )


# ---------------------------------------------------------------- field reach (from form specs)

_NUMBER = (int, float)
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")
FieldCheck = Callable[[Any, "_Collector", "Member | None", date], None]


def _compile_field(spec: FieldSpec) -> FieldCheck:
    """One closure per field: the common case (a valid value) costs a few comparisons."""
    label = Text(spec.zh, spec.en)
    key = spec.key
    kind = spec.kind
    lo, hi = spec.min, spec.max
    pattern = re.compile(spec.pattern) if spec.pattern else None
    codes = code_list(spec.codes).by_code if spec.codes else None
    max_items = spec.max_items
    max_length = spec.max_length

    def lbl(c: _Collector, rule: str, m: Member | None, **v: object) -> None:
        c.add(rule, m, key, label=label, **v)

    def check(value: Any, c: _Collector, m: Member | None, today: date) -> None:
        if kind == "text":
            if not isinstance(value, str):
                lbl(c, "F-TYPE", m, value=value, kind="text")
            elif max_length and len(value) > max_length:
                lbl(c, "F-LENGTH", m, max=max_length)
            elif pattern and not pattern.match(value):
                lbl(c, "F-PATTERN", m)
        elif kind == "code":
            if type(value) is not str or value not in codes:  # type: ignore[operator]
                lbl(c, "F-CODE", m, value=value)
        elif kind in ("integer", "decimal", "money"):
            if isinstance(value, bool) or not isinstance(value, _NUMBER) or (kind == "integer" and not isinstance(value, int)):
                lbl(c, "F-TYPE", m, value=value, kind=kind)
            elif (lo is not None and value < lo) or (hi is not None and value > hi):
                lbl(c, "F-RANGE", m, value=value, min=lo, max=hi)
        elif kind == "yes_no":
            if not isinstance(value, bool):
                lbl(c, "F-TYPE", m, value=value, kind="yes/no")
        elif kind == "date":
            if parse_date(value) is None:
                lbl(c, "F-TYPE", m, value=value, kind="date")
        elif kind == "multi_code":
            if not isinstance(value, list):
                lbl(c, "F-TYPE", m, value=value, kind="list of codes")
                return
            for v in value:
                if type(v) is not str or v not in codes:  # type: ignore[operator]
                    lbl(c, "F-CODE", m, value=v)
            if max_items is not None and len(value) > max_items:
                lbl(c, "F-MAX-ITEMS", m, max=max_items)
        elif kind == "phone":
            if not isinstance(value, str) or not _PHONE.match(value):
                lbl(c, "F-PHONE", m)
        elif kind == "id_number":
            if isinstance(value, list | dict):  # a number gets ID-INVALID's own advice
                lbl(c, "F-TYPE", m, value=value, kind="text")
            else:
                _check_id_number(value, c, m, key, today)

    return check


def _check_id_number(value: Any, c: _Collector, m: Member | None, key: str, today: date) -> None:
    if m is not None and m.fields.get("id_type") not in (None, "1", "2"):
        return  # other documents have no checkable structure
    try:
        info = idnumber.parse(value, today=today)
    except idnumber.IdNumberError as exc:
        c.add("ID-INVALID", m, key, reason=exc.text)
        return
    if info.legacy15:
        c.add("ID-15", m, key, upgraded=info.number)
    if not region_known_for_id(info.region_code):
        # People keep the number they were born with, so an abolished code is only a warning.
        why = (Text("为已撤销的旧区划", "is a former, abolished division")
               if id_region_status(info.region_code) == "former"
               else Text("不在区划代码表中", "is not a known division"))
        c.add("ID-REGION", m, key, region=info.region_code, why=why)
    if m is not None:
        sex = m.fields.get("sex")
        if sex in ("1", "2") and sex != info.sex:
            c.add("ID-SEX", m, "sex", id_sex=Text("男", "male") if info.sex == "1" else Text("女", "female"))
        birth = m.fields.get("birth_date")
        if birth and birth != info.birth_date.isoformat():
            c.add("ID-BIRTH", m, "birth_date", id_birth=info.birth_date.isoformat())


# How _check_values may accept a filled value without calling its check (the common case): the
# value is one the full check would pass without a finding. Anything else goes to the check.
_FAST_NONE, _FAST_BOOL, _FAST_CODE, _FAST_TEXT, _FAST_INT, _FAST_NUMBER, _FAST_DATE, _FAST_PHONE = range(8)
_fromisoformat = date.fromisoformat  # what parse_date accepts, for a non-empty str
_phone_match = _PHONE.match

# (key, visible_if field, visible_if values, required, fast kind, codes, min, max, check, spec)
_Entry = tuple[str, "str | None", "tuple[Any, ...]", bool, int, Any, Any, Any, FieldCheck, FieldSpec]


def _entry(spec: FieldSpec) -> _Entry:
    kind = spec.kind
    fast = _FAST_NONE
    if kind == "yes_no":
        fast = _FAST_BOOL
    elif kind == "code":
        fast = _FAST_CODE
    elif kind == "text" and not spec.pattern:
        fast = _FAST_TEXT
    elif kind == "integer":
        fast = _FAST_INT
    elif kind in ("decimal", "money"):
        fast = _FAST_NUMBER
    elif kind == "date":
        fast = _FAST_DATE
    elif kind == "phone":
        fast = _FAST_PHONE
    vis = spec.visible_if
    return (spec.key, vis.field if vis is not None else None, vis.values if vis is not None else (),
            spec.required, fast, code_list(spec.codes).by_code if spec.codes and kind == "code" else None,
            spec.min, spec.max_length if kind == "text" else spec.max, _compile_field(spec), spec)


class _Probe:
    """Stands in for a _Collector where only whether a check would add a finding matters."""

    __slots__ = ("hit",)

    def __init__(self) -> None:
        self.hit = False

    def add(self, *_args: object, **_values: object) -> None:
        self.hit = True


def _passes(check: FieldCheck, value: Any, m: Member | None, today: date) -> bool:
    """Whether `check` finds nothing in `value` (for kinds without a quick test)."""
    probe = _Probe()
    check(value, probe, m, today)  # type: ignore[arg-type]
    return not probe.hit


def _is_date(value: str) -> bool:
    """Whether parse_date reads the (non-empty) text as a date."""
    try:
        _fromisoformat(value)
        return True
    except ValueError:
        return False


# The quick test of a filled value by fast kind, as a Python expression over the value `v` and the
# entry's constants `c` (codes), `lo`, `hi`: true only when the entry's check would pass it.
_EMPTY = "({v} is None or {v} == '' or {v} == [])"


def _quick_expr(entry: _Entry, v: str, n: int, ns: dict[str, Any]) -> str:
    """An expression true only when the filled value `v` passes the entry's check (the names it
    uses are put in `ns`, suffixed with `n`; no key or value of the data is ever in the source)."""
    _key, _vf, _vv, _req, fast, codes, lo, hi, check, spec = entry
    bounds = ""
    if lo is not None:
        ns[f"lo{n}"] = lo
        bounds += f" and {v} >= lo{n}"
    if hi is not None:
        ns[f"hi{n}"] = hi
        bounds += f" and {v} <= hi{n}"
    if fast == _FAST_BOOL:
        return f"{v}.__class__ is bool"
    if fast == _FAST_CODE:
        ns[f"c{n}"] = codes
        return f"({v}.__class__ is str and {v} in c{n})"
    if fast == _FAST_TEXT:
        return f"({v}.__class__ is str and len({v}) <= hi{n})" if hi else f"{v}.__class__ is str"
    if fast == _FAST_INT:
        return f"({v}.__class__ is int{bounds})"
    if fast == _FAST_NUMBER:
        return f"(({v}.__class__ is float or {v}.__class__ is int){bounds})"
    if fast == _FAST_DATE:
        ns["is_date"] = _is_date
        return f"({v}.__class__ is str and is_date({v}))"
    if fast == _FAST_PHONE:
        ns["phone"] = _phone_match
        return f"({v}.__class__ is str and phone({v}) is not None)"
    if spec.kind == "text" and spec.pattern and not spec.max_length:
        ns[f"p{n}"] = re.compile(spec.pattern).match
        return f"({v}.__class__ is str and p{n}({v}) is not None)"
    # dates, phones, ID numbers, lists of codes: the check itself, on a probe
    ns[f"k{n}"] = check
    return f"passes(k{n}, {v}, m, today)"


_QuickTest = Callable[[dict[str, Any], "Member | None", date], bool]
_MAX_SHAPES = 4096  # key orders remembered per section; past that, the values go the usual way


class _Checks:
    """The entries of one section (or a form's plain sections), in form order, split for speed:
    `optional` maps each field that is neither required nor shown only under a condition to what
    its quick test needs (such a field matters only when the values hold it); `constrained` are
    the others, in form order.

    `quick` holds, per shape of values seen (their keys in order), a function made once for that
    shape that tells in one expression that the values have no finding at all; when it says no,
    the values are checked the usual way (which finds what there is to find)."""

    __slots__ = ("entries", "optional", "constrained", "quick", "_by_key")

    def __init__(self, entries: tuple[_Entry, ...]) -> None:
        self.entries = entries
        keys = [e[0] for e in entries]
        optional: dict[str, tuple[int, Any, Any, Any, FieldCheck]] = {}
        constrained: list[_Entry] = []
        by_key: dict[str, _Entry] = {}
        for e in entries:
            key, vis_field, _vis_values, required, fast, codes, lo, hi, check, _spec = e
            if vis_field is None and not required and keys.count(key) == 1:
                optional[key] = (fast, codes, lo, hi, check)
                by_key[key] = e
            else:
                constrained.append(e)
        self.optional = optional
        self.constrained = tuple(constrained)
        self.quick: dict[tuple[str, ...], _QuickTest] = {}
        self._by_key = by_key

    def quick_test(self, shape: tuple[str, ...]) -> _QuickTest | None:
        """The no-finding test for values with keys `shape` (in that order), made on first use."""
        test = self.quick.get(shape)
        if test is None and len(self.quick) < _MAX_SHAPES:
            test = self.quick[shape] = self._make(shape)
        return test

    def _make(self, shape: tuple[str, ...]) -> _QuickTest:
        ns: dict[str, Any] = {"passes": _passes}
        terms: list[str] = []
        where = {key: f"v{i}" for i, key in enumerate(shape)}
        n = 0
        # The optional fields the values hold: empty, or a value their check passes.
        for key, v in where.items():
            e = self._by_key.get(key)
            if e is not None:
                n += 1
                # (empty first where the check itself runs: it takes no empty value)
                expr = _quick_expr(e, v, n, ns)
                terms.append(f"({_EMPTY.format(v=v)} or {expr})" if expr.startswith("passes(")
                             else f"({expr} or {_EMPTY.format(v=v)})")
        # The others, as _check_ordered judges them.
        for e in self.constrained:
            key, vis_field, vis_values, required = e[0], e[1], e[2], e[3]
            n += 1
            hidden = ""
            if vis_field is not None:
                if vis_field in where:
                    ns[f"vv{n}"] = vis_values
                    hidden = f"{where[vis_field]} not in vv{n}"
                elif None not in vis_values:
                    continue  # the condition's field is not there: never shown
            if key not in where:  # not filled
                if required:
                    if not hidden:
                        return _never
                    terms.append(f"({hidden})")
                continue
            v = where[key]
            term = _quick_expr(e, v, n, ns)
            term = f"not {_EMPTY.format(v=v)} and {term}" if required else f"{_EMPTY.format(v=v)} or {term}"
            terms.append(f"({hidden} or {term})" if hidden else f"({term})")
        unpack = "".join(f"{v}, " for v in where.values())
        body = " and ".join(terms) or "True"
        src = (f"def test(values, m, today):\n"
               f"    {unpack}= values.values()\n" if where else "def test(values, m, today):\n")
        src += f"    return {body}\n"
        exec(compile(src, "<povdesk quick field test>", "exec"), ns)  # noqa: S102 (source made here)
        test: _QuickTest = ns["test"]
        return test


def _never(_values: dict[str, Any], _m: Member | None, _today: date) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class _CompiledForm:
    plain: _Checks
    sections: dict[str, _Checks]


_compiled: dict[str, _CompiledForm] = {}


def _compiled_form(form: FormSpec) -> _CompiledForm:
    cf = _compiled.get(form.key)
    if cf is None:
        sections = {s.key: tuple(_entry(f) for f in s.fields) for s in form.sections}
        plain = tuple(pair for s in form.sections if not (s.per_year or s.repeating) for pair in sections[s.key])
        cf = _compiled[form.key] = _CompiledForm(_Checks(plain), {k: _Checks(v) for k, v in sections.items()})
    return cf


def _check_values(checks: _Checks, values: dict[str, Any], c: _Collector, m: Member | None, today: date) -> None:
    """The field checks of `checks` over `values`, findings in form order.

    The optional fields come first, in the order of the values (only those present can fail):
    while none has a finding, the constrained fields follow in form order and the findings are
    those of the one ordered pass. On the first finding among the optional ones, what they added
    is taken back and the ordered pass runs over every entry (a household with findings is rare)."""
    quick = checks.quick.get(tuple(values)) or checks.quick_test(tuple(values))
    if quick is not None and quick(values, m, today):
        return
    out = c.out
    start = len(out)
    optional = checks.optional
    for key, value in values.items():
        o = optional.get(key)
        if o is None or value is None or value == "" or value == []:
            continue
        fast, codes, lo, hi, check = o
        if fast:
            t = type(value)
            if fast == _FAST_NUMBER:
                if (t is float or t is int) and (lo is None or value >= lo) and (hi is None or value <= hi):
                    continue
            elif fast == _FAST_BOOL:
                if t is bool:
                    continue
            elif fast == _FAST_CODE:
                if t is str and value in codes:
                    continue
            elif fast == _FAST_TEXT:
                if t is str and (not hi or len(value) <= hi):
                    continue
            elif fast == _FAST_DATE:
                if t is str:
                    try:
                        _fromisoformat(value)
                        continue
                    except ValueError:
                        pass
            elif fast == _FAST_PHONE:
                if t is str and _phone_match(value):
                    continue
            elif t is int and (lo is None or value >= lo) and (hi is None or value <= hi):
                continue
        check(value, c, m, today)
        if len(out) != start:
            del out[start:]
            _check_ordered(checks.entries, values, c, m, today)
            return
    _check_ordered(checks.constrained, values, c, m, today)


def _check_ordered(entries: tuple[_Entry, ...], values: dict[str, Any], c: _Collector,
                   m: Member | None, today: date) -> None:
    get = values.get
    for key, vis_field, vis_values, required, fast, codes, lo, hi, check, spec in entries:
        value = get(key)
        if vis_field is not None and get(vis_field) not in vis_values:
            continue
        if value is None or value == "" or value == []:
            if required:
                c.add("F-REQUIRED", m, key, label=Text(spec.zh, spec.en))
            continue
        if fast:
            t = type(value)
            if fast == _FAST_BOOL:
                if t is bool:
                    continue
            elif fast == _FAST_CODE:
                if t is str and value in codes:
                    continue
            elif fast == _FAST_TEXT:
                if t is str and (not hi or len(value) <= hi):
                    continue
            elif fast == _FAST_INT:
                if t is int and (lo is None or value >= lo) and (hi is None or value <= hi):
                    continue
            elif fast == _FAST_NUMBER:
                if (t is float or t is int) and (lo is None or value >= lo) and (hi is None or value <= hi):
                    continue
            elif fast == _FAST_DATE:
                if t is str:
                    try:
                        _fromisoformat(value)
                        continue
                    except ValueError:
                        pass
            elif t is str and _phone_match(value):
                continue
        check(value, c, m, today)


# ---------------------------------------------------------------- member rules within a household

_RELATIONS = code_list("relation")
_STUDENT = code_list("student_status")
_EDUCATION = code_list("education")
_LABOUR = code_list("labour")
_MIGRANT = code_list("migrant_status")


def _label(codes: CodeList, code: str | None) -> Text:
    return Text(codes.label(code or "", "zh"), codes.label(code or "", "en"))


@dataclass(slots=True)
class _MemberFacts:
    member: Member
    age: int | None
    relation: str | None
    sex: str | None
    health: str | None
    able: bool
    student: bool
    away: bool


def _member_rules(c: _Collector, m: Member, today: date) -> _MemberFacts:
    f = m.fields
    birth = parse_date(f.get("birth_date"))
    if birth is not None and birth > today:
        c.add("BIRTH-FUTURE", m, "birth_date", value=f.get("birth_date"))
    age = _age(birth, today)
    relation = f.get("relation")
    sex = f.get("sex")
    rel_sex = _RELATIONS.attr(relation, "sex")
    if rel_sex and sex in ("1", "2") and rel_sex != sex:
        c.add("REL-SEX", m, "relation", relation=_label(_RELATIONS, relation))

    education, student_status = f.get("education"), f.get("student_status")
    if bool(education) == bool(student_status):
        c.add("EDU-ONE", m, "student_status")
    if age is not None:
        level = _STUDENT.attr(student_status, "level")
        if level is not None:
            if age <= 14 and level >= 3:
                c.add("EDU-AGE-HIGH", m, "student_status", age=age, level=_label(_STUDENT, student_status))
            if age >= 20 and level <= 1:
                c.add("EDU-AGE-LOW", m, "student_status", age=age, level=_label(_STUDENT, student_status))
        if education == "7" and age >= 7:
            c.add("EDU-PRESCHOOL", m, "education", age=age)
        if 7 <= age <= 15 and not student_status and not f.get("dropout_reason"):
            c.add("EDU-DROPOUT", m, "dropout_reason", age=age)

    labour = f.get("labour")
    health = f.get("health")
    if age is not None and 16 <= age <= 65:
        if not labour:
            c.add("LAB-REQUIRED", m, "labour")
        elif health == "1" and age <= 60 and labour in ("4", "5"):
            c.add("LAB-HEALTHY", m, "labour", age=age, labour=_label(_LABOUR, labour))
    able = bool(_LABOUR.attr(labour, "able", False))

    away = bool(_MIGRANT.attr(f.get("migrant_status"), "away", False))
    months = f.get("migrant_months") or 0
    place = f.get("migrant_place")
    if bool(place) != (isinstance(months, int) and months > 0):
        c.add("MIG-PLACE", m, "migrant_place")
    if (away or months) and labour in ("4", "5"):
        c.add("MIG-ABLE", m, "migrant_status")
    return _MemberFacts(m, age, relation, sex, health, able, bool(student_status) and student_status != "01",
                        away or (isinstance(months, int) and months > 0))


def _relation_ages(c: _Collector, facts: list[_MemberFacts]) -> None:
    head = next((x for x in facts if x.relation == HEAD_RELATION), None)
    if head is None or head.age is None:
        return
    for x in facts:
        if x is head or x.age is None:
            continue
        gen = _RELATIONS.attr(x.relation, "gen")
        if not gen:
            continue
        gap = (x.age - head.age) * (1 if gen > 0 else -1)  # years the elder is older
        if gap <= 0:
            c.add("REL-AGE", x.member, "relation", relation=_label(_RELATIONS, x.relation), age=x.age,
                  head_age=head.age)
        elif gap < 12 * abs(gen):
            c.add("REL-AGE-GAP", x.member, "relation", relation=_label(_RELATIONS, x.relation), gap=gap)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _household_rules(c: _Collector, hh: Household, facts: list[_MemberFacts], today: date) -> None:
    f = hh.fields
    living = [x for x in facts if counts_in_household(x.member)]
    heads = [x for x in living if x.relation == HEAD_RELATION]
    spouses = [x for x in living if x.relation == SPOUSE_RELATION]
    if not living:
        c.add("HH-EMPTY", None, None)
    elif len(heads) != 1:
        c.add("HH-HEAD", None, None, count=len(heads))
    if len(spouses) > 1:
        c.add("HH-SPOUSE", None, None, count=len(spouses))
    if len(heads) == 1 and len(spouses) == 1 and heads[0].sex and heads[0].sex == spouses[0].sex:
        c.add("HEAD-SPOUSE-SEX", spouses[0].member, "sex")
    ids = Counter(x.member.id_number for x in facts if x.member.id_number)
    for number, n in ids.items():
        if n > 1:
            dup = next(x.member for x in facts if x.member.id_number == number)
            c.add("HH-DUP-ID", dup, "id_number", count=n)
    _relation_ages(c, living)

    main = f.get("main_cause")
    others = f.get("other_causes") or []
    causes = {x for x in (main, *(others if isinstance(others, list) else ())) if type(x) is str}
    if "01" in causes and not any(x.health in ("2", "3") for x in living):
        c.add("CAUSE-ILL", None, "main_cause" if main == "01" else "other_causes")
    if "02" in causes and not any(x.health == "4" for x in living):
        c.add("CAUSE-DISABLED", None, "main_cause" if main == "02" else "other_causes")
    if "03" in causes and not any(x.student for x in living):
        c.add("CAUSE-SCHOOL", None, "main_cause" if main == "03" else "other_causes")
    if isinstance(others, list) and main in others:
        c.add("CAUSE-OTHER-DUP", None, "other_causes")

    size = len(living)
    if size:
        arable = _num(f.get("arable_land")) / size
        if arable > 50:
            c.add("LAND-ARABLE", None, "arable_land", value=round(arable, 1))
        forest = _num(f.get("forest_land")) / size
        if forest > 70:
            c.add("LAND-FOREST", None, "forest_land", value=round(forest, 1))
    distance = f.get("road_distance_km")
    if isinstance(distance, int | float) and distance > 50:
        c.add("ROAD-DISTANCE", None, "road_distance_km", value=distance)
    if not f.get("housing_area") and f.get("housing_grade") != "0":
        c.add("HOUSING-AREA", None, "housing_area")

    active = hh.status in POOR_STATUSES or hh.status == "applicant"
    if active:
        exclusions = code_list("exclusion")
        listed = f.get("exclusions")
        what = [_label(exclusions, x) for x in (listed if isinstance(listed, list) else ()) if x in exclusions]
        if any(x.member.fields.get("public_servant") for x in living):
            what.append(_label(exclusions, "01"))
        if any(x.member.fields.get("village_cadre") for x in living):
            what.append(_label(exclusions, "02"))
        if what:
            c.add("EXCLUSION", None, "exclusions",
                  what=Text("；".join(dict.fromkeys(w.zh for w in what)), "; ".join(dict.fromkeys(w.en for w in what))))
    if hh.status in POOR_STATUSES and not hh.helpers:
        c.add("HELPER-NONE", None, "helpers")

    _benefit_rules(c, hh, living)
    _income_rules(c, hh, living)
    if f.get("monitoring_type") or (hh.events and any(e.procedure in mon.PROCEDURES for e in hh.events)):
        _monitoring_rules(c, hh, living, today)


def _latest_income(hh: Household) -> dict[str, Any]:
    if not hh.years:
        return {}
    return hh.years[max(hh.years)].income


def _benefit_rules(c: _Collector, hh: Household, living: list[_MemberFacts]) -> None:
    attribute = hh.fields.get("attribute")
    income = _latest_income(hh)
    dibao_money = _num(income.get("dibao_allowance"))
    tekun_money = _num(income.get("tekun_allowance"))
    dibao_member = any(x.member.fields.get("dibao") for x in living)
    if attribute == "02" and not (dibao_member and dibao_money > 0):
        c.add("DIBAO-MEMBER", None, "attribute")
    if attribute == "01" and (dibao_member or dibao_money > 0 or tekun_money > 0):
        c.add("ORDINARY-BENEFIT", None, "attribute")
    if attribute == "03":
        if any(x.able and x.age is not None and 16 <= x.age <= 65 for x in living):
            c.add("TEKUN-LABOUR", None, "attribute")
        if tekun_money <= 0:
            c.add("TEKUN-ALLOWANCE", None, "attribute")
    if dibao_money > 0 and tekun_money > 0:
        c.add("DIBAO-TEKUN-BOTH", None, "attribute")


# The items summarize adds up, in one list: wages, business, then the property, transfer and cost sums.
_SUMMED_ITEMS = INCOME_ITEMS + COST_ITEMS
_PROPERTY = slice(2, 4)
_TRANSFERS = slice(4, len(INCOME_ITEMS))
_COSTS = slice(len(INCOME_ITEMS), None)
_BUSINESS_COSTS = _SUMMED_ITEMS.index("business_costs")
assert (INCOME_ITEMS[:2] == ("wage_income", "business_income") and INCOME_ITEMS[_PROPERTY] == PROPERTY_ITEMS
        and INCOME_ITEMS[_TRANSFERS] == TRANSFER_ITEMS), "income items reordered: follow summarize"


_FLOATS = {float}
# Per shape of an income record (its keys in order): where its wages, business income, business
# costs are, and its property, transfer and cost items, each group in summarize's order.
_IncomeShape = tuple["int | None", "int | None", "int | None", tuple[int, ...], tuple[int, ...], tuple[int, ...]]
_income_shapes: dict[tuple[str, ...], _IncomeShape] = {}


def _income_shape(shape: tuple[str, ...]) -> _IncomeShape:
    pos = {k: i for i, k in enumerate(shape)}
    at: _IncomeShape = (pos.get(_SUMMED_ITEMS[0]), pos.get(_SUMMED_ITEMS[1]), pos.get(_SUMMED_ITEMS[_BUSINESS_COSTS]),
                        tuple(pos[k] for k in _SUMMED_ITEMS[_PROPERTY] if k in pos),
                        tuple(pos[k] for k in _SUMMED_ITEMS[_TRANSFERS] if k in pos),
                        tuple(pos[k] for k in _SUMMED_ITEMS[_COSTS] if k in pos))
    if len(_income_shapes) < _MAX_SHAPES:
        _income_shapes[shape] = at
    return at


def _income_rules(c: _Collector, hh: Household, living: list[_MemberFacts]) -> None:
    someone_away = any(x.away for x in living)
    size = len(living)  # household_size(hh): living are the members who count
    # The per-capita net income of each year with income recorded (None when nobody lives in
    # the household): summarize's figure, the same sums in the same order, without its objects.
    per_capita: dict[int, float | None] = {}
    latest = max(hh.years) if hh.years else None
    for year, record in hh.years.items():
        inc = record.income
        if not inc:
            continue
        vals = tuple(inc.values())
        if set(map(type, vals)) == _FLOATS:
            # Every value a float (the usual record): the items it holds, added in summarize's
            # order. A missing item counts 0.0 there, and adding 0.0 to a sum that starts at 0
            # changes nothing, so leaving it out gives the same figure to the last bit.
            shape = tuple(inc)
            at = _income_shapes.get(shape) or _income_shape(shape)
            iw, ib, ic, prop, transfers, costs = at
            wages = 0.0 if iw is None else vals[iw]
            business = 0.0 if ib is None else vals[ib]
            business_costs = 0.0 if ic is None else vals[ic]
            net = round(wages + business + sum([vals[i] for i in prop]) + sum([vals[i] for i in transfers])
                        - sum([vals[i] for i in costs]), 2)
        else:
            get = inc.get
            v = [x if type(x) is float else 0.0 if x is None else float(x) if type(x) is int else
                 float(x) if isinstance(x, int | float) and not isinstance(x, bool) else 0.0
                 for x in map(get, _SUMMED_ITEMS)]
            wages, business, business_costs = v[0], v[1], v[_BUSINESS_COSTS]
            net = round(wages + business + sum(v[_PROPERTY]) + sum(v[_TRANSFERS]) - sum(v[_COSTS]), 2)
        if (wages > 0) != someone_away and year == latest:
            c.add("INC-WAGE", None, "wage_income", year=year)
        if business > 0 and business_costs <= 0:
            c.add("INC-BUSINESS-COST", None, "business_costs", year=year)
        pc = per_capita[year] = round(net / size, 2) if size else None
        if pc is not None and not 0 < pc <= 100_000:
            c.add("INC-RANGE", None, "income", year=year, value=pc)

    ident = hh.fields.get("identification_year")
    if not isinstance(ident, int) or hh.status not in ("applicant", "registered"):
        return
    ref = reference_year(ident)
    if ref not in per_capita:  # summarize would say None: no income recorded for that year
        c.add("INC-MISSING", None, "income", year=ref, ident=ident)
        return
    pc = per_capita[ref]
    line = mon.income_line(ref, hh.village_code, hh.fields.get("standard"), c.table)
    if line is None:
        c.add("INC-NO-LINE", None, "income", text=mon.no_line_text(ref, hh.village_code))
    elif pc is not None and pc > line.amount:
        c.add("INC-LINE", None, "income", year=ref, value=f"{pc:.0f}", line=f"{line.amount:.0f}")


# ---------------------------------------------------------------- monitoring (防止返贫动态监测)

_MEASURES = code_list("measure_type")
_MODES = code_list("elimination_mode")
_TYPES = code_list("monitoring_type")
_UNIT = {"calendar": ("天", "days"), "working": ("个工作日", "working days")}


def _monitoring_rules(c: _Collector, hh: Household, living: list[_MemberFacts], today: date) -> None:
    facts = mon.facts(hh)
    settings = c.table.settings
    risks = set(facts.risks)
    latest = max(hh.years) if hh.years else None
    if facts.is_object:
        if facts.identified is not None and facts.eliminated is not None:
            months = mon.months_between(facts.identified, facts.eliminated)
            if months < settings.min_months_in_monitoring:
                c.add("MON-ELIM-EARLY", None, "elimination_month", start=hh.fields.get("monitoring_month"),
                      end=hh.fields.get("elimination_month"), min=settings.min_months_in_monitoring)
        if "01" in risks:
            year = latest if latest is not None else (facts.identified or (today.year, 1))[0] - 1
            if not compliant_expenses(hh, year):
                c.add("MON-ILL-EXPENSE", None, "compliant_expenses", year=year)
        if "07" in risks:
            if not any(x.able for x in living):
                c.add("MON-WORK-LABOUR", None, "monitoring_risks",
                      why=Text("家庭成员都没有劳动能力", "nobody in the household is able to work"))
            elif not any(x.away for x in living):
                c.add("MON-WORK-LABOUR", None, "monitoring_risks",
                      why=Text("没有家庭成员的务工信息", "no member has migrant-work data"))
        if "11" in risks and not any(_MEASURES.attr(m.get("measure_type"), "safe_water", False)
                                     for record in hh.years.values() for m in record.measures):
            c.add("MON-WATER-MEASURE", None, "monitoring_risks")
        if "04" in risks and living and all(x.able for x in living):
            c.add("MON-LABOUR-ALL", None, "monitoring_risks")
        if facts.eliminated is not None and hh.fields.get("risk_eliminated") is True:
            _elimination_income(c, hh, facts)
            if living and not any(x.able for x in living):
                c.add("MON-ELIM-NO-LABOUR", None, "risk_eliminated")
        # 脱贫不稳定户 is a household out of poverty; 边缘易致贫户 one that never was registered.
        kind = facts.object_type
        if (kind == "0" and hh.status != "exited") or (kind == "1" and hh.status in POOR_STATUSES | {"exited"}):
            c.add("MON-TYPE-STATUS", None, "monitoring_type", type=_label(_TYPES, kind),
                  status=Text(*STATUS_LABELS.get(hh.status, (hh.status, hh.status))))
    _monitoring_events(c, hh)


def _elimination_income(c: _Collector, hh: Household, facts: mon.MonitoringFacts) -> None:
    assert facts.eliminated is not None
    year = mon.judged_income_year(facts.eliminated)
    line = mon.monitoring_line(year, hh.village_code, hh.fields.get("standard"), c.table)
    if line is None:
        c.add("MON-NO-LINE", None, "income", text=mon.no_line_text(year, hh.village_code))
        return
    if not _MODES.attr(facts.elimination_mode, "assisted", False):
        return
    summary = summarize(hh, year)
    if summary is not None and summary.per_capita is not None and summary.per_capita <= line.amount:
        c.add("MON-ASSISTED-BELOW", None, "elimination_mode", month=hh.fields.get("elimination_month"), year=year,
              value=f"{summary.per_capita:.0f}", line=f"{line.amount:.0f}",
              line_zh=line.label.zh, line_en=line.label.en)


def _monitoring_events(c: _Collector, hh: Household) -> None:
    """The time limit from discovery to decision, and no elimination without an identification."""
    from povdesk.core.procedures import effective, load_procedures

    specs = load_procedures()
    limit: mon.TimeLimit | None = None
    started: date | None = None
    identified = False
    for e in effective(hh.events):
        spec = specs.get(e.procedure)
        if spec is None or e.procedure not in mon.PROCEDURES:
            continue
        day = parse_date(e.date)
        if e.procedure in mon.IDENTIFICATIONS:
            if e.step == spec.first.key:
                started = day
            elif e.step == mon.DECISION_STEP and started is not None and day is not None:
                limit = limit or c.table.time_limit(hh.village_code)
                taken = mon.days_taken(started, day, limit.day_kind)
                if taken > limit.days:
                    zh_unit, en_unit = _UNIT[limit.day_kind]
                    c.add("MON-OVERDUE", None, None, start=started.isoformat(), end=day.isoformat(), days=taken,
                          limit=limit.days, unit_zh=zh_unit, unit_en=en_unit)
                started = None
            if e.step == spec.last.key:
                identified = True
        elif e.step == spec.first.key:
            if not identified:
                c.add("MON-ELIM-UNIDENTIFIED", None, None, procedure=Text(spec.zh, spec.en))
            identified = False  # the next elimination needs a new identification


# ---------------------------------------------------------------- entry points

def validate_member(m: Member, ctx: RuleContext, hh: Household | None = None) -> list[Finding]:
    """Field and personal rules of one member (the member form while typing)."""
    c = _Collector(hh or Household(village_code=""), ctx.thresholds)
    _check_values(_compiled_form(member_form()).plain, m.fields, c, m, ctx.today)
    _member_rules(c, m, ctx.today)
    return c.out


def validate_household(hh: Household, ctx: RuleContext) -> list[Finding]:
    """Every field and household rule for one household (not the across-household ones)."""
    today = ctx.today
    c = _Collector(hh, ctx.thresholds)
    hform = _compiled_form(household_form())
    _check_values(hform.plain, with_context(hh.fields, hh.status), c, None, today)
    for record in hh.years.values():
        if record.income:
            _check_values(hform.sections["income"], record.income, c, None, today)
        for measure in record.measures:
            _check_values(hform.sections["measures"], measure, c, None, today)
    for helper in hh.helpers:
        _check_values(hform.sections["helpers"], helper, c, None, today)
    mplain = _compiled_form(member_form()).plain
    facts = []
    for m in hh.members:
        _check_values(mplain, m.fields, c, m, today)
        facts.append(_member_rules(c, m, today))
    _household_rules(c, hh, facts, today)
    return c.out


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return value if isinstance(value, str) else ""


class CrossChecker:
    """Across-household rules, fed one household at a time (a county streams through once)."""

    def __init__(self) -> None:
        self._people: dict[str, list[tuple[str, str, str, str, bool]]] = defaultdict(list)
        self._helpers: list[tuple[str, str, dict[str, Any]]] = []

    def add(self, hh: Household) -> None:
        poor = hh.status in POOR_STATUSES or hh.status == "applicant"
        for m in hh.members:
            number = m.id_number
            if number and counts_in_household(m):
                self._people[number].append((hh.id, hh.household_no, m.id, hh.village_code, poor))
        for h in hh.helpers:
            self._helpers.append((hh.id, hh.household_no, h))

    def findings(self) -> Iterator[Finding]:
        for number, where in self._people.items():
            households = {w[0] for w in where}
            if len(households) < 2:
                continue
            for hid, hno, mid, _village, _poor in where:
                others = "、".join(sorted({w[1] for w in where if w[0] != hid}))
                rule = RULES["DUP-PERSON"]
                yield Finding("DUP-PERSON", rule.severity, rule.text(id=idnumber.mask(number), others=others),
                              hid, hno, mid, "id_number")
        # One helper may support many households; two different helpers must not share a phone.
        # A value of another type (a list, an object) is the field rules' finding, not a key here.
        by_phone: dict[str, dict[str, str]] = defaultdict(dict)
        for _hid, _hno, h in self._helpers:
            phone = _text(h, "phone")
            if phone:
                by_phone[phone][_text(h, "id_number") or _text(h, "name")] = _text(h, "name")
        for hid, hno, h in self._helpers:
            phone = _text(h, "phone")
            me = _text(h, "id_number") or _text(h, "name")
            if phone and len(by_phone[phone]) > 1:
                other = sorted(name for who, name in by_phone[phone].items() if who != me)[0]
                rule = RULES["HELPER-PHONE"]
                yield Finding("HELPER-PHONE", rule.severity, rule.text(name=h.get("name"), phone=phone, other=other),
                              hid, hno, None, "helpers")
            helper_id = _text(h, "id_number")
            if helper_id and helper_id in self._people:
                poor_in = [w[1] for w in self._people[helper_id] if w[4]]
                if poor_in:
                    rule = RULES["HELPER-IS-POOR"]
                    yield Finding("HELPER-IS-POOR", rule.severity, rule.text(name=h.get("name"), other=poor_in[0]),
                                  hid, hno, None, "helpers")


def validate_all(households: Iterable[Household], ctx: RuleContext,
                 progress: Callable[[int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> Iterator[Finding]:
    """Field and household rules per household as they stream by, then the across rules."""
    cross = CrossChecker()
    for n, hh in enumerate(households, 1):
        yield from validate_household(hh, ctx)
        cross.add(hh)
        if progress is not None and n % 1000 == 0:
            progress(n)
        if cancelled is not None and n % 1000 == 0 and cancelled():
            return
    yield from cross.findings()


def exit_failures(hh: Household, ctx: RuleContext, year: int | None = None) -> list[Text]:
    """Why the household does not meet 一超过两不愁三保障 (empty when it may exit), on the income of
    `year` (its latest recorded year by default)."""
    out: list[Text] = []
    if not hh.years:
        out.append(Text("没有收入记录", "no income recorded"))
    else:
        year = max(hh.years) if year is None else year
        summary = summarize(hh, year)
        # The poverty line of the year, or after 2020 the province's monitoring threshold.
        line = mon.income_line(year, hh.village_code, hh.fields.get("standard"), ctx.table)
        if summary is None or summary.per_capita is None:
            out.append(Text(f"{year} 年没有收入记录", f"no income recorded for {year}"))
        elif line is None:
            out.append(mon.no_line_text(year, hh.village_code))
        elif summary.per_capita <= line.amount:
            out.append(Text(f"{year} 年人均纯收入 {summary.per_capita:.0f} 元未超过{line.label.zh} {line.amount:.0f} 元",
                            f"{year}: per-capita income {summary.per_capita:.0f} yuan is not above the line "
                            f"of {line.amount:.0f} yuan"))
    if hh.fields.get("food_clothing_secure") is not True:
        out.append(Text("未达到不愁吃、不愁穿", "food and clothing are not secure"))
    living = [m for m in hh.members if counts_in_household(m)]
    for m in living:
        age = _age(m.birth_date, ctx.today)
        if age is not None and 7 <= age <= 15 and not m.fields.get("student_status"):
            out.append(Text(f"{m.name}（{age} 岁）义务教育阶段辍学", f"{m.name} ({age}) has left compulsory school"))
        if not (m.fields.get("rural_medical") or m.fields.get("employee_medical")):
            out.append(Text(f"{m.name} 未参加基本医疗保险", f"{m.name} has no basic medical insurance"))
        if not m.fields.get("critical_illness") and not m.fields.get("employee_medical"):
            out.append(Text(f"{m.name} 未参加大病保险", f"{m.name} has no critical-illness insurance"))
    if code_list("housing_grade").attr(hh.fields.get("housing_grade"), "dilapidated", False) or \
            hh.fields.get("housing_grade") == "0":
        out.append(Text("住房安全无保障（危房或无住房）", "housing is not safe (dilapidated or none)"))
    if hh.fields.get("water_safe") is not True:
        out.append(Text("饮水安全无保障", "drinking water is not safe"))
    return out


def summarize_findings(findings: Iterable[Finding]) -> dict[str, Any]:
    """Counts for reports and the CLI: by severity and by rule; explained warnings apart."""
    by_rule: Counter[str] = Counter()
    errors = warnings = explained = 0
    households: set[str] = set()
    for f in findings:
        if f.explained:
            explained += 1
            continue
        by_rule[f.rule] += 1
        households.add(f.household_id)
        if f.severity == "error":
            errors += 1
        else:
            warnings += 1
    return {"errors": errors, "warnings": warnings, "explained_warnings": explained,
            "households": len(households), "by_rule": dict(sorted(by_rule.items()))}
