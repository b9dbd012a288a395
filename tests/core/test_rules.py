"""Every rule fires on a household built to break it and stays quiet on the valid one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from povdesk.core.idnumber import make
from povdesk.core.model import Household, YearRecord
from povdesk.core.rules import (
    RULES,
    CrossChecker,
    RuleContext,
    exit_failures,
    validate_household,
    validate_member,
)
from povdesk.core.rules.engine import Finding
from tests.factories import REGION, TODAY, person, valid_household

CTX = RuleContext(today=TODAY)


def findings(hh: Household) -> list[Finding]:
    return validate_household(hh, CTX)


def cross(*households: Household) -> list[Finding]:
    checker = CrossChecker()
    for hh in households:
        checker.add(hh)
    return list(checker.findings())


def test_the_valid_household_has_no_findings() -> None:
    assert findings(valid_household()) == []
    assert findings(valid_household("registered")) == []


def head(hh: Household) -> dict:
    return hh.members[0].fields


def spouse(hh: Household) -> dict:
    return hh.members[1].fields


def son(hh: Household) -> dict:
    return hh.members[2].fields


def daughter(hh: Household) -> dict:
    return hh.members[3].fields


def income(hh: Household) -> dict:
    return hh.years[2015].income


def _set(target: Callable[[Household], dict], **values: object) -> Callable[[Household], None]:
    def mutate(hh: Household) -> None:
        target(hh).update(values)
    return mutate


def _do(*steps: Callable[[Household], None]) -> Callable[[Household], None]:
    def mutate(hh: Household) -> None:
        for s in steps:
            s(hh)
    return mutate


def _fields(hh: Household) -> dict:
    return hh.fields


def _drop(target: Callable[[Household], dict], key: str) -> Callable[[Household], None]:
    return lambda hh: target(hh).pop(key)


def _status(status: str) -> Callable[[Household], None]:
    def mutate(hh: Household) -> None:
        hh.status = status
    return mutate


def _add_member(**kw: object) -> Callable[[Household], None]:
    def mutate(hh: Household) -> None:
        hh.members.append(person(**kw))  # type: ignore[arg-type]
    return mutate


# rule id -> a change to the valid household that must make exactly that rule fire
CASES: dict[str, Callable[[Household], None]] = {
    "F-REQUIRED": _drop(_fields, "address"),
    "F-TYPE": _set(_fields, housing_area="eighty"),
    "F-CODE": _set(head, ethnicity="77"),
    "F-RANGE": _set(head, migrant_months=13),
    "F-MAX-ITEMS": _set(_fields, other_causes=["05", "06", "09"]),
    "F-LENGTH": _set(_fields, address="长" * 101),
    "F-PATTERN": _set(_fields, bank_account="62-17"),
    "F-PHONE": _set(_fields, phone="0855-123"),
    "ID-INVALID": lambda hh: None,  # replaced below (needs the valid number)
    "ID-15": _set(spouse, id_number="522634770802022"),
    "ID-REGION": _set(spouse, id_number=make("529999", date(1977, 8, 2), 22)),
    "ID-SEX": _set(spouse, sex="1", relation="99"),
    "ID-BIRTH": _set(spouse, birth_date="1977-08-03"),
    "BIRTH-FUTURE": _add_member(name="杨未生", sex="1", birth=date(2027, 1, 1), relation="07", seq=55,
                                 education="7", id_type="9", id_number="待办"),
    "REL-SEX": _set(son, relation="04"),
    "HEAD-SPOUSE-SEX": _do(_set(spouse, sex="1", relation="02", id_number=make(REGION, date(1977, 8, 2), 21))),
    "REL-AGE": _set(son, relation="11"),
    "REL-AGE-GAP": _add_member(name="杨二妹", sex="2", birth=date(1984, 5, 5), relation="04", seq=62,
                               education="3", labour="1"),
    "EDU-ONE": _set(daughter, education="2"),
    "EDU-AGE-HIGH": _set(daughter, student_status="06"),
    "EDU-AGE-LOW": _set(son, student_status="02"),
    "EDU-PRESCHOOL": _do(_set(daughter, student_status=None, education="7", dropout_reason="病休")),
    "EDU-DROPOUT": _set(daughter, student_status=None, education="2"),
    "LAB-REQUIRED": _drop(spouse, "labour"),
    "LAB-HEALTHY": _set(spouse, labour="5"),
    "MIG-PLACE": _set(head, migrant_place=None),
    "MIG-ABLE": _do(_set(head, labour="4", health="3")),
    "HH-HEAD": _set(spouse, relation="01"),
    "HH-SPOUSE": _add_member(name="李二", sex="2", birth=date(1976, 1, 1), relation="02", seq=72,
                             education="2", labour="1"),
    "HH-EMPTY": lambda hh: [m.fields.update(change="01") for m in hh.members],
    "HH-DUP-ID": _set(son, id_number=None),  # replaced below (needs the head's number)
    "CAUSE-ILL": _set(_fields, main_cause="01"),
    "CAUSE-DISABLED": _set(_fields, other_causes=["02"]),
    "CAUSE-SCHOOL": _do(_set(_fields, main_cause="03"), _set(son, student_status=None, education="4"),
                        _set(daughter, student_status=None, education="2", dropout_reason="病休")),
    "CAUSE-OTHER-DUP": _set(_fields, other_causes=["07"]),
    "DIBAO-MEMBER": _set(_fields, attribute="02"),
    "ORDINARY-BENEFIT": _set(spouse, dibao=True),
    "TEKUN-LABOUR": _do(_set(_fields, attribute="03", tekun_mode="1"), _set(income, tekun_allowance=2000.0)),
    "TEKUN-ALLOWANCE": _do(
        _set(_fields, attribute="03", tekun_mode="1"),
        _set(head, labour="4", health="3", migrant_status="0", migrant_place=None, migrant_months=0),
        _set(spouse, labour="4", health="2"), _set(son, labour="4", health="3"),
        _set(income, wage_income=0.0)),
    "DIBAO-TEKUN-BOTH": _do(_set(_fields, attribute="02"), _set(spouse, dibao=True),
                            _set(income, dibao_allowance=1200.0, tekun_allowance=500.0)),
    "INC-WAGE": _set(income, wage_income=0.0),
    "INC-BUSINESS-COST": _set(income, business_costs=0.0),
    "INC-RANGE": _set(income, wage_income=0.0, business_income=0.0, eco_compensation=0.0,
                      business_costs=100.0, other_transfer_income=0.0),
    "INC-MISSING": _set(_fields, identification_year=2017),
    "INC-LINE": _set(income, wage_income=16000.0),
    "INC-NO-LINE": lambda hh: (hh.fields.update(identification_year=2026),
                               hh.years.update({2025: YearRecord(2025, income=dict(hh.years[2015].income))})),
    "LAND-ARABLE": _set(_fields, arable_land=210.0),
    "LAND-FOREST": _set(_fields, forest_land=300.0),
    "ROAD-DISTANCE": _set(_fields, road_distance_km=60.0),
    "HOUSING-AREA": _set(_fields, housing_area=0.0),
    "EXCLUSION": _set(son, public_servant=True),
    "HELPER-NONE": _do(_status("registered"), lambda hh: hh.helpers.clear()),
}


def _hh_dup_id(hh: Household) -> None:
    son(hh)["id_number"] = head(hh)["id_number"]
    son(hh)["birth_date"] = head(hh)["birth_date"]


CASES["HH-DUP-ID"] = _hh_dup_id
# A wrong check digit on the spouse's number (the valid one ends differently).
CASES["ID-INVALID"] = lambda hh: spouse(hh).update(
    id_number=spouse(hh)["id_number"][:17] + ("0" if spouse(hh)["id_number"][17] != "0" else "1"))

ACROSS_RULES = {r for r, rule in RULES.items() if rule.reach == "across"}


def test_every_rule_has_a_case() -> None:
    from tests.core.test_monitoring import MONITORING_CASES  # the monitoring rules' own cases

    assert set(CASES) | ACROSS_RULES | set(MONITORING_CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires(rule_id: str) -> None:
    hh = valid_household()
    CASES[rule_id](hh)
    got = findings(hh)
    assert rule_id in {f.rule for f in got}, [(f.rule, f.message.en) for f in got]
    for f in got:
        assert f.message.zh and f.message.en and "{" not in f.message.zh + f.message.en
        assert f.severity == RULES[f.rule].severity


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_stays_quiet_on_the_valid_household(rule_id: str) -> None:
    assert rule_id not in {f.rule for f in findings(valid_household())}


def test_findings_name_member_and_field() -> None:
    hh = valid_household()
    spouse(hh)["labour"] = "5"
    (f,) = findings(hh)
    assert (f.rule, f.member_id, f.field, f.household_no) == ("LAB-HEALTHY", hh.members[1].id, "labour",
                                                               hh.household_no)
    assert "吴秀英" not in f.message.zh  # messages describe the problem; the UI shows the member


def test_required_field_hidden_by_its_condition_is_not_required() -> None:
    hh = valid_household()
    assert "relocation_mode" not in {f.field for f in findings(hh)}
    hh.fields["relocated"] = True
    missing = {f.field for f in findings(hh) if f.rule == "F-REQUIRED"}
    assert {"relocation_mode", "resettlement_mode", "resettlement_place"} <= missing


def test_explained_warning_is_marked() -> None:
    hh = valid_household()
    hh.fields["road_distance_km"] = 60.0
    hh.fields["explanations"] = {"ROAD-DISTANCE": "深山独户，已核实"}
    (f,) = findings(hh)
    assert f.rule == "ROAD-DISTANCE" and f.explained


def test_id_number_messages_are_specific_in_both_languages() -> None:
    hh = valid_household()
    spouse(hh)["id_number"] = "5.22634E+17"
    (f,) = [f for f in findings(hh) if f.rule == "ID-INVALID"]
    assert "Excel" in f.message.zh or "科学计数" in f.message.zh
    assert "Excel" in f.message.en or "scientific" in f.message.en


def test_an_id_under_no_province_is_an_error_an_unknown_county_a_warning() -> None:
    hh = valid_household()
    spouse(hh)["id_number"] = make("999999", date(1977, 8, 2), 22)
    (f,) = [f for f in findings(hh) if f.rule.startswith("ID-")]
    assert (f.rule, f.severity) == ("ID-INVALID", "error") and "99" in f.message.en
    spouse(hh)["id_number"] = make("529999", date(1977, 8, 2), 22)
    (f,) = [f for f in findings(hh) if f.rule.startswith("ID-")]
    assert (f.rule, f.severity) == ("ID-REGION", "warning")


def test_validate_member_alone() -> None:
    m = person("张三", "1", date(1990, 1, 1), "01", 11, education="3", labour="1")
    assert validate_member(m, CTX) == []
    m.fields["sex"] = "2"
    assert [f.rule for f in validate_member(m, CTX)] == ["ID-SEX"]


# ---------------------------------------------------------------- across households

def _second_household() -> Household:
    other = valid_household()
    other.household_no = "522634100202-TEST-0002"
    other.village_code = "522634100202"
    for i, m in enumerate(other.members):
        m.fields["id_number"] = make(REGION, m.birth_date or TODAY, 101 + 2 * i + (m.fields["sex"] == "2"))
    other.helpers = [{"name": "王芳", "phone": "13908550002", "unit_name": "县教育局", "start_date": "2016-03-01"}]
    return other


def test_across_rules_quiet_on_distinct_households() -> None:
    assert cross(valid_household(), _second_household()) == []


def test_dup_person_across_villages() -> None:
    a, b = valid_household(), _second_household()
    b.members[3].fields["id_number"] = a.members[3].fields["id_number"]
    got = cross(a, b)
    assert sorted(f.rule for f in got) == ["DUP-PERSON", "DUP-PERSON"]
    assert {f.household_id for f in got} == {a.id, b.id}
    assert a.household_no in next(f for f in got if f.household_id == b.id).message.zh


def test_dup_person_ignores_members_who_left() -> None:
    a, b = valid_household(), _second_household()
    b.members[3].fields["id_number"] = a.members[3].fields["id_number"]
    a.members[3].fields["change"] = "02"
    assert cross(a, b) == []


def test_helper_phone_shared_by_two_helpers() -> None:
    a, b = valid_household(), _second_household()
    b.helpers[0]["phone"] = a.helpers[0]["phone"]
    assert {f.rule for f in cross(a, b)} == {"HELPER-PHONE"}


@pytest.mark.parametrize("value", [["13800000000"], {"a": "13800000000"}, 13800000000])
def test_helper_values_of_another_type_are_not_a_crash(value: object) -> None:
    """import-json lets a list or an object of strings through the structure check; the field rules
    report it, the across-household rules do not stumble on it (it was a TypeError: unhashable)."""
    a, b = valid_household(), _second_household()
    for hh in (a, b):
        hh.helpers[0]["phone"] = value
        hh.helpers[0]["id_number"] = value
    assert cross(a, b) == []
    a.helpers.append({**b.helpers[0], "phone": "13912345678", "id_number": "", "name": "甲"})
    b.helpers.append({**b.helpers[0], "phone": "13912345678", "id_number": "", "name": "乙"})
    assert {f.rule for f in cross(a, b)} == {"HELPER-PHONE"}


def test_one_helper_for_two_households_is_fine() -> None:
    a, b = valid_household(), _second_household()
    b.helpers = [dict(a.helpers[0])]
    assert cross(a, b) == []


def test_helper_registered_as_poor() -> None:
    a, b = valid_household(), _second_household()
    b.helpers[0]["id_number"] = a.members[1].fields["id_number"]
    assert {f.rule for f in cross(a, b)} == {"HELPER-IS-POOR"}


# ---------------------------------------------------------------- exit criteria

def _exit_ready() -> Household:
    hh = valid_household("registered")
    hh.years[2019] = YearRecord(2019, income={"wage_income": 30000.0, "business_income": 2000.0,
                                              "business_costs": 500.0})
    return hh


def test_exit_criteria_met() -> None:
    assert exit_failures(_exit_ready(), CTX) == []


@pytest.mark.parametrize("change, expect", [
    (lambda hh: hh.years[2019].income.update(wage_income=5000.0), "line"),
    (lambda hh: hh.fields.update(food_clothing_secure=False), "food"),
    (lambda hh: hh.members[3].fields.update(student_status=None, education="2"), "compulsory"),
    (lambda hh: hh.members[1].fields.update(rural_medical=False), "medical"),
    (lambda hh: hh.members[1].fields.update(critical_illness=False), "critical"),
    (lambda hh: hh.fields.update(housing_grade="D"), "housing"),
    (lambda hh: hh.fields.update(water_safe=False), "water"),
])
def test_exit_criteria_fail(change: Callable[[Household], object], expect: str) -> None:
    hh = _exit_ready()
    change(hh)
    got = exit_failures(hh, CTX)
    assert len(got) == 1 and expect in got[0].en


WRONG_TYPES = [["01"], {"a": "b"}, 7, 2.5, True, "x" * 300]


def _must_flag(kind: str, value: object) -> bool:
    """Whether a field of this kind holding this value has to be reported (none of the values
    above is a valid code, date, phone or ID number)."""
    if kind in ("code", "id_number", "date", "phone"):
        return True
    if kind == "yes_no":
        return not isinstance(value, bool)
    if kind == "text":
        return not isinstance(value, str)
    if kind == "multi_code":
        return not isinstance(value, list)
    return not isinstance(value, int | float) or isinstance(value, bool)  # numbers


@pytest.mark.parametrize("value", WRONG_TYPES, ids=["list", "object", "int", "float", "bool", "long-text"])
def test_a_value_of_the_wrong_type_in_any_field_is_a_finding_never_a_crash(value: object) -> None:
    """An imported file may hold any JSON value in any field (lists and objects of strings pass
    the file's structure check): every field of both forms, one at a time, is reported on that
    field when the value is wrong for it, and nothing raises, in the household rules or across
    households."""
    from povdesk.core.forms import household_form, member_form

    for spec in household_form().plain_fields():
        hh = valid_household("registered")
        hh.fields[spec.key] = value
        got = findings(hh)
        cross(hh, valid_household())
        if spec.visible_if is None and _must_flag(spec.kind, value):
            assert any(f.field == spec.key for f in got), (spec.key, value)
    for spec in member_form().plain_fields():
        hh = valid_household("registered")
        hh.members[1].fields[spec.key] = value
        got = findings(hh)
        cross(hh, valid_household())
        if spec.visible_if is None and _must_flag(spec.kind, value):
            assert any(f.field == spec.key and f.member_id == hh.members[1].id for f in got), (spec.key, value)


def test_every_rule_blocks_known_procedures_and_removal_is_left_to_its_reasons() -> None:
    from povdesk.core.procedures import load_procedures
    from povdesk.core.rules import RULES

    known = set(load_procedures())
    for rule in RULES.values():
        assert set(rule.blocks) <= known | {"*"}, rule.id
    # The findings that are reasons for a removal block everything but the removal.
    for rid in ("EXCLUSION", "INC-LINE", "INC-MISSING", "DUP-PERSON", "HELPER-NONE"):
        assert not RULES[rid].blocks_procedure("removal") and RULES[rid].blocks_procedure("identification")
    assert RULES["ID-INVALID"].blocks_procedure("removal")
