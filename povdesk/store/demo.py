"""Demo accounts: one user per role in a demo workspace, shared by `povdesk demo` and the app's demo."""

from __future__ import annotations

from povdesk.store.users import User
from povdesk.store.workspace import Workspace

# Names and roles agree with povdesk.core.demo.DEMO_USERS, whose procedure events name these users.
DEMO_ACCOUNTS = (("worker", "village_worker", "演示村级工作人员"),
                 ("township", "township_official", "演示乡镇工作人员"),
                 ("county", "county_coordinator", "演示县级管理员"))


def ensure_demo_users(ws: Workspace, admin: User, password: str) -> User:
    """Demo accounts for each role; households are written under the village worker's name."""
    existing = {u.name for u in ws.list_users()}
    for name, role, display in DEMO_ACCOUNTS:
        if name not in existing:
            ws.add_user(admin, name, password, role, display)
    return next(u for u in ws.list_users() if u.name == "worker")
