"""Excel benchmarks: the whole import-xlsx of a register, its export, and hostile files.

    .venv/bin/python bench/bench_xlsx.py                  # a 10,000-member register, 2,000-household export
    .venv/bin/python bench/bench_xlsx.py --members 2000   # a quick run

Prints a table and writes bench/results/xlsx.json. Baseline in the same run: openpyxl read_only
merely reading every row of every sheet of the same file (values only). What is timed against it
is the whole import as `povdesk import-xlsx` runs it: check the file, read every sheet, group,
convert, decide and validate every household, check across households and write them in one
transaction, into an empty workspace of the same village; with both cores free and with one
busy. Peak memory is that of a fresh `povdesk import-xlsx` process. Hostile files (each under
10 MB) go through a fresh `povdesk import-xlsx --dry-run` each: time, peak memory, exit code.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import RESULTS, CpuBurner, PeakMemory, record, timed  # noqa: E402
from openpyxl import Workbook, load_workbook  # noqa: E402

from povdesk.clock import SYSTEM_CLOCK  # noqa: E402
from povdesk.core.demo import DEMO_PASSWORD  # noqa: E402
from povdesk.ops.importing import import_checked_xlsx  # noqa: E402
from povdesk.reports.excel import write_register  # noqa: E402
from povdesk.reports.import_check import check_import  # noqa: E402
from povdesk.store import Workspace  # noqa: E402

VILLAGE = "522634100201"
TODAY = "2026-06-01"  # fixed, so every run makes the same village
ENV = {**os.environ, "POVDESK_USER": "worker", "POVDESK_PASSWORD": DEMO_PASSWORD, "POVDESK_LANG": "en"}


def cli(*args: str, data: Path) -> list[str]:
    return [sys.executable, "-m", "povdesk", "--today", TODAY, *args]


def demo(path: Path, households: int, data: Path) -> None:
    subprocess.run(cli("demo", str(path), "--households", str(households), "--seed", "5", "--region", VILLAGE, "--plain",
                       data=data), check=True, env={**ENV, "POVDESK_DATA_DIR": str(data)},
                   stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def empty(path: Path) -> Path:
    ws = Workspace.create(path, region_code=VILLAGE, name="东门村", level="village", admin_user="admin",
                          admin_password=DEMO_PASSWORD)
    admin = ws.authenticate("admin", DEMO_PASSWORD)
    ws.add_user(admin, "worker", DEMO_PASSWORD, "village_worker", "村工作人员")
    ws.close()
    return path


def read_all(path: Path) -> int:
    wb = load_workbook(path, read_only=True)
    n = 0
    for ws in wb.worksheets:
        for _ in ws.iter_rows(values_only=True):
            n += 1
    wb.close()
    return n


def import_whole(path: Path, db: Path) -> int:
    ws = Workspace.open(db)
    try:
        actor = ws.authenticate("worker", DEMO_PASSWORD)
        check = check_import(ws, path)
        assert not check.refused, check.refused[:2]
        import_checked_xlsx(ws, actor, check.households, source=path.name)
        return len(check.households)
    finally:
        ws.close()


def bench_export(households: int, tmp: Path, data: Path) -> None:
    db = tmp / "export.db"
    demo(db, households, data)
    ws = Workspace.open(db, readonly=True)
    try:
        out = tmp / "export.xlsx"
        secs, (n_hh, rows) = timed(lambda: write_register(ws.iter_households(), out, total=households))
    finally:
        ws.close()
    record(f"export a {n_hh:,}-household register (all sheets)", secs, "s", target="< 5 s", ok=secs < 5,
           note=f"{rows:,} member rows, {out.stat().st_size / 1e6:.1f} MB")


def bench_import(members: int, tmp: Path, data: Path) -> None:
    db = tmp / "source.db"
    demo(db, max(10, members * 100 // 385), data)  # about 3.85 people a household
    path = tmp / "register.xlsx"
    ws = Workspace.open(db, readonly=True)
    try:
        n_hh, rows = write_register(ws.iter_households(), path)
    finally:
        ws.close()
    read_all(path)  # warm the page cache
    for busy in (False, True):
        with CpuBurner(busy):
            base, n_rows = timed(lambda: read_all(path))
            target_db = empty(tmp / f"target-{busy}.db")
            secs, n = timed(lambda target_db=target_db: import_whole(path, target_db))
        ratio = secs / base
        record(f"import-xlsx {rows:,} members{', one core busy' if busy else ''}", secs, "s", baseline=round(base, 3),
               ratio=round(ratio, 3), target="<= 1.3x reading", ok=ratio <= 1.3,
               note=f"{n} households, {n_rows:,} rows in all sheets, {path.stat().st_size / 1e6:.1f} MB")
    target_db = empty(tmp / "target-mem.db")
    proc = subprocess.Popen(cli("import-xlsx", str(target_db), str(path), "--yes", data=data),
                            env={**ENV, "POVDESK_DATA_DIR": str(data)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    with PeakMemory(proc.pid) as peak:
        proc.wait()
    record(f"import-xlsx {rows:,} members, peak memory of the process", peak.mb, "MB", target="< 300 MB",
           ok=peak.mb < 300, note=f"exit {proc.returncode}")


# ---------------------------------------------------------------- hostile files


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _base_entries() -> dict[str, bytes]:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "花名册"
    ws.append(["姓名", "与户主关系", "证件号码", "家庭住址"])
    ws.append(["龙老大", "户主", "522634196503121234", "东门村"])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


SHEET = "xl/worksheets/sheet1.xml"


def hostile_files(tmp: Path) -> dict[str, Path]:
    base = _base_entries()
    sheet = base[SHEET]
    head, tail = sheet.split(b"</sheetData>")

    def with_rows(rows: bytes) -> bytes:
        return head + rows + b"</sheetData>" + tail

    files: dict[str, bytes] = {}
    files["zip bomb (shared strings)"] = _zip({**base, "xl/sharedStrings.xml": b"<sst>" + b"a" * 200_000_000 + b"</sst>"})
    files["entity declarations"] = _zip({**base, SHEET: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "'
                                         + b"b" * 1000 + b'">]>' + sheet})
    files["row numbered 100,000,000"] = _zip({**base, SHEET: with_rows(
        b'<row r="100000000"><c r="A100000000"><v>1</v></c></row>')})
    files["a cell in column XFD"] = _zip({**base, SHEET: with_rows(b'<row r="3"><c r="XFD3"><v>1</v></c></row>')})
    files["declared 1,048,576 x 16,384"] = _zip({**base, SHEET: sheet.replace(b'<dimension ref="A1:D2" />',
                                                                              b'<dimension ref="A1:XFD1048576" />')})
    # Dense random numbers: as many cells as fit in about 9 MB compressed.
    import random
    rng = random.Random(1)
    parts = []
    r = 3
    size = 0
    while size < 60_000_000:
        cells = "".join(f'<c r="{chr(65 + j)}{r}"><v>{rng.randrange(10**9)}</v></c>' for j in range(20))
        line = f'<row r="{r}">{cells}</row>'
        parts.append(line)
        size += len(line)
        r += 1
        if r > 59_000:
            break
    files["59,000 rows x 20 random numbers"] = _zip({**base, SHEET: with_rows("".join(parts).encode())})
    out = {}
    for name, data in files.items():
        p = tmp / (name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "") + ".xlsx")
        p.write_bytes(data)
        out[name] = p
    return out


def bench_hostile(tmp: Path, data: Path) -> None:
    db = empty(tmp / "hostile.db")
    for name, path in hostile_files(tmp).items():
        mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        proc = subprocess.Popen(cli("import-xlsx", str(db), str(path), "--dry-run", data=data),
                                env={**ENV, "POVDESK_DATA_DIR": str(data)}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        with PeakMemory(proc.pid) as peak:
            _out, err = proc.communicate(timeout=600)
        secs = time.perf_counter() - t0
        line = err.strip().splitlines()[-1] if err.strip() else ""
        ok = secs < 10 and peak.mb < 300 and proc.returncode == 2 and len(err.strip().splitlines()) == 1
        record(f"hostile: {name} ({mb:.2f} MB)", secs, "s", target="< 10 s, < 300 MB", ok=ok,
               note=f"{peak.mb:.0f} MB, exit {proc.returncode}: {line[:120]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--export-households", type=int, default=2000)
    args = ap.parse_args()
    print(f"{'benchmark':<44} {'value':>12} {'unit':<12} {'baseline':>10} {'ratio':>7}  {'target':<18} ok")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data = tmp / "data"
        bench_import(args.members, tmp, data)
        bench_export(args.export_households, tmp, data)
        bench_hostile(tmp, data)
    out = ROOT / "bench" / "results" / "xlsx.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                               "date": SYSTEM_CLOCK.today().isoformat(), "results": RESULTS}, ensure_ascii=False,
                              indent=2), encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
