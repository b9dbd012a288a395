"""A village workspace (demo households) and its county, with keys exchanged both ways."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from povdesk.core.demo import generate
from povdesk.store import User, Workspace
from povdesk.sync import service

VILLAGE = "522634100201"
COUNTY = "522634"
PW = "pw-1234"


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POVDESK_LANG", "en")


@dataclass
class Pair:
    village: Workspace
    county: Workspace
    worker: User
    coordinator: User
    dir: Path

    def reopen(self) -> None:
        for ws in (self.village, self.county):
            ws.close()
        self.village = Workspace.open(self.village.path)
        self.county = Workspace.open(self.county.path)


def make_workspace(path: Path, region: str, level: str, user: str, role: str) -> tuple[Workspace, User]:
    ws = Workspace.create(path, region_code=region, name=f"{level}-{region}", level=level, admin_user="admin",
                          admin_password=PW)
    admin = ws.authenticate("admin", PW)
    return ws, ws.add_user(admin, user, PW, role)


def make_pair(tmp_path: Path, households: int) -> Pair:
    village, worker = make_workspace(tmp_path / "village.db", VILLAGE, "village", "worker", "village_worker")
    county, coord = make_workspace(tmp_path / "county.db", COUNTY, "county", "county", "county_coordinator")
    if households:
        village.import_households(generate(VILLAGE, count=households, seed=3, today=date(2025, 6, 1)), worker,
                                  source="demo")
    vkey, ckey = tmp_path / "village.key", tmp_path / "county.key"
    service.export_key_file(village, vkey)
    service.export_key_file(county, ckey)
    service.trust(county, county.authenticate("admin", PW), vkey, "device")
    service.trust(village, village.authenticate("admin", PW), ckey, "county")
    return Pair(village, county, worker, coord, tmp_path)


@pytest.fixture
def pair(tmp_path: Path, request: pytest.FixtureRequest) -> Pair:
    """40 households, or as many as `@pytest.mark.parametrize("pair", [N], indirect=True)` asks."""
    p = make_pair(tmp_path, getattr(request, "param", 40))
    yield p
    p.village.close()
    p.county.close()
