"""Demo data: clean under every rule (now and for two years on), legal histories, planted mistakes exact."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from datetime import date
from functools import cache

import pytest

from povdesk.core import demo, idnumber, procedures, regions
from povdesk.core.income import poverty_line, summarize
from povdesk.core.model import POOR_STATUSES, Household, Member, parse_date
from povdesk.core.monitoring import PROCEDURES as MONITORING_PROCEDURES
from povdesk.core.rules import RuleContext, exit_failures, validate_all
from povdesk.errors import BadInput

TODAY = date(2026, 6, 1)
TOWNSHIP = "522634101"  # 西江镇
COUNTY = "522634"  # 雷山县
OTHER_COUNTY = "110105"  # 北京市朝阳区: no bundled villages, so codes are synthesised

CASES = [
    (demo.DEMO_REGION, 1, TODAY),
    (demo.DEMO_REGION, 2, demo.EARLIEST_TODAY),
    (TOWNSHIP, 3, TODAY),
    (COUNTY, 4, TODAY),
    (COUNTY, 5, date(2030, 2, 28)),
    (OTHER_COUNTY, 6, TODAY),
]


@cache
def households(region: str, seed: int, today: date = TODAY, count: int = 300) -> tuple[Household, ...]:
    """Generated once per argument set; tests that mutate take copies (see fresh)."""
    return tuple(demo.generate(region, count, seed, today))


def fresh(region: str, seed: int, count: int) -> list[Household]:
    return [Household.from_dict(h.to_dict()) for h in households(region, seed, TODAY, count)]


def years_later(day: date, years: int) -> date:
    """The same day `years` on; 29 February becomes the 28th in a year without one."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def a_year_later(day: date) -> date:
    return years_later(day, 1)


# ---------------------------------------------------------------- clean data, legal histories


@pytest.mark.parametrize("region, seed, today", CASES)
def test_generated_data_has_no_findings_now_and_for_two_years(region: str, seed: int, today: date) -> None:
    data = households(region, seed, today)
    two_years = years_later(today, 2)
    days = [*range(today.toordinal(), two_years.toordinal(), 30), two_years.toordinal()]
    for day in map(date.fromordinal, days):
        found = [(f.rule, f.household_no, f.message.en) for f in validate_all(data, RuleContext(today=day))]
        assert found == [], (day, found[:10])


@pytest.mark.parametrize("region, seed, today", CASES)
def test_every_history_replays_to_the_household_status(region: str, seed: int, today: date) -> None:
    for hh in households(region, seed, today):
        assert procedures.replay(hh.events, today=today) == [], hh.household_no
        assert procedures.status_after(hh.events) == hh.status, hh.household_no
        assert all(parse_date(e.date) <= today for e in hh.events)  # type: ignore[operator]


def test_events_are_what_perform_step_records() -> None:
    """Performing each recorded step anew through the engine is accepted and ends in the same status."""
    ctx = RuleContext(today=TODAY)
    for hh in households(COUNTY, 4)[:120]:
        scratch = Household(village_code=hh.village_code, household_no=hh.household_no)
        returned_at = max((n for n, e in enumerate(hh.events) if e.procedure == "return_to_poverty"), default=-1)
        for n, e in enumerate(hh.events):
            # An exit is judged on the income of its year; one the household later fell back from was
            # judged on the data of its day, not today's.
            judged = exit_failures(hh, ctx, year=int(e.date[:4])) if n > returned_at and e.step == "verification" \
                else []
            event = procedures.perform_step(scratch, e.procedure, e.step, role=e.role, user=e.user, date=e.date,
                                            evidence=e.evidence, error_count=0, today=TODAY,
                                            exit_failures=judged)
            assert set(event.to_dict()) == set(e.to_dict())
            assert e.recorded_at.startswith(e.date) and e.recorded_at.endswith("+00:00")
        assert scratch.status == hh.status


def test_steps_are_taken_by_the_demo_users_in_their_roles() -> None:
    for hh in households(COUNTY, 4):
        for e in hh.events:
            assert demo.DEMO_USERS[e.user] == e.role


def test_publicity_lasts_at_least_the_set_period_and_objections_are_resolved() -> None:
    days = procedures.publicity_days()
    for hh in households(COUNTY, 4):
        for e in hh.events:
            if "start_date" in e.evidence:
                assert procedures.publicity_period(e.evidence) >= days  # type: ignore[operator]
                assert e.evidence.get("objections", 0) == e.evidence.get("objections_resolved", 0)


def test_other_dates_are_not_after_today() -> None:
    for hh in households(COUNTY, 5, date(2030, 2, 28)):
        for record in hh.years.values():
            assert all(m["date"] <= TODAY.isoformat() for m in record.measures)
        assert all(h["start_date"] <= TODAY.isoformat() for h in hh.helpers)


# ---------------------------------------------------------------- planted mistakes


EXPECTED_KINDS = {"ID-INVALID", "HH-HEAD", "ID-SEX", "INC-LINE", "DIBAO-MEMBER", "DUP-PERSON", "HELPER-PHONE",
                  "F-RANGE", "CAUSE-ILL", "ID-15", "ROAD-DISTANCE"}


# Dates across the years the demo may be made on, the ends of months and a 29 February among them.
DATES = [demo.EARLIEST_TODAY, date(2024, 2, 29), date(2026, 8, 31), date(2026, 9, 1), date(2026, 12, 1),
         date(2027, 6, 30), date(2031, 2, 28), date(2035, 12, 31)]


@pytest.mark.parametrize("today", DATES)
@pytest.mark.parametrize("region, seed", [(COUNTY, 1), (COUNTY, 7), (TOWNSHIP, 8), (OTHER_COUNTY, 9)])
def test_planted_mistakes_are_exactly_the_findings(region: str, seed: int, today: date) -> None:
    data = [Household.from_dict(h.to_dict()) for h in households(region, seed, today, 500)]
    planted = demo.plant_mistakes(data, seed)
    found = [(f.rule, f.household_id, f.member_id) for f in validate_all(data, RuleContext(today=today))]
    expected = [(m.rule, m.household_id, m.member_id) for m in planted]
    assert sorted(found) == sorted(expected)
    assert {m.rule for m in planted} == EXPECTED_KINDS
    assert 10 <= len({m.household_id for m in planted}) <= 14
    assert all(m.description_zh and m.description_en for m in planted)


def test_dup_person_spans_two_villages() -> None:
    data = fresh(COUNTY, 1, 500)
    planted = [m for m in demo.plant_mistakes(data, 1) if m.rule == "DUP-PERSON"]
    by_id = {h.id: h for h in data}
    assert len({by_id[m.household_id].village_code for m in planted}) == 2


def test_planting_is_deterministic() -> None:
    first, second = fresh(COUNTY, 1, 300), fresh(COUNTY, 1, 300)
    assert demo.plant_mistakes(first, 3) == demo.plant_mistakes(second, 3)
    assert [h.to_dict() for h in first] == [h.to_dict() for h in second]


def test_planting_on_a_tiny_demo_plants_only_what_fits() -> None:
    data = [Household.from_dict(h.to_dict()) for h in demo.generate(demo.DEMO_REGION, 3, 1, TODAY)]
    planted = demo.plant_mistakes(data, 1)
    found = [(f.rule, f.household_id, f.member_id) for f in validate_all(data, RuleContext(today=TODAY))]
    assert sorted(found) == sorted((m.rule, m.household_id, m.member_id) for m in planted)


# ---------------------------------------------------------------- determinism and identity


def test_same_seed_same_data_other_seed_other_data() -> None:
    one = [h.to_dict() for h in demo.generate(demo.DEMO_REGION, 50, 11, TODAY)]
    again = [h.to_dict() for h in demo.generate(demo.DEMO_REGION, 50, 11, TODAY)]
    other = [h.to_dict() for h in demo.generate(demo.DEMO_REGION, 50, 12, TODAY)]
    assert one == again
    assert one != other


def test_ids_are_unique_across_the_whole_set() -> None:
    data = households(COUNTY, 4, TODAY, 2000)
    people = [m.id_number for h in data for m in h.members]
    helpers = {h["id_number"] for hh in data for h in hh.helpers}
    assert len(set(people)) == len(people)
    assert not helpers & set(people)
    assert len({h.id for h in data}) == len(data)
    assert len({h.household_no for h in data}) == len(data)
    assert len({m.id for h in data for m in h.members}) == len(people)
    assert len({e.id for h in data for e in h.events}) == sum(len(h.events) for h in data)


def test_id_numbers_are_valid_and_carry_sex_and_birth() -> None:
    for hh in households(COUNTY, 4):
        for m in hh.members:
            info = idnumber.parse(m.id_number, today=TODAY)
            assert (info.sex, info.birth_date) == (m.fields["sex"], m.birth_date)
            assert len(m.id_number) == 18


def test_progress_reports_the_end() -> None:
    calls: list[tuple[int, int]] = []
    demo.generate(demo.DEMO_REGION, 1500, 1, TODAY, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1000, 1500), (1500, 1500)]


def test_bad_region_and_early_today_are_refused() -> None:
    with pytest.raises(BadInput):
        demo.generate("5226", 10, 1, TODAY)
    with pytest.raises(BadInput):
        demo.generate("999999", 10, 1, TODAY)
    with pytest.raises(BadInput):
        demo.generate(demo.DEMO_REGION, 10, 1, date(2021, 6, 30))
    assert regions.lookup(demo.DEMO_REGION) is not None  # a real village of the bundled table


# ---------------------------------------------------------------- proportions and realism


def share(counter: Counter[str], key: str) -> float:
    return counter[key] / sum(counter.values())


def test_status_attribute_and_cause_shares() -> None:
    data = households(COUNTY, 4, TODAY, 2000)
    status = Counter(h.status for h in data)
    assert 0.45 <= share(status, "registered") <= 0.58
    assert 0.26 <= share(status, "exited") <= 0.36
    assert 0.05 <= share(status, "applicant") <= 0.12
    for rare in ("removed", "returned", "not_identified"):
        assert 0.005 <= share(status, rare) <= 0.06, rare
    attribute = Counter(h.fields["attribute"] for h in data)
    assert 0.64 <= share(attribute, "01") <= 0.78
    assert 0.19 <= share(attribute, "02") <= 0.31
    assert 0.02 <= share(attribute, "03") <= 0.08
    cause = Counter(h.fields["main_cause"] for h in data)
    assert [c for c, _ in cause.most_common(3)] == ["01", "09", "07"]  # 因病, 缺资金, 缺技术
    assert 0.26 <= share(cause, "01") <= 0.38
    assert 0.02 <= share(cause, "02") <= 0.08
    ethnicity = Counter(m.fields["ethnicity"] for h in data for m in h.members)
    assert 0.75 <= share(ethnicity, "06") <= 0.9  # 苗族
    assert {"01", "12", "25"} <= set(ethnicity)


def test_every_stage_of_every_procedure_is_represented() -> None:
    data = households(COUNTY, 4, TODAY, 2000)
    applicant_steps = {len(h.events) for h in data if h.status == "applicant"}
    assert applicant_steps == set(range(len(procedures.load_procedures()["identification"].steps)))
    open_exits = {h.events[-1].step for h in data if h.status in POOR_STATUSES and h.events[-1].procedure == "exit"}
    assert open_exits == {s.key for s in procedures.load_procedures()["exit"].steps[:-1]}
    removals = [e for h in data if h.status == "removed" for e in h.events if e.procedure == "removal"]
    assert removals and all(e.evidence["reason_codes"] for e in removals if e.step == "proposal")


def steps_waiting(data: Sequence[Household]) -> set[tuple[str, str]]:
    return {(spec.key, step.key) for hh in data for spec, step in procedures.next_steps(hh)}


@pytest.mark.parametrize("today", DATES)
def test_a_small_demo_has_a_household_waiting_at_every_step_of_every_procedure(today: date) -> None:
    every = {(key, step.key) for key, spec in procedures.load_procedures().items() for step in spec.steps}
    smallest = len(demo.all_positions())
    assert steps_waiting(demo.generate(demo.DEMO_REGION, smallest, 3, today)) == every
    assert steps_waiting(demo.generate(COUNTY, smallest, 4, today)) == every
    # The first households stand at every step of 建档立卡 and at the main monitoring steps.
    first = steps_waiting(demo.generate(demo.DEMO_REGION, len(demo.step_positions()), 3, today))
    assert {(key, step.key) for key in ("identification", "exit", "removal", "return_to_poverty")
            for step in procedures.load_procedures()[key].steps} <= first
    assert {("monitoring_identification_general", "publicity"), ("risk_elimination", "county_decision")} <= first
    # Fewer households cover the positions in order, as far as they go.
    assert steps_waiting(demo.generate(demo.DEMO_REGION, 3, 3, today)) == {
        ("identification", "application"), ("identification", "appraisal"), ("identification", "first_publicity")}


def test_publicity_at_every_publicity_step_can_be_printed_from_a_small_demo() -> None:
    from povdesk.reports.publicity import at_step, publicity_steps

    data = demo.generate(demo.DEMO_REGION, len(demo.all_positions()), 5, TODAY)
    for key, step in publicity_steps().items():
        assert any(at_step(hh, step) for hh in data), key


@pytest.mark.parametrize("year", [2022, 2026, 2030])
def test_a_date_dependent_draw_changes_only_its_own_household(year: int) -> None:
    """31 August and 1 September put every pupil in another school year, a birth may move into
    another year (given names follow the birth cohort), and monitoring steps, dated in the weeks and
    months before today, move by a day. Households with such a member may turn out
    otherwise; every other household is the same family with the same history, before and after
    them: nothing spills over into the households generated later."""
    before = demo.generate(COUNTY, 600, 8, date(year, 8, 31))
    after = demo.generate(COUNTY, 600, 8, date(year, 9, 1))

    def shape(hh: Household) -> tuple[object, ...]:
        return (hh.household_no, hh.status, hh.village_code, [(m.name, m.relation, m.fields.get("health"))
                for m in hh.members], [(e.procedure, e.step, e.date) for e in hh.events], sorted(hh.years))

    def date_sensitive(a: Household, b: Household) -> bool:
        # Monitoring happens in the weeks and months before today: its dates move with it.
        return any(5 <= age(m, date(year, 8, 31)) <= 24 or str(m.fields["birth_date"])[:4] != str(n.fields["birth_date"])[:4]
                   for m, n in zip(a.members, b.members, strict=False)) or \
            any(e.procedure in MONITORING_PROCEDURES for e in a.events)

    pairs = list(zip(before, after, strict=True))
    changed = [n for n, (a, b) in enumerate(pairs) if shape(a) != shape(b)]
    assert changed, "no household changed: the test shows nothing"
    assert all(date_sensitive(*pairs[n]) for n in changed)
    unchanged_later = [n for n, (a, b) in enumerate(pairs) if n > changed[0] and shape(a) == shape(b)]
    assert len(unchanged_later) > (len(pairs) - changed[0]) // 2


def age(m: Member, on: date) -> int:
    birth = m.birth_date
    assert birth is not None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def test_county_spreads_over_many_villages() -> None:
    data = households(COUNTY, 4, TODAY, 2000)
    villages = {h.village_code for h in data}
    assert len(villages) >= 100
    assert villages <= {v.code for v in regions.villages(COUNTY)}
    assert {h.village_code[:9] for h in households(TOWNSHIP, 3)} == {TOWNSHIP}
    assert {h.village_code for h in households(demo.DEMO_REGION, 1)} == {demo.DEMO_REGION}
    synthetic = {h.village_code for h in households(OTHER_COUNTY, 6)}
    assert len(synthetic) > 20 and all(len(c) == 12 and c.startswith(OTHER_COUNTY) for c in synthetic)
    assert all(regions.level_of(c) == "village" for c in synthetic)


def test_families_are_coherent() -> None:
    for hh in households(COUNTY, 4, TODAY, 2000):
        assert 1 <= len(hh.members) <= 7
        head = hh.head
        assert head is not None and head.birth_date is not None
        spouse = next((m for m in hh.members if m.relation == "02"), None)
        for m in hh.members:
            birth = m.birth_date
            assert birth is not None
            age = TODAY.year - birth.year - ((TODAY.month, TODAY.day) < (birth.month, birth.day))
            if m.relation in ("03", "04"):
                for parent in (head, spouse):
                    if parent is not None and parent.birth_date is not None:
                        assert birth >= years_later(parent.birth_date, 18), hh.household_no
            if 5 <= age <= 17:
                assert m.fields.get("student_status"), (hh.household_no, age)
            if age < 5:
                assert m.fields.get("education") == "7"  # 学龄前儿童
            if age >= 14:
                assert m.fields.get("labour"), (hh.household_no, age)
            if m.relation in ("03", "04") and head.fields["sex"] == "1":
                assert m.name[0] == head.name[0]  # children take the father's surname


def test_helpers_come_from_a_pool() -> None:
    data = households(COUNTY, 4, TODAY, 2000)
    load: Counter[str] = Counter()
    phones: dict[str, str] = {}
    for hh in data:
        if hh.status in ("registered", "returned", "exited"):
            assert hh.helpers, hh.household_no
        for h in hh.helpers:
            load[h["id_number"]] += 1
            assert phones.setdefault(h["phone"], h["id_number"]) == h["id_number"]
    assert max(load.values()) <= 5
    assert sum(load.values()) / len(load) >= 2.5


def test_exited_households_pass_the_exit_criteria_on_the_income_of_their_exit() -> None:
    ctx = RuleContext(today=TODAY)
    exited = [h for h in households(COUNTY, 4, TODAY, 2000) if h.status == "exited"]
    assert exited
    for hh in exited:
        year = int(next(e for e in reversed(hh.events) if e.step == "verification").date[:4])
        assert exit_failures(hh, ctx, year=year) == [], hh.household_no
        summary, line = summarize(hh, year), poverty_line(year, hh.fields.get("standard"))
        assert summary is not None and summary.per_capita is not None and line is not None
        assert summary.per_capita > line.line
        # After 2020 Guizhou has neither a poverty line nor a threshold: the latest income is no exit.
        assert max(hh.years) == TODAY.year - 1
        assert [f.en for f in exit_failures(hh, ctx)] == [
            f"no line for {TODAY.year - 1} in province 52 (neither a poverty line nor a monitoring threshold)"]


@pytest.mark.parametrize("today", [demo.EARLIEST_TODAY, TODAY, date(2030, 2, 28)])
def test_incomes_run_up_to_last_year(today: date) -> None:
    data = households(demo.DEMO_REGION, 2, today, 120)
    for hh in data:
        if hh.status in ("registered", "exited", "returned") or hh.fields.get("monitoring_type"):
            assert max(hh.years) == today.year - 1, (hh.household_no, sorted(hh.years))
            assert set(hh.years) >= set(range(2020, today.year)), hh.household_no
    assert any(h.fields.get("monitoring_type") in ("1", "2") for h in data)  # ordinary households monitored


def test_income_is_consistent_with_work_and_business() -> None:
    for hh in households(COUNTY, 4):
        away = any((m.fields.get("migrant_months") or 0) > 0 for m in hh.members)
        for record in hh.years.values():
            income = record.income
            if record.year == max(hh.years):
                assert (income["wage_income"] > 0) == away
            if income.get("business_income"):
                assert income["business_costs"] > 0


def test_registered_households_get_support_measures() -> None:
    for hh in households(COUNTY, 4):
        if hh.status == "registered":
            assert any(record.measures for record in hh.years.values()) or hh.fields["identification_year"] == 2020


def test_planted_mistake_is_frozen() -> None:
    mistake = demo.PlantedMistake("HH-HEAD", "x", None, "中文", "English")
    with pytest.raises(dataclasses.FrozenInstanceError):
        mistake.rule = "other"  # type: ignore[misc]


@pytest.mark.parametrize("today", DATES)
def test_monitoring_is_recent_and_within_its_time_limits_on_today(today: date) -> None:
    """A team opening the demo finds identifications begun in the last weeks, none past its time
    limit, and eliminations begun after more than six months in monitoring."""
    from povdesk.core import monitoring as mon

    data = demo.generate(demo.DEMO_REGION, len(demo.all_positions()), 3, today)
    identifying = [hh for hh in data if mon.monitoring_state(hh) == "identifying"]
    eliminating = [hh for hh in data if mon.monitoring_state(hh) == "eliminating"]
    assert identifying and eliminating
    assert not [hh.household_no for hh in data if mon.is_overdue(hh, today)]
    for hh in identifying:
        assert (today - date.fromisoformat(hh.events[-1].date)).days <= 16
    for hh in eliminating:
        decided = max(date.fromisoformat(e.date) for e in hh.events
                      if e.procedure in mon.IDENTIFICATIONS and e.step == mon.DECISION_STEP)
        begun = min(date.fromisoformat(e.date) for e in hh.events if e.procedure in mon.ELIMINATIONS)
        assert (begun - decided).days > 183 and (today - begun).days <= 100
    assert all(date.fromisoformat(e.date) <= today for hh in data for e in hh.events)
