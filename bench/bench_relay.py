"""Relay benchmarks on loopback: prints a table and writes bench/results/relay.json.

    .venv/bin/python bench/bench_relay.py                                  # 50 villages of 2,000 households
    .venv/bin/python bench/bench_relay.py --villages 10 --households 20000 # a quicker run

Each village holds generated households with the histories a village laptop keeps (its own steps;
the township's and county's come down from the county). A real relay process (uvicorn, SQLite in
WAL with synchronous=FULL) on a free loopback port. Every
village uploads its bundle at once (one process and one connection each): all stored once, the p95
time to a verified receipt, and the ingest rate against writing the same bytes to the same disk
with fsync in the same run (one file per bundle); then the county fetches and imports everything
(`povdesk fetch` in a fresh process, as the county runs it), against raw executemany of the rows the
import wrote; peak memory of the relay and of that county process. Both with the cores free and
with one kept busy.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import RESULTS, CpuBurner, PeakMemory, pct, raw_baseline, record  # noqa: E402

from povdesk.clock import FixedClock  # noqa: E402
from povdesk.core import procedures  # noqa: E402
from povdesk.core.demo import generate  # noqa: E402
from povdesk.relay import client as rc  # noqa: E402
from povdesk.relay import exchange  # noqa: E402
from povdesk.store import Workspace  # noqa: E402
from povdesk.sync import service  # noqa: E402
from tests.relay.conftest import Relay  # noqa: E402  (the same real relay process the tests start)

PW = "bench1234"
COUNTY = "522634"
TODAY = date(2025, 6, 1)


def workspace(path: Path, region: str, level: str, user: str, role: str) -> tuple[Workspace, Any]:
    ws = Workspace.create(path, region_code=region, name=f"bench {region}", level=level, admin_user="admin",
                          admin_password=PW, clock=FixedClock(TODAY))
    return ws, ws.add_user(ws.authenticate("admin", PW), user, PW, role)


def fsync_copy(files: list[Path], folder: Path) -> float:
    """The baseline: the same bytes written to the same disk, one file each, fsynced."""
    folder.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    for f in files:
        with (folder / f.name).open("wb") as out:
            out.write(f.read_bytes())
            out.flush()
            os.fsync(out.fileno())
    fd = os.open(folder, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - t0


def _village_upload(path: Path, bundle: tuple[Path, str], ready: Any, results: Any) -> None:
    """In a village's own process: open its workspace and client, wait for the others, then PUT."""
    try:
        ws = Workspace.open(path, clock=FixedClock(TODAY))
        try:
            with exchange.client_for(ws) as cl:
                ready.wait()
                t0 = time.perf_counter()
                up = cl.upload(*bundle)
                results.put((time.perf_counter() - t0, up.state, time.perf_counter(), ""))
        finally:
            ws.close()
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        results.put((0.0, "", time.perf_counter(), f"{type(exc).__name__}: {exc}"))
        ready.abort()


def upload_all(villages: list[tuple[Path, Any]], bundles: list[tuple[Path, str]]) -> tuple[float, list[float], int]:
    """Every village at once, each in a process of its own (as on its own laptop: one Python process
    of httpx threads on two cores would measure the client's lock as much as the relay); returns the
    wall time from the start signal to the last receipt, each receipt's latency and how many were stored."""
    ctx = mp.get_context("fork")
    ready, results = ctx.Barrier(len(bundles) + 1), ctx.Queue()
    procs = [ctx.Process(target=_village_upload, args=(p, b, ready, results))
             for (p, _u), b in zip(villages, bundles, strict=True)]
    for proc in procs:
        proc.start()
    ready.wait(timeout=300)
    t0 = time.perf_counter()
    got = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    errors = [e for *_x, e in got if e]
    if errors:
        raise RuntimeError(errors[0])
    return max(at for _l, _s, at, _e in got) - t0, [lat for lat, *_x in got], sum(s == "received" for _l, s, *_x in got)


def fetch_cli(db: Path) -> tuple[float, int, int, float]:
    """`povdesk fetch DB` in a fresh process, as the county runs it (its default worker included):
    seconds, bundles imported, households rejected, and the peak memory of the process and its worker."""
    env = dict(os.environ, POVDESK_USER="county", POVDESK_PASSWORD=PW, POVDESK_LANG="en", PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "povdesk", "--today", TODAY.isoformat(), "fetch", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                            cwd=ROOT, text=True)
    with PeakMemory(proc.pid) as memory:
        out, err = proc.communicate()
    secs = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"povdesk fetch ended with {proc.returncode}: {err}")
    lines = [m for m in (re.search(r": \d+ inserted, .*?(\d+) rejected", line) for line in out.splitlines()) if m]
    return secs, len(lines), sum(int(m.group(1)) for m in lines), memory.mb


def households_in(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM households").fetchone()[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--villages", type=int, default=50)
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--uploads-only", action="store_true", help="the uploads only, not the county's fetch + import")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="povdesk-bench-relay-"))
    print(f"{'measure':<44} {'value':>12} {'unit':<12} {'baseline':>10} {'ratio':>7}  {'target':<18} ok")
    county, coord = workspace(tmp / "county.db", COUNTY, "county", "county", "county_coordinator")
    admin = county.authenticate("admin", PW)
    service.export_key_file(county, tmp / "county.key")
    per = max(1, args.households // args.villages)
    villages: list[tuple[Path, Any]] = []
    for i in range(args.villages):
        code = f"{COUNTY}{100 + i // 20:03d}{200 + i % 20:03d}"
        v, worker = workspace(tmp / f"v{i}.db", code, "village", "worker", "village_worker")
        # A village holds its own history only (its steps above village level come down from the county).
        v.import_households(procedures.as_held_at(generate(code, count=per, seed=i, today=TODAY), "village"), worker,
                            source="bench")
        service.export_key_file(v, tmp / f"v{i}.key")
        service.trust(v, v.authenticate("admin", PW), tmp / "county.key", "county")
        service.trust(county, admin, tmp / f"v{i}.key", "device")
        v.close()
        villages.append((tmp / f"v{i}.db", worker))
    devices = tmp / "devices.json"
    devices.write_text(exchange.device_list(county, admin), encoding="utf-8")
    county.close()
    shutil.copyfile(tmp / "county.db", tmp / "before.db")

    for busy in (False, True):
        where = "one core busy" if busy else "both cores free"
        run = tmp / ("busy" if busy else "free")
        run.mkdir()
        relay = Relay(f"sqlite:///{run / 'relay.db'}", tmp / "relay-key.pem", run / "relay.log").start()
        try:
            subprocess.run([sys.executable, "-m", "povdesk", "relay", "devices", "load", "--database", relay.database,
                            str(devices)], check=True, capture_output=True, cwd=ROOT)
            fp = relay.fingerprint()
            shutil.copyfile(tmp / "before.db", tmp / "county.db")
            bundles: list[tuple[Path, str]] = []
            for path, worker in villages:
                ws = Workspace.open(path, clock=FixedClock(TODAY))
                exchange.connect(ws, ws.authenticate("admin", PW), relay.url, fp)
                out = run / f"{path.stem}.pvb"
                res = service.export_bundle(ws, worker, out, full=True)
                bundles.append((out, str(res.manifest["bundle_id"])))
                ws.close()
            files = [b[0] for b in bundles]
            size = sum(f.stat().st_size for f in files)
            assert relay.proc is not None
            with CpuBurner(busy), PeakMemory(relay.proc.pid) as relay_mem:
                secs, latencies, stored = upload_all(villages, bundles)
            with CpuBurner(busy):
                base = fsync_copy(files, run / "copy")
            mb = size / 1e6
            record(f"{len(files)} villages upload at once, {where}", stored, "stored", target=f"all {len(files)} once",
                   ok=stored == len(files), note=f"{mb:.1f} MB in {len(files)} bundles of "
                                                 f"{mb / len(files):.2f} MB on average, {per} households each")
            p95 = pct(latencies, 95) * 1000
            record(f"p95 receipt latency, {where}", p95, "ms", target="< 100 ms (1 MB)", ok=p95 < 100,
                   note=f"{mb / len(files):.2f} MB bundles, all {len(files)} sent at once; median "
                        f"{pct(latencies, 50) * 1000:.0f} ms")
            record(f"relay ingest, {where}", mb / secs, "MB/s", baseline=round(mb / base, 1), ratio=base / secs,
                   target=">= 0.5 x fsync copy", ok=base / secs >= 0.5,
                   note=f"{secs:.2f} s vs writing the same bytes with fsync {base:.2f} s")
            if not busy:
                record("relay peak memory under that load", relay_mem.mb, "MB", target="< 200 MB",
                       ok=relay_mem.mb < 200, note="PSS of the relay process, sampled every 0.2 s")

            if args.uploads_only:
                continue
            ws = Workspace.open(tmp / "county.db", clock=FixedClock(TODAY))
            exchange.connect(ws, ws.authenticate("admin", PW), relay.url, fp)
            ws.close()
            shutil.copyfile(tmp / "county.db", tmp / "connected.db")
            with CpuBurner(busy):
                fetch_secs, imported, rejected, memory_mb = fetch_cli(tmp / "county.db")
            stored_hh = households_in(tmp / "county.db")
            total = stored_hh + rejected
            with CpuBurner(busy):
                raw_secs, tables = raw_baseline(tmp / "connected.db", tmp / "county.db", tmp / "raw.db")
            rate, raw_rate = total / fetch_secs, total / raw_secs
            record(f"county fetch + import, {where}", rate, "hh/s", baseline=round(raw_rate), ratio=rate / raw_rate,
                   target=">= 0.5 x raw", ok=rate / raw_rate >= 0.5,
                   note=f"{total} households from {imported} bundles, {stored_hh} stored, {rejected} rejected; "
                        f"`povdesk fetch` in a fresh process "
                        f"{fetch_secs:.1f} s (start-up included) vs raw executemany {raw_secs:.1f} s; rows "
                        f"{', '.join(tables)}")
            if not busy:
                record("county fetch + import, peak memory", memory_mb, "MB", target="< 600 MB", ok=memory_mb < 600,
                       note="PSS of a fresh `povdesk fetch` process and its worker, sampled every 0.2 s")
        finally:
            relay.stop()
    out = ROOT / "bench" / "results" / "relay.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "villages": args.villages,
                               "households": args.households, "uploads_only": args.uploads_only,
                               "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                           "client": rc.__name__},
                               "results": RESULTS}, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
