"""The demo accounts: one per role, the names the demo generator's procedure events use, and only
in a workspace made as a demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from povdesk.core.demo import DEMO_USERS
from povdesk.errors import NotPermitted
from povdesk.store import User, Workspace
from povdesk.store.demo import ensure_demo_users


def test_demo_accounts_are_the_generators_users_and_made_once(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "demo.povdesk", region_code="430105001001", name="演示村", level="village",
                          admin_user="admin", admin_password="demo1234", demo=True)
    admin = ws.authenticate("admin", "demo1234")
    worker = ensure_demo_users(ws, admin, "demo1234")
    assert (worker.name, worker.role) == ("worker", "village_worker")
    assert {u.name: u.role for u in ws.list_users()} == DEMO_USERS
    again = ensure_demo_users(ws, admin, "demo1234")  # a second run adds nobody
    assert again.name == "worker" and len(ws.list_users()) == len(DEMO_USERS)
    assert ws.authenticate("county", "demo1234").role == "county_coordinator"  # a demo plays every level
    ws.close()


def test_a_real_workspace_takes_no_demo_accounts(ws: Workspace, admin: User) -> None:
    assert not ws.demo
    with pytest.raises(NotPermitted, match="not a demo workspace"):
        ensure_demo_users(ws, admin, "demo1234")
    assert [u.name for u in ws.list_users()] == ["admin"]


@pytest.mark.parametrize("level, allowed", [
    ("village", {"village_worker"}),
    ("township", {"village_worker", "township_official"}),
    ("county", {"village_worker", "township_official", "county_coordinator"}),
])
def test_a_workspace_holds_accounts_of_its_level_or_below(tmp_path: Path, level: str, allowed: set[str]) -> None:
    region = {"village": "430105001001", "township": "430105001", "county": "430105"}[level]
    ws = Workspace.create(tmp_path / f"{level}.povdesk", region_code=region, name=level, level=level,
                          admin_user="admin", admin_password="admin-pw")
    admin = ws.authenticate("admin", "admin-pw")
    for role in ("village_worker", "township_official", "county_coordinator"):
        if role in allowed:
            assert ws.add_user(admin, role, "secret-pw", role).role == role
            assert ws.authenticate(role, "secret-pw").role == role
        else:
            with pytest.raises(NotPermitted, match="workspace cannot hold"):
                ws.add_user(admin, role, "secret-pw", role)
    assert {u.role for u in ws.list_users()} == allowed | {"admin"}
    ws.close()
