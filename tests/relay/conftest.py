"""A real relay process (uvicorn on a free loopback port) over SQLite or a throwaway PostgreSQL, and a
county with three villages whose keys are exchanged and whose devices the relay knows."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest

from povdesk.clock import FixedClock
from povdesk.core.demo import generate
from povdesk.core.procedures import as_held_at
from povdesk.relay import exchange
from povdesk.store import User, Workspace
from povdesk.sync import service

ROOT = Path(__file__).resolve().parents[2]
COUNTY = "522634"
VILLAGES = ("522634100201", "522634100202", "522634100203")
PW = "pw-1234"
TODAY = date(2026, 6, 1)
CLOCK = FixedClock(TODAY)


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POVDESK_LANG", "en")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_answers(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process ended with {proc.returncode}")
        try:
            # Only whether it answers: a test of an https:// relay checks its certificate itself.
            if httpx.get(url, timeout=1.0, verify=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


# ---------------------------------------------------------------------------------------------
# PostgreSQL: initdb + pg_ctl in a temporary directory, on a free port


def pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class Postgres:
    port: int
    sockets: Path
    count: int = 0

    def new_database(self) -> str:
        import psycopg

        self.count += 1
        name = f"relay{self.count}"
        with psycopg.connect(host=str(self.sockets), port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@/{name}?host={self.sockets}&port={self.port}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bindir = pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL (pg_ctl) is not installed")
    # Not under pytest's own temporary directory: that one is private to this user, and as root
    # the server runs as another user that must reach its data directory.
    base = Path(tempfile.mkdtemp(prefix="povdesk-pg-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root: run it as its own system user
        user = pwd.getpwnam("postgres")
        for p in (base, sockets):
            os.chown(p, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--no-sync"], check=True, capture_output=True)
    opts = f"-p {port} -k {sockets} -c listen_addresses='' -c fsync=on"
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w",
                    "start"], check=True, capture_output=True)
    try:
        yield Postgres(port, sockets)
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The relay process


@dataclass
class Relay:
    database: str
    key: Path
    log: Path
    extra: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if "--tls-cert" in self.extra else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, *, same_port: bool = False) -> Relay:
        if not (same_port and self.port):
            self.port = free_port()
        env = dict(os.environ, POVDESK_LANG="en", PYTHONPATH=str(ROOT))
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "povdesk", "relay", "--database", self.database, "--listen",
                 f"127.0.0.1:{self.port}", "--key", str(self.key), *self.extra],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
        wait_until_answers(f"{self.url}/v1/relay", self.proc)
        return self

    def fingerprint(self) -> str:
        return str(httpx.get(f"{self.url}/v1/relay", verify=False).json()["fingerprint"])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relay.db'}"
    pg: Postgres = request.getfixturevalue("postgres")
    return pg.new_database()


@pytest.fixture
def relay(database_url: str, tmp_path: Path) -> Iterator[Relay]:
    r = Relay(database_url, tmp_path / "relay-key.pem", tmp_path / "relay.log").start()
    yield r
    r.stop()


# ---------------------------------------------------------------------------------------------
# A county and three villages


@dataclass
class Site:
    ws: Workspace
    user: User
    admin: User


@dataclass
class County:
    county: Site
    villages: list[Site]
    dir: Path

    def all(self) -> list[Site]:
        return [self.county, *self.villages]

    def close(self) -> None:
        for s in self.all():
            s.ws.close()


def make_site(path: Path, region: str, level: str, role: str, households: int, seed: int) -> Site:
    ws = Workspace.create(path, region_code=region, name=f"{level}-{region}", level=level, admin_user="admin",
                          admin_password=PW, clock=CLOCK)
    admin = ws.authenticate("admin", PW)
    user = ws.add_user(admin, "worker" if level != "county" else "county", PW, role)
    if households:
        made = generate(region, count=households, seed=seed, today=TODAY)
        ws.import_households(as_held_at(made, level), user, source="demo")
    return Site(ws, user, admin)


def make_county(base: Path, households: int = 12) -> County:
    county = make_site(base / "county.db", COUNTY, "county", "county_coordinator", 0, 0)
    villages = [make_site(base / f"village{i}.db", code, "village", "village_worker", households, 10 + i)
                for i, code in enumerate(VILLAGES)]
    ckey = base / "county.key"
    service.export_key_file(county.ws, ckey)
    for i, v in enumerate(villages):
        vkey = base / f"village{i}.key"
        service.export_key_file(v.ws, vkey)
        service.trust(county.ws, county.admin, vkey, "device")
        service.trust(v.ws, v.admin, ckey, "county")
    return County(county, villages, base)


def load_devices(relay: Relay, c: County, revoke: list[str] | None = None) -> None:
    """The county writes its signed list; the relay's operator loads it (as `povdesk relay devices load`)."""
    path = c.dir / "devices.json"
    path.write_text(exchange.device_list(c.county.ws, c.county.admin, revoke), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "povdesk", "relay", "devices", "load", "--database",
                             relay.database, str(path)], capture_output=True, text=True, cwd=ROOT,
                            env=dict(os.environ, POVDESK_LANG="en"))
    assert result.returncode == 0, result.stderr


def connect_all(relay: Relay, c: County) -> None:
    fp = relay.fingerprint()
    for s in c.all():
        exchange.connect(s.ws, s.admin, relay.url, fp)


@pytest.fixture
def county(tmp_path: Path) -> Iterator[County]:
    c = make_county(tmp_path)
    yield c
    c.close()


@pytest.fixture
def online(relay: Relay, county: County) -> County:
    """The county and its villages, the relay knowing their devices and each pinned to the relay."""
    load_devices(relay, county)
    connect_all(relay, county)
    return county
