"""The rules engine: findings at three reaches (field, household, across households).

Every rule is declared once in `catalog.py` (id, reach, severity, bilingual message). The same
rules run in the form as the user types, in `povdesk validate`, on Excel and JSON import and on
bundle import at the county.
"""

from __future__ import annotations

from povdesk.core.rules.catalog import RULES, Rule, blocking
from povdesk.core.rules.engine import (
    CrossChecker,
    Finding,
    RuleContext,
    exit_failures,
    summarize_findings,
    validate_all,
    validate_household,
    validate_member,
)

# Bumped whenever a rule is added, removed or changes meaning; stamped on every saved record.
RULE_VERSION = "2026.1"

__all__ = [
    "RULES",
    "RULE_VERSION",
    "CrossChecker",
    "Finding",
    "Rule",
    "RuleContext",
    "blocking",
    "exit_failures",
    "summarize_findings",
    "validate_all",
    "validate_household",
    "validate_member",
]
