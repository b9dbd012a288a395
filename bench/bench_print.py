"""Printing and spreadsheet benchmarks: prints a table and writes bench/results/print.json.

    .venv/bin/python bench/bench_print.py                 # 1,000 cards, 10,000 member rows
    .venv/bin/python bench/bench_print.py --cards 200     # a quick run

Baselines are measured in the same run: bare reportlab drawing the same strings, lines and QR
path on the same pages (what any renderer must at least do), and openpyxl read_only merely
reading the sheet the import reads.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import RESULTS, record, timed  # noqa: E402
from openpyxl import load_workbook  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from povdesk.clock import SYSTEM_CLOCK  # noqa: E402
from povdesk.core.demo import generate  # noqa: E402
from povdesk.reports import pdf as pdfmod  # noqa: E402
from povdesk.reports.cards import render_cards  # noqa: E402
from povdesk.reports.excel import write_register  # noqa: E402
from povdesk.reports.xlsx_import import read_register  # noqa: E402

VILLAGE = "522634100201"
TODAY = date(2026, 6, 1)  # fixed, so every run prints the same village



class Recorder(Canvas):
    """A canvas that remembers what was drawn on each page, to replay it bare."""

    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, **k)
        self.ops: list[list[tuple[Any, ...]]] = [[]]

    def drawString(self, x: float, y: float, text: str, *a: Any, **k: Any) -> None:  # noqa: N802
        self.ops[-1].append(("s", x, y, text, self._fontsize))
        super().drawString(x, y, text, *a, **k)

    def drawRightString(self, x: float, y: float, text: str, *a: Any, **k: Any) -> None:  # noqa: N802
        self.ops[-1].append(("s", x - pdfmod.text_width(text, self._fontsize), y, text, self._fontsize))
        super().drawRightString(x, y, text, *a, **k)

    def drawCentredString(self, x: float, y: float, text: str, *a: Any, **k: Any) -> None:  # noqa: N802
        self.ops[-1].append(("s", x - pdfmod.text_width(text, self._fontsize) / 2, y, text, self._fontsize))
        super().drawCentredString(x, y, text, *a, **k)

    def line(self, *a: Any) -> None:
        self.ops[-1].append(("l", *a))
        super().line(*a)

    def showPage(self) -> None:  # noqa: N802
        self.ops.append([])
        super().showPage()


def bare(pages: list[list[tuple[Any, ...]]], out: Path, with_qr: bool = True) -> None:
    """The same strings, lines and QR path on the same pages, straight on a canvas (the table
    grids are drawn as lines, one per cell edge)."""
    c = Canvas(str(out), pageCompression=1)
    font = pdfmod.FONT_NAME
    for ops in pages:
        if not ops:
            continue
        size = -1.0
        for op in ops:
            if op[0] == "s":
                if op[4] != size:
                    size = op[4]
                    c.setFont(font, size)
                c.drawString(op[1], op[2], op[3])
            elif op[0] == "q":
                if with_qr:
                    c._code.append(pdfmod.qr_path_ops(*op[1:]))  # noqa: SLF001
            else:
                c.line(*op[1:5])
        c.showPage()
    c.save()



def bench_cards(n: int, tmp: Path) -> None:
    households = generate(VILLAGE, n, seed=11, today=TODAY)
    pdfmod.cjk_font()
    render_cards(households[:5], tmp / "warm.pdf", today=TODAY)
    secs, result = timed(lambda: render_cards(households, tmp / "cards.pdf", today=TODAY))
    pages = result.pages
    # What was drawn, recorded once (outside any timing) to replay it bare.
    original, original_qr = pdfmod.Canvas, pdfmod.qr_path_ops
    pdfmod.Canvas = Recorder  # type: ignore[misc]
    holder: list[Any] = []

    def logged_qr(data: str, x: float, y: float, side: float, quiet: int = 2) -> str:
        holder[0].c.ops[-1].append(("q", data, x, y, side))
        return original_qr(data, x, y, side, quiet)

    pdfmod.qr_path_ops = logged_qr  # type: ignore[assignment]
    try:
        doc = pdfmod.PdfDocument(tmp / "rec.pdf")
        holder.append(doc)
        from povdesk.reports.cards import draw_card
        for i, hh in enumerate(households):
            if i:
                doc.new_page()
            draw_card(doc, hh, TODAY)
        doc.close()
        ops = doc.c.ops  # type: ignore[attr-defined]
    finally:
        pdfmod.Canvas, pdfmod.qr_path_ops = original, original_qr  # type: ignore[misc]
    b_secs, _ = timed(lambda: bare(ops, tmp / "bare.pdf"))
    b_noqr, _ = timed(lambda: bare(ops, tmp / "bare_noqr.pdf", with_qr=False))
    rate = pages / secs
    b_rate = pages / b_secs
    record(f"cards: {n} households with QR, one PDF", rate, "pages/s", target=">= 100 pages/s", ok=rate >= 100,
           note=f"{pages} pages in {secs:.2f} s")
    record("cards vs bare reportlab, same pages + QR", rate, "pages/s", baseline=round(b_rate, 1),
           ratio=round(rate / b_rate, 3), target=">= 0.5", ok=rate / b_rate >= 0.5)
    record("bare reportlab, same pages without QR", pages / b_noqr, "pages/s", note="for reference")


def bench_import(rows_wanted: int, tmp: Path) -> None:
    households: list[Any] = []
    n = 0
    seed_households = generate(VILLAGE, rows_wanted // 3 + 50, seed=5, today=TODAY)
    for hh in seed_households:
        households.append(hh)
        n += len(hh.members)
        if n >= rows_wanted:
            break
    path = tmp / "register.xlsx"
    write_register(households, path)

    def read_only() -> int:
        wb = load_workbook(path, read_only=True)
        count = sum(1 for _ in wb["花名册"].iter_rows(values_only=True))
        wb.close()
        return count

    read_only()
    base, count = timed(read_only)
    secs, plan = timed(lambda: read_register(path))
    assert not plan.blocking, plan.blocking[:3]
    record(f"excel import: {count - 1} member rows", (count - 1) / secs, "rows/s", baseline=round((count - 1) / base),
           ratio=round(secs / base, 3), target="<= 1.3x reading", ok=secs / base <= 1.3,
           note=f"{len(plan.households)} households; rules not included")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=10_000)
    args = ap.parse_args()
    print(f"{'benchmark':<44} {'value':>10} {'unit':<10} {'baseline':>10} {'ratio':>7}  {'target':<16} ok")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_cards(args.cards, tmp)
        bench_import(args.rows, tmp)
    out = ROOT / "bench" / "results" / "print.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                               "date": SYSTEM_CLOCK.today().isoformat(), "results": RESULTS}, ensure_ascii=False, indent=2),
                   encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
