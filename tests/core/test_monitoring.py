"""防止返贫动态监测 as data: code lists, thresholds by region and year, lines and the form section."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from povdesk.core import monitoring as M
from povdesk.core.codes import code_list
from povdesk.core.forms import household_form
from povdesk.core.income import compliant_expenses, summarize
from povdesk.core.model import Household, ProcedureEvent, YearRecord
from povdesk.core.procedures import load_procedures
from povdesk.core.rules import RULES, RuleContext, validate_household
from povdesk.core.rules.catalog import blocking
from povdesk.paths import resource
from tests.factories import TODAY, VILLAGE, valid_household

YUNNAN_VILLAGE = "530102001001"
CTX = RuleContext(today=TODAY)


def _toml() -> dict[str, Any]:
    with resource("monitoring_thresholds.toml").open("rb") as fh:
        return tomllib.load(fh)


# ---------------------------------------------------------------- code lists


def test_monitoring_code_lists() -> None:
    assert [c.zh for c in code_list("monitoring_type").codes] == ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]
    risks = {c.zh for c in code_list("monitoring_risk").codes}
    assert risks == {"因病", "因残", "因学", "因灾", "因意外事故", "因缺劳动力", "因产业项目失败", "因务工就业不稳",
                     "因安全住房", "因安全饮水", "其他"}
    # Codes no source was found for are marked so.
    assert code_list("monitoring_risk").attr("11", "verified", True) is False
    assert len(code_list("disaster_kind").codes) == 7
    assert [c.zh for c in code_list("discovery_channel").codes] == ["农户自主申报", "基层干部排查", "部门筛查预警"]
    assert [c.zh for c in code_list("elimination_mode").codes] == ["帮扶消除", "自然消除"]
    assert code_list("measure_type").attr("12", "safe_water") is True


# ---------------------------------------------------------------- thresholds


def test_bundled_thresholds_are_what_the_sources_say() -> None:
    table = M.thresholds()
    yunnan = [table.threshold(year, YUNNAN_VILLAGE) for year in (2024, 2025)]
    assert [(t.amount, t.basis, t.verified) for t in yunnan if t] == [(8700.0, "fixed", False)] * 2
    assert yunnan[1] is not None and yunnan[1].document_no == "云农办通〔2025〕1号"
    dehua = table.threshold(2024, "350526")
    assert dehua is not None and dehua.basis == "k_x_dibao" and dehua.amount == 2 * 815 * 12 and dehua.verified
    national = table.threshold(2020, VILLAGE)
    assert national is not None and national.region == "*" and national.amount == 1.5 * 4000
    anhui = table.threshold(2020, "340102")
    assert anhui is not None and anhui.income_period == "12m_before_month"
    assert table.threshold(2023, VILLAGE) is None  # Guizhou: none found, none invented
    assert table.settings.identification_days == 15
    assert table.settings.min_months_in_monitoring == 6 and table.settings.max_risks == 5


def test_a_county_row_overrides_its_province_and_the_province_the_nation() -> None:
    data = _toml()
    data["thresholds"] += [
        {"region": "35", "year": 2024, "basis": "fixed", "amount": 9000},
        {"region": "*", "year": 2024, "basis": "fixed", "amount": 7000},
    ]
    table = M.parse_thresholds(data)
    assert table.threshold(2024, "350526100200").amount == 19560  # type: ignore[union-attr]
    assert table.threshold(2024, "350102").amount == 9000  # type: ignore[union-attr]
    assert table.threshold(2024, "520102").amount == 7000  # type: ignore[union-attr]


def test_a_made_up_province_loads_its_own_thresholds_and_time_limit(tmp_path: Any) -> None:
    own = tmp_path / "province_99.toml"
    own.write_text(
        '[settings]\nidentification_days = 15\n\n'
        '[[time_limits]]\nregion = "99"\ndays = 10\n\n'
        '[[thresholds]]\nregion = "99"\nyear = 2026\nbasis = "k_x_dibao"\nmultiple = 1.5\ndibao_monthly = 600\n'
        'document_no = "某农办〔2026〕1号"\nverified = true\n',
        encoding="utf-8")
    table = M.merged(M.thresholds(), M.load_thresholds(own))
    found = table.threshold(2026, "990101001001")
    assert found is not None and found.amount == 1.5 * 600 * 12 and found.document_no == "某农办〔2026〕1号"
    assert table.threshold(2025, YUNNAN_VILLAGE) is not None  # the bundled rows are kept
    assert table.time_limit("990101").days == 10 and table.time_limit("520101").days == 15
    line = M.income_line(2025, "990101001001", table=table)
    assert line is not None and line.kind == "monitoring_threshold" and line.amount == 10800


@pytest.mark.parametrize("change, message", [
    (lambda d: d["thresholds"][0].update(basis="guess"), "basis 'guess'"),
    (lambda d: d["thresholds"][0].update(region="5"), "region '5'"),
    (lambda d: d["thresholds"].append(dict(d["thresholds"][-1])), "given twice"),
    (lambda d: d["thresholds"][-1].update(multiple=2), "takes ['amount']"),
    (lambda d: d["thresholds"][-1].pop("amount"), "needs 'amount'"),
    (lambda d: d["thresholds"][-1].update(income_period="monthly"), "income_period 'monthly'"),
    (lambda d: d["thresholds"][0].update(national_year=2023), "no national poverty line for 2023"),
    (lambda d: d["settings"].update(identification_days=0), "identification_days"),
    (lambda d: d["time_limits"][0].update(day_kind="lunar"), "day_kind 'lunar'"),
    (lambda d: d.update(colour="red"), "unknown keys ['colour']"),
])
def test_a_malformed_table_is_refused_at_load(change: Any, message: str) -> None:
    data = _toml()
    change(data)
    with pytest.raises(M.ThresholdSpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        M.parse_thresholds(data)


# ---------------------------------------------------------------- income lines


def test_income_line_is_the_poverty_line_then_the_threshold_else_none() -> None:
    line = M.income_line(2019, VILLAGE)
    assert line is not None and line.kind == "poverty_line" and line.amount == 3218
    yunnan = M.income_line(2024, YUNNAN_VILLAGE)  # judged by the 2025 range
    assert yunnan is not None and yunnan.kind == "monitoring_threshold" and yunnan.amount == 8700
    assert yunnan.threshold is not None and yunnan.threshold.year == 2025 and not yunnan.verified
    assert M.income_line(2023, VILLAGE) is None
    text = M.no_line_text(2023, VILLAGE)
    assert text.en.startswith("no line for 2023 in province 52") and "2023" in text.zh and "52" in text.zh
    # Monitoring judges by the threshold first (2019 income: the 2020 range of 1.5 x the line).
    monitored = M.monitoring_line(2019, VILLAGE)
    assert monitored is not None and monitored.kind == "monitoring_threshold" and monitored.amount == 6000


def test_months_and_deadlines() -> None:
    assert M.parse_month("202603") == (2026, 3)
    assert [M.parse_month(v) for v in ("202613", "2026-03", 202603, "")] == [None] * 4
    assert M.months_between((2025, 11), (2026, 5)) == 6
    assert M.month_of(date(2026, 1, 9)) == "202601"
    calendar = M.TimeLimit("*", 15)
    assert M.deadline(date(2026, 3, 1), calendar) == date(2026, 3, 16)
    working = M.TimeLimit("46", 5, "working")
    assert M.deadline(date(2026, 3, 6), working) == date(2026, 3, 13)  # a Friday: the next five weekdays
    assert M.days_taken(date(2026, 3, 6), date(2026, 3, 13), "working") == 5


# ---------------------------------------------------------------- the form and the facts


def test_the_household_form_has_the_monitoring_section_last_and_compliant_expenses() -> None:
    form = household_form()
    assert form.sections[-1].key == "monitoring"
    keys = [f.key for f in form.section("monitoring").fields]
    assert keys[:2] == ["monitoring_type", "monitoring_risks"] and "elimination_mode" in keys
    assert form.field("monitoring_risks").max_items == M.monitoring_settings().max_risks
    assert form.field("compliant_expenses", "income").kind == "money"


def test_compliant_expenses_are_not_income() -> None:
    hh = valid_household()
    before = summarize(hh, 2015)
    hh.years[2015].income["compliant_expenses"] = 5000.0
    assert summarize(hh, 2015) == before
    assert compliant_expenses(hh, 2015) == 5000.0 and compliant_expenses(hh, 2014) is None
    hh.years[2016] = YearRecord(2016, income={"wage_income": 1.0})
    assert compliant_expenses(hh, 2016) is None


def test_facts_read_the_section() -> None:
    hh = valid_household()
    assert not M.facts(hh).is_object
    hh.fields.update(monitoring_type="1", monitoring_risks=["01", 7], discovery_channel="1",
                     monitoring_month="202603", risk_eliminated=True, elimination_mode="1",
                     elimination_month="bad")
    f = M.facts(hh)
    assert f.is_object and f.risks == ("01",) and f.identified == (2026, 3) and f.eliminated is None


# ---------------------------------------------------------------- rules


def monitored() -> Household:
    """A household out of poverty, identified for monitoring in March 2025 for a failed project."""
    hh = valid_household("exited")
    hh.fields.update(monitoring_type="0", monitoring_risks=["06"], discovery_channel="2", monitoring_month="202503")
    hh.years[2025] = YearRecord(2025, income=dict(hh.years[2015].income))
    return hh


def _event(procedure: str, step: str, day: str) -> ProcedureEvent:
    return ProcedureEvent(procedure, step, day, "village_worker", "wang")


def _identified(hh: Household, start: str = "2025-03-01", decided: str = "2025-03-14") -> None:
    spec = load_procedures()["monitoring_identification"]
    for s in spec.steps:
        hh.events.append(_event(spec.key, s.key, decided if s.key in ("county_decision", "announcement") else start))


def _risk(*risks: str) -> Callable[[Household], None]:
    return lambda hh: hh.fields.update(monitoring_risks=list(risks))


def _eliminated(month: str, mode: str = "2", identified: str = "202503") -> Callable[[Household], None]:
    return lambda hh: hh.fields.update(risk_eliminated=True, elimination_mode=mode, elimination_month=month,
                                       monitoring_month=identified)


def _alone_at_home(hh: Household) -> None:
    hh.members[0].fields.update(migrant_status="0", migrant_place=None, migrant_months=0)
    for record in hh.years.values():
        record.income["wage_income"] = 0.0


def _nobody_can_work(hh: Household) -> None:
    for m in hh.members:
        m.fields.update(labour="5", health="3", migrant_status="0", migrant_place=None, migrant_months=0)


def _poor_2019(wages: float) -> Callable[[Household], None]:
    def change(hh: Household) -> None:
        hh.years = {2019: YearRecord(2019, income={**hh.years[2015].income, "wage_income": wages})}
    return change


def _water_measure(hh: Household) -> None:
    hh.years[2025].measures.append({"measure_type": "12", "content": "接通自来水", "date": "2025-05-10"})


def _elimination_first(hh: Household) -> None:
    hh.events.append(_event("risk_elimination", "home_check", "2025-10-01"))


def _identified_then_eliminated(hh: Household) -> None:
    _identified(hh)
    _elimination_first(hh)


def _combine(*changes: Callable[[Household], None]) -> Callable[[Household], None]:
    def change(hh: Household) -> None:
        for c in changes:
            c(hh)
    return change


# rule -> (a change that makes it fire, a change near it that keeps it quiet)
MONITORING_CASES: dict[str, tuple[Callable[[Household], None], Callable[[Household], None]]] = {
    "MON-ELIM-EARLY": (_eliminated("202506"), _eliminated("202509")),
    "MON-ILL-EXPENSE": (_risk("01"), _combine(_risk("01"),
                                               lambda hh: hh.years[2025].income.update(compliant_expenses=3200.0))),
    "MON-WORK-LABOUR": (_combine(_risk("07"), _alone_at_home), _risk("07")),
    "MON-WATER-MEASURE": (_risk("11"), _combine(_risk("11"), _water_measure)),
    "MON-LABOUR-ALL": (_combine(_risk("04"), lambda hh: hh.members.pop()), _risk("04")),
    "MON-ASSISTED-BELOW": (_combine(_poor_2019(6000.0), _eliminated("202003", "1", "201906")),
                           _combine(_poor_2019(30000.0), _eliminated("202003", "1", "201906"))),
    "MON-NO-LINE": (_eliminated("202510"), _eliminated("202003", "2", "201906")),
    "MON-OVERDUE": (lambda hh: _identified(hh, decided="2025-03-17"), lambda hh: _identified(hh, decided="2025-03-16")),
    "MON-ELIM-UNIDENTIFIED": (_elimination_first, _identified_then_eliminated),
    "MON-ELIM-NO-LABOUR": (_combine(_nobody_can_work, _eliminated("202510")), _eliminated("202510")),
    "MON-TYPE-STATUS": (lambda hh: hh.fields.update(monitoring_type="1"),
                        _combine(lambda hh: setattr(hh, "status", "not_identified"),
                                 lambda hh: hh.fields.update(monitoring_type="1"))),
}


def test_the_monitored_household_is_clean() -> None:
    assert validate_household(monitored(), CTX) == []


def test_every_monitoring_rule_has_a_case() -> None:
    assert {r for r in RULES if r.startswith("MON-")} == set(MONITORING_CASES)


@pytest.mark.parametrize("rule_id", sorted(MONITORING_CASES))
def test_monitoring_rule_fires(rule_id: str) -> None:
    hh = monitored()
    MONITORING_CASES[rule_id][0](hh)
    got = validate_household(hh, CTX)
    assert rule_id in {f.rule for f in got}, [(f.rule, f.message.en) for f in got]
    for f in got:
        assert f.message.zh and f.message.en and "{" not in f.message.zh + f.message.en
        assert f.severity == RULES[f.rule].severity


@pytest.mark.parametrize("rule_id", sorted(MONITORING_CASES))
def test_monitoring_rule_stays_quiet(rule_id: str) -> None:
    hh = monitored()
    MONITORING_CASES[rule_id][1](hh)
    got = validate_household(hh, CTX)
    assert rule_id not in {f.rule for f in got}, [(f.rule, f.message.en) for f in got]


def test_monitoring_findings_block_only_the_monitoring_procedures() -> None:
    for rule in ("MON-ILL-EXPENSE", "MON-WORK-LABOUR", "MON-LABOUR-ALL"):
        assert RULES[rule].blocks_procedure("monitoring_identification_general")
        assert not RULES[rule].blocks_procedure("exit")
    for rule in ("MON-WATER-MEASURE", "MON-ASSISTED-BELOW", "MON-ELIM-UNIDENTIFIED"):
        assert RULES[rule].blocks_procedure("risk_elimination")
        assert not RULES[rule].blocks_procedure("monitoring_identification")
    hh = monitored()
    _risk("07")(hh)
    _nobody_can_work(hh)
    found = [f for f in validate_household(hh, CTX) if f.rule == "MON-WORK-LABOUR"]
    assert [f.message.en for f in found] == ["risk 'unstable work' but nobody in the household is able to work"]
    assert blocking(found, "monitoring_identification") == found and blocking(found, "removal") == []


def test_the_no_line_finding_names_the_year_and_province() -> None:
    hh = monitored()
    _eliminated("202403")(hh)
    hh.fields["monitoring_month"] = "202309"
    (found,) = [f for f in validate_household(hh, CTX) if f.rule == "MON-NO-LINE"]
    assert found.message.en.startswith("no line for 2023 in province 52")
    # The same household in Yunnan is judged by the 2024 range of 8,700 yuan.
    hh.village_code = "530102001001"
    hh.fields["elimination_mode"] = "1"
    hh.years[2023] = YearRecord(2023, income=dict(hh.years[2015].income))
    got = {f.rule: f for f in validate_household(hh, CTX)}
    assert "MON-NO-LINE" not in got
    assert "not above the 2024 monitoring threshold of 8700 yuan" in got["MON-ASSISTED-BELOW"].message.en


def test_a_province_with_working_days_counts_them() -> None:
    hh = monitored()
    hh.village_code = "460105001001"  # Hainan: 20 working days
    _identified(hh, start="2025-03-03", decided="2025-03-28")  # 19 working days, 25 calendar days
    assert "MON-OVERDUE" not in {f.rule for f in validate_household(hh, CTX)}
    hh.events.clear()
    _identified(hh, start="2025-03-03", decided="2025-04-01")  # 21 working days
    (found,) = [f for f in validate_household(hh, CTX) if f.rule == "MON-OVERDUE"]
    assert "21 working days" in found.message.en and "个工作日" in found.message.zh


def test_state_and_overdue_identifications() -> None:
    hh = monitored()
    assert M.monitoring_state(hh) == "none" and M.identification_deadline(hh) is None
    hh.events.append(_event("monitoring_identification", "discovery", "2026-05-01"))
    assert M.monitoring_state(hh) == "identifying"
    assert M.identification_deadline(hh) == date(2026, 5, 16)
    assert not M.is_overdue(hh, date(2026, 5, 16)) and M.is_overdue(hh, date(2026, 5, 17))
    hh.events.clear()
    _identified(hh)
    assert M.monitoring_state(hh) == "monitored" and not M.is_overdue(hh, TODAY)
    hh.events.append(_event("risk_elimination", "home_check", "2025-10-01"))
    assert M.monitoring_state(hh) == "eliminating"
    spec = load_procedures()["risk_elimination"]
    hh.events += [_event(spec.key, s.key, "2025-10-02") for s in spec.steps[1:]]
    assert M.monitoring_state(hh) == "eliminated"


# ---------------------------------------------------------------- an ordinary household

REGISTRATION_FIELDS = ("standard", "attribute", "identification_year", "planned_exit_year", "main_cause",
                       "other_causes")


def ordinary() -> Household:
    """An ordinary rural household (未纳入) monitored as 边缘易致贫户: no 建档立卡 facts at all."""
    hh = valid_household("not_identified")
    for key in REGISTRATION_FIELDS:
        hh.fields.pop(key, None)
    hh.fields.update(monitoring_type="1", monitoring_risks=["01"], discovery_channel="1", monitoring_month="202503")
    return hh


def test_an_ordinary_household_needs_none_of_the_registration_fields() -> None:
    hh = ordinary()
    findings = [f for f in validate_household(hh, CTX) if f.field in REGISTRATION_FIELDS]
    assert findings == []
    # The same household applying for the registration must give them.
    hh.status = "applicant"
    missing = {f.field for f in validate_household(hh, CTX) if f.rule == "F-REQUIRED"}
    assert {"standard", "attribute", "identification_year", "main_cause"} <= missing


def test_the_registration_fields_depend_on_the_status_in_the_form() -> None:
    from povdesk.core.forms import with_context

    form = household_form()
    for key in REGISTRATION_FIELDS:
        spec = form.by_key[key]
        assert not spec.visible(with_context({}, "not_identified")), key
        assert spec.visible(with_context({}, "exited")), key


def test_a_risk_is_eliminated_only_after_an_identification() -> None:
    from povdesk.core.procedures import check_step, next_steps

    hh = monitored()
    offered = {p.key for p, _ in next_steps(hh)}
    assert "monitoring_identification" in offered and "risk_elimination" not in offered
    reasons = check_step(hh, "risk_elimination", "home_check", role="village_worker", date="2025-10-01",
                         evidence={}, error_count=0, today=TODAY)
    assert any("starts only after" in r.en and "Identification for monitoring" in r.en for r in reasons)
    _identified(hh)
    assert "risk_elimination" in {p.key for p, _ in next_steps(hh)}
    spec = load_procedures()["risk_elimination"]
    hh.events += [_event(spec.key, s.key, "2025-10-02") for s in spec.steps]
    # Eliminated: not again until another identification.
    assert "risk_elimination" not in {p.key for p, _ in next_steps(hh)}


def test_registration_identification_is_not_for_an_ordinary_household() -> None:
    from povdesk.core.procedures import (
        ProcedureSpecError,
        check_step,
        initial_status,
        next_steps,
        parse_procedures,
        replay,
    )

    hh = valid_household("not_identified")
    hh.events = []
    assert "identification" in {p.key for p, _ in next_steps(hh)}  # a turned-down applicant may apply again
    hh.fields["household_kind"] = "2"
    assert {p.key for p, _ in next_steps(hh)} == {"monitoring_identification_general"}
    reasons = check_step(hh, "identification", "application", role="village_worker", date="2026-01-05",
                         evidence={}, error_count=0, today=TODAY)
    assert [r.zh for r in reasons] == ["“贫困户识别”不适用于“一般农户（防止致贫监测）”（只适用于：建档立卡户（含申请））"]
    # A history that starts one (a bundle, an import) is a problem too; the same from an applicant is not.
    started = [_event("identification", "application", "2026-01-05")]
    assert any("not for a household of kind" in p.en
               for p in replay(started, start=initial_status(hh.fields)))
    assert not replay(started, start="applicant")
    data = tomllib.loads(resource("procedures.toml").read_text(encoding="utf-8"))
    data["procedures"]["identification"]["household_kinds"] = ["9"]
    with pytest.raises(ProcedureSpecError, match="procedures.identification.household_kinds"):
        parse_procedures(data)
