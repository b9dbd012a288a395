"""What every benchmark runner shares: one results table, printed as it grows, and timing helpers."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS: list[dict[str, Any]] = []


def record(name: str, value: float, unit: str, *, baseline: float | None = None, ratio: float | None = None,
           target: str = "", ok: bool | None = None, note: str = "") -> None:
    """Add a row to RESULTS (written to bench/results/*.json by the runner) and print it."""
    RESULTS.append({"name": name, "value": round(value, 4), "unit": unit, "baseline": baseline, "ratio": ratio,
                    "target": target, "ok": ok, "note": note})
    ratio_s = f"{ratio:.2f}" if ratio is not None else ""
    base_s = f"{baseline:.4g}" if baseline is not None else ""
    mark = {True: "yes", False: "NO", None: ""}[ok]
    print(f"{name:<44} {value:>12.4g} {unit:<12} {base_s:>10} {ratio_s:>7}  {target:<18} {mark}", flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call takes, after a collection so earlier garbage is not charged to it."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def _stored_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """The columns an INSERT gives values for: generated ones (households.voided) are left out."""
    return [str(r[1]) for r in conn.execute(f'PRAGMA done.table_xinfo("{table}")') if r[6] in (0, 1)]


def _new_rows(conn: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    """Rows of done.<table> not in main.<table>, in the order they were written (rowid order), as
    values of its stored columns."""
    cols = ", ".join(f'"{c}"' for c in _stored_columns(conn, table))
    try:
        got = conn.execute(f'SELECT rowid, {cols} FROM done."{table}" EXCEPT SELECT rowid, {cols} '
                           f'FROM main."{table}" ORDER BY 1').fetchall()
        return [r[1:] for r in got]
    except sqlite3.OperationalError:  # a table without rowid: in key order
        return conn.execute(f'SELECT {cols} FROM done."{table}" EXCEPT SELECT {cols} FROM main."{table}"').fetchall()


def raw_baseline(before: Path, after: Path, raw: Path) -> tuple[float, list[str]]:
    """Seconds raw executemany takes to write every row an import wrote, in one transaction.

    `before` is a copy of the workspace file taken just before the import, `after` the file once
    it is done. The rows the import added or changed (in every table: households, members, search
    terms, years, events, outbox, audit, sync tables...) are read back in the order they were
    written and inserted into a copy of `before` at `raw`, with the same schema and indexes; the
    time of that insert is the baseline.
    """
    shutil.copyfile(before, raw)
    dst = sqlite3.connect(raw, isolation_level=None)
    dst.execute("ATTACH ? AS done", (str(after),))
    tables = [r[0] for r in dst.execute(
        "SELECT name FROM done.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    rows = {t: _new_rows(dst, t) for t in tables}
    rows = {t: r for t, r in rows.items() if r}
    columns = {t: ", ".join(f'"{c}"' for c in _stored_columns(dst, t)) for t in rows}
    dst.execute("DETACH done")
    # Like for like: the connection settings the import itself runs with (Workspace._pragmas,
    # with the import's bigger page cache), so the ratio measures povdesk's work, not SQLite's.
    from povdesk.store.workspace import _IMPORT_CACHE_KIB

    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "temp_store = MEMORY",
                   f"cache_size = -{_IMPORT_CACHE_KIB}"):
        dst.execute(f"PRAGMA {pragma}")

    def insert() -> None:
        dst.execute("BEGIN")
        for t, data in rows.items():
            dst.executemany(f'INSERT OR REPLACE INTO "{t}" ({columns[t]}) VALUES ({",".join("?" * len(data[0]))})',
                            data)
        dst.execute("COMMIT")

    secs, _ = timed(insert)
    dst.close()
    return secs, [f"{t} {len(r)}" for t, r in rows.items()]


_SAMPLER = r"""
import os, signal, sys, time
pid, peak = int(sys.argv[1]), 0
def pss(p):
    try:
        with open(f"/proc/{p}/smaps_rollup") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0
def family():
    out = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
while not stop:
    peak = max(peak, sum(pss(p) for p in family()))
    time.sleep(0.2)
print(peak)
"""


class CpuBurner:
    """One core kept busy by another process while the block runs: these machines have two cores
    and are shared, so every ratio is also measured with one of them taken."""

    def __init__(self, on: bool = True) -> None:
        self.on = on
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CpuBurner:
        if self.on:
            self._proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()


class PeakMemory:
    """Peak memory (PSS, in MB) of this process and its children while the block runs, sampled
    by a separate process every 0.2 s (Linux; 0 elsewhere). A thread would do, but would keep
    the import's helper process from starting (it forks only when no other thread runs)."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = os.getpid() if pid is None else pid  # whose family to sample: this process by default

    def __enter__(self) -> PeakMemory:
        self.mb = 0.0
        self._proc = None
        if Path("/proc/self/smaps_rollup").exists():
            self._proc = subprocess.Popen([sys.executable, "-c", _SAMPLER, str(self.pid)],
                                          stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGTERM)
            out, _ = self._proc.communicate(timeout=30)
            self.mb = int(out.strip() or 0) / 1024
