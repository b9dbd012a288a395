"""A village workspace (demo households) and its county, with keys exchanged both ways."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from povdesk.core.demo import generate
from povdesk.core.model import Household
from povdesk.core.procedures import as_held_at
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


def village_stage(households: list[Household]) -> list[Household]:
    """The households as a village registers them: each history up to its first step above the
    village level (a village workspace records nothing above its level), the status to match."""
    return list(as_held_at(households, "village"))


def make_pair(tmp_path: Path, households: int, *, register: bool = False) -> Pair:
    """A village and its county with keys exchanged; with `households`, a register of that size
    that the county brought in and sent down (`register`), or new applicants the village entered
    itself (not `register`: histories of village steps only, not yet sent up)."""
    village, worker = make_workspace(tmp_path / "village.db", VILLAGE, "village", "worker", "village_worker")
    county, coord = make_workspace(tmp_path / "county.db", COUNTY, "county", "county", "county_coordinator")
    vkey, ckey = tmp_path / "village.key", tmp_path / "county.key"
    service.export_key_file(village, vkey)
    service.export_key_file(county, ckey)
    service.trust(county, county.authenticate("admin", PW), vkey, "device")
    service.trust(village, village.authenticate("admin", PW), ckey, "county")
    made = generate(VILLAGE, count=households, seed=3, today=date(2025, 6, 1)) if households else []
    if made and register:
        bring_register(county, coord, village, worker, made, tmp_path)
    elif made:
        village.import_households(village_stage(made), worker, source="demo")
    return Pair(village, county, worker, coord, tmp_path)


def bring_register(county: Workspace, coord: User, village: Workspace, worker: User, households: list[Household],
                   tmp_path: Path) -> None:
    """The migration path for an existing register (histories with county approvals in them): the
    county imports it, and the village receives it in a return bundle."""
    county.import_households(households, coord, source="register")
    down = tmp_path / f"register-{village.region_code}.pvb"
    service.export_bundle(county, coord, down, to=village.device_id)
    service.import_bundles(village, worker, [down])
    down.unlink()


@pytest.fixture
def pair(tmp_path: Path, request: pytest.FixtureRequest) -> Pair:
    """40 households, or as many as `@pytest.mark.parametrize("pair", [N], indirect=True)` asks."""
    p = make_pair(tmp_path, getattr(request, "param", 40))
    yield p
    p.village.close()
    p.county.close()


def ready_to_propose_exit(ws: Workspace) -> Household:
    """A registered household nothing blocks an exit proposal for on the workspace's today (the
    day the tests run on moves ages across the rules' thresholds: pick by the rules, not by place)."""
    from povdesk.core.procedures import next_steps
    from povdesk.core.rules import RuleContext, blocking, validate_household

    ctx = RuleContext(today=ws.clock.today())
    return next(h for h in ws.iter_households()
                if ("exit", "proposal") in [(p.key, s.key) for p, s in next_steps(h)]
                and not blocking(validate_household(h, ctx), "exit"))
