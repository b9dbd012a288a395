"""Authority follows the level that signs: which level may record a step, hold an account, or
bring a step in from elsewhere.

A workspace is a village, a township or a county. Each procedure step belongs to a level
(resources/procedures.toml, `level`); a workspace records steps of its own level or below, and
holds accounts only for roles of its own level or below. What arrives from elsewhere is held to
the same rule: an import file's history up to the importing workspace's level, a bundle's new
steps up to the level of the device that signed it (povdesk.sync.service). A demo workspace, made
for training one laptop in every role, is exempt (it never holds real households: see
`povdesk demo`); its bundles are refused by any county that did not enrol it.
"""

from __future__ import annotations

from povdesk.core.model import LEVEL_LABELS, LEVELS, ROLE_LABELS, ROLE_LEVELS
from povdesk.i18n import Text


def rank(level: str) -> int:
    """0 for a village, 1 for a township, 2 for a county; an unknown level ranks below all."""
    return LEVELS.index(level) if level in LEVELS else -1


def level_label(level: str) -> Text:
    zh, en = LEVEL_LABELS.get(level, (level, level))
    return Text(zh, en)


def role_level(role: str) -> str | None:
    """The level a role belongs to; None for the administrator, who acts in no procedure."""
    return ROLE_LEVELS.get(role)


def role_refusal(role: str, level: str) -> Text | None:
    """Why a workspace of `level` cannot hold an account of `role`, or None if it can."""
    own = role_level(role)
    if own is None or rank(own) <= rank(level):
        return None
    zh_role, en_role = ROLE_LABELS.get(role, (role, role))
    where, needed = level_label(level), level_label(own)
    return Text(f"{where.zh}工作区不能有“{zh_role}”账号：该角色只属于{needed.zh}工作区",
                f"a {where.en} workspace cannot hold a '{en_role}' account: that role belongs to a {needed.en} "
                "workspace")


def step_refusal(title: Text, step_level: str, level: str) -> Text | None:
    """Why a workspace (or a device) of `level` may not record a step of `step_level`, or None."""
    if rank(step_level) <= rank(level):
        return None
    needed, here = level_label(step_level), level_label(level)
    return Text(f"“{title.zh}”只能由{needed.zh}记录，{here.zh}不能记录",
                f"'{title.en}' may be recorded only at {needed.en} level, not at {here.en} level")
