"""Demo accounts: one user per role in a demo workspace, shared by `povdesk demo` and the app's demo."""

from __future__ import annotations

from povdesk.errors import NotPermitted
from povdesk.i18n import tr
from povdesk.store.users import User
from povdesk.store.workspace import Workspace

# Names and roles agree with povdesk.core.demo.DEMO_USERS, whose procedure events name these users.
DEMO_ACCOUNTS = (("worker", "village_worker", "演示村级工作人员"),
                 ("township", "township_official", "演示乡镇工作人员"),
                 ("county", "county_coordinator", "演示县级管理员"))


NOT_A_DEMO = tr("这不是演示工作区：演示户和演示账号（公开的密码）只能放在用 povdesk demo 或 povdesk app --demo 新建的工作区里",
                "this is not a demo workspace: demo households and demo accounts (with a published password) go only "
                "into a workspace made by povdesk demo or povdesk app --demo")


def ensure_demo_users(ws: Workspace, admin: User, password: str) -> User:
    """Demo accounts for each role; households are written under the village worker's name.

    Only in a demo workspace (Workspace.create(demo=True)): the password is published, and a
    county account in a real village workspace would let it approve its own households."""
    if not ws.demo:
        raise NotPermitted(NOT_A_DEMO, where=str(ws.path))
    existing = {u.name for u in ws.list_users()}
    for name, role, display in DEMO_ACCOUNTS:
        if name not in existing:
            ws.add_user(admin, name, password, role, display)
    return next(u for u in ws.list_users() if u.name == "worker")
