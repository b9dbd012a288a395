"""Desktop app on a county workspace: cold start to a usable window, memory, keystroke to updated list.

    .venv/bin/python bench/bench_app.py --households 100000        # generates the county first (plain file)
    .venv/bin/python bench/bench_app.py --workspace county.db      # or reuse one (a user county / bench1234)

Each measurement runs in a fresh process, as a user's start would: offscreen Qt on a village laptop's
screen (1366x768 less the taskbar, tests/ui/laptop-screen.json), the app started as `povdesk app`
starts it (language, font, the login dialog, then the main window once the password is in).

- cold start: from launching the process to the main window painted with the list's first page,
  less the time the login dialog waits for the password (nobody types that in 0 s); with one core
  kept busy by another process (benchlib.CpuBurner), median of --runs; and with the page cache
  evicted before each run (`echo 3 > /proc/sys/vm/drop_caches`, root only), median of 5.
- memory: RSS of the app with the county open, after the check of every household (F5) has ended
  and the dashboard has been shown.
- keystroke to updated list: a query typed one character at a time into the search box (each
  character after the list has followed the one before, as a person types); from the key press to
  the list's viewport painted with the new rows, less the typing delay (SEARCH_DELAY_MS); p95 over
  every keystroke, alone and while the background check (the F5 scan, no dialog) runs.

Writes bench/results/app.json.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import CpuBurner, pct  # noqa: E402

SCREEN = ROOT / "tests" / "ui" / "laptop-screen.json"
USER, PASSWORD = "county", "bench1234"
# The app's bytecode, compiled once by the warm-up run (pip and PyInstaller ship it compiled), kept
# out of the source tree.
PYCACHE = Path(tempfile.gettempdir()) / "povdesk-bench-app-pycache"
PASSWORD_S = 1.0  # the time the login dialog waits for the password to be typed (left out of the start)

# The child: argv = mode workspace data_dir password_seconds [queries json]. Prints one JSON line.
CHILD = r"""
import json, os, sys, time
started = time.time()
mode, path, data_dir, password_s = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
app = QApplication(sys.argv[:1])
from povdesk.ui.app import build_parser, start
session = start(app, build_parser().parse_args(["--workspace", path, "--data-dir", data_dir, "--lang", "zh"]))
app.processEvents()
login_shown = time.time()
dialog = session.login_dialog


def pause(seconds):
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_until(cond, timeout=120.0, poll_ms=5):
    loop, end = QEventLoop(), time.perf_counter() + timeout
    timer = QTimer(interval=poll_ms)
    timer.timeout.connect(lambda: (cond() or time.perf_counter() > end) and loop.quit())
    timer.start()
    if not cond():
        loop.exec()
    timer.stop()
    return cond()


class Painted(QObject):
    # The time a paint of the watched widget has ended (a zero timer after the Paint event runs
    # once the painting is done); `until(cond)` waits for one with cond() true, without polling.
    def __init__(self):
        super().__init__()
        self.at, self.loop, self.cond = None, None, None

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, self._done)
        return False

    def _done(self):
        self.at = time.perf_counter()
        if self.loop is not None and self.cond():
            self.loop.quit()

    def until(self, cond, timeout=30.0):
        self.at, self.cond, self.loop = None, cond, QEventLoop()
        QTimer.singleShot(int(timeout * 1000), self.loop.quit)
        self.loop.exec()
        self.loop = None
        return self.at


# The password typed, one key at a time (password_s for the nine); the user waits from Enter on.
from PySide6.QtTest import QTest
dialog.name.setText("county")
for ch in "bench1234":
    pause(password_s / 9)
    QTest.keyClicks(dialog.password, ch)
typed = time.time()
dialog._login()              # the Enter key of the login dialog
w = session.window
painted = Painted()
w.table.viewport().installEventFilter(painted)
at = painted.until(lambda: w.model.rowCount() > 0, timeout=60)
usable = time.time() - (time.perf_counter() - at)
out = {"to_login_s": login_shown - started, "login_to_usable_s": usable - typed, "started": started,
       "usable": usable, "typed": typed, "login_shown": login_shown, "rows": w.model.rowCount()}


def rss_mb():
    with open("/proc/self/status") as fh:
        vals = {l.split(":")[0]: int(l.split()[1]) for l in fh if l.startswith(("VmRSS", "VmHWM"))}
    return vals["VmRSS"] // 1024, vals["VmHWM"] // 1024


if mode == "rss":
    out["rss_open_mb"] = rss_mb()[0]
    t = time.perf_counter()
    w.start_scan(show_dialog=True)           # F5
    wait_until(lambda: w.scan is not None, timeout=900, poll_ms=200)
    out["check_s"] = time.perf_counter() - t
    out["rss_after_check_mb"] = rss_mb()[0]
    w.dashboard_action.setChecked(True)       # Ctrl+D
    pause(1.0)
    out["rss_mb"], out["hwm_mb"] = rss_mb()
    out["with_errors"] = len(w.scan.with_errors)
elif mode in ("typing", "typing-check"):
    from povdesk.ui.main_window import SEARCH_DELAY_MS
    queries = json.loads(sys.argv[5])
    resets = [0]
    w.model.modelReset.connect(lambda: resets.__setitem__(0, resets[0] + 1))
    samples, during = [], []
    w.search.setFocus()
    for q in queries:
        w.search.clear()
        pause(SEARCH_DELAY_MS / 1000 + 0.3)   # the emptied search settles
        for ch in q:
            if mode == "typing-check" and w.scan_job is None:
                w.scan = None
                w.start_scan(show_dialog=False)   # the background check, running under every keystroke
                pause(0.3)
            running = w.scan_job is not None
            before = resets[0]
            t = time.perf_counter()
            # a key with its text, as an input method gives it (keyClicks aborts on a Chinese character)
            QTest.sendKeyEvent(QTest.KeyAction.Click, w.search, Qt.Key.Key_unknown, ch, Qt.KeyboardModifier.NoModifier)
            at = painted.until(lambda: resets[0] > before)
            if at is None:
                raise SystemExit(f"no repaint after typing {ch!r} of {q!r}")
            samples.append((at - t) * 1000 - SEARCH_DELAY_MS)
            during.append(running)
            pause(0.05)   # the next key comes a moment later
    out["search_ms"] = samples
    out["during_check"] = during
    out["rss_mb"] = rss_mb()[0]
w.close()
print(json.dumps(out))
"""


def make_county(n: int, path: Path) -> None:
    from povdesk.core.demo import generate
    from povdesk.store import Workspace

    ws = Workspace.create(path, region_code="522634", name="基准县", level="county", admin_user="admin",
                          admin_password=PASSWORD)  # a plain file (the encrypted case is benched apart)
    admin = ws.authenticate("admin", PASSWORD)
    ws.add_user(admin, USER, PASSWORD, "county_coordinator")
    ws.import_households(generate("522634", count=n, seed=1, today=date(2026, 6, 1)), ws.authenticate(
        USER, PASSWORD), source="bench")
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
                    hh.household_no[-7:]]
        if len(out) >= k:
            break
    ws.close()
    return out[:k]


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


CRASHES: list[dict[str, object]] = []  # app processes that died before printing their figures


def child(mode: str, path: Path, extra: list[str] | None = None, password_s: float = PASSWORD_S) -> dict:
    """One app process; one that dies before its figures (a crash, kept with its stack in CRASHES
    and reported) is run again, twice at most."""
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={SCREEN}", PYTHONPYCACHEPREFIX=str(PYCACHE),
               PYTHONFAULTHANDLER="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed app has its bytecode compiled
    for _attempt in range(3):
        with tempfile.TemporaryDirectory() as data_dir:
            launched = time.time()
            out = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), data_dir, str(password_s),
                                  *(extra or [])],
                                 capture_output=True, text=True, env=env, cwd=ROOT)
        lines = out.stdout.strip().splitlines()
        if lines and lines[-1].startswith("{"):
            break
        CRASHES.append({"mode": mode, "exit": out.returncode, "stderr": out.stderr[-3000:]})
        sys.stdout.write(f"the app process died ({mode}, exit {out.returncode}); run again\n{out.stderr[-1500:]}\n")
    else:
        raise SystemExit(f"the app process failed 3 times ({mode}, exit {out.returncode}):\n{out.stderr[-3000:]}")
    result = json.loads(lines[-1])
    if out.returncode != 0:
        result["exit_after_result"] = out.returncode  # died on its way out, after its figures
    # Launch to the login dialog, and the Enter key to the list painted: the password's typing left out.
    result["to_login_s"] = result["login_shown"] - launched
    result["cold_start_s"] = result["to_login_s"] + result["login_to_usable_s"]
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--workspace", help="an existing county workspace with a user county / bench1234")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--queries", type=int, default=40, help="queries typed, a character at a time")
    ap.add_argument("--only", choices=["start", "cold", "rss", "typing"], action="append")
    args = ap.parse_args()
    only = set(args.only or ["start", "cold", "rss", "typing"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.workspace) if args.workspace else Path(tmp) / "county.db"
        if not args.workspace:
            t = time.perf_counter()
            make_county(args.households, path)
            sys.stdout.write(f"generated the county in {time.perf_counter() - t:.0f} s\n")
        from povdesk.store import Workspace

        with Workspace.open(path, readonly=True) as ws:
            households = ws.count_households()
        qs = queries(path, args.queries)
        rows: list[tuple[str, str, str, bool | None]] = []
        details: dict[str, object] = {}
        if "start" in only:
            child("start", path)  # once for the page cache: the busy-core figure is a warm start
            with CpuBurner():
                starts = [child("start", path) for _ in range(args.runs)]
            s = statistics.median(r["cold_start_s"] for r in starts)
            to_login = statistics.median(r["to_login_s"] for r in starts)
            after = statistics.median(r["login_to_usable_s"] for r in starts)
            rows.append((f"cold start to a usable window, one core busy (median of {args.runs})",
                         f"{s:.2f} s (login {to_login:.2f} + window {after:.2f})", "< 1 s", s < 1))
            details["start_busy"] = starts
        if "cold" in only:
            if os.geteuid() != 0 or not drop_caches():
                rows.append(("cold start, page cache evicted (median of 5)", "skipped: not root (drop_caches)",
                             "< 1 s", None))
            else:
                colds = []
                for _ in range(5):
                    drop_caches()
                    colds.append(child("start", path))
                s = statistics.median(r["cold_start_s"] for r in colds)
                rows.append(("cold start, page cache evicted (median of 5)",
                             f"{s:.2f} s (max {max(r['cold_start_s'] for r in colds):.2f})", "< 1 s", s < 1))
                details["start_evicted"] = colds
        if "rss" in only:
            r = child("rss", path)
            rows.append(("RSS, county open, after the check (F5) and the dashboard",
                         f"{r['rss_mb']} MB (open {r['rss_open_mb']}, peak {r['hwm_mb']})", "< 300 MB",
                         r["rss_mb"] < 300))
            details["rss"] = r
        if "typing" in only:
            for mode, label in (("typing", "keystroke to updated list, p95 beyond the delay"),
                                ("typing-check", "the same while the background check runs")):
                r = child(mode, path, [json.dumps(qs, ensure_ascii=False)])
                samples = r["search_ms"] if mode == "typing" else [
                    s for s, d in zip(r["search_ms"], r["during_check"], strict=True) if d]
                p95 = pct(samples, 95)
                rows.append((label, f"{p95:.0f} ms (p50 {statistics.median(samples):.0f}, max {max(samples):.0f}, "
                             f"n {len(samples)})", "< 50 ms", p95 < 50))
                details[mode] = {k: v for k, v in r.items() if k not in ("search_ms", "during_check")} | {
                    "p95_ms": p95, "max_ms": max(samples), "keystrokes": len(samples)}
    crashed = [f"{k}: {r['exit_after_result']}" for k, v in details.items()
               for r in (v if isinstance(v, list) else [v]) if isinstance(r, dict) and "exit_after_result" in r]
    if crashed:
        sys.stdout.write(f"app processes that died on their way out after printing their figures: {crashed}\n")
        details["exits_after_result"] = crashed
    if CRASHES:
        sys.stdout.write(f"app processes that died before their figures and were run again: {len(CRASHES)}\n")
        details["crashes"] = CRASHES
    sys.stdout.write(f"{'benchmark':<62} {'result':<44} {'target':<10} ok\n")
    for name, value, target, ok in rows:
        flag = "-" if ok is None else "yes" if ok else "NO"
        sys.stdout.write(f"{name:<62} {value:<44} {target:<10} {flag}\n")
    out_path = ROOT / "bench" / "results" / "app.json"
    out_path.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "households": households,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": [{"name": n, "value": v, "target": t, "ok": ok} for n, v, t, ok in rows],
        "details": details,
    }, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    sys.stdout.write(f"written {out_path.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
