"""Sync benchmarks: prints a table and writes bench/results/sync.json.

    .venv/bin/python bench/bench_sync.py                      # 50 villages, 100,000 households
    .venv/bin/python bench/bench_sync.py --households 5000    # a quick run

Import of the bundles of 50 villages into an empty county, against raw executemany of the same
rows (households, members, search terms, years, events, outbox) into an empty county in the same
run (target: at least half the rate); export of one 2,000-household village (target under 2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import RESULTS, CpuBurner, PeakMemory, raw_baseline, record  # noqa: E402

from povdesk.core.demo import generate  # noqa: E402
from povdesk.core.procedures import as_held_at  # noqa: E402
from povdesk.store import Workspace  # noqa: E402
from povdesk.sync import service  # noqa: E402

PW = "bench1234"

_FRESH_IMPORT = r"""
import sys, time
from datetime import date
from pathlib import Path
from povdesk.clock import FixedClock
from povdesk.ops.importing import decision_pool
from povdesk.store import Workspace
from povdesk.sync import service
bundles = [Path(p) for p in sys.argv[4:]]
ws = Workspace.open(sys.argv[1], clock=FixedClock(date.fromisoformat(sys.argv[2])))
coord = ws.authenticate("county", "bench1234")
with decision_pool(bundles, int(sys.argv[3])) as pool:
    t0 = time.perf_counter()
    reports = service.import_bundles(ws, coord, bundles, executor=pool)
    secs = time.perf_counter() - t0
ws.close()
print(sum(len(r.records) for r in reports), secs)
"""
COUNTY = "522634"
TODAY = date(2025, 6, 1)



def workspace(path: Path, region: str, level: str, user: str, role: str) -> tuple[Workspace, Any]:
    ws = Workspace.create(path, region_code=region, name=f"bench {region}", level=level, admin_user="admin",
                          admin_password=PW)
    return ws, ws.add_user(ws.authenticate("admin", PW), user, PW, role)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--villages", type=int, default=50)
    ap.add_argument("--export-households", type=int, default=2000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="povdesk-bench-sync-"))
    print(f"{'measure':<44} {'value':>12} {'unit':<12} {'baseline':>10} {'ratio':>7}  {'target':<18} ok")
    county, coord = workspace(tmp / "county.db", COUNTY, "county", "county", "county_coordinator")
    service.export_key_file(county, tmp / "county.key")
    per = max(1, args.households // args.villages)
    bundles: list[Path] = []
    for i in range(args.villages):
        code = f"{COUNTY}{100 + i // 20:03d}{200 + i % 20:03d}"
        v, worker = workspace(tmp / f"v{i}.db", code, "village", "worker", "village_worker")
        hs = generate(code, count=per, seed=i, today=TODAY)
        v.import_households(as_held_at(hs, "village"), worker, source="bench")
        del hs
        service.export_key_file(v, tmp / f"v{i}.key")
        service.trust(v, v.authenticate("admin", PW), tmp / "county.key", "county")
        service.trust(county, county.authenticate("admin", PW), tmp / f"v{i}.key", "device")
        t0 = time.perf_counter()
        service.export_bundle(v, worker, tmp / f"v{i}.pvb")
        if i == 0:
            record(f"export one village ({per} households)", time.perf_counter() - t0, "s")
        bundles.append(tmp / f"v{i}.pvb")
        v.close()
    county.close()
    shutil.copyfile(tmp / "county.db", tmp / "before.db")
    for busy in (False, True):
        runs = {}
        for kind in ("plain", "worker"):
            shutil.copyfile(tmp / "before.db", tmp / "county.db")
            # In a fresh process, as `povdesk import` runs it, so the memory is the import's own
            # (not that of this process, which built the villages first); timed inside it.
            child = subprocess.Popen([sys.executable, "-c", _FRESH_IMPORT, str(tmp / "county.db"), TODAY.isoformat(),
                                      "1" if kind == "worker" else "0", *map(str, bundles)],
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)
            with CpuBurner(busy), PeakMemory(child.pid) as memory:
                stdout, _ = child.communicate()
            assert child.returncode == 0
            got, secs_s = stdout.split()
            runs[kind] = (float(secs_s), memory.mb, int(got))

        # Baseline: every row the import wrote (households, members, search terms, years, events,
        # outbox, audit, received bases, the villages' audit entries, flags...), inserted by raw
        # executemany into the county as it was before the import, in one transaction.
        with CpuBurner(busy):
            raw_secs, tables = raw_baseline(tmp / "before.db", tmp / "county.db", tmp / "raw.db")
        for kind, (secs, mb, total) in runs.items():
            rate, raw_rate = total / secs, total / raw_secs
            target = 0.5 if busy else 0.6
            where = "one core busy" if busy else "both cores free"
            record(f"import {len(bundles)} bundles, {kind}, {where}", rate, "hh/s", baseline=round(raw_rate),
                   ratio=rate / raw_rate, target=f">= {target} x raw", ok=rate / raw_rate >= target,
                   note=f"{total} households; {secs:.1f} s vs raw executemany {raw_secs:.1f} s; rows {', '.join(tables)}")
            if not busy:
                record(f"import {len(bundles)} bundles, {kind}, peak memory", mb, "MB", target="< 600 MB",
                       ok=mb < 600, note="PSS of the importing process and its worker, sampled every 0.2 s "
                                         "(a fresh process importing, as the command runs it)")

    # Export of one village of the given size.
    v, worker = workspace(tmp / "big.db", f"{COUNTY}100201", "village", "worker", "village_worker")
    v.import_households(as_held_at(generate(f"{COUNTY}100201", count=args.export_households, seed=99, today=TODAY),
                                   "village"), worker, source="bench")
    service.trust(v, v.authenticate("admin", PW), tmp / "county.key", "county")
    t0 = time.perf_counter()
    service.export_bundle(v, worker, tmp / "big.pvb")
    secs = time.perf_counter() - t0
    v.close()
    record(f"export a {args.export_households}-household village", secs, "s", target="< 2 s", ok=secs < 2,
           note=f"{(tmp / 'big.pvb').stat().st_size / 1e6:.1f} MB bundle")
    out = ROOT / "bench" / "results" / "sync.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "households": total,
                               "villages": len(bundles), "machine": {"python": platform.python_version(),
                                                                     "cpus": os.cpu_count()},
                               "results": RESULTS}, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
