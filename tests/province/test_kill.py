"""A loader killed with SIGKILL in the middle of a load leaves each bundle applied whole or not at
all; loading again afterwards completes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import func, select

from povdesk.province import db, export
from povdesk.province.db import APPLICATION_NAME
from tests.province.conftest import ROOT, CountySite, Province, run


def _applying(url_conn: dict[str, object]) -> bool:
    """Whether the loader is inside a bundle's write transaction (it holds the load lock)."""
    with psycopg.connect(**url_conn, autocommit=True) as c:  # type: ignore[arg-type]
        row = c.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE "
                        "l.locktype = 'advisory' AND l.granted AND a.application_name = %s",
                        (APPLICATION_NAME,)).fetchone()
    return bool(row and row[0])


def _consistent(province: Province, bundles: dict[str, tuple[str, int]]) -> set[str]:
    """The bundles applied; asserts each was applied whole or not at all."""
    engine = province.engine()
    try:
        with engine.connect() as conn:
            loaded = {r[0] for r in conn.execute(select(db.bundles.c.bundle_id))}
            for county in ("522634", "522633"):
                n = conn.execute(select(func.count()).select_from(db.households)
                                 .where(db.households.c.county_code == county)).scalar()
                first = [b for b, (c, k) in bundles.items() if c == county and k == 0][0]
                assert (n > 0) == (first in loaded), (county, n, loaded)
                want = conn.execute(select(func.coalesce(func.sum(db.households.c.member_count), 0))
                                    .where(db.households.c.county_code == county)).scalar()
                have = conn.execute(select(func.count()).select_from(db.members)
                                    .where(db.members.c.county_code == county)).scalar()
                assert want == have, (county, want, have)
            return loaded
    finally:
        engine.dispose()


def test_sigkill_mid_load_leaves_nothing_half_applied(province: Province, counties: list[CountySite],
                                                      postgres, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files: list[Path] = []
    kinds: dict[str, tuple[str, int]] = {}
    for site in counties:
        full = export.export_province_bundle(site.ws, site.user, tmp_path / f"{site.code}-1.pvb")
        hh = site.ws.load_households(site.ws.household_ids()[:5])
        for h in hh.values():
            h.fields["phone"] = "13700000000"
            site.ws.save_household(h, site.user)
        more = export.export_province_bundle(site.ws, site.user, tmp_path / f"{site.code}-2.pvb")
        kinds[full.manifest["bundle_id"]] = (site.code, 0)
        kinds[more.manifest["bundle_id"]] = (site.code, 1)
        files += [full.path, more.path]
    conn_args = {"host": str(postgres.sockets), "port": postgres.port, "user": "postgres",
                 "dbname": province.url.split("@/")[1].split("?")[0]}
    env = dict(os.environ, POVDESK_LANG="en", PYTHONPATH=str(ROOT))
    killed_inside = 0
    seen: list[int] = []
    for delay in (0.0, 0.05, 0.4):
        proc = subprocess.Popen([sys.executable, "-m", "povdesk", "province", "load", "--database", province.url,
                                 *map(str, files)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not _applying(conn_args):
            time.sleep(0.002)
        inside = _applying(conn_args)
        time.sleep(delay)
        if proc.poll() is None:  # killed: inside a bundle's transaction, or (if it was not seen) elsewhere
            killed_inside += int(inside)
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        loaded = _consistent(province, kinds)
        seen.append(len(loaded))
        if len(loaded) == len(files):
            break
    assert killed_inside >= 1 and seen[0] < len(files), seen  # killed at least once inside a bundle's transaction
    r = run("province", "load", "--database", province.url, *map(str, files))
    assert r.returncode == 0, r.stderr
    assert _consistent(province, kinds) == set(kinds)
    engine = province.engine()
    try:
        with engine.connect() as conn:
            for site in counties:
                held = {h: v.version for h, v in site.ws.load_households(site.ws.household_ids()).items()}
                assert db.household_versions(conn, site.code) == held
    finally:
        engine.dispose()
