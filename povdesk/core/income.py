"""Income arithmetic and poverty lines: per-capita net income against the line of a year.

人均纯收入 = (工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出) / 家庭人口数.
Identification in year Y judges the income of calendar year Y−1 against the line of Y−1
(the 2014 identification used 2013 incomes and the 2013 line of 2,736 yuan).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from povdesk.core.codes import code_list
from povdesk.core.model import Household, Member
from povdesk.paths import resource

INCOME_ITEMS = (
    "wage_income",
    "business_income",
    "dividend_income",
    "other_property_income",
    "family_planning_subsidy",
    "dibao_allowance",
    "tekun_allowance",
    "pension_income",
    "eco_compensation",
    "other_transfer_income",
)
COST_ITEMS = ("business_costs",)
# 合规自付支出: recorded with each year's income but not part of net income (the monitoring
# rigid-expense trigger, povdesk.core.monitoring).
COMPLIANT_EXPENSES = "compliant_expenses"
TRANSFER_ITEMS = INCOME_ITEMS[4:]
PROPERTY_ITEMS = ("dividend_income", "other_property_income")

STANDARD_TABLES = {"1": "national", "2": "provincial", "3": "municipal"}


def _num(value: Any) -> float:
    if value is None:
        return 0.0
    t = type(value)
    if t is float or t is int:
        return float(value)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def counts_in_household(member: Member) -> bool:
    """A member who died, married out, emigrated, was imprisoned or moved out no longer counts."""
    change = member.fields.get("change")
    return not (change and code_list("member_change").attr(change, "leaves", False))


def household_size(hh: Household) -> int:
    return sum(1 for m in hh.members if counts_in_household(m))


@dataclass(frozen=True, slots=True)
class IncomeSummary:
    year: int
    wages: float
    business: float
    property: float
    transfers: float
    costs: float
    net: float
    size: int
    per_capita: float | None  # None when nobody lives in the household


def summarize(hh: Household, year: int, size: int | None = None) -> IncomeSummary | None:
    """Income of one calendar year, or None if nothing was recorded for it.

    `size` is household_size(hh) when the caller already knows it (validation does).
    """
    record = hh.years.get(year)
    if record is None or not record.income:
        return None
    get = record.income.get
    wages = _num(get("wage_income"))
    business = _num(get("business_income"))
    prop = sum([_num(get(k)) for k in PROPERTY_ITEMS])
    transfers = sum([_num(get(k)) for k in TRANSFER_ITEMS])
    costs = sum([_num(get(k)) for k in COST_ITEMS])
    net = round(wages + business + prop + transfers - costs, 2)
    if size is None:
        size = household_size(hh)
    return IncomeSummary(year, wages, business, prop, transfers, costs, net, size,
                         round(net / size, 2) if size else None)


def compliant_expenses(hh: Household, year: int) -> float | None:
    """合规自付支出 of a calendar year, or None when it was not recorded."""
    record = hh.years.get(year)
    if record is None or record.income.get(COMPLIANT_EXPENSES) is None:
        return None
    return _num(record.income.get(COMPLIANT_EXPENSES))


@dataclass(frozen=True, slots=True)
class PovertyLine:
    year: int
    standard: str  # national | provincial | municipal
    line: float
    verified: bool


@cache
def _lines() -> dict[str, dict[int, PovertyLine]]:
    with resource("poverty_lines.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    table: dict[str, dict[int, PovertyLine]] = {}
    for standard, years in raw.items():
        table[standard] = {
            int(y): PovertyLine(int(y), standard, float(v["line"]), bool(v.get("verified", True)))
            for y, v in years.items()
        }
    return table


def poverty_line(year: int, standard_code: str | None = "1") -> PovertyLine | None:
    """The line for a year under a household's identification standard (national fallback).

    There is no poverty line after 2020: for those years povdesk.core.monitoring.income_line
    gives the province's monitoring threshold, or says there is no line at all."""
    table = _lines()
    standard = standard_code if type(standard_code) is str else None  # a wrong type in a file reads as unset
    chosen = table.get(STANDARD_TABLES.get(standard or "1", "national"), {})
    return chosen.get(year) or table.get("national", {}).get(year)


def reference_year(identification_year: int) -> int:
    """The income year judged when identifying in a given year."""
    return identification_year - 1
