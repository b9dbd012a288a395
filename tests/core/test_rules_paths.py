"""The rules' quick paths give exactly the findings of the plain ordered pass, on a demo county
whose records have been spoilt at random (wrong types, unknown codes, bad dates, phones, ID
numbers, members moved between households), and per-capita incomes exactly summarize's."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from povdesk.core import demo
from povdesk.core.forms import household_form, member_form, with_context
from povdesk.core.income import household_size, summarize
from povdesk.core.model import Household
from povdesk.core.rules import RuleContext, validate_household
from povdesk.core.rules.engine import _check_ordered, _check_values, _Checks, _Collector, _compiled_form

TODAY = date(2026, 6, 1)
POOL: list[Any] = [None, "", "99", "01", "02", "1", "2", "4", "7", 0, 12, -5, 3.5, 10**7, True, False, "abc",
                   ["01"], ["01", "99"], ["01", "02", "03", "04", "05", "06"], {"x": 1}, "2030-01-01",
                   "1950-02-30", "20200101", "13812345678", "1381234567", "x" * 300, "522634199001011234",
                   "110101900101123", float("nan")]


def spoilt_county(n: int = 240, seed: int = 5) -> list[Household]:
    rng = random.Random(seed)
    households = demo.generate(demo.DEMO_REGION, n, seed, TODAY)
    donors = [h.to_dict() for h in households[:40]]
    out = []
    for i, hh in enumerate(households):
        d = hh.to_dict()
        for _ in range(rng.randint(0, 5) if i % 4 else 0):
            r = rng.random()
            if r < 0.35 and d["members"]:
                fields = rng.choice(d["members"])["fields"]
                fields[rng.choice([*fields, "change", "dibao", "migrant_place"])] = rng.choice(POOL)
            elif r < 0.6:
                d["fields"][rng.choice([*d["fields"], "monitoring_type", "exclusions"])] = rng.choice(POOL)
            elif r < 0.8 and d["years"]:
                income = rng.choice(d["years"])["income"]
                income[rng.choice([*income, "wage_income", "business_costs"])] = rng.choice(POOL)
            elif r < 0.9:
                d["helpers"] = rng.choice(donors)["helpers"]
                for h in d["helpers"]:
                    h[rng.choice(["phone", "start_date", "id_number"])] = rng.choice(POOL)
            elif d["members"]:
                d["members"].append(dict(rng.choice(rng.choice(donors)["members"]), id=f"moved-{i}"))
        out.append(Household.from_dict(d))
    return out


def _both(checks: _Checks, values: dict[str, Any], hh: Household, m: Any) -> None:
    quick, plain = _Collector(hh), _Collector(hh)
    _check_values(checks, values, quick, m, TODAY)
    _check_ordered(checks.entries, values, plain, m, TODAY)
    assert quick.out == plain.out


def test_quick_field_checks_equal_the_ordered_pass() -> None:
    hform, mform = _compiled_form(household_form()), _compiled_form(member_form())
    seen = 0
    for hh in spoilt_county():
        _both(hform.plain, with_context(hh.fields, hh.status), hh, None)
        for record in hh.years.values():
            _both(hform.sections["income"], record.income, hh, None)
            for measure in record.measures:
                _both(hform.sections["measures"], measure, hh, None)
        for helper in hh.helpers:
            _both(hform.sections["helpers"], helper, hh, None)
        for m in hh.members:
            _both(mform.plain, m.fields, hh, m)
        seen += bool(validate_household(hh, RuleContext(today=TODAY)))
    assert seen > 50  # the spoilt county has findings to compare


def test_income_rules_judge_summarize_figures() -> None:
    ctx = RuleContext(today=TODAY)
    out_of_range = 0
    for hh in spoilt_county(120, 9):
        size = household_size(hh)
        expected = {y: s.per_capita for y in hh.years if (s := summarize(hh, y, size)) is not None}
        ranges = {f.message.en for f in validate_household(hh, ctx) if f.rule == "INC-RANGE"}
        assert ranges == {f"{y}: per-capita net income {pc} yuan is outside 0 to 100,000"
                          for y, pc in expected.items() if pc is not None and not 0 < pc <= 100_000}
        out_of_range += len(ranges)
    assert out_of_range > 0


def test_quick_tests_change_no_finding(monkeypatch: Any) -> None:
    """Every finding of three spoilt counties, with the quick tests made per shape of values (the
    field checks, the all-float income records) and again with them turned off."""
    from povdesk.core.rules import engine

    ctx = RuleContext(today=TODAY)
    counties = [spoilt_county(n, seed) for n, seed in ((240, 5), (400, 23), (300, 31))]
    quick = [[f for hh in county for f in validate_household(hh, ctx)] for county in counties]
    assert any(checks.quick for cf in engine._compiled.values() for checks in (cf.plain, *cf.sections.values()))
    assert engine._income_shapes
    monkeypatch.setattr(engine._Checks, "quick_test", lambda self, shape: None)
    monkeypatch.setattr(engine, "_FLOATS", set())
    for cf in engine._compiled.values():
        for checks in (cf.plain, *cf.sections.values()):
            monkeypatch.setattr(checks, "quick", {})
    plain = [[f for hh in county for f in validate_household(hh, ctx)] for county in counties]
    assert quick == plain
    assert sum(map(len, plain)) > 1000
    assert {f.rule for fs in plain for f in fs} >= {"F-CODE", "F-TYPE", "INC-RANGE", "ID-INVALID", "F-REQUIRED"}
