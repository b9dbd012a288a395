"""Fixtures for store tests: a fresh workspace file per test, with an admin and a village worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from povdesk.store import User, Workspace


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """str(error) follows POVDESK_LANG; tests match the English text (both languages are checked
    explicitly where it matters)."""
    monkeypatch.setenv("POVDESK_LANG", "en")


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    return tmp_path / "county.povdesk"


@pytest.fixture
def ws(ws_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.create(ws_path, region_code="430105", name="测试县", level="county",
                                 admin_user="admin", admin_password="admin-pw", admin_display_name="管理员")
    yield workspace
    workspace.close()


@pytest.fixture
def admin(ws: Workspace) -> User:
    return ws.authenticate("admin", "admin-pw")


@pytest.fixture
def worker(ws: Workspace, admin: User) -> User:
    return ws.add_user(admin, "worker", "worker-pw", "village_worker", "村干部")
