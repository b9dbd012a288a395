"""A small streaming .xlsx writer: the register's sheets written as SpreadsheetML text.

openpyxl's write-only mode serialises every cell through an element tree, about 25,000 cells a
second here: a 2,000-household register (about a million cells) took 40 s. This writes the same
parts (workbook, styles, sheets with column widths and formats, frozen panes, drop-down lists,
sheet protection, a hidden sheet) straight as text, each sheet's rows spooled to a temporary
file, so memory stays flat and a village's register takes a few seconds. Strings are always
inline strings (never formulas: a string cell is never evaluated); characters XML cannot carry
are dropped.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from openpyxl.utils import get_column_letter

# Styles (cellXfs indexes) of styles.xml below.
PLAIN, TEXT, HEADER, HEADER_GREY, TITLE = 0, 1, 2, 3, 4
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_TEXT_COL = ' style="1"'
_HIDDEN = ' state="hidden"'
_R_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'

_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet {_NS}><fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font></fonts><fills count="4"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid"><fgColor rgb="FFDDE7F0"/><bgColor indexed="64"/></patternFill></fill><fill><patternFill patternType="solid"><fgColor rgb="FFE7E6E6"/><bgColor indexed="64"/></patternFill></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf><xf numFmtId="0" fontId="1" fillId="3" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf><xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def escape(text: str) -> str:
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _attr(text: str) -> str:
    return escape(text).replace('"', "&quot;")


def _string(ref: str, text: str, style: int) -> str:
    s = f' s="{style}"' if style else ""
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() or "\n" in text else ""
    return f'<c r="{ref}" t="inlineStr"{s}><is><t{space}>{escape(text)}</t></is></c>'


@dataclass
class Sheet:
    """One sheet being written: rows go to a temporary file as they come."""

    title: str
    widths: Sequence[float]
    text: Sequence[bool]  # columns written and formatted as text
    freeze: str | None = None  # the top-left cell of the scrolling part, e.g. "B2"
    protect: bool = False
    hidden: bool = False
    validations: list[tuple[str, str, str]] = field(default_factory=list)  # (sqref, formula, title)
    rows: int = 0
    width: int = 0

    def __post_init__(self) -> None:
        self._body: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed on save)
        self._letters = [get_column_letter(i + 1) for i in range(max(len(self.widths), 1))]

    def _letter(self, j: int) -> str:
        while j >= len(self._letters):
            self._letters.append(get_column_letter(len(self._letters) + 1))
        return self._letters[j]

    def append(self, values: Sequence[Any], styles: Sequence[int] | None = None) -> None:
        """One row: None is an empty cell, str a string (text style in a text column), int and
        float numbers (as strings in a text column, so they stay exactly as written)."""
        self.rows += 1
        r = self.rows
        text = self.text
        n_text = len(text)
        parts = [f'<row r="{r}">']
        for j, v in enumerate(values):
            if v is None or v == "":
                continue
            ref = f"{self._letter(j)}{r}"
            is_text = j < n_text and text[j]
            style = styles[j] if styles is not None else (TEXT if is_text else PLAIN)
            if isinstance(v, str):
                parts.append(_string(ref, v, style))
            elif isinstance(v, bool):
                parts.append(_string(ref, "是" if v else "否", style))
            elif isinstance(v, int | float):
                if is_text:
                    parts.append(_string(ref, str(v), style))
                else:
                    s = f' s="{style}"' if style else ""
                    parts.append(f'<c r="{ref}"{s}><v>{v!r}</v></c>')
            else:
                parts.append(_string(ref, str(v), style))
        parts.append("</row>")
        self.width = max(self.width, len(values))
        self._body.write("".join(parts))

    def _xml_head(self) -> str:
        last = f"{self._letter(max(self.width, 1) - 1)}{max(self.rows, 1)}"
        out = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS} {_R_NS}>',
               f'<dimension ref="A1:{last}"/>']
        if self.freeze:
            col = sum(1 for ch in self.freeze if ch.isalpha())
            letters, row = self.freeze[:col], int(self.freeze[col:])
            x = 0
            for ch in letters:
                x = x * 26 + ord(ch) - 64
            x_split, y_split = x - 1, row - 1
            splits = (f' xSplit="{x_split}"' if x_split else "") + (f' ySplit="{y_split}"' if y_split else "")
            pane = (f'<pane{splits} topLeftCell="{self.freeze}" activePane="bottomRight" state="frozen"/>'
                    '<selection pane="bottomRight"/>')
            out.append(f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>')
        out.append('<sheetFormatPr defaultRowHeight="15"/>')
        if self.widths:
            styled = list(self.text) + [False] * len(self.widths)
            cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"{_TEXT_COL if t else ""}/>'
                           for i, (w, t) in enumerate(zip(self.widths, styled, strict=False), 1))
            out.append(f"<cols>{cols}</cols>")
        out.append("<sheetData>")
        return "".join(out)

    def _xml_tail(self) -> str:
        out = ["</sheetData>"]
        if self.protect:
            out.append('<sheetProtection sheet="1" objects="1" scenarios="1"/>')
        if self.validations:
            items = "".join(
                f'<dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="0" '
                f'errorTitle="{_attr(title)}" error="请从下拉列表中选择" sqref="{ref}"><formula1>{escape(formula)}'
                "</formula1></dataValidation>" for ref, formula, title in self.validations)
            out.append(f'<dataValidations count="{len(self.validations)}">{items}</dataValidations>')
        out.append("</worksheet>")
        return "".join(out)

    def write_to(self, zf: zipfile.ZipFile, name: str) -> None:
        self._body.seek(0)
        with zf.open(name, "w", force_zip64=True) as dest:
            dest.write(self._xml_head().encode("utf-8"))
            while True:
                chunk = self._body.read(1 << 20)
                if not chunk:
                    break
                dest.write(chunk.encode("utf-8"))
            dest.write(self._xml_tail().encode("utf-8"))
        self._body.close()


class Workbook:
    """Sheets in the order they are added; `save` writes the package."""

    def __init__(self) -> None:
        self.sheets: list[Sheet] = []

    def add(self, sheet: Sheet) -> Sheet:
        self.sheets.append(sheet)
        return sheet

    def save(self, out: str | Path | BinaryIO) -> None:
        sheets = self.sheets
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, len(sheets) + 1))
        types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats'
                 '.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                 'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
                 '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+'
                 'xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                 f'spreadsheetml.styles+xml"/>{overrides}</Types>')
        rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
                'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                '</Relationships>')
        entries = "".join(
            f'<sheet name="{_attr(s.title)}" sheetId="{i}"{_HIDDEN if s.hidden else ""} r:id="rId{i}"/>'
            for i, s in enumerate(sheets, 1))
        workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {_NS} {_R_NS}>'
                    f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{entries}</sheets></workbook>')
        sheet_rels = "".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            f'worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1))
        n = len(sheets) + 1
        wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
                   f'openxmlformats.org/package/2006/relationships">{sheet_rels}<Relationship Id="rId{n}" Type="http:'
                   '//schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
                   '</Relationships>')
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr("[Content_Types].xml", types)
            zf.writestr("_rels/.rels", rels)
            zf.writestr("xl/workbook.xml", workbook)
            zf.writestr("xl/_rels/workbook.xml.rels", wb_rels)
            zf.writestr("xl/styles.xml", _STYLES)
            for i, s in enumerate(sheets, 1):
                s.write_to(zf, f"xl/worksheets/sheet{i}.xml")
