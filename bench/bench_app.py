"""Desktop app on a county workspace: cold start to a usable window, search as you type, memory.

    .venv/bin/python bench/bench_app.py --households 100000        # generates the county first
    .venv/bin/python bench/bench_app.py --workspace county.db      # or reuse one

Each measurement runs in a fresh process (offscreen Qt), as a user's start would. Writes
bench/results/app.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import os, sys, time, json
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QEventLoop, QTimer
app = QApplication([])
from povdesk.store import Workspace
from povdesk.ui.app import install_language
from povdesk.ui.fonts import load_app_font
from povdesk.ui.main_window import MainWindow
install_language(app, "zh")
load_app_font(app)
ws = Workspace.open(sys.argv[1])
user = ws.authenticate("county", "bench1234")
w = MainWindow(ws, user, data_dir=__import__("pathlib").Path(sys.argv[2]), lang="zh")
w.show()
app.processEvents()
usable = time.perf_counter() - t0
queries = json.loads(sys.argv[3])
samples = []
for q in queries:
    for i in range(1, len(q) + 1):          # as typed, one character at a time
        s = time.perf_counter()
        w.model.set_query(q[:i])
        w.model.rowCount()
        samples.append((time.perf_counter() - s) * 1000)
rss = 0
with open("/proc/self/status") as fh:
    for line in fh:
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) // 1024
print(json.dumps({"usable_s": usable, "search_ms": samples, "rss_mb": rss, "rows": w.model.rowCount()}))
"""


def make_county(n: int, path: Path) -> None:
    from povdesk.core.demo import generate
    from povdesk.store import Workspace

    ws = Workspace.create(path, region_code="522634", name="基准县", level="county", admin_user="admin",
                          admin_password="bench1234")
    admin = ws.authenticate("admin", "bench1234")
    ws.add_user(admin, "county", "bench1234", "county_coordinator")
    ws.import_households(generate("522634", count=n, seed=1, today=date(2026, 6, 1)), ws.authenticate(
        "county", "bench1234"), source="bench")
    ws.close()


def queries(path: Path, k: int) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    from povdesk.store import Workspace

    ws = Workspace.open(path, readonly=True)
    out: list[str] = []
    for n, hh in enumerate(ws.iter_households()):
        if n % 997 == 0 and hh.members:
            m = hh.members[0]
            out += [m.name, "".join(lazy_pinyin(m.name, style=Style.FIRST_LETTER)), m.id_number[-6:],
                    hh.household_no]
        if len(out) >= k:
            break
    ws.close()
    return out[:k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--workspace", help="an existing county workspace with a user county / bench1234")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.workspace) if args.workspace else Path(tmp) / "county.db"
        if not args.workspace:
            t = time.perf_counter()
            make_county(args.households, path)
            sys.stdout.write(f"generated the county in {time.perf_counter() - t:.0f} s\n")
        qs = queries(path, 80)
        from povdesk.store import Workspace

        with Workspace.open(path, readonly=True) as ws:
            households = ws.count_households()
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        runs = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, "-c", CHILD, str(path), tmp, json.dumps(qs, ensure_ascii=False)],
                                 capture_output=True, text=True, env=env, cwd=ROOT, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    usable = statistics.median(r["usable_s"] for r in runs)
    samples = sorted(s for r in runs for s in r["search_ms"])
    p95 = samples[int(0.95 * (len(samples) - 1))]
    rss = max(r["rss_mb"] for r in runs)
    rows = [
        ("cold start to a usable window", f"{usable:.2f} s", "< 1 s", usable < 1),
        ("search as you type in the list model, p95", f"{p95:.1f} ms (p50 {statistics.median(samples):.1f})",
         "< 30 ms", p95 < 30),
        ("memory with the county open (RSS)", f"{rss} MB", "< 300 MB", rss < 300),
    ]
    sys.stdout.write(f"{'benchmark':<46} {'result':<24} {'target':<10} ok\n")
    for name, value, target, ok in rows:
        sys.stdout.write(f"{name:<46} {value:<24} {target:<10} {'yes' if ok else 'NO'}\n")
    out_path = ROOT / "bench" / "results" / "app.json"
    out_path.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "households": households,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": [{"name": n, "value": v, "target": t, "ok": ok} for n, v, t, ok in rows],
        "keystrokes": len(samples),
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    sys.stdout.write(f"written {out_path.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
