"""A county with three villages and one township workspace, played from the command line through
every case of "the county is the authority": levels, forged histories, another village's
household, household numbers that clash, stale bundles, clashing steps, voids, duplicate
people, demo data, idempotent batches and a revoked laptop."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from povdesk.core.demo import DEMO_PASSWORD, generate
from povdesk.core.exchange import write_jsonl
from povdesk.core.model import Household, new_id
from povdesk.core.procedures import next_steps
from povdesk.store import Workspace
from tests.sync.conftest import village_stage

COUNTY, TOWNSHIP = "522634", "522634100"
A, B, D = "522634100201", "522634100202", "522634101301"  # A and B under the township, D under another
TODAY = "2026-06-01"
PW = {"POVDESK_PASSWORD": DEMO_PASSWORD}


class Desk:
    """The machines of the scenario: one workspace file each, in one folder, driven by commands."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, user: str, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full = dict(os.environ, POVDESK_LANG="en", POVDESK_DATA_DIR=str(self.root / "data"), POVDESK_USER=user,
                    **PW, **(env or {}))
        return subprocess.run([sys.executable, "-m", "povdesk", "--today", TODAY, *argv], capture_output=True,
                              text=True, env=full, cwd=self.root, stdin=subprocess.DEVNULL)

    def ok(self, user: str, *argv: str, code: int | tuple[int, ...] = 0, **kw: dict[str, str]) -> str:
        res = self.run(user, *argv, **kw)
        codes = code if isinstance(code, tuple) else (code,)
        assert res.returncode in codes, f"{argv}: exit {res.returncode}\n{res.stderr}{res.stdout}"
        return res.stdout

    def refused(self, user: str, *argv: str, env: dict[str, str] | None = None) -> str:
        """Exit 2 with one line, never a traceback; returns that line."""
        res = self.run(user, *argv, env=env)
        assert res.returncode == 2, f"{argv}: exit {res.returncode}\n{res.stderr}{res.stdout}"
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
        return lines[0]

    def ws(self, name: str) -> Workspace:
        """The workspace as `init` made it: encrypted, so opened with the administrator's password."""
        ws = Workspace.open(self.root / f"{name}.db")
        ws.authenticate("admin", DEMO_PASSWORD)
        return ws

    def households(self, name: str) -> list[Household]:
        ws = self.ws(name)
        try:
            return list(ws.iter_households())
        finally:
            ws.close()

    def jsonl(self, name: str, households: list[Household]) -> Path:
        path = self.root / name
        with path.open("w", encoding="utf-8") as fh:
            write_jsonl(households, fh)
        return path


def _numbered(households: list[Household]) -> list[Household]:
    """As a village's own sheet numbers them: 1, 2, 3…"""
    for i, hh in enumerate(households, 1):
        hh.household_no = str(i)
    return households


def _setup(d: Desk) -> None:
    new_pw = {"POVDESK_NEW_PASSWORD": DEMO_PASSWORD}
    d.ok("admin", "init", "county.db", "--region", COUNTY, "--name", "雷山县")
    d.ok("admin", "users", "add", "county.db", "county", "--role", "county_coordinator", env=new_pw)
    d.ok("admin", "users", "add", "county.db", "town", "--role", "township_official", env=new_pw)
    d.ok("admin", "init", "township.db", "--region", TOWNSHIP, "--name", "丹江镇")
    d.ok("admin", "users", "add", "township.db", "town", "--role", "township_official", env=new_pw)
    d.ok("admin", "keys", "export", "county.db", "-o", "county.key")
    for name, region in (("a", A), ("b", B), ("d", D)):
        d.ok("admin", "init", f"{name}.db", "--region", region, "--name", f"村{name}")
        d.ok("admin", "users", "add", f"{name}.db", "worker", "--role", "village_worker", env=new_pw)
    for name in ("a", "b", "d", "township"):
        d.ok("admin", "keys", "export", f"{name}.db", "-o", f"{name}.key")
        d.ok("admin", "keys", "enrol", "county.db", f"{name}.key")
        d.ok("admin", "keys", "set-county", f"{name}.db", "county.key")


def _up(d: Desk, name: str, bundle: str) -> dict:
    d.ok("worker" if name != "township" else "town", "bundle", "export", f"{name}.db", "-o", bundle)
    out = d.ok("county", "bundle", "import", "county.db", bundle, "--json", code=(0, 1))
    return json.loads(out)


def _down(d: Desk, name: str, region: str, bundle: str) -> None:
    d.ok("county", "bundle", "export", "county.db", "-o", bundle, "--to", region)
    d.ok("worker" if name != "township" else "town", "bundle", "import", f"{name}.db", bundle, code=(0, 1))


def _record(report: dict, household_id: str) -> dict:
    return next(r for b in report["bundles"] for r in b["records"] if r["id"] == household_id)


def test_a_county_three_villages_and_a_township(tmp_path: Path) -> None:
    d = Desk(tmp_path)
    _setup(d)

    # Levels: a village holds no county account and records no step above its level.
    line = d.refused("admin", "users", "add", "a.db", "boss", "--role", "county_coordinator",
                     env={"POVDESK_NEW_PASSWORD": DEMO_PASSWORD})
    assert "county" in line and "village" in line
    # Demo data only where it belongs.
    assert "demo" in d.refused("admin", "demo", "a.db", "--households", "5")
    # A forged history: a village file whose histories hold county approvals is refused.
    forged = generate(A, count=12, seed=21, today=date(2025, 6, 1))
    assert any(e.step == "county_approval" for h in forged for e in h.events)
    res = d.run("worker", "import-json", "a.db", str(d.jsonl("forged.jsonl", forged)))
    assert res.returncode in (1, 2) and "may be recorded only at county level" in res.stdout + res.stderr
    from povdesk.core.procedures import level_refusal

    kept = d.households("a")  # the records with village steps only came in; none holds a step above
    assert len(kept) < len(forged) and not any(level_refusal(e, "village") for h in kept for e in h.events)

    # Each village registers its applicants, numbered 1, 2, 3… on both A's and B's sheets; one of
    # B's members is a person A registered too.
    a_hh = _numbered(village_stage(generate(A, count=8, seed=31, today=date(2025, 6, 1))))
    b_hh = _numbered(village_stage(generate(B, count=8, seed=32, today=date(2025, 6, 1))))
    shared = next(m for h in a_hh for m in h.members if m.fields.get("relation") not in ("01", "02"))
    twin = copy.deepcopy(shared)
    twin.id = new_id()
    b_hh[0].members.append(twin)
    d.ok("worker", "import-json", "a.db", str(d.jsonl("a.jsonl", a_hh)), code=(0, 1))
    d.ok("worker", "import-json", "b.db", str(d.jsonl("b.jsonl", b_hh)), code=(0, 1))
    # D's register of 2014-2020 comes in at the county and goes down.
    d_register = generate(D, count=10, seed=33, today=date(2025, 6, 1))
    d.ok("county", "import-json", "county.db", str(d.jsonl("d-register.jsonl", d_register)), code=(0, 1))
    _down(d, "d", D, "d-down0.pvb")

    # The three villages' bundles, in one batch: numbers 1, 2, 3 in two villages clash with nothing.
    for name in ("a", "b"):
        d.ok("worker", "bundle", "export", f"{name}.db", "-o", f"{name}-up1.pvb")
    out = d.ok("county", "bundle", "import", "county.db", "a-up1.pvb", "b-up1.pvb", "--json", code=(0, 1))
    first = json.loads(out)
    assert sum(b["summary"]["inserted"] for b in first["bundles"]) == len(d.households("a")) + len(d.households("b"))
    assert all(b["summary"]["rejected"] == 0 for b in first["bundles"])
    county = {h.id: h for h in d.households("county")}
    own = sorted(h.fields["own_no"] for h in county.values() if h.village_code in (A, B) and h.fields.get("own_no"))
    assert own == sorted([str(i) for i in range(1, 9)] * 2)
    numbers = [h.household_no for h in county.values()]
    assert len(set(numbers)) == len(numbers)
    # The duplicate person flags both villages, each told in its return bundle, the ID masked.
    _down(d, "a", A, "a-down1.pvb")
    _down(d, "b", B, "b-down1.pvb")
    for name in ("a", "b"):
        status = d.ok("worker", "bundle", "status", f"{name}.db")
        assert "DUP-PERSON" in status, status
        assert shared.fields["id_number"] not in status

    # Another village's household: A imports one of B's records under A's code and sends it.
    b_one = next(h for h in d.households("b") if h.id == b_hh[1].id)
    stolen = copy.deepcopy(b_one)
    stolen.village_code = A
    stolen.fields["bank_account"] = "6222000099998888"
    d.ok("worker", "import-json", "a.db", str(d.jsonl("stolen.jsonl", [stolen])), code=(0, 1))
    report = _up(d, "a", "a-up2.pvb")
    assert _record(report, b_one.id)["result"] == "rejected"
    held = next(h for h in d.households("county") if h.id == b_one.id)
    assert held.village_code == B and held.fields.get("bank_account") == b_one.fields.get("bank_account")

    # The township reviews one of A's applicants; the county accepts the township's step, and it
    # goes down to A. A village cannot record it.
    _down(d, "township", TOWNSHIP, "t-down1.pvb")
    waiting = next(h for h in d.households("township") if h.village_code == A and
                   ("identification", "township_review") in [(s.key, st.key) for s, st in next_steps(h)])
    res = d.run("worker", "step", "a.db", waiting.id, "identification", "township_review", "--set", "opinion=同意",
                "--date", TODAY)
    assert res.returncode == 1 and "may be recorded only at township level" in res.stderr
    d.ok("town", "step", "township.db", waiting.id, "identification", "township_review", "--set", "opinion=同意",
         "--date", TODAY)
    report = _up(d, "township", "t-up1.pvb")
    assert _record(report, waiting.id)["result"] == "merged"
    _down(d, "a", A, "a-down2.pvb")
    mine = next(h for h in d.households("a") if h.id == waiting.id)
    assert [e.step for e in mine.events][-1] == "township_review"
    # A mistaken step is voided by the role that recorded it, and the void travels.
    event = mine.events[-1].id
    d.ok("town", "step", "void", "township.db", waiting.id, event, "--reason", "审核意见登记错户")
    _up(d, "township", "t-up2.pvb")
    assert "voided" in d.ok("county", "history", "county.db", waiting.id)

    # A stale full bundle: exported earlier, imported after a newer one, changes nothing.
    target = next(h for h in d.households("a") if h.village_code == A and h.id != waiting.id)
    d.ok("worker", "bundle", "export", "a.db", "-o", "a-old-full.pvb", "--full")
    ws = d.ws("a")
    hh = ws.load_household(target.id)
    hh.fields["phone"] = "13900001111"
    ws.save_household(hh, ws.authenticate("worker", DEMO_PASSWORD))
    ws.close()
    d.ok("worker", "bundle", "export", "a.db", "-o", "a-new-full.pvb", "--full")
    d.ok("county", "bundle", "import", "county.db", "a-new-full.pvb", code=(0, 1))
    d.ok("county", "bundle", "import", "county.db", "a-old-full.pvb", code=(0, 1))
    assert next(h for h in d.households("county") if h.id == target.id).fields["phone"] == "13900001111"

    # Clashing steps: D's worker and a township official at the county both propose an exit.
    registered = next(h for h in d.households("d") if h.status == "registered")
    d.ok("worker", "step", "d.db", registered.id, "exit", "proposal", "--set", "reason=收入稳定", "--date", TODAY)
    d.ok("town", "step", "county.db", registered.id, "exit", "proposal", "--set", "reason=乡镇核查", "--date", TODAY)
    report = _up(d, "d", "d-up1.pvb")
    assert [c["path"] for c in _record(report, registered.id)["conflicts"]] == ["#steps"]
    assert "to decide" in d.ok("county", "bundle", "status", "county.db")
    listed = d.ok("county", "conflicts", "list", "county.db", code=1)
    assert "procedure steps" in listed and "Exit" in listed
    _down(d, "d", D, "d-down1.pvb")  # before the decision: D waits on the county
    assert "waiting on the county" in d.ok("worker", "bundle", "status", "d.db")
    conflict = next(c for c in json.loads(d.ok("county", "conflicts", "list", "county.db", "--json", code=1))
                    if c["path"] == "#steps")
    d.ok("county", "conflicts", "resolve", "county.db", str(conflict["id"]), "--take", "remote")
    _down(d, "d", D, "d-down2.pvb")
    status = d.ok("worker", "bundle", "status", "d.db")
    assert "waiting on the county" not in status and "0 open conflicts" in status
    d_copy = next(h for h in d.households("d") if h.id == registered.id)
    c_copy = next(h for h in d.households("county") if h.id == registered.id)
    assert sorted(e.id for e in d_copy.events) == sorted(e.id for e in c_copy.events)

    # Moving a household is the county's explicit operation: the new village receives it under a
    # new number of its own, the old one is told.
    moving = b_hh[2].id
    assert "moved" in d.ok("county", "move", "county.db", moving, "--village", A, "--reason", "户籍迁入邻村")
    _down(d, "a", A, "a-down3.pvb")
    _down(d, "b", B, "b-down3.pvb")
    arrived = next(h for h in d.households("a") if h.id == moving)
    assert arrived.village_code == A and arrived.household_no.startswith(A)
    assert "MOVED" in d.ok("worker", "bundle", "status", "b.db")
    assert "moved by the county" in d.refused("worker", "move", "b.db", moving, "--village", A, "--reason", "x")

    # Batches are idempotent; nothing new writes nothing.
    out = d.ok("county", "bundle", "import", "county.db", "a-up1.pvb", "b-up1.pvb", "d-up1.pvb")
    assert out.count("already been imported") == 3
    _up(d, "b", "b-ack.pvb")  # B has the county's last bundle to acknowledge: that is written
    assert "nothing new" in d.ok("worker", "bundle", "export", "b.db", "-o", "b-empty.pvb")
    assert not (tmp_path / "b-empty.pvb").exists()

    # A stolen laptop is revoked; what it sends afterwards is refused.
    d.ok("admin", "keys", "revoke", "county.db", D, "--reason", "笔记本电脑被盗")
    ws = d.ws("d")
    hh = ws.load_household(registered.id)
    hh.fields["phone"] = "13900002222"
    ws.save_household(hh, ws.authenticate("worker", DEMO_PASSWORD))
    ws.close()
    d.ok("worker", "bundle", "export", "d.db", "-o", "d-after-theft.pvb")
    assert "revoked" in d.refused("county", "bundle", "import", "county.db", "d-after-theft.pvb")
    assert d.ok("county", "audit", "county.db") is not None  # the county's own log is whole
