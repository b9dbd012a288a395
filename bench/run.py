"""Benchmarks on a generated county: prints a table and writes bench/results/<name>.json.

    .venv/bin/python bench/run.py                      # 100,000 households (about 400,000 people)
    .venv/bin/python bench/run.py --households 5000    # a quick run

Where a baseline exists it is measured in the same run and the result is given as a ratio, because
absolute times on these machines drift from run to run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import RESULTS, CpuBurner, PeakMemory, pct, raw_baseline, record, timed  # noqa: E402

from povdesk.clock import FixedClock  # noqa: E402
from povdesk.core.demo import generate  # noqa: E402
from povdesk.core.exchange import write_jsonl  # noqa: E402
from povdesk.core.model import Household, Member  # noqa: E402
from povdesk.core.rules import RuleContext, validate_all  # noqa: E402
from povdesk.ops.importing import import_jsonl  # noqa: E402
from povdesk.store import Workspace  # noqa: E402

COUNTY = "522634"
TODAY = date(2026, 6, 1)  # fixed, so every run generates the same county





def login(ws: Workspace) -> Any:
    return ws.authenticate("county", "bench1234")


def make_workspace(path: Path) -> Workspace:
    ws = Workspace.create(path, region_code=COUNTY, name="基准县", level="county", admin_user="admin",
                          admin_password="bench1234")
    admin = ws.authenticate("admin", "bench1234")
    ws.add_user(admin, "county", "bench1234", "county_coordinator")
    return ws


def bench_generate(n: int, seed: int) -> list[Household]:
    secs, households = timed(lambda: generate(COUNTY, count=n, seed=seed, today=TODAY))
    people = sum(len(h.members) for h in households)
    record("demo generation", secs, "s", note=f"{n} households, {people} people, {n / secs:,.0f} households/s")
    return households


def write_file(households: list[Household], work: Path) -> Path:
    jsonl = work / "county.jsonl"
    with jsonl.open("w", encoding="utf-8") as fh:
        write_jsonl(households, fh)
    return jsonl


def _executor(kind: str) -> Any:
    if kind == "plain":
        return contextlib.nullcontext(None)
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def bench_import(jsonl: Path, work: Path, people: int, n: int) -> Path:
    """import-json (povdesk.ops.importing.import_jsonl, as the CLI runs it: read, parse, replay,
    validate, write in batches in one transaction, cross-check) against raw executemany of the
    same rows with the import's own connection settings; in one process and with one worker
    process deciding, each with both cores free and with one core busy."""
    db, before = work / "county.db", work / "before.db"
    make_workspace(db).close()
    shutil.copyfile(db, before)
    runs: dict[tuple[str, bool], tuple[float, float]] = {}
    for busy in (False, True):
        for kind in ("plain", "worker"):
            shutil.copyfile(before, db)
            ws = Workspace.open(db, clock=FixedClock(TODAY))
            actor = login(ws)
            with CpuBurner(busy), PeakMemory() as memory, _executor(kind) as pool:
                secs, result = timed(lambda: import_jsonl(ws, actor, jsonl, executor=pool))  # noqa: B023
            ws.close()
            runs[kind, busy] = (secs, memory.mb)
            assert result.lines == n
        with CpuBurner(busy):
            raw_secs, tables = raw_baseline(before, db, work / "raw.db")
        for kind in ("plain", "worker"):
            secs, mb = runs[kind, busy]
            where = "one core busy" if busy else "both cores free"
            target = 0.5 if busy else 0.6
            record(f"import-json county, {kind}, {where}", secs, "s", baseline=raw_secs, ratio=raw_secs / secs,
                   target=f"ratio >= {target}", ok=raw_secs / secs >= target,
                   note=f"{n} households, {people} people; {n / secs:,.0f} vs raw {n / raw_secs:,.0f} households/s; "
                        f"rows {', '.join(tables)}")
            if not busy:
                record(f"import-json county, {kind}, peak memory", mb, "MB", target="< 600 MB", ok=mb < 600,
                       note="PSS of the importing process and its worker, sampled every 0.2 s")
    return db


def import_untimed(jsonl: Path, work: Path) -> Path:
    """The county imported (one process) into a fresh workspace, for the benches that read it."""
    db = work / "county.db"
    make_workspace(db).close()
    ws = Workspace.open(db, clock=FixedClock(TODAY))
    import_jsonl(ws, login(ws), jsonl, executor=None)
    ws.close()
    return db


_FRESH_IMPORT = r"""
import sys, time
from datetime import date
from pathlib import Path
from povdesk.clock import FixedClock
from povdesk.ops.importing import decision_pool, import_jsonl
from povdesk.store import Workspace
ws = Workspace.open(sys.argv[1], clock=FixedClock(date.fromisoformat(sys.argv[3])))
actor = ws.authenticate("county", "bench1234")
t0 = time.perf_counter()
with decision_pool([Path(sys.argv[2])], int(sys.argv[4])) as pool:
    result = import_jsonl(ws, actor, Path(sys.argv[2]), executor=pool)
secs = time.perf_counter() - t0
ws.close()
print(result.lines, secs)
"""


def bench_import_memory(jsonl: Path, work: Path, sizes: list[int]) -> None:
    """Peak memory of an import in a fresh process, as `povdesk import-json` runs it, on the first
    N households of the county file: it should not grow with the file. (Not ru_maxrss: Linux
    carries it over from the parent through fork and exec.)"""
    before = work / "empty.db"
    make_workspace(before).close()
    lines = jsonl.read_bytes().splitlines(keepends=True)
    for workers in (0, 1):
        for n in sizes:
            part = work / f"first-{n}.jsonl"
            part.write_bytes(b"".join(lines[:n]))
            db = work / f"memory-{n}.db"
            shutil.copyfile(before, db)
            child = subprocess.Popen([sys.executable, "-c", _FRESH_IMPORT, str(db), str(part), TODAY.isoformat(),
                                      str(workers)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
            with PeakMemory(child.pid) as memory:
                stdout, _ = child.communicate()
            assert child.returncode == 0
            got, secs = stdout.split()
            mb = memory.mb
            record(f"import-json {n:,} hh, peak memory, {'1 worker' if workers else '1 process'}",
                   mb, "MB", target="< 600 MB", ok=mb < 600,
                   note=f"PSS of a fresh importing process and its worker, sampled every 0.2 s; {int(got)} lines "
                        f"in {float(secs):.1f} s")
            db.unlink()
            part.unlink()
    del lines


def bench_prompt(work: Path) -> None:
    """Seconds from starting `povdesk import-json` on a county file to its password prompt, in a
    terminal (a pseudo-terminal here); the file is not read before the person has logged in."""
    import pty
    import select

    db = work / "prompt.db"
    make_workspace(db).close()
    jsonl = work / "county.jsonl"
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its terminal
            env = dict(os.environ, POVDESK_USER="county")
            env.pop("POVDESK_PASSWORD", None)
            os.execvpe(sys.executable, [sys.executable, "-m", "povdesk", "import-json", str(db), str(jsonl)], env)
        seen = b""
        while b"assword" not in seen and b"\xe5\xaf\x86\xe7\xa0\x81" not in seen:  # 密码
            ready, _, _ = select.select([fd], [], [], 30)
            if not ready:
                break
            try:
                seen += os.read(fd, 1024)
            except OSError:
                break
        samples.append(time.perf_counter() - t0)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    secs = statistics.median(samples)
    record("import-json: time to the password prompt", secs, "s", target="< 1 s", ok=secs < 1,
           note=f"county file of {jsonl.stat().st_size / 1e6:,.0f} MB, median of 5, pseudo-terminal")


def _raw_read(db: Path) -> int:
    """Every row validate reads (households, members, income years: not the procedure history,
    which no rule reads), by plain SQL, with the JSON columns decoded (orjson): the floor under
    reading households at all."""
    import orjson

    conn = sqlite3.connect(db)
    n = 0
    try:
        for sql in ("SELECT id, household_no, village_code, status, fields, helpers FROM households",
                    "SELECT household_id, id, fields FROM members ORDER BY household_id, position",
                    "SELECT household_id, year, income, measures FROM years"):
            for row in conn.execute(sql):
                for value in row:
                    if type(value) is str and value[:1] in ("{", "["):
                        orjson.loads(value)
                n += 1
    finally:
        conn.close()
    return n


def bench_validate(db: Path) -> None:
    ws = Workspace.open(db, readonly=True)
    read_secs, n = timed(lambda: sum(1 for _ in ws.iter_households(events=False)))
    ctx = RuleContext(today=TODAY)
    val_secs, findings = timed(lambda: sum(1 for _ in validate_all(ws.iter_households(events=False), ctx)))
    ws.close()
    raw_secs, rows = timed(lambda: _raw_read(db))
    ratio = val_secs / raw_secs
    record("validate county / raw SQL read", val_secs, "s", baseline=raw_secs, ratio=ratio,
           target="ratio <= 3", ok=ratio <= 3, note=f"{n} households, {findings} findings; {rows} rows read raw")
    record("iter_households / raw SQL read", read_secs, "s", baseline=raw_secs, ratio=read_secs / raw_secs,
           note="building the model objects alone")
    record("validate county / iter_households", val_secs, "s", baseline=read_secs, ratio=val_secs / read_secs,
           note="the rules alone, over the model objects")


def _queries(ws: Workspace, rng: random.Random, k: int) -> dict[str, list[str]]:
    from pypinyin import Style, lazy_pinyin

    people: list[tuple[Household, Member]] = []
    for hh in ws.iter_households():
        if rng.random() < 0.02:
            people.extend((hh, m) for m in hh.members)
    sample = rng.sample(people, min(k, len(people)))
    return {
        "name, 1 character (surname)": [m.name[0] for _, m in sample],
        "name, 2 characters": [m.name[:2] for _, m in sample],
        "name, given name only": [m.name[1:] for _, m in sample],
        "name, full": [m.name for _, m in sample],
        "ID number, first 10 digits": [m.id_number[:10] for _, m in sample],
        "ID number, full": [m.id_number for _, m in sample],
        "ID number, last 4": [m.id_number[-4:] for _, m in sample],
        "household number": [hh.household_no for hh, _ in sample],
        "pinyin initials": ["".join(lazy_pinyin(m.name, style=Style.FIRST_LETTER)) for _, m in sample],
    }


def bench_search(db: Path, k: int) -> None:
    ws = Workspace.open(db, readonly=True)
    rng = random.Random(5)
    for kind, queries in _queries(ws, rng, k).items():
        ws.search(queries[0])  # warm the page cache for this kind
        samples = []
        for q in queries:
            t0 = time.perf_counter()
            ws.search(q, limit=50)
            samples.append((time.perf_counter() - t0) * 1000)
        p95 = pct(samples, 95)
        record(f"search p95: {kind}", p95, "ms", target="p95 < 30 ms", ok=p95 < 30,
               note=f"p50 {statistics.median(samples):.2f} ms over {len(samples)} queries")
    ws.close()


def bench_save(db: Path, k: int) -> None:
    ws = Workspace.open(db)
    actor = login(ws)
    template = next(h for h in ws.iter_households() if len(h.members) >= 5)
    samples = []
    for i in range(k):
        hh = ws.load_household(template.id)
        hh.fields["address"] = f"基准地址 {i}"
        hh.members[i % 5].fields["political"] = "13" if i % 2 else "01"
        t0 = time.perf_counter()
        ws.save_household(hh, actor)
        samples.append((time.perf_counter() - t0) * 1000)
    ws.close()
    p95 = pct(samples, 95)
    record("save a household of 5+ members, p95", p95, "ms", target="p95 < 10 ms", ok=p95 < 10,
           note=f"p50 {statistics.median(samples):.2f} ms over {k} saves")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples", type=int, default=200, help="queries per search kind, saves")
    ap.add_argument("--name", default=None, help="results file name (default: county-<N>)")
    ap.add_argument("--workdir", default=None, help="keep the generated files here")
    ap.add_argument("--only", choices=["memory", "validate", "import"], default=None,
                    help="only the peak memory of fresh import processes, only validate (its county imported "
                         "untimed first), or only the timed imports against raw (results: <name>.json)")
    args = ap.parse_args()

    print(f"{'benchmark':<44} {'value':>12} {'unit':<12} {'baseline':>10} {'ratio':>7}  {'target':<18} ok")
    work_ctx = tempfile.TemporaryDirectory() if args.workdir is None else None
    work = Path(args.workdir or work_ctx.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    try:
        households = bench_generate(args.households, args.seed)
        jsonl = write_file(households, work)
        people = sum(len(h.members) for h in households)
        del households
        sizes = sorted({min(10_000, args.households), min(30_000, args.households), args.households})
        if args.only == "memory":
            bench_import_memory(jsonl, work, sizes)
            return _write_results(args)
        if args.only == "import":
            bench_import(jsonl, work, people, args.households)
            return _write_results(args)
        if args.only == "validate":
            bench_validate(import_untimed(jsonl, work))
            return _write_results(args)
        bench_prompt(work)
        bench_import_memory(jsonl, work, sizes)
        db = bench_import(jsonl, work, people, args.households)
        bench_validate(db)
        bench_search(db, args.samples)
        bench_save(db, args.samples)
    finally:
        if work_ctx is not None:
            work_ctx.cleanup()
    return _write_results(args)


def _write_results(args: argparse.Namespace) -> int:
    out = ROOT / "bench" / "results" / f"{args.name or f'county-{args.households}'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "system": platform.platform(), "cpus": os.cpu_count(),
                    "sqlite": sqlite3.sqlite_version},
        "households": args.households,
        "results": RESULTS,
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
