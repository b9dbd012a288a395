"""A throwaway PostgreSQL (the relay tests' initdb/pg_ctl fixture), a province database with its
keys, and real county workspaces filled with demo households, each knowing the province's key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from povdesk.clock import FixedClock
from povdesk.core.demo import generate
from povdesk.core.procedures import as_held_at
from povdesk.province import export, registry
from povdesk.store import User, Workspace
from povdesk.sync import service
from tests.relay.conftest import Postgres, postgres  # noqa: F401 (the session's PostgreSQL server)

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 6, 1)
CLOCK = FixedClock(TODAY)
PW = "pw-1234"


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POVDESK_LANG", "en")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`povdesk …` in a new process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "povdesk", *args], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, POVDESK_LANG="en", PYTHONPATH=str(ROOT), **(env or {})), timeout=120)


@dataclass
class CountySite:
    ws: Workspace
    user: User
    admin: User
    path: Path
    key_file: Path

    @property
    def code(self) -> str:
        return self.ws.region_code


def make_county(base: Path, code: str, households: int, seed: int) -> CountySite:
    path = base / f"county-{code}.db"
    ws = Workspace.create(path, region_code=code, name=f"county-{code}", level="county", admin_user="admin",
                          admin_password=PW, clock=CLOCK)
    admin = ws.authenticate("admin", PW)
    user = ws.add_user(admin, "county", PW, "county_coordinator")
    if households:
        ws.import_households(as_held_at(generate(code, count=households, seed=seed, today=TODAY), "county"), user,
                             source="demo")
    key = base / f"county-{code}.key"
    service.export_key_file(ws, key)
    return CountySite(ws, user, admin, path, key)


@dataclass
class Province:
    url: str
    key_file: Path
    dir: Path

    def engine(self):  # type: ignore[no-untyped-def]
        return registry.connect(self.url)


@pytest.fixture
def province(postgres: Postgres, tmp_path: Path) -> Iterator[Province]:  # noqa: F811
    url = postgres.new_database()
    engine = registry.connect(url)
    registry.init(engine)
    registry.ensure_keys(engine, "52", "贵州省", CLOCK)
    key = tmp_path / "province.key"
    registry.write_province_key_file(engine, key)
    engine.dispose()
    yield Province(url, key, tmp_path)


def join(province: Province, site: CountySite) -> None:
    """The county learns the province's key; the province enrols the county's."""
    export.set_province_key(site.ws, site.admin, province.key_file)
    engine = province.engine()
    try:
        registry.enrol_county(engine, site.key_file, CLOCK)
    finally:
        engine.dispose()


@pytest.fixture
def counties(province: Province, tmp_path: Path) -> Iterator[list[CountySite]]:
    sites = [make_county(tmp_path, "522634", 60, 1), make_county(tmp_path, "522633", 40, 2)]
    for s in sites:
        join(province, s)
    yield sites
    for s in sites:
        s.ws.close()
