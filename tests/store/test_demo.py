"""The demo accounts: one per role, the names the demo generator's procedure events use."""

from __future__ import annotations

from povdesk.core.demo import DEMO_USERS
from povdesk.store import User, Workspace
from povdesk.store.demo import ensure_demo_users


def test_demo_accounts_are_the_generators_users_and_made_once(ws: Workspace, admin: User) -> None:
    worker = ensure_demo_users(ws, admin, "demo1234")
    assert (worker.name, worker.role) == ("worker", "village_worker")
    assert {u.name: u.role for u in ws.list_users()} == DEMO_USERS
    again = ensure_demo_users(ws, admin, "demo1234")  # a second run adds nobody
    assert again.name == "worker" and len(ws.list_users()) == len(DEMO_USERS)
    assert ws.authenticate("county", "demo1234").role == "county_coordinator"
