"""The one PDF renderer for cards, publicity lists and reports: bundled CJK font, A4 pages, tables.

Drawn straight on a reportlab canvas (platypus is about 3x slower, TECH-NOTES): a cursor moves
down the page, tables wrap their cells and repeat their header on a new page, every page gets
"第 N 页 共 M 页" (the total is a form XObject filled in when the document closes). The bundled
TrueType font is embedded as a subset. A character the font lacks would be drawn blank without
a word from reportlab, so every string is checked against the font's cmap: a missing character is
drawn as 〓 (the typesetter's mark for a missing glyph) and reported in `missing`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import segno
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from povdesk.paths import resource

FONT_NAME = "NotoSansSC"
FONT_FILE = ("fonts", "NotoSansSC-Regular.ttf")
MISSING_MARK = "\u3013"  # 〓 geta mark: what Chinese typesetting prints for a character it lacks

PAGE_W, PAGE_H = A4
MARGIN_X = 40.0
MARGIN_TOP = 40.0
MARGIN_BOTTOM = 48.0
CONTENT_W = PAGE_W - 2 * MARGIN_X

_NO_LINE_START = frozenset("）)」』】》〉，。、；：！？,.;:!?%")
SUPERVISION_HOTLINE = "12317"  # 扶贫监督举报电话 (national poverty-alleviation supervision line)


@cache
def cjk_font() -> TTFont:
    """The bundled Noto Sans SC (TrueType outlines), registered once per process."""
    font = TTFont(FONT_NAME, str(resource(*FONT_FILE)))
    pdfmetrics.registerFont(font)
    return font


@cache
def _covered() -> frozenset[int]:
    return frozenset(cjk_font().face.charToGlyph)


def missing_chars(text: str) -> list[str]:
    """Characters of `text` the bundled font cannot draw (whitespace never counts)."""
    covered = _covered()
    return [ch for ch in text if ord(ch) not in covered and not ch.isspace()]


@cache
def _char_widths() -> tuple[dict[int, int], int]:
    face = cjk_font().face
    return face.charWidths, int(getattr(face, "defaultWidth", 1000))


def text_width(text: str, size: float) -> float:
    widths, default = _char_widths()
    get = widths.get
    return sum(get(ord(ch), default) for ch in text) * size / 1000.0


def wrap(text: str, width: float, size: float) -> list[str]:
    """Lines of `text` no wider than `width`; Chinese may break between any two characters,
    runs of Latin letters and digits are kept together when they fit on a line."""
    if not text:
        return [""]
    widths, default = _char_widths()
    get = widths.get
    limit = width * 1000.0 / size
    lines: list[str] = []
    for para in text.split("\n"):
        if sum(get(ord(ch), default) for ch in para) <= limit:
            lines.append(para)
            continue
        start, used, last_break = 0, 0.0, -1
        i = 0
        while i < len(para):
            ch = para[i]
            w = get(ord(ch), default)
            if used + w > limit and i > start:
                cut = last_break if last_break > start else i
                if para[cut:cut + 1] and para[cut] in _NO_LINE_START and cut - 1 > start:
                    cut -= 1  # never start a line with closing punctuation: carry one character down
                lines.append(para[start:cut].rstrip())
                start = cut
                while start < len(para) and para[start] == " ":
                    start += 1
                used = sum(get(ord(c), default) for c in para[start:i])
                last_break = -1
                continue
            used += w
            if not (ch.isascii() and ch.isalnum()):
                last_break = i + 1
            i += 1
        lines.append(para[start:])
    return lines


def fit(text: str, width: float, size: float) -> str:
    """`text` cut with an ellipsis so that it fits on one line of `width`."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: float  # share of the table width (normalised) or points when the shares sum > 1.5
    align: str = "left"  # left | center | right


@dataclass
class MissingGlyphs:
    """Text that contains characters the bundled font cannot draw, and where it was."""

    context: str  # e.g. the household number
    text: str
    chars: list[str]


Sign = Callable[[bytes], str]
"""A signer for QR payloads: bytes in, a printable signature out (device keys, later)."""


@dataclass
class PdfDocument:
    """A document being drawn: the canvas, the cursor, page numbers, outline and missing glyphs."""

    out: str | os.PathLike[str] | BinaryIO
    title: str = ""
    subject: str = ""
    footer_left: str = ""
    size: float = 9.0
    missing: list[MissingGlyphs] = field(default_factory=list)
    context: str = ""  # what missing glyphs are reported against (set per household)
    on_new_page: Callable[[PdfDocument], None] | None = None

    def __post_init__(self) -> None:
        cjk_font()
        target: Any = str(self.out) if isinstance(self.out, str | Path) else self.out
        self.c = Canvas(target, pagesize=A4, pageCompression=1, initialFontName=FONT_NAME, initialFontSize=self.size)
        self.c.setTitle(self.title)
        self.c.setSubject(self.subject)
        self.c.setCreator("povdesk")
        self.c.setAuthor("povdesk")
        self.page = 1
        self.y = PAGE_H - MARGIN_TOP
        self._font_size = -1.0
        self._page_dirty = False
        self._bookmarks = 0

    # ------------------------------------------------------------------ text

    def _checked(self, text: str) -> str:
        if text.isascii():
            return text
        lost = missing_chars(text)
        if not lost:
            return text
        self.missing.append(MissingGlyphs(self.context, text, lost))
        gone = set(lost)
        return "".join(MISSING_MARK if ch in gone else ch for ch in text)

    def _set_size(self, size: float) -> None:
        if size != self._font_size:
            self.c.setFont(FONT_NAME, size)
            self._font_size = size

    def text(self, x: float, y: float, text: str, size: float | None = None, align: str = "left") -> None:
        if not text:
            return
        size = size or self.size
        self._set_size(size)
        text = self._checked(text)
        self._page_dirty = True
        if align == "left":
            self.c.drawString(x, y, text)
        elif align == "right":
            self.c.drawRightString(x, y, text)
        else:
            self.c.drawCentredString(x, y, text)

    # ------------------------------------------------------------------ flow

    def space(self, points: float) -> None:
        self.y -= points

    def ensure(self, height: float) -> bool:
        """Start a new page unless `height` points still fit; True if a page was started."""
        if self.y - height >= MARGIN_BOTTOM:
            return False
        self.new_page()
        return True

    def new_page(self) -> None:
        self._footer()
        self.c.showPage()
        self._font_size = -1.0
        self.page += 1
        self.y = PAGE_H - MARGIN_TOP
        self._page_dirty = False
        if self.on_new_page is not None:
            self.on_new_page(self)

    def _footer(self) -> None:
        size = 8.0
        self._set_size(size)
        y = MARGIN_BOTTOM - 26
        if self.footer_left:
            self.text(MARGIN_X, y, self.footer_left, size)
        label = f"第 {self.page} 页 "
        x = PAGE_W - MARGIN_X - 62
        self.c.drawString(x, y, label)
        self.c.saveState()
        self.c.translate(x + text_width(label, size), y)
        self.c.doForm("pageTotal")
        self.c.restoreState()

    def bookmark(self, title: str) -> None:
        """An outline entry pointing at the top of the current page."""
        key = f"b{self._bookmarks}"
        self._bookmarks += 1
        self.c.bookmarkPage(key, fit="XYZ", top=PAGE_H)
        self.c.addOutlineEntry(self._checked(title), key, level=0, closed=True)

    def heading(self, text: str, size: float = 11.0, before: float = 6.0) -> None:
        self.ensure(before + size + 28)  # never leave a heading alone at the foot of a page
        self.y -= before + size
        self.text(MARGIN_X, self.y, text, size)
        self.y -= 4

    def rule(self, width: float = 0.6) -> None:
        self.c.setLineWidth(width)
        self.c.line(MARGIN_X, self.y, PAGE_W - MARGIN_X, self.y)

    def paragraph(self, text: str, size: float | None = None, indent: float = 0.0, leading: float = 1.35) -> None:
        size = size or self.size
        for line in wrap(text, CONTENT_W - indent, size):
            self.ensure(size * leading)
            self.y -= size * leading
            self.text(MARGIN_X + indent, self.y + size * 0.25, line, size)

    # ------------------------------------------------------------------ tables

    def _widths(self, columns: Sequence[Column], total: float) -> list[float]:
        shares = sum(c.width for c in columns)
        return [c.width / shares * total for c in columns]

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[str]], size: float | None = None,
              header: bool = True, pad: float = 3.0, x: float = MARGIN_X, width: float = CONTENT_W,
              label_columns: Sequence[int] = ()) -> None:
        """Rows with wrapped cells and a grid; the header repeats on every page the table spans.
        `label_columns` are shaded (form-style key/value grids)."""
        size = size or self.size
        widths = self._widths(columns, width)
        lead = size * 1.3

        def draw_row(cells: Sequence[str], shaded_header: bool) -> None:
            wrapped = [wrap(cells[i] if i < len(cells) else "", widths[i] - 2 * pad, size)
                       for i in range(len(columns))]
            height = max(len(w) for w in wrapped) * lead + 2 * pad
            if self.ensure(height) and header and not shaded_header:
                draw_row([c.title for c in columns], True)
            top = self.y
            bottom = top - height
            c = self.c
            if shaded_header or label_columns:
                c.setFillGray(0.92)
                if shaded_header:
                    c.rect(x, bottom, width, height, stroke=0, fill=1)
                else:
                    cx = x
                    for i, w in enumerate(widths):
                        if i in label_columns:
                            c.rect(cx, bottom, w, height, stroke=0, fill=1)
                        cx += w
                c.setFillGray(0)
            c.setLineWidth(0.5)
            p = c.beginPath()
            p.rect(x, bottom, width, height)
            cx = x
            for w in widths[:-1]:
                cx += w
                p.moveTo(cx, bottom)
                p.lineTo(cx, top)
            c.drawPath(p, stroke=1, fill=0)
            cx = x
            for i, lines in enumerate(wrapped):
                align = "center" if shaded_header else columns[i].align
                ty = top - pad - size
                for line in lines:
                    if align == "left":
                        self.text(cx + pad, ty, line, size)
                    elif align == "right":
                        self.text(cx + widths[i] - pad, ty, line, size, "right")
                    else:
                        self.text(cx + widths[i] / 2, ty, line, size, "center")
                    ty -= lead
                cx += widths[i]
            self.y = bottom

        if header:
            self.ensure(2 * (lead + 2 * pad))
            draw_row([c.title for c in columns], True)
        for row in rows:
            draw_row(row, False)

    def grid(self, pairs: Sequence[tuple[str, str]], per_row: int = 2, size: float | None = None) -> None:
        """Label/value pairs laid out `per_row` to a line, like a printed form."""
        cols: list[Column] = []
        for _ in range(per_row):
            cols += [Column("", 0.9), Column("", 1.1)]
        rows: list[list[str]] = []
        for i in range(0, len(pairs), per_row):
            row: list[str] = []
            for label, value in pairs[i:i + per_row]:
                row += [label, value]
            rows.append(row + [""] * (2 * per_row - len(row)))
        self.table(cols, rows, size=size, header=False,
                   label_columns=tuple(range(0, 2 * per_row, 2)))

    # ------------------------------------------------------------------ QR

    def qr(self, x: float, y: float, side: float, data: str) -> None:
        """A QR code with its lower left corner at (x, y), drawn as ONE filled path.

        Runs of dark modules in a row become one rectangle, written as raw path operators: the
        fast way (reportlab's QR widget draws every module as a shape, about 29 ms a code).
        """
        self.c._code.append(qr_path_ops(data, x, y, side))  # noqa: SLF001 - raw operators on purpose

    # ------------------------------------------------------------------ finish

    def close(self) -> int:
        """Finish the last page, fill in the page total, write the file; returns the page count."""
        self._footer()
        self.c.showPage()
        total = self.page
        self.c.beginForm("pageTotal")
        self.c.setFont(FONT_NAME, 8.0)
        self.c.drawString(0, 0, f"共 {total} 页")
        self.c.endForm()
        if self._bookmarks:
            self.c.showOutline()
        self.c.save()
        return total


def qr_matrix(data: str) -> list[bytes]:
    """The QR modules of `data` (error correction M; mask 0 to skip segno's eight trial masks,
    which are most of its time; every mask is valid, the choice only tunes scanning contrast)."""
    code = segno.make_qr(data, error="m", mask=0, boost_error=False)
    return [bytes(row) for row in code.matrix]


def qr_path_ops(data: str, x: float, y: float, side: float, quiet: int = 2) -> str:
    """PDF path operators filling the dark modules of a QR code of `data` in a square of `side`."""
    matrix = qr_matrix(data)
    n = len(matrix)
    unit = side / (n + 2 * quiet)
    ops: list[str] = ["q 0 g"]
    append = ops.append
    for r, row in enumerate(matrix):
        top = y + side - (r + quiet + 1) * unit
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                append(f"{x + (start + quiet) * unit:.2f} {top:.2f} {(c - start) * unit + 0.01:.2f} {unit + 0.01:.2f} re")
            else:
                c += 1
    append("f Q")
    return "\n".join(ops)
