"""Bounded reading of an .xlsx file: what is checked before openpyxl opens it, and rows read with limits.

An .xlsx is a zip of XML. Before anything parses it: the file's size, no OLE (encrypted) header,
a readable zip whose entries are few, each and all of bounded uncompressed size and compression
ratio, no DOCTYPE or ENTITY declaration in any XML part, and no sheet declaring more rows or
columns than the limits. Then rows are read streaming from openpyxl's own sheet parser (the rows
the file holds, never filler for the gaps between them, so a row numbered 100,000,000 costs
nothing and is refused), stopping at a row, column and cell limit with a message naming the
sheet and row.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl.utils import column_index_from_string

from povdesk.errors import BadInput
from povdesk.i18n import tr

MAX_BYTES = 20 * 1024 * 1024  # a 2,000-household village register is about 1 MB
MAX_ENTRIES = 2_000
MAX_ENTRY_BYTES = 120 * 1024 * 1024  # one sheet's XML, uncompressed
MAX_TOTAL_BYTES = 250 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 24 * 1024 * 1024  # held in memory whole by openpyxl
MAX_STYLES_BYTES = 8 * 1024 * 1024
MAX_RATIO = 250  # the XML of real sheets compresses 5 to 60 times
RATIO_FLOOR = 1024 * 1024  # small entries may compress as they like
MAX_ROWS = 60_000  # rows a sheet may hold (a village's register is a few thousand)
MAX_COLS = 200
MAX_CELLS = 2_500_000  # cells read from the whole file
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')


def _refuse(zh: str, en: str, where: str, **values: object) -> BadInput:
    return BadInput(tr(zh, en, **values), where=where)


def check_file(path: str | Path) -> None:
    """Refuse what openpyxl must not even open: missing, huge, encrypted or .xls, not a zip, a zip
    bomb, XML with entity declarations, sheets declaring more rows or columns than the limits."""
    p = Path(path)
    where = str(p)
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise _refuse("无法读取文件：{e}", "cannot read the file: {e}", where, e=exc.strerror) from None
    if size > MAX_BYTES:
        raise _refuse("文件过大（{mb} MB，上限 {cap} MB），请按村拆分后再导入",
                      "the file is too large ({mb} MB, the limit is {cap} MB); split it by village", where,
                      mb=size // (1024 * 1024), cap=MAX_BYTES // (1024 * 1024))
    if head == OLE_MAGIC:
        raise _refuse("文件设置了打开密码（已加密），或是旧的 .xls 格式；请在 Excel 中取消密码并另存为 .xlsx",
                      "the file is password-protected (encrypted) or an old .xls; remove the password in Excel "
                      "and save it as .xlsx", where)
    try:
        with zipfile.ZipFile(p) as zf:
            _check_zip(zf, where)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError, RuntimeError):
        raise _refuse("不是有效的 .xlsx 文件（文件损坏或格式不对）", "not a valid .xlsx file (damaged or another format)",
                      where) from None


def _check_zip(zf: zipfile.ZipFile, where: str) -> None:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _refuse("文件内部结构异常（{n} 个部件），不是正常的表格", "the file has {n} parts inside; not a normal "
                      "spreadsheet", where, n=len(infos))
    total = 0
    for info in infos:
        name = info.filename
        size, packed = info.file_size, max(info.compress_size, 1)
        cap = (MAX_SHARED_STRINGS_BYTES if name.endswith("sharedStrings.xml")
               else MAX_STYLES_BYTES if name.endswith("styles.xml") else MAX_ENTRY_BYTES)
        total += size
        if size > cap or total > MAX_TOTAL_BYTES or (size > RATIO_FLOOR and size / packed > MAX_RATIO):
            raise _refuse("文件内部的“{part}”解压后过大（{mb} MB，压缩比 {ratio}），疑似“压缩炸弹”，不读取",
                          "the part '{part}' inside the file unpacks to {mb} MB (ratio {ratio}): it looks like "
                          "a zip bomb and is not read", where, part=name, mb=size // (1024 * 1024),
                          ratio=int(size / packed))
    for info in infos:
        name = info.filename
        if not (name.endswith(".xml") or name.endswith(".rels") or name.endswith(".vml")):
            continue
        with zf.open(info) as fh:
            head = fh.read(65536)
        text = head.decode("utf-16", "replace") if head[:2] in (b"\xff\xfe", b"\xfe\xff") else None
        if (b"<!DOCTYPE" in head or b"<!ENTITY" in head
                or (text is not None and ("<!DOCTYPE" in text or "<!ENTITY" in text))):
            raise _refuse("文件内部的“{part}”含有实体声明（DOCTYPE/ENTITY），正常表格不会有，不读取",
                          "the part '{part}' inside the file declares entities (DOCTYPE/ENTITY), which no "
                          "normal spreadsheet does; not read", where, part=name)
        if name.startswith("xl/worksheets/"):
            m = _DIMENSION.search(head)
            if m and m[4]:
                rows, cols = int(m[4]), column_index_from_string(m[3].decode())
                if rows > MAX_ROWS or cols > MAX_COLS:
                    raise _refuse("工作表声明了 {rows} 行 {cols} 列（上限 {max_rows} 行 {max_cols} 列），请按村拆分或删去多余的行列",
                                  "a sheet declares {rows} rows and {cols} columns (the limit is {max_rows} rows "
                                  "and {max_cols} columns); split it by village or delete the extra rows and "
                                  "columns", where, rows=rows, cols=cols, max_rows=MAX_ROWS, max_cols=MAX_COLS)


class CellBudget:
    """Cells read so far across the whole file, refused past MAX_CELLS."""

    def __init__(self, limit: int = MAX_CELLS) -> None:
        self.left = limit


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _V, _F, _IS, _T = (f"{_MAIN}{t}" for t in ("row", "c", "v", "f", "is", "t"))
_COL_OF: dict[str, int] = {}


def _column(ref: str) -> int:
    """1 for "A7", 28 for "AB3"; 0 when the reference is not one."""
    letters = ref.rstrip("0123456789")
    n = _COL_OF.get(letters)
    if n is None:
        n = 0
        for ch in letters:
            if not "A" <= ch <= "Z":
                return 0
            n = n * 26 + ord(ch) - 64
        if len(_COL_OF) < 20_000:
            _COL_OF[letters] = n
    return n


def _inline(el: Any) -> str:
    if len(el) == 1 and el[0].tag == _T:  # plain text: <is><t>..</t></is>; rich text has runs
        return el[0].text or ""
    return "".join(t.text or "" for t in el.iter(_T))


def _number(text: str) -> int | float:
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def sheet_rows(ws: Any, budget: CellBudget, *, max_cols: int = MAX_COLS,
               max_rows: int = MAX_ROWS) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, values) for each row the sheet's XML holds, streaming (ElementTree's C
    parser, each row cleared once read); rows past `max_rows`, a cell past `max_cols` or more
    cells than the budget stop the read with a clear message. Values as openpyxl's read_only
    mode gives them with data_only=False: a formula as its text starting with "=", shared and
    inline strings as str, numbers as int or float, date-formatted numbers as datetime."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.datetime import from_excel

    wb = ws.parent
    title = ws.title
    strings = ws._shared_strings
    dates = wb._date_formats
    epoch = wb.epoch
    row_no = 0
    col_of = _COL_OF
    digits = "0123456789"
    with wb._archive.open(ws._worksheet_path) as src:
        for _event, el in iterparse(src):
            if el.tag != _ROW:
                continue
            r = el.get("r")
            row_no = int(float(r)) if r else row_no + 1
            if row_no > max_rows:
                raise BadInput(tr("工作表“{s}”超过 {n} 行（第 {r} 行），请按村拆分后再导入",
                                  "sheet '{s}' has more than {n} rows (row {r}); split the file by village",
                                  s=title, n=max_rows, r=row_no))
            cells: dict[int, Any] = {}
            col = 0
            for c in el:
                if c.tag != _CELL:
                    continue
                ref = c.get("r")
                if ref:
                    known = col_of.get(ref.rstrip(digits))
                    col = known if known is not None else _column(ref)
                else:
                    col += 1
                if col <= 0 or col > max_cols:
                    raise BadInput(tr("工作表“{s}”第 {r} 行有超过 {n} 列的数据（{col}），请删去多余的列",
                                      "sheet '{s}', row {r} has data beyond column {n} ({col}); delete the extra "
                                      "columns", s=title, r=row_no, n=max_cols, col=(ref or "?")[:12]))
                kind = c.get("t", "n")
                parts = len(c)
                if not parts:
                    continue  # an empty cell (a style only)
                first = c[0]
                tag = first.tag
                if tag == _V and parts == 1:  # the common case: a value and nothing else
                    f = None
                elif tag == _F:
                    f = first
                else:
                    f = c.find(_F)
                if f is not None:
                    value: Any = f"={f.text or ''}"
                elif kind == "inlineStr":
                    inline = first if tag == _IS else c.find(_IS)
                    value = _inline(inline) if inline is not None else None
                else:
                    v = (first.text or "") if tag == _V and parts == 1 else c.findtext(_V)
                    if v is None or v == "":
                        continue
                    if kind == "n":
                        value = _number(v)
                        style = c.get("s")
                        if style and int(style) in dates:
                            try:
                                value = from_excel(value, epoch)
                            except (OverflowError, ValueError):
                                value = "#VALUE!"
                    elif kind == "s":
                        value = strings[int(v)]
                    elif kind == "b":
                        value = v not in ("0", "false")
                    else:  # str (a formula's text result), e (an error), d (an ISO date as text)
                        value = v
                if value is not None and value != "":
                    cells[col] = value
            el.clear()
            if not cells:
                continue
            budget.left -= len(cells)
            if budget.left < 0:
                raise BadInput(tr("文件的单元格超过 {n} 个（工作表“{s}”第 {r} 行），请按村拆分后再导入",
                                  "the file has more than {n} cells (sheet '{s}', row {r}); split it by village",
                                  s=title, n=MAX_CELLS, r=row_no))
            row: list[Any] = [None] * max(cells)
            for j, value in cells.items():
                row[j - 1] = value
            yield row_no, tuple(row)
