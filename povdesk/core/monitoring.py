"""防止返贫动态监测 (2020 onward) as data: thresholds by region and year, time limits, and the
monitoring facts of a household (its type, risks and YYYYMM dates from the household form).

resources/monitoring_thresholds.toml holds the monitoring range (监测范围) of each province and
year that a source was found for, with its basis, income period, document and a `verified` flag;
a province loads its own table without code changes (parse_thresholds / load_thresholds on its
file). Nothing here guesses a figure: a year with neither a poverty line nor a threshold has no
line, and `no_line_text` says so plainly ("no line for 2023 in province 52").
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date as date_type
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from povdesk.core.income import PovertyLine, poverty_line
from povdesk.core.model import Household
from povdesk.i18n import Text, tr
from povdesk.paths import resource

# The monitoring procedures of resources/procedures.toml: one pair for a household out of poverty
# (防止返贫, status exited) and one for an ordinary rural household (防止致贫, status not_identified);
# each keeps the household's status. DECISION_STEP is the county's decision in an identification.
IDENTIFICATIONS = ("monitoring_identification", "monitoring_identification_general")
ELIMINATIONS = ("risk_elimination", "risk_elimination_general")
PROCEDURES = IDENTIFICATIONS + ELIMINATIONS
DECISION_STEP = "county_decision"

BASES = ("fixed", "k_x_dibao", "k_x_national_line")
INCOME_PERIODS = ("calendar_year_prev", "12m_before_month")
DAY_KINDS = ("calendar", "working")
NATIONWIDE = "*"

_TOP_KEYS = frozenset({"settings", "thresholds", "time_limits"})
# The monitoring publicity period is not here: each monitoring procedure in procedures.toml has its
# own publicity_days (5), which the procedure engine enforces.
_SETTINGS_KEYS = frozenset({"income_period", "identification_days", "min_months_in_monitoring", "max_risks"})
_THRESHOLD_KEYS = frozenset({"region", "year", "basis", "amount", "multiple", "dibao_monthly", "national_year",
                             "income_period", "document_no", "source", "verified", "note"})
_LIMIT_KEYS = frozenset({"region", "days", "day_kind", "document_no", "source", "verified"})
_REGION = re.compile(r"^(\*|[0-9]{2}|[0-9]{6})$")
_MONTH = re.compile(r"^([0-9]{4})(0[1-9]|1[0-2])$")


class ThresholdSpecError(ValueError):
    """A thresholds file is malformed; raised at load time, never while judging a household."""


@dataclass(frozen=True, slots=True)
class Threshold:
    region: str  # "*", a 2-digit province or a 6-digit county code
    year: int  # the year the range is in force
    basis: str
    amount: float  # yuan per person per year, computed from the basis
    income_period: str
    multiple: float | None = None
    dibao_monthly: float | None = None
    national_year: int | None = None
    document_no: str = ""
    source: str = ""
    verified: bool = False
    note: str = ""

    @property
    def income_year(self) -> int:
        """The calendar year of income it judges (povdesk keeps calendar-year incomes)."""
        return self.year - 1


@dataclass(frozen=True, slots=True)
class TimeLimit:
    region: str
    days: int
    day_kind: str = "calendar"
    document_no: str = ""
    source: str = ""
    verified: bool = False


@dataclass(frozen=True, slots=True)
class MonitoringSettings:
    income_period: str = "calendar_year_prev"
    identification_days: int = 15
    min_months_in_monitoring: int = 6
    max_risks: int = 5


@dataclass(frozen=True, slots=True)
class ThresholdTable:
    settings: MonitoringSettings
    thresholds: tuple[Threshold, ...]
    time_limits: tuple[TimeLimit, ...]
    _index: Mapping[tuple[str, int], Threshold] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", MappingProxyType({(t.region, t.year): t for t in self.thresholds}))

    def threshold(self, year: int, region_code: str) -> Threshold | None:
        """The range in force in `year` for a place (village, county or province code): the
        county's own row first, then the province's, then a nationwide one."""
        for scope in _scopes(region_code):
            found = self._index.get((scope, year))
            if found is not None:
                return found
        return None

    def for_income_year(self, income_year: int, region_code: str) -> Threshold | None:
        """The range that judges the income of a calendar year (that of the year after it)."""
        return self.threshold(income_year + 1, region_code)

    def time_limit(self, region_code: str) -> TimeLimit:
        """The limit from discovery to the county's decision for a place (a province's own, or the
        national one of [settings])."""
        for scope in _scopes(region_code):
            for limit in self.time_limits:
                if limit.region == scope:
                    return limit
        return TimeLimit(NATIONWIDE, self.settings.identification_days, "calendar",
                         source="national Q&A (qinan.gov.cn/info/11792/1360362.htm, Gov)", verified=True)


def _scopes(region_code: str) -> list[str]:
    code = region_code if isinstance(region_code, str) else ""
    scopes = []
    if len(code) >= 6:
        scopes.append(code[:6])
    if len(code) >= 2:
        scopes.append(code[:2])
    scopes.append(NATIONWIDE)
    return scopes


# ---------------------------------------------------------------------------- loading


def _check_keys(body: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ThresholdSpecError(f"{where}: unknown keys {unknown}")


def _whole(value: Any, where: str, lowest: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
        raise ThresholdSpecError(f"{where}: {value!r} must be a whole number >= {lowest}")
    return value


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ThresholdSpecError(f"{where}: {value!r} must be a number above 0")
    return float(value)


def _region(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _REGION.match(value):
        raise ThresholdSpecError(f"{where}: region {value!r} must be \"*\", a 2-digit province or a 6-digit county code")
    return value


def _text(body: Mapping[str, Any], key: str, where: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise ThresholdSpecError(f"{where}: '{key}' must be text")
    return value


def _parse_threshold(body: Any, n: int, settings: MonitoringSettings) -> Threshold:
    where = f"thresholds[{n}]"
    if not isinstance(body, dict):
        raise ThresholdSpecError(f"{where}: must be a table")
    _check_keys(body, _THRESHOLD_KEYS, where)
    region = _region(body.get("region"), where)
    year = _whole(body.get("year"), f"{where}.year", 2000)
    where = f"thresholds[{n}] ({region} {year})"
    basis = body.get("basis")
    if basis not in BASES:
        raise ThresholdSpecError(f"{where}: basis {basis!r} is not one of {BASES}")
    period = body.get("income_period", settings.income_period)
    if period not in INCOME_PERIODS:
        raise ThresholdSpecError(f"{where}: income_period {period!r} is not one of {INCOME_PERIODS}")
    needs = {"fixed": ("amount",), "k_x_dibao": ("multiple", "dibao_monthly"),
             "k_x_national_line": ("multiple", "national_year")}[basis]
    for key in ("amount", "multiple", "dibao_monthly", "national_year"):
        if key in body and key not in needs:
            raise ThresholdSpecError(f"{where}: basis {basis!r} takes {list(needs)}, not '{key}'")
        if key not in body and key in needs:
            raise ThresholdSpecError(f"{where}: basis {basis!r} needs '{key}'")
    multiple = _positive(body["multiple"], f"{where}.multiple") if "multiple" in body else None
    dibao = _positive(body["dibao_monthly"], f"{where}.dibao_monthly") if "dibao_monthly" in body else None
    national_year = _whole(body["national_year"], f"{where}.national_year", 2000) if "national_year" in body else None
    if basis == "fixed":
        amount = _positive(body["amount"], f"{where}.amount")
    elif basis == "k_x_dibao":
        assert multiple is not None and dibao is not None
        amount = round(multiple * dibao * 12, 2)
    else:
        assert multiple is not None and national_year is not None
        line = poverty_line(national_year, "1")
        if line is None:
            raise ThresholdSpecError(f"{where}: no national poverty line for {national_year} in poverty_lines.toml")
        amount = round(multiple * line.line, 2)
    verified = body.get("verified", False)
    if not isinstance(verified, bool):
        raise ThresholdSpecError(f"{where}: 'verified' must be true or false")
    return Threshold(region, year, basis, amount, period, multiple, dibao, national_year,
                     _text(body, "document_no", where), _text(body, "source", where), verified,
                     _text(body, "note", where))


def _parse_limit(body: Any, n: int) -> TimeLimit:
    where = f"time_limits[{n}]"
    if not isinstance(body, dict):
        raise ThresholdSpecError(f"{where}: must be a table")
    _check_keys(body, _LIMIT_KEYS, where)
    day_kind = body.get("day_kind", "calendar")
    if day_kind not in DAY_KINDS:
        raise ThresholdSpecError(f"{where}: day_kind {day_kind!r} is not one of {DAY_KINDS}")
    verified = body.get("verified", False)
    if not isinstance(verified, bool):
        raise ThresholdSpecError(f"{where}: 'verified' must be true or false")
    return TimeLimit(_region(body.get("region"), where), _whole(body.get("days"), f"{where}.days"), day_kind,
                     _text(body, "document_no", where), _text(body, "source", where), verified)


def parse_thresholds(data: Mapping[str, Any]) -> ThresholdTable:
    """The table from parsed TOML; raises ThresholdSpecError when malformed."""
    _check_keys(data, _TOP_KEYS, "monitoring_thresholds.toml")
    raw = data.get("settings", {})
    if not isinstance(raw, dict):
        raise ThresholdSpecError("settings: must be a table")
    _check_keys(raw, _SETTINGS_KEYS, "settings")
    period = raw.get("income_period", "calendar_year_prev")
    if period not in INCOME_PERIODS:
        raise ThresholdSpecError(f"settings.income_period: {period!r} is not one of {INCOME_PERIODS}")
    settings = MonitoringSettings(
        income_period=period,
        identification_days=_whole(raw.get("identification_days", 15), "settings.identification_days"),
        min_months_in_monitoring=_whole(raw.get("min_months_in_monitoring", 6), "settings.min_months_in_monitoring", 0),
        max_risks=_whole(raw.get("max_risks", 5), "settings.max_risks"),
    )
    rows = data.get("thresholds", [])
    limits = data.get("time_limits", [])
    if not isinstance(rows, list) or not isinstance(limits, list):
        raise ThresholdSpecError("thresholds and time_limits must be arrays of tables ([[thresholds]])")
    thresholds = tuple(_parse_threshold(b, n, settings) for n, b in enumerate(rows))
    seen: set[tuple[str, int]] = set()
    for t in thresholds:
        if (t.region, t.year) in seen:
            raise ThresholdSpecError(f"thresholds: {t.region} {t.year} is given twice")
        seen.add((t.region, t.year))
    time_limits = tuple(_parse_limit(b, n) for n, b in enumerate(limits))
    regions = [lim.region for lim in time_limits]
    if len(set(regions)) != len(regions):
        raise ThresholdSpecError(f"time_limits: a region is given twice: {regions}")
    return ThresholdTable(settings, thresholds, time_limits)


def load_thresholds(path: Path) -> ThresholdTable:
    """A thresholds file (a province's own, or the bundled one)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    try:
        return parse_thresholds(data)
    except ThresholdSpecError as exc:
        raise ThresholdSpecError(f"{path}: {exc}") from exc


@cache
def thresholds() -> ThresholdTable:
    """The bundled resources/monitoring_thresholds.toml (cached)."""
    return load_thresholds(resource("monitoring_thresholds.toml"))


def monitoring_settings() -> MonitoringSettings:
    return thresholds().settings


def merged(base: ThresholdTable, extra: ThresholdTable) -> ThresholdTable:
    """`extra`'s rows over `base`'s (same region and year, or same region's time limit, replaced);
    the settings are `extra`'s. How a province's own file is laid over the bundled table."""
    rows = {(t.region, t.year): t for t in base.thresholds}
    rows.update({(t.region, t.year): t for t in extra.thresholds})
    limits = {lim.region: lim for lim in base.time_limits}
    limits.update({lim.region: lim for lim in extra.time_limits})
    return ThresholdTable(extra.settings, tuple(rows.values()), tuple(limits.values()))


@lru_cache(maxsize=8)
def with_overrides(text: str | None) -> ThresholdTable:
    """The bundled table with a province's own (the TOML text a workspace keeps, already checked
    when it was imported) laid over it: what a worker process judges by, given only that text."""
    return thresholds() if text is None else merged(thresholds(), parse_thresholds(tomllib.loads(text)))


# ---------------------------------------------------------------------------- income lines


@dataclass(frozen=True, slots=True)
class IncomeLine:
    """What the per-capita income of a calendar year must exceed: the poverty line of that year
    (2020 and before) or else the monitoring range that judges that year's income."""

    income_year: int
    amount: float
    kind: str  # "poverty_line" | "monitoring_threshold"
    verified: bool
    poverty: PovertyLine | None = None
    threshold: Threshold | None = None

    @property
    def label(self) -> Text:
        if self.kind == "poverty_line":
            return tr("{year} 年贫困线", "the {year} poverty line", year=self.income_year)
        assert self.threshold is not None
        return tr("{year} 年监测范围", "the {year} monitoring threshold", year=self.threshold.year)


def income_line(income_year: int, region_code: str, standard_code: str | None = "1",
                table: ThresholdTable | None = None) -> IncomeLine | None:
    """The line for the income of a calendar year in a place, or None when there is neither a
    poverty line nor a threshold (say so with no_line_text, never pass silently)."""
    line = poverty_line(income_year, standard_code)
    if line is not None:
        return IncomeLine(income_year, line.line, "poverty_line", line.verified, poverty=line)
    found = (table or thresholds()).for_income_year(income_year, region_code)
    if found is not None:
        return IncomeLine(income_year, found.amount, "monitoring_threshold", found.verified, threshold=found)
    return None


def monitoring_line(income_year: int, region_code: str, standard_code: str | None = "1",
                    table: ThresholdTable | None = None) -> IncomeLine | None:
    """The line a monitoring object's income of a calendar year is judged by: the monitoring
    threshold first (it is above the poverty line), else the poverty line of that year."""
    found = (table or thresholds()).for_income_year(income_year, region_code)
    if found is not None:
        return IncomeLine(income_year, found.amount, "monitoring_threshold", found.verified, threshold=found)
    return income_line(income_year, region_code, standard_code, table)


def province_of(region_code: str) -> str:
    return region_code[:2] if isinstance(region_code, str) else ""


def no_line_text(income_year: int, region_code: str) -> Text:
    """The finding for a year without any line: "no line for 2023 in province 52"."""
    province = province_of(region_code)
    return tr("没有 {year} 年的收入标准（省份代码 {province}：既无贫困线，也无监测范围）",
              "no line for {year} in province {province} (neither a poverty line nor a monitoring threshold)",
              year=income_year, province=province)


# ---------------------------------------------------------------------------- months (YYYYMM)


def parse_month(value: Any) -> tuple[int, int] | None:
    """(year, month) from "YYYYMM" as the national system records it, or None."""
    if not isinstance(value, str):
        return None
    m = _MONTH.match(value)
    return (int(m.group(1)), int(m.group(2))) if m else None


def months_between(start: tuple[int, int], end: tuple[int, int]) -> int:
    """Whole months from `start` to `end` (202401 to 202407 is 6)."""
    return (end[0] - start[0]) * 12 + end[1] - start[1]


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}{day.month:02d}"


def days_taken(start: dt.date, end: dt.date, day_kind: str = "calendar") -> int:
    """Days from start to end (the start day not counted); working days count Monday to Friday."""
    if day_kind == "working":
        return sum(1 for n in range(1, (end - start).days + 1) if (start + dt.timedelta(days=n)).weekday() < 5)
    return (end - start).days


def deadline(start: dt.date, limit: TimeLimit) -> dt.date:
    """The last day allowed by the limit counted from `start`."""
    if limit.day_kind == "calendar":
        return start + dt.timedelta(days=limit.days)
    day, left = start, limit.days
    while left:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


# ---------------------------------------------------------------------------- a household's facts


@dataclass(frozen=True, slots=True)
class MonitoringFacts:
    """The monitoring section of a household's form, read once (codes as stored)."""

    object_type: str | None
    risks: tuple[str, ...]
    channel: str | None
    identified: tuple[int, int] | None  # 识别监测时间 (YYYYMM)
    eliminated: tuple[int, int] | None  # 消除监测时间 (YYYYMM)
    elimination_mode: str | None

    @property
    def is_object(self) -> bool:
        return self.object_type is not None


def facts(hh: Household) -> MonitoringFacts:
    f = hh.fields
    risks = f.get("monitoring_risks")
    kind = f.get("monitoring_type")
    channel = f.get("discovery_channel")
    mode = f.get("elimination_mode")
    return MonitoringFacts(
        kind if type(kind) is str and kind else None,
        tuple(r for r in risks if type(r) is str) if isinstance(risks, list) else (),
        channel if type(channel) is str and channel else None,
        parse_month(f.get("monitoring_month")),
        parse_month(f.get("elimination_month")),
        mode if type(mode) is str and mode else None,
    )


def judged_income_year(month: tuple[int, int]) -> int:
    """The calendar year of income judged at a step in a month (the previous calendar year, under
    either income period: see monitoring_thresholds.toml)."""
    return month[0] - 1


def regions_with_thresholds(table: ThresholdTable | None = None) -> Sequence[str]:
    return sorted({t.region for t in (table or thresholds()).thresholds})


# ---------------------------------------------------------------------------- where a household stands

MONITORING_STATES = ("none", "identifying", "monitored", "eliminating", "eliminated")
STATE_LABELS = {
    "none": ("未纳入监测", "Not monitored"),
    "identifying": ("识别中", "Being identified for monitoring"),
    "monitored": ("监测中", "Monitored"),
    "eliminating": ("风险消除中", "Risk elimination under way"),
    "eliminated": ("风险已消除", "Risk eliminated"),
}


def monitoring_state(hh: Household) -> str:
    """Where the household stands in monitoring, from its procedure history (one of
    MONITORING_STATES): the last completed identification or elimination, or the one under way."""
    from povdesk.core.procedures import effective, load_procedures, open_procedure

    specs = load_procedures()
    state = "none"
    for e in effective(hh.events):
        spec = specs.get(e.procedure)
        if spec is not None and e.procedure in PROCEDURES and e.step == spec.last.key:
            state = "monitored" if e.procedure in IDENTIFICATIONS else "eliminated"
    current = open_procedure(hh)
    if current is not None and current[0].key in IDENTIFICATIONS:
        return "identifying"
    if current is not None and current[0].key in ELIMINATIONS:
        return "eliminating"
    return state


def elimination_mode(hh: Household) -> str | None:
    """How the household's risk was eliminated: its 风险消除方式 field, else the way proposed at its
    last recorded elimination step (the evidence `mode`, a list of codes, the first taken)."""
    from povdesk.core.procedures import effective

    own = facts(hh).elimination_mode
    if own is not None:
        return own
    for e in reversed(effective(hh.events)):
        if e.procedure in ELIMINATIONS:
            mode = e.evidence.get("mode")
            if isinstance(mode, list) and mode and type(mode[0]) is str:
                return mode[0]
            if type(mode) is str and mode:
                return mode
    return None


def identification_deadline(hh: Household, table: ThresholdTable | None = None) -> date_type | None:
    """The last day for the county's decision of the identification under way (None when there is
    none, or its decision is already recorded)."""
    from povdesk.core.procedures import open_procedure

    current = open_procedure(hh)
    if current is None or current[0].key not in IDENTIFICATIONS:
        return None
    spec, events = current
    if any(e.step == DECISION_STEP for e in events):
        return None
    start = _parse_day(events[0].date) if events[0].step == spec.first.key else None
    if start is None:
        return None
    return deadline(start, (table or thresholds()).time_limit(hh.village_code))


def is_overdue(hh: Household, today: date_type, table: ThresholdTable | None = None) -> bool:
    """An identification under way whose decision is past its time limit on `today`."""
    last = identification_deadline(hh, table)
    return last is not None and today > last


def _parse_day(value: Any) -> date_type | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


# ---------------------------------------------------------------------------- counting


@dataclass(frozen=True)
class MonitoringSummary:
    """防止返贫动态监测 in a region: the monitoring objects by type and risk, where each household
    stands in monitoring (MONITORING_STATES), the identifications and risk eliminations completed in
    `year`, and the identifications past their time limit on `today`."""

    objects: int = 0  # households with a monitoring type
    people: int = 0  # their members
    by_type: dict[str, int] = field(default_factory=dict)
    people_by_type: dict[str, int] = field(default_factory=dict)
    by_risk: dict[str, int] = field(default_factory=dict)  # a household counts once per risk it has
    by_state: dict[str, int] = field(default_factory=dict)  # "none" left out
    by_mode: dict[str, int] = field(default_factory=dict)  # elimination mode of the eliminated
    overdue: tuple[str, ...] = ()  # household ids
    year: int = 0
    in_year: dict[str, int] = field(default_factory=dict)  # "identified", "eliminated": completed in `year`
    by_village: dict[str, int] = field(default_factory=dict)  # monitoring objects per village code


def tally(households: Iterable[Household], today: date_type, year: int,
          table: ThresholdTable | None = None) -> MonitoringSummary:
    """Count households for a MonitoringSummary (a workspace's, store.summary; a province's,
    province.report, from the households it holds). Households without a monitoring type or step
    count for nothing."""
    from povdesk.core.procedures import effective, load_procedures

    table = table or thresholds()
    specs = load_procedures()
    by_type: dict[str, int] = {}
    people_by_type: dict[str, int] = {}
    by_risk: dict[str, int] = {}
    by_state: dict[str, int] = {}
    by_mode: dict[str, int] = {}
    by_village: dict[str, int] = {}
    in_year = {"identified": 0, "eliminated": 0}
    overdue: list[str] = []
    objects = people = 0
    prefix = str(year)
    for hh in households:
        f = facts(hh)
        if f.is_object:
            assert f.object_type is not None
            objects += 1
            people += len(hh.members)
            by_type[f.object_type] = by_type.get(f.object_type, 0) + 1
            people_by_type[f.object_type] = people_by_type.get(f.object_type, 0) + len(hh.members)
            by_village[hh.village_code] = by_village.get(hh.village_code, 0) + 1
            for risk in dict.fromkeys(f.risks):
                by_risk[risk] = by_risk.get(risk, 0) + 1
        state = monitoring_state(hh)
        if state != "none":
            by_state[state] = by_state.get(state, 0) + 1
        mode = elimination_mode(hh) if state == "eliminated" else None
        if mode is not None:
            by_mode[mode] = by_mode.get(mode, 0) + 1
        done = {e.procedure for e in effective(hh.events)
                if e.procedure in PROCEDURES and e.procedure in specs
                and e.step == specs[e.procedure].last.key and str(e.date).startswith(prefix)}
        in_year["identified"] += bool(done & set(IDENTIFICATIONS))
        in_year["eliminated"] += bool(done & set(ELIMINATIONS))
        if is_overdue(hh, today, table):
            overdue.append(hh.id)
    return MonitoringSummary(objects, people, by_type, people_by_type, by_risk, by_state, by_mode,
                             tuple(sorted(overdue)), year, in_year, by_village)
