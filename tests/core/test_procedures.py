"""Procedure engine: legal walks, the steps x roles matrix, sequencing, dates and evidence rules."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from typing import Any

import pytest

from povdesk.core import monitoring as M
from povdesk.core import procedures as P
from povdesk.core.model import ROLE_LABELS, ROLE_LEVELS, ROLES, Household, ProcedureEvent
from povdesk.errors import ProcedureRefused
from povdesk.i18n import Text, tr
from povdesk.paths import resource

TODAY = dt.date(2020, 12, 31)
START = dt.date(2019, 1, 1)
SPECS = P.load_procedures()

TURNED_DOWN = "turned down"  # an identification whose appraisal vote was lost
# What must already have happened before each procedure can start.
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "identification": (),
    "exit": ("identification",),
    "removal": ("identification",),
    "return_to_poverty": ("identification", "exit"),
    # Monitoring: of a household out of poverty, and of one turned down at identification.
    "monitoring_identification": ("identification", "exit"),
    "risk_elimination": ("identification", "exit", "monitoring_identification"),
    "monitoring_identification_general": (TURNED_DOWN,),
    "risk_elimination_general": (TURNED_DOWN, "monitoring_identification_general"),
}
END_STATUS = {
    "identification": "registered",
    "exit": "exited",
    "removal": "removed",
    "return_to_poverty": "returned",
    "monitoring_identification": "exited",
    "risk_elimination": "exited",
    "monitoring_identification_general": "not_identified",
    "risk_elimination_general": "not_identified",
}
# Values for evidence fields the engine reads; anything else is filled from its kind.
GOOD_VALUES: dict[str, Any] = {
    "representatives_total": 30,
    "representatives_present": 25,
    "votes_for": 20,
    "votes_against": 5,
    "objections": 2,
    "objections_resolved": 2,
    "reason_codes": ["03", "04"],
    "channel": ["1"],
    "risks": ["01"],
    "object_type": ["1"],
    "mode": ["1"],
}


class Walker:
    """Drives one household through procedures with valid evidence and dates that move forward."""

    def __init__(self) -> None:
        self.household = Household(village_code="110101001001", household_no="0001")
        self.day = START

    def args(self, procedure: str, step: str, days: int = 7, **overrides: Any) -> tuple[str, dict[str, Any]]:
        """A date and evidence that make the step valid at this point (before overrides)."""
        spec = SPECS[procedure].step(step)
        assert spec is not None
        evidence: dict[str, Any] = {}
        for f in spec.evidence:
            if f.key in GOOD_VALUES:
                evidence[f.key] = GOOD_VALUES[f.key]
            elif f.kind == "text":
                evidence[f.key] = f"{f.en}: written"
            elif f.kind == "yes_no":
                evidence[f.key] = True
            elif f.kind == "integer":
                evidence[f.key] = f.min or 0
        date = self.day.isoformat()
        if spec.kind == "publicity":
            end = self.day + dt.timedelta(days=days - 1)
            evidence["start_date"] = self.day.isoformat()
            evidence["end_date"] = end.isoformat()
            date = end.isoformat()
        for key, value in overrides.items():
            if value is None:
                evidence.pop(key, None)
            else:
                evidence[key] = value
        return date, evidence

    def check(
        self,
        procedure: str,
        step: str,
        *,
        role: str | None = None,
        date: str | None = None,
        evidence: dict[str, Any] | None = None,
        days: int = 7,
        error_count: int = 0,
        today: dt.date = TODAY,
        **kw: Any,
    ) -> list[Text]:
        """check_step with valid arguments, except for what the test passes."""
        good_date, good_evidence = self.args(procedure, step, days, **(evidence or {}))
        spec = SPECS[procedure].step(step)
        assert spec is not None
        return P.check_step(
            self.household,
            procedure,
            step,
            role=role or spec.roles[0],
            date=good_date if date is None else date,
            evidence=good_evidence,
            error_count=error_count,
            today=today,
            **kw,
        )

    def do(self, procedure: str, step: str, **overrides: Any) -> ProcedureEvent:
        date, evidence = self.args(procedure, step, **overrides)
        spec = SPECS[procedure].step(step)
        assert spec is not None
        event = P.perform_step(
            self.household,
            procedure,
            step,
            role=spec.roles[0],
            user="wang.li",
            date=date,
            evidence=evidence,
            error_count=0,
            today=TODAY,
        )
        # The step after a publicity must fall after its end; one day later is the earliest.
        self.day = dt.date.fromisoformat(date) + dt.timedelta(days=1)
        return event

    def walk(self, procedure: str, until: str | None = None) -> Walker:
        """Perform the procedure's steps in order, stopping before `until` (all of them if None)."""
        for step in SPECS[procedure].steps:
            if step.key == until:
                break
            self.do(procedure, step.key)
        return self

    def ready_for(self, procedure: str) -> Walker:
        for before in PREREQUISITES[procedure]:
            if before == TURNED_DOWN:
                self.walk("identification", until="appraisal")
                self.do("identification", "appraisal", votes_for=5, votes_against=20)
            else:
                self.walk(before)
        return self


def en(reasons: list[Text]) -> str:
    return " | ".join(r.en for r in reasons)


def zh(reasons: list[Text]) -> str:
    return " | ".join(r.zh for r in reasons)


def is_sequence_reason(reason: Text) -> bool:
    return "next step" in reason.en or "does not allow starting" in reason.en or "starts only after" in reason.en


ALL_STEPS = [(p, s.key) for p, spec in SPECS.items() for s in spec.steps]
MATRIX = [(p, s, role) for p, s in ALL_STEPS for role in ROLES]


# ---------------------------------------------------------------------------- the data file


def test_procedures_toml_defines_the_procedures_in_order() -> None:
    assert list(SPECS) == ["identification", "exit", "removal", "return_to_poverty", "monitoring_identification",
                           "risk_elimination", "monitoring_identification_general", "risk_elimination_general"]
    assert [s.key for s in SPECS["identification"].steps] == [
        "application",
        "appraisal",
        "first_publicity",
        "township_review",
        "second_publicity",
        "county_approval",
        "announcement",
    ]
    assert [s.key for s in SPECS["exit"].steps] == [
        "proposal",
        "verification",
        "appraisal",
        "household_confirmation",
        "publicity",
        "township_review",
        "county_announcement",
    ]
    assert [s.key for s in SPECS["removal"].steps] == [
        "proposal",
        "appraisal",
        "publicity",
        "county_approval",
    ]
    assert [s.key for s in SPECS["return_to_poverty"].steps] == [
        "application",
        "appraisal",
        "publicity",
        "township_review",
        "county_approval",
    ]
    monitoring = ["discovery", "application", "home_verification", "data_comparison", "appraisal", "publicity",
                  "township_review", "county_decision", "announcement"]
    elimination = ["home_check", "appraisal", "publicity", "township_acceptance", "county_decision", "announcement"]
    for key, steps in (("monitoring_identification", monitoring), ("risk_elimination", elimination)):
        for spec in (SPECS[key], SPECS[f"{key}_general"]):
            assert [s.key for s in spec.steps] == steps
            assert [s.level for s in spec.steps].count("county") == 1 and spec.start_from == (spec.end_status,)
    home = SPECS["monitoring_identification"].step("home_verification")
    assert home is not None and home.field("verifiers").min == 2  # type: ignore[union-attr]
    assert P.publicity_days() == 7
    assert all(s.zh and s.en for spec in SPECS.values() for s in spec.steps)


def test_admin_performs_no_step() -> None:
    assert all("admin" not in s.roles for spec in SPECS.values() for s in spec.steps)


def _toml() -> dict[str, Any]:
    with resource("procedures.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_a_province_can_set_a_five_day_publicity() -> None:
    data = _toml()
    data["settings"]["publicity_days"] = 5
    _, settings = P.parse_procedures(data)
    assert settings.publicity_days == 5


def test_loader_refuses_admin_in_a_step() -> None:
    data = _toml()
    data["procedures"]["exit"]["steps"][0]["roles"] = ["admin"]
    with pytest.raises(P.ProcedureSpecError, match="administrator"):
        P.parse_procedures(data)


def test_loader_refuses_an_appraisal_without_votes() -> None:
    data = _toml()
    data["procedures"]["removal"]["steps"][1] = {
        "key": "appraisal",
        "zh": "评议",
        "en": "Appraisal",
        "kind": "appraisal",
        "roles": ["village_worker"],
        "level": "village",
    }
    with pytest.raises(P.ProcedureSpecError, match="representatives_total"):
        P.parse_procedures(data)


def test_every_step_names_its_level_and_roles_of_that_level_or_above() -> None:
    rank = {"village": 0, "township": 1, "county": 2}
    for spec in SPECS.values():
        for step in spec.steps:
            assert step.level in rank
            assert all(rank[ROLE_LEVELS[r]] >= rank[step.level] for r in step.roles), (spec.key, step.key)
    identification = SPECS["identification"]
    assert identification.step("county_approval").level == "county"  # type: ignore[union-attr]
    assert identification.step("township_review").level == "township"  # type: ignore[union-attr]
    assert identification.step("application").level == "village"  # type: ignore[union-attr]


@pytest.mark.parametrize("change, message", [
    (lambda step: step.pop("level"), "'level' must be one of"),
    (lambda step: step.__setitem__("level", "province"), "'level' must be one of"),
    (lambda step: step.__setitem__("roles", ["village_worker"]), "cannot be recorded by ['village_worker']"),
])
def test_loader_refuses_a_step_without_a_level_or_below_its_roles(change: Any, message: str) -> None:
    data = _toml()
    step = data["procedures"]["identification"]["steps"][5]  # county_approval
    change(step)
    with pytest.raises(P.ProcedureSpecError, match=re.escape(message)):
        P.parse_procedures(data)


LEVEL_RANK = {"village": 0, "township": 1, "county": 2}


@pytest.mark.parametrize("level", ["village", "township", "county"])
def test_every_step_of_every_procedure_against_every_level(level: str) -> None:
    """A workspace records a step of its own level or below: the refusal says who may."""
    for spec in SPECS.values():
        for step in spec.steps:
            walker = Walker().ready_for(spec.key).walk(spec.key, until=step.key)
            reasons = walker.check(spec.key, step.key, role=step.roles[-1], level=level)
            above = [r for r in reasons if "may be recorded only at" in r.en]
            if LEVEL_RANK[step.level] > LEVEL_RANK[level]:
                assert len(above) == 1 and f"only at {step.level} level, not at {level} level" in above[0].en
                assert "只能由" in above[0].zh
            else:
                assert above == [] and reasons == [], (spec.key, step.key, level, reasons)


def test_loader_refuses_an_unknown_code_list() -> None:
    data = _toml()
    data["procedures"]["removal"]["steps"][0]["evidence"][0]["codes"] = "no_such_list"
    with pytest.raises(P.ProcedureSpecError, match="no_such_list"):
        P.parse_procedures(data)


# ---------------------------------------------------------------------------- full walks


@pytest.mark.parametrize("procedure", list(SPECS))
def test_full_legal_walk(procedure: str) -> None:
    walker = Walker().ready_for(procedure)
    before = len(walker.household.events)
    walker.walk(procedure)
    household = walker.household
    assert household.status == END_STATUS[procedure]
    assert [e.step for e in household.events[before:]] == [s.key for s in SPECS[procedure].steps]
    assert P.open_procedure(household) is None
    assert P.status_after(household.events) == household.status
    assert P.replay(household.events, today=TODAY) == []
    entries = P.history(household)
    assert entries[-1].status_after == household.status
    assert entries[-1].label.en == f"{SPECS[procedure].en}: {SPECS[procedure].last.en}"


def test_open_procedure_lists_the_events_since_it_started() -> None:
    walker = Walker().ready_for("exit").walk("exit", until="appraisal")
    found = P.open_procedure(walker.household)
    assert found is not None
    spec, events = found
    assert spec.key == "exit"
    assert [e.step for e in events] == ["proposal", "verification"]
    assert [(p.key, s.key) for p, s in P.next_steps(walker.household)] == [("exit", "appraisal")]


# ---------------------------------------------------------------------------- steps x roles


@pytest.mark.parametrize(("procedure", "step", "role"), MATRIX, ids=[f"{p}.{s}-{r}" for p, s, r in MATRIX])
def test_role_matrix(procedure: str, step: str, role: str) -> None:
    walker = Walker().ready_for(procedure).walk(procedure, until=step)
    spec = SPECS[procedure].step(step)
    assert spec is not None
    assert [(p.key, s.key) for p, s in P.next_steps(walker.household) if p.key == procedure] == [
        (procedure, step)
    ]
    reasons = walker.check(procedure, step, role=role)
    if role in spec.roles:
        assert reasons == []
    else:
        assert len(reasons) == 1, en(reasons)
        zh_label, en_label = ROLE_LABELS[role]
        assert f"the role '{en_label}' may not perform" in reasons[0].en
        assert zh_label in reasons[0].zh
        assert ROLE_LABELS[spec.roles[0]][1] in reasons[0].en  # and says who may


# ---------------------------------------------------------------------------- only the next step


def _walk_points(procedure: str) -> list[Walker]:
    """A fresh walker at every point of the procedure's walk, from before its first step to after its last."""
    return [
        Walker().ready_for(procedure).walk(procedure, until=until)
        for until in [s.key for s in SPECS[procedure].steps] + [None]
    ]


def _may_start(spec: P.ProcedureSpec, household: Household) -> bool:
    """The status allows it, and a procedure with `after` follows one of those completed (a risk
    elimination follows an identification for monitoring, and not a second time)."""
    if household.status not in spec.start_from:
        return False
    if not spec.after:
        return True
    completed = [e.procedure for e in household.events
                 if e.procedure in (*spec.after, spec.key) and e.step == SPECS[e.procedure].last.key]
    return bool(completed) and completed[-1] in spec.after


@pytest.mark.parametrize("procedure", list(SPECS))
def test_every_step_but_the_next_is_refused_at_every_point(procedure: str) -> None:
    for walker in _walk_points(procedure):
        household = walker.household
        current = P.open_procedure(household)
        if current is not None:
            spec, events = current
            expected = {(spec.key, spec.steps[len(events)].key)}
        else:
            expected = {(p.key, p.first.key) for p in SPECS.values() if _may_start(p, household)}
        assert {(p.key, s.key) for p, s in P.next_steps(household)} == expected
        for proc, step in ALL_STEPS:
            reasons = walker.check(proc, step)
            if (proc, step) in expected:
                assert reasons == [], f"{proc}.{step} at {household.status}: {en(reasons)}"
            else:
                assert len(reasons) == 1 and is_sequence_reason(reasons[0]), f"{proc}.{step}: {en(reasons)}"


def test_not_next_names_the_next_step() -> None:
    walker = Walker().walk("identification", until="first_publicity")
    reasons = walker.check("identification", "county_approval")
    assert "its next step is 'First publicity'" in reasons[0].en
    assert "第一次公示" in reasons[0].zh


def test_a_procedure_not_started_must_begin_with_its_first_step() -> None:
    walker = Walker().walk("identification")
    reasons = walker.check("exit", "publicity")
    assert "begins with 'Exit proposal'" in en(reasons)


def test_starting_exit_from_applicant_is_refused() -> None:
    reasons = Walker().check("exit", "proposal")
    assert len(reasons) == 1
    assert "status 'Being identified' does not allow starting 'Exit from poverty'" in reasons[0].en


@pytest.mark.parametrize(
    ("setup", "status", "allowed"),
    [
        ((), "applicant", False),
        (("identification",), "registered", False),
        (("identification", "exit"), "exited", True),
        (("identification", "removal"), "removed", False),
        (("identification", "exit", "return_to_poverty"), "returned", False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_return_to_poverty_starts_only_from_exited(
    setup: tuple[str, ...], status: str, allowed: bool
) -> None:
    walker = Walker()
    for procedure in setup:
        walker.walk(procedure)
    assert walker.household.status == status
    reasons = walker.check("return_to_poverty", "application")
    assert (reasons == []) is allowed, en(reasons)


def test_return_to_poverty_refused_after_a_failed_identification() -> None:
    walker = Walker().walk("identification", until="appraisal")
    walker.do("identification", "appraisal", votes_for=10, votes_against=15)
    assert walker.household.status == "not_identified"
    assert "does not allow starting" in en(walker.check("return_to_poverty", "application"))


def test_removed_household_can_start_nothing() -> None:
    walker = Walker().walk("identification").walk("removal")
    assert P.next_steps(walker.household) == []
    assert "no procedure may start from status 'Removed after review'" in en(
        walker.check("exit", "verification")
    )


def test_returned_household_can_exit_again() -> None:
    walker = Walker().ready_for("return_to_poverty").walk("return_to_poverty").walk("exit")
    assert walker.household.status == "exited"
    assert P.status_after(walker.household.events) == "exited"


def test_unknown_procedure_and_step() -> None:
    walker = Walker()
    assert "unknown procedure 'adoption'" in en(
        P.check_step(
            walker.household,
            "adoption",
            "x",
            role="village_worker",
            date="2019-01-01",
            evidence={},
            error_count=0,
            today=TODAY,
        )
    )
    assert "has no step 'vote'" in en(
        P.check_step(
            walker.household,
            "identification",
            "vote",
            role="village_worker",
            date="2019-01-01",
            evidence={},
            error_count=0,
            today=TODAY,
        )
    )


# ---------------------------------------------------------------------------- dates


def test_date_before_the_previous_step_is_refused() -> None:
    walker = Walker().walk("identification", until="appraisal")
    previous = walker.household.events[-1].date
    early = (dt.date.fromisoformat(previous) - dt.timedelta(days=1)).isoformat()
    reasons = walker.check("identification", "appraisal", date=early)
    assert [r.en for r in reasons] == [
        f"the step's date ({early}) is before the date of the previous step "
        f"'Identification: Household application' ({previous})"
    ]


def test_publicity_start_before_the_previous_step_is_refused() -> None:
    walker = Walker().walk("identification", until="second_publicity")
    previous = walker.household.events[-1].date
    early = (dt.date.fromisoformat(previous) - dt.timedelta(days=1)).isoformat()
    reasons = walker.check("identification", "second_publicity", evidence={"start_date": early})
    assert [r.en for r in reasons] == [
        f"'Publicity start date' ({early}) is before the date of the previous step "
        f"'Identification: Township review' ({previous})"
    ]


def test_same_day_as_the_previous_step_is_allowed() -> None:
    walker = Walker().walk("identification", until="appraisal")
    assert walker.check("identification", "appraisal", date=walker.household.events[-1].date) == []


def test_step_after_a_publicity_must_follow_its_end() -> None:
    walker = Walker().walk("identification", until="township_review")
    end = walker.household.events[-1].evidence["end_date"]
    reasons = walker.check("identification", "township_review", date=end)
    assert f"must be after the end of the previous step 'Identification: First publicity' ({end})" in en(
        reasons
    )
    next_day = (dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat()
    assert walker.check("identification", "township_review", date=next_day) == []


def test_publicity_is_recorded_once_its_period_is_over() -> None:
    walker = Walker().walk("identification", until="first_publicity")
    reasons = walker.check("identification", "first_publicity", date=walker.day.isoformat())
    assert "is recorded once its period is over" in en(reasons)


def test_future_date_is_refused() -> None:
    walker = Walker().walk("identification", until="township_review")
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    reasons = walker.check("identification", "township_review", date=tomorrow)
    assert f"the step's date {tomorrow} is after today ({TODAY.isoformat()})" in en(reasons)


def test_publicity_ending_in_the_future_is_refused() -> None:
    walker = Walker().walk("identification", until="first_publicity")
    reasons = walker.check("identification", "first_publicity", today=walker.day + dt.timedelta(days=3))
    assert "'Publicity end date'" in en(reasons) and "is after today" in en(reasons)


@pytest.mark.parametrize("date", ["", "2019-13-01", "1/3/2019"], ids=["missing", "no-such-month", "not-iso"])
def test_missing_or_malformed_date_is_refused(date: str) -> None:
    reasons = Walker().check("identification", "application", date=date)
    assert len(reasons) == 1 and "the step's date" in reasons[0].en and "办理日期" in reasons[0].zh


def test_publicity_ending_before_it_starts_is_refused() -> None:
    walker = Walker().walk("identification", until="first_publicity")
    start = walker.day + dt.timedelta(days=8)
    reasons = walker.check(
        "identification",
        "first_publicity",
        date=start.isoformat(),
        evidence={"start_date": start.isoformat(), "end_date": walker.day.isoformat()},
    )
    assert f"ends ({walker.day.isoformat()}) before it starts ({start.isoformat()})" in en(reasons)


# ---------------------------------------------------------------------------- publicity rules


PUBLICITY_STEPS = [(p, s.key) for p, spec in SPECS.items() for s in spec.steps if s.kind == "publicity"]


@pytest.mark.parametrize(
    ("setting", "offset", "allowed"),
    [(None, -1, False), (None, 0, True), (None, 1, True), (5, -1, False), (5, 0, True)],
    ids=["own-minus-1-day", "own-days", "own-plus-1-day", "setting5-4-days", "setting5-5-days"],
)
@pytest.mark.parametrize(("procedure", "step"), PUBLICITY_STEPS, ids=[f"{p}.{s}" for p, s in PUBLICITY_STEPS])
def test_publicity_period(procedure: str, step: str, setting: int | None, offset: int, allowed: bool) -> None:
    # Each procedure's own minimum (7 for 建档立卡, 5 for monitoring) unless a caller sets one.
    required = setting or SPECS[procedure].publicity_days
    days = required + offset
    walker = Walker().ready_for(procedure).walk(procedure, until=step)
    reasons = walker.check(procedure, step, days=days, publicity_days=setting)
    if allowed:
        assert reasons == []
    else:
        assert len(reasons) == 1
        assert f"lasted {days} days" in reasons[0].en and f"at least {required} days" in reasons[0].en
        assert f"只有 {days} 天" in reasons[0].zh


def test_monitoring_publicities_need_five_days_the_others_seven() -> None:
    for key, spec in SPECS.items():
        assert spec.publicity_days == (5 if key in M.PROCEDURES else 7), key
        assert P.publicity_days(key) == spec.publicity_days
    assert P.publicity_days() == 7
    data = tomllib.loads(resource("procedures.toml").read_text(encoding="utf-8"))
    data["procedures"]["exit"]["publicity_days"] = 0
    with pytest.raises(P.ProcedureSpecError, match="procedures.exit.publicity_days"):
        P.parse_procedures(data)


@pytest.mark.parametrize(("procedure", "step"), PUBLICITY_STEPS, ids=[f"{p}.{s}" for p, s in PUBLICITY_STEPS])
def test_unresolved_objections_are_refused(procedure: str, step: str) -> None:
    walker = Walker().ready_for(procedure).walk(procedure, until=step)
    reasons = walker.check(procedure, step, evidence={"objections": 3, "objections_resolved": 2})
    assert len(reasons) == 1 and "1 unresolved objection(s)" in reasons[0].en


def test_announcement_objections_left_without_a_resolved_count_are_unresolved() -> None:
    walker = Walker().walk("identification", until="announcement")
    reasons = walker.check(
        "identification", "announcement", evidence={"objections": 1, "objections_resolved": None}
    )
    assert "1 unresolved objection(s)" in en(reasons)
    assert (
        walker.check(
            "identification", "announcement", evidence={"objections": None, "objections_resolved": None}
        )
        == []
    )


def test_more_resolved_than_received_is_refused() -> None:
    walker = Walker().walk("identification", until="first_publicity")
    reasons = walker.check(
        "identification", "first_publicity", evidence={"objections": 1, "objections_resolved": 2}
    )
    assert "2 objections resolved is more than the 1 received" in en(reasons)


# ---------------------------------------------------------------------------- appraisal rules


APPRAISALS = [(p, s.key) for p, spec in SPECS.items() for s in spec.steps if s.kind == "appraisal"]


@pytest.mark.parametrize(
    ("present", "allowed"), [(19, False), (20, True), (30, True)], ids=["19of30", "20of30", "30of30"]
)
@pytest.mark.parametrize(("procedure", "step"), APPRAISALS, ids=[f"{p}.{s}" for p, s in APPRAISALS])
def test_attendance_quorum(procedure: str, step: str, present: int, allowed: bool) -> None:
    walker = Walker().ready_for(procedure).walk(procedure, until=step)
    reasons = walker.check(
        procedure, step, evidence={"representatives_present": present, "votes_for": 15, "votes_against": 0}
    )
    if allowed:
        assert reasons == []
    else:
        assert len(reasons) == 1
        assert "only 19 of 30 representatives present" in reasons[0].en and "at least 20" in reasons[0].en


def test_impossible_counts_are_refused() -> None:
    walker = Walker().walk("identification", until="appraisal")
    reasons = walker.check(
        "identification",
        "appraisal",
        evidence={"representatives_present": 31, "votes_for": 20, "votes_against": 12},
    )
    assert "31 representatives present is more than the 30 in total" in en(reasons)
    assert "20 votes for plus 12 against is more than the 31 present" in en(reasons)


@pytest.mark.parametrize(("votes_for", "passed"), [(12, False), (13, True)], ids=["tie-12of24", "13of24"])
def test_vote_decides_identification(votes_for: int, passed: bool) -> None:
    walker = Walker().walk("identification", until="appraisal")
    walker.do("identification", "appraisal", representatives_present=24, votes_for=votes_for, votes_against=0)
    household = walker.household
    if passed:
        assert household.status == "applicant"
        assert [s.key for _, s in P.next_steps(household)] == ["first_publicity"]
    else:
        assert household.status == "not_identified"
        assert P.open_procedure(household) is None
        # A new application, or monitoring as an ordinary rural household.
        assert [(p.key, s.key) for p, s in P.next_steps(household)] == [
            ("identification", "application"), ("monitoring_identification_general", "discovery")]
        assert P.status_after(household.events) == "not_identified"


def test_failed_vote_then_a_new_application_is_identified() -> None:
    walker = Walker().walk("identification", until="appraisal")
    walker.do("identification", "appraisal", votes_for=5, votes_against=20)
    walker.do("identification", "application")
    assert walker.household.status == "applicant"  # being identified again
    for step in SPECS["identification"].steps[1:]:
        walker.do("identification", step.key)
    assert walker.household.status == "registered"
    assert P.replay(walker.household.events) == []


def test_failed_exit_vote_keeps_the_household_registered() -> None:
    walker = Walker().ready_for("exit").walk("exit", until="appraisal")
    walker.do("exit", "appraisal", votes_for=3, votes_against=22)
    assert walker.household.status == "registered"
    assert P.open_procedure(walker.household) is None
    assert {p.key for p, _ in P.next_steps(walker.household)} == {"exit", "removal"}


# ---------------------------------------------------------------------------- household and evidence


@pytest.mark.parametrize(("procedure", "step"), ALL_STEPS, ids=[f"{p}.{s}" for p, s in ALL_STEPS])
def test_validation_errors_block_every_step(procedure: str, step: str) -> None:
    walker = Walker().ready_for(procedure).walk(procedure, until=step)
    reasons = walker.check(procedure, step, error_count=3)
    assert len(reasons) == 1
    assert "still has 3 validation error(s)" in reasons[0].en and "3 个校验错误" in reasons[0].zh


def test_exit_failures_refuse_verification_and_are_listed() -> None:
    walker = Walker().ready_for("exit").walk("exit", until="verification")
    failures = [
        tr("人均纯收入低于贫困线", "income below the poverty line"),
        tr("住房不安全", "housing unsafe"),
    ]
    reasons = walker.check("exit", "verification", exit_failures=failures)
    assert [r.en for r in reasons] == [
        "exit criteria not met: income below the poverty line",
        "exit criteria not met: housing unsafe",
    ]
    assert walker.check("exit", "verification", exit_failures=[]) == []


def test_exit_failures_do_not_matter_at_other_steps() -> None:
    walker = Walker().ready_for("exit")
    assert walker.check("exit", "proposal", exit_failures=[tr("低", "low")]) == []


@pytest.mark.parametrize("reason_codes", [None, []], ids=["absent", "empty"])
def test_removal_without_a_reason_is_refused(reason_codes: list[str] | None) -> None:
    walker = Walker().ready_for("removal")
    reasons = walker.check("removal", "proposal", evidence={"reason_codes": reason_codes})
    assert [r.en for r in reasons] == ["'Reasons for removal' is missing"]


def test_removal_with_an_unknown_reason_or_no_explanation_is_refused() -> None:
    walker = Walker().ready_for("removal")
    reasons = walker.check("removal", "proposal", evidence={"reason_codes": ["03", "99"], "explanation": " "})
    assert "'Reasons for removal' has unknown codes: 99" in en(reasons)
    assert "'Explanation' is missing" in en(reasons)


def test_household_head_must_sign_the_exit() -> None:
    walker = Walker().ready_for("exit").walk("exit", until="household_confirmation")
    reasons = walker.check("exit", "household_confirmation", evidence={"head_signed": False})
    assert [r.en for r in reasons] == ["'Household head signed' must be yes"]


def test_every_problem_is_reported_at_once() -> None:
    walker = Walker().walk("identification", until="appraisal")
    reasons = walker.check(
        "identification",
        "appraisal",
        role="county_coordinator",
        error_count=1,
        date="2030-01-01",
        evidence={"votes_for": "many", "representatives_total": None, "colour": "red"},
    )
    text = en(reasons)
    for expected in [
        "the role 'County coordinator' may not perform",
        "1 validation error(s)",
        "is after today",
        "has no evidence field 'colour'",
        "'Votes for' must be a whole number",
        "'Village representatives in total' is missing",
    ]:
        assert expected in text, text
    assert len(reasons) == 6
    assert all(r.zh and r.en for r in reasons) and "县级管理员" in zh(reasons)


def test_bool_is_not_a_number_of_votes() -> None:
    walker = Walker().walk("identification", until="appraisal")
    assert "'Votes against' must be a whole number" in en(
        walker.check("identification", "appraisal", evidence={"votes_against": True})
    )


# ---------------------------------------------------------------------------- perform_step


def test_perform_step_raises_with_every_reason_and_changes_nothing() -> None:
    walker = Walker()
    with pytest.raises(ProcedureRefused) as info:
        P.perform_step(
            walker.household,
            "exit",
            "proposal",
            role="admin",
            user="",
            date="2019-01-01",
            evidence={},
            error_count=0,
            today=TODAY,
        )
    assert len(info.value.reasons) == 4  # status, role, reason missing, no user
    assert walker.household.events == [] and walker.household.status == "applicant"


def test_perform_step_records_the_event() -> None:
    walker = Walker()
    event = walker.do("identification", "application", notes="applied in person")
    assert walker.household.events == [event]
    assert event.procedure == "identification" and event.step == "application"
    assert event.role == "village_worker" and event.user == "wang.li"
    assert event.date == START.isoformat() and event.evidence == {"notes": "applied in person"}
    assert event.recorded_at


# ---------------------------------------------------------------------------- replay


def test_replay_reports_events_out_of_order() -> None:
    events = Walker().walk("identification").household.events
    shuffled = [events[0], events[2], events[1], *events[3:]]
    assert P.status_after(shuffled) is None
    problems = P.replay(shuffled)
    assert problems and problems[0].en.startswith("event 2 (Identification: First publicity):")
    assert "its next step is 'Democratic appraisal by village representatives'" in problems[0].en


def test_replay_catches_a_shortened_publicity() -> None:
    events = Walker().walk("identification").household.events
    publicity = events[2]
    start = dt.date.fromisoformat(publicity.evidence["start_date"])
    publicity.evidence["start_date"] = (start + dt.timedelta(days=1)).isoformat()
    problems = P.replay(events)
    assert len(problems) == 1 and "lasted 6 days" in problems[0].en
    assert P.replay(events, publicity_days=5) == []


def test_replay_catches_a_status_jump_and_a_missing_user() -> None:
    walker = Walker().walk("identification")
    events = [*walker.household.events[:2], *walker.household.events[4:]]
    events[0] = ProcedureEvent.from_dict({**events[0].to_dict(), "user": ""})
    problems = en(P.replay(events))
    assert "event 1 (Identification: Household application): no user is named" in problems
    assert "event 3 (Identification: Second publicity)" in problems
    assert P.status_after(events) is None


def test_replay_checks_future_dates_against_today() -> None:
    events = Walker().walk("identification").household.events
    assert P.replay(events, today=START) != []
    assert P.replay(events, today=TODAY) == []


# ---------------------------------------------------------------------------- text input


def test_parse_evidence_converts_typed_text() -> None:
    removal = SPECS["removal"].step("proposal")
    confirmation = SPECS["exit"].step("household_confirmation")
    appraisal = SPECS["exit"].step("appraisal")
    assert removal and confirmation and appraisal
    assert P.parse_evidence(
        removal, {"reason_codes": "03，在城镇购买或自建商品房、门面房、经营场所", "explanation": " x "}
    ) == {
        "reason_codes": ["03", "04"],
        "explanation": "x",
    }
    assert P.parse_evidence(removal, {"reason_codes": "03、04 99"}) == {"reason_codes": ["03", "04", "99"]}
    assert P.parse_evidence(confirmation, {"head_signed": "是"}) == {"head_signed": True}
    assert P.parse_evidence(appraisal, {"votes_for": "12", "votes_against": "twelve", "minutes_ref": ""}) == {
        "votes_for": 12,
        "votes_against": "twelve",
    }


def test_status_from_is_where_the_events_lead() -> None:
    """What the store writes: status_after() for a legal history; an unknown event moves nothing."""
    from povdesk.core.demo import generate

    for hh in generate("522634100201", count=30, seed=7, today=dt.date(2026, 6, 1)):
        assert P.status_from(hh.events) == P.status_after(hh.events) == hh.status
    assert P.status_from([]) == "applicant"
    unknown = ProcedureEvent("gone_procedure", "step", "2020-01-01", "village_worker", "worker")
    lost = ProcedureEvent("identification", "appraisal", "2020-02-01", "village_worker", "worker",
                          evidence={"representatives_present": 10, "votes_for": 1})
    assert P.status_from([unknown, lost]) == "not_identified"


# ---------------------------------------------------------------------------- voiding a step


def _void(household: Household, event: ProcedureEvent, role: str, reason: str = "登记错了") -> ProcedureEvent:
    return P.void_step(household, event.id, role=role, user="zhao", date=(TODAY - dt.timedelta(days=1)).isoformat(),
                       reason=reason)


def test_a_voided_step_moves_nothing_and_the_history_replays_without_it() -> None:
    walker = Walker().ready_for("identification").walk("identification")
    hh = walker.household
    last = hh.events[-1]
    mark = _void(hh, last, "county_coordinator")
    assert hh.status == "applicant" and P.status_from(hh.events) == "applicant"
    assert P.effective(hh.events) == hh.events[:-2] and P.void_marks(hh.events) == {last.id: mark}
    assert P.replay(hh.events, today=TODAY) == [] and P.status_after(hh.events) == "applicant"
    assert P.history_problems(hh.events, "applicant") == []
    assert [(s.key, st.key) for s, st in P.next_steps(hh)] == [("identification", last.step)]
    assert [e.voided for e in P.history(hh)][-1] is mark and P.history(hh)[-1].status_after == "applicant"


def test_a_void_mark_that_cannot_stand_is_a_problem_of_the_history() -> None:
    walker = Walker().ready_for("identification").walk("identification")
    hh = walker.household
    last = hh.events[-1]  # the county's announcement
    forged = ProcedureEvent(P.VOID, P.VOID, TODAY.isoformat(), "village_worker", "w", {"event": last.id, "reason": "x"})
    no_reason = ProcedureEvent(P.VOID, P.VOID, TODAY.isoformat(), "county_coordinator", "c", {"event": last.id})
    dangling = ProcedureEvent(P.VOID, P.VOID, TODAY.isoformat(), "county_coordinator", "c",
                              {"event": "no-such-step", "reason": "x"})
    for mark, expect in ((forged, "only that role or a higher level"), (no_reason, "needs a reason"),
                         (dangling, "not in the household's history")):
        problems = en(P.replay([*hh.events, mark], today=TODAY))
        assert expect in problems and "(void)" in problems, problems
    # A void is of the voided step's level: a village cannot bring the void of a county step.
    assert P.level_refusal(forged, "village", hh.events) is not None
    assert P.level_refusal(forged, "county", hh.events) is None
    assert P.events_above([*hh.events, forged], "township")[-1].en.startswith("voiding:")


def test_voiding_is_refused_with_every_reason() -> None:
    walker = Walker().ready_for("identification").walk("identification")
    hh = walker.household
    with pytest.raises(ProcedureRefused) as refused:  # in the middle: the later steps would hang
        _void(hh, hh.events[1], "county_coordinator")
    assert "void the later steps first" in en(refused.value.reasons)
    with pytest.raises(ProcedureRefused) as refused:
        P.void_step(hh, hh.events[-1].id, role="township_official", user="", date="2026-13-01", reason="")
    text = en(refused.value.reasons)
    for expect in ("only that role or a higher level", "needs a reason", "no user", "not a valid date"):
        assert expect in text, text
    with pytest.raises(ProcedureRefused) as refused:  # a township workspace cannot void a county step
        P.void_step(hh, hh.events[-1].id, role="county_coordinator", user="c", date=TODAY.isoformat(),
                    reason="x", level="township")
    assert "voiding:" in en(refused.value.reasons)
    assert hh.status == "registered" and not any(P.is_void(e) for e in hh.events)


_STEPS = [(spec.key, step.key) for spec in SPECS.values() for step in spec.steps]


@pytest.mark.parametrize("level", ["village", "township", "county"])
@pytest.mark.parametrize("procedure, step", _STEPS, ids=[f"{p}.{s}" for p, s in _STEPS])
def test_every_step_in_an_imported_history_or_voided_against_every_level(procedure: str, step: str,
                                                                          level: str) -> None:
    """What a workspace (or a signing device) may bring in or void is held to the same rule as
    what it may type in (test_every_step_of_every_procedure_against_every_level)."""
    rank = {"village": 0, "township": 1, "county": 2}
    spec = SPECS[procedure]
    step_spec = spec.step(step)
    assert step_spec is not None
    event = ProcedureEvent(procedure, step, TODAY.isoformat(), step_spec.roles[0], "someone", {})
    allowed = rank[step_spec.level] <= rank[level]
    why = P.level_refusal(event, level)
    assert (why is None) == allowed
    if not allowed:
        assert why is not None and f"only at {step_spec.level} level" in why.en and level in why.en
    # Brought in a history: refused above the level.
    assert bool(P.events_above([event], level)) == (not allowed)
    # Its void is of the same level.
    mark = ProcedureEvent(P.VOID, P.VOID, TODAY.isoformat(), "county_coordinator", "c",
                          {"event": event.id, "reason": "x"})
    assert (P.level_refusal(mark, level, [event]) is None) == allowed
