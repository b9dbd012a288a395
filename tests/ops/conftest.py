"""Fixtures for the operations: a real demo village workspace file per test, on a fixed day, with its accounts."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from povdesk.clock import FixedClock
from povdesk.core.demo import DEMO_PASSWORD, DEMO_REGION, DEMO_USERS, generate, step_positions
from povdesk.core.model import Household
from povdesk.core.procedures import next_steps
from povdesk.store import User, Workspace

VILLAGE_HOUSEHOLDS = 30
assert len(step_positions()) <= VILLAGE_HOUSEHOLDS  # a household waiting at every step
TODAY = date(2026, 6, 1)
CLOCK = FixedClock(TODAY)


@pytest.fixture(scope="session")
def village_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A village workspace with the demo accounts and 30 households, built once per session."""
    path = tmp_path_factory.mktemp("ops-template") / "village.povdesk"
    ws = Workspace.create(path, region_code=DEMO_REGION, name="东门村", level="village", admin_user="admin",
                          admin_password=DEMO_PASSWORD, clock=CLOCK, demo=True)
    try:
        admin = ws.authenticate("admin", DEMO_PASSWORD)
        for name, role in DEMO_USERS.items():
            if name != "admin":
                ws.add_user(admin, name, DEMO_PASSWORD, role, name)
        ws.import_households(generate(DEMO_REGION, count=VILLAGE_HOUSEHOLDS, seed=7, today=TODAY),
                             ws.authenticate("worker", DEMO_PASSWORD), source="demo")
    finally:
        ws.close()
    return path


@pytest.fixture
def village(village_template: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A fresh copy of the village workspace, opened on the fixed day."""
    path = tmp_path / "village.povdesk"
    with sqlite3.connect(village_template) as src, sqlite3.connect(path) as dest:
        src.backup(dest)
    ws = Workspace.open(path, clock=CLOCK)
    yield ws
    ws.close()


def account(ws: Workspace, name: str) -> User:
    return ws.authenticate(name, DEMO_PASSWORD)


def household_at(ws: Workspace, procedure: str, step: str) -> Household:
    """The first household whose only next step is this one."""
    for hh in ws.iter_households():
        if [(s.key, st.key) for s, st in next_steps(hh)] == [(procedure, step)]:
            return hh
    raise AssertionError(f"the demo village has no household waiting for {procedure}.{step}")


def days_after_last_event(hh: Household) -> Callable[[int], str]:
    """`day(n)`: n days after the household's last event, as an ISO date."""
    last = max((date.fromisoformat(e.date) for e in hh.events), default=TODAY - timedelta(days=60))
    return lambda days: (last + timedelta(days=days)).isoformat()


def publicity(first: str, last: str) -> dict[str, object]:
    return {"start_date": first, "end_date": last, "objections": 0, "objections_resolved": 0,
            "posted_at": "村委会公示栏"}
