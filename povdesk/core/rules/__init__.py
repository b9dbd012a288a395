"""The rules engine: findings at three reaches (field, household, across households)."""

from __future__ import annotations

# Bumped whenever a rule is added, removed or changes meaning; stamped on every saved record.
RULE_VERSION = "2026.1"
