"""Storage: the only package with SQL. One SQLite workspace file, its schema, audit log, outbox and search."""

from __future__ import annotations

from povdesk.store.audit import AuditEntry
from povdesk.store.errors import VersionConflict
from povdesk.store.households import HouseholdRow, ImportResult
from povdesk.store.migrations import MIGRATIONS, Migration
from povdesk.store.outbox import OutboxEntry
from povdesk.store.search import SearchHit
from povdesk.store.users import User
from povdesk.store.workspace import LEVELS, Workspace

__all__ = [
    "LEVELS",
    "MIGRATIONS",
    "AuditEntry",
    "HouseholdRow",
    "ImportResult",
    "Migration",
    "OutboxEntry",
    "SearchHit",
    "User",
    "VersionConflict",
    "Workspace",
]
