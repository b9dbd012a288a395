"""Which role may do what. Procedure steps list their roles in resources/procedures.toml."""

from __future__ import annotations

from povdesk.core.model import ROLE_LABELS
from povdesk.errors import NotPermitted
from povdesk.i18n import Text, tr

# action -> roles allowed. The administrator manages accounts and the workspace but does not
# register households or act in procedures (separation of duties: the audit log must show a
# named worker or official behind every change to a household).
ACTIONS: dict[str, frozenset[str]] = {
    "edit_household": frozenset({"village_worker", "township_official", "county_coordinator"}),
    "import_records": frozenset({"village_worker", "township_official", "county_coordinator"}),
    # a household's village changes only by the county's decision (never through sync)
    "move_household": frozenset({"county_coordinator"}),
    "generate_demo": frozenset({"admin", "county_coordinator"}),
    "manage_users": frozenset({"admin"}),
    # trusting a device's key, or a county's, decides whose bundles are believed
    "manage_sync_keys": frozenset({"admin", "county_coordinator"}),
    "exchange_bundles": frozenset({"village_worker", "township_official", "county_coordinator"}),
    "manage_workspace": frozenset({"admin"}),
    # the province's monitoring thresholds and time limits decide who is a monitoring object
    "set_thresholds": frozenset({"admin", "county_coordinator"}),
    "read": frozenset({"village_worker", "township_official", "county_coordinator", "admin"}),
}

ACTION_LABELS: dict[str, Text] = {
    "edit_household": tr("修改户信息", "edit households"),
    "import_records": tr("导入数据", "import records"),
    "move_household": tr("迁户（把一户迁到另一个村）", "move a household to another village"),
    "generate_demo": tr("生成演示数据", "generate demo data"),
    "manage_users": tr("管理用户", "manage users"),
    "manage_sync_keys": tr("管理设备密钥", "manage device keys"),
    "exchange_bundles": tr("导入导出同步包", "import and export bundles"),
    "manage_workspace": tr("管理工作区", "manage the workspace"),
    "set_thresholds": tr("导入本省的监测范围、时限和办理程序", "import the province's thresholds, time limits and procedures"),
    "read": tr("查看数据", "read data"),
}


def allowed(role: str, action: str) -> bool:
    return role in ACTIONS[action]


def require(role: str, action: str) -> None:
    """Raise NotPermitted, naming the role and the action, unless the role may act."""
    if not allowed(role, action):
        zh_role, en_role = ROLE_LABELS.get(role, (role, role))
        act = ACTION_LABELS[action]
        raise NotPermitted(
            Text(f"角色“{zh_role}”无权{act.zh}", f"the role '{en_role}' may not {act.en}")
        )
