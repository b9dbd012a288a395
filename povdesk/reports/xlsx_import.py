"""Excel import: the povdesk register and template, and a village's own sheets (through a column mapping).

Checks the file before opening it and reads it streaming with limits (reports.xlsx_safety). Finds
the header row under merged title rows, joins two-row headers, skips sub-header, totals and
signature rows with a note, and groups the member rows into households: by the system household
id, the household number or the head's name, each filled down to the rows below it, or else each
head's row opening a household. The register's other sheets (income by year, helpers, measures)
come back onto the same households through their ids, household numbers or the head's ID number.

Onto a household the workspace holds, a sheet changes exactly the cells that were edited: a cell
showing what the register would show for the stored value is unchanged, a blank cell is
unchanged, and only the clear marker empties a value. Status and history never come from a sheet.

Each problem names its sheet, row, column and field, and belongs to a household: a blocking one
refuses that household, never the file. Nothing here writes to a workspace (ops.importing does).
"""

from __future__ import annotations

import contextlib
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from povdesk.core import idnumber
from povdesk.core.codes import CodeList, code_list
from povdesk.core.forms import FieldSpec, form_version, household_form, member_form
from povdesk.core.model import HEAD_RELATION, OWN_NUMBER_FIELD, Household, Member, YearRecord, new_id
from povdesk.core.rules import RULE_VERSION
from povdesk.errors import BadInput
from povdesk.i18n import Text, tr
from povdesk.paths import resources_dir
from povdesk.reports.excel import (
    DATA_SHEETS,
    HELPERS_SHEET,
    INCOME_SHEET,
    MEASURES_SHEET,
    REGISTER_SHEET,
    RegisterColumn,
    display,
    is_text_like,
    register_columns,
)
from povdesk.reports.xlsx_safety import MAX_BYTES, MAX_ROWS, CellBudget, check_file, sheet_rows

__all__ = ["MAX_BYTES", "MAX_ROWS", "ColumnMapping", "ImportPlan", "Problem", "Refusal", "check_file", "convert",
           "load_mapping", "read_register", "write_problem_report"]

HEADER_SCAN_ROWS = 20
# The first rows under a header are sampled: when nearly all of them hold a number as the name or
# more data in columns without a header than in the register's own, the sheet is not a register
# (a table of figures that happens to have a few known column names) and is refused at that point
# instead of read to its end.
SAMPLE_ROWS = 50
SAMPLE_UNLIKE = 45
# A file with more blocking problems than this is not a register with mistakes in it (wrong columns,
# another table, a hostile file): it is refused as a whole at that point instead of read to its end.
MAX_BLOCKING_PROBLEMS = 2_000
# Where a typed household number is kept when it is not an official one (the village's own).
LEGACY_NO_FIELD = OWN_NUMBER_FIELD  # the village's own number, beside the official one (core.model)

# Header texts seen in village sheets that are not the form's own labels.
ALIASES: dict[str, str] = {
    "户号": "household_no", "户编码": "household_no", "户编号": "household_no",
    "户主": "head_name", "户主姓名": "head_name",
    "身份证号": "member.id_number", "身份证号码": "member.id_number", "公民身份号码": "member.id_number",
    "证件号": "member.id_number", "证件号码": "member.id_number",
    "关系": "member.relation", "与户主关系": "member.relation",
    "出生年月": "member.birth_date", "出生年月日": "member.birth_date",
    "家庭人口": "ignore", "人口数": "ignore", "序号": "ignore",
}
SPECIAL_TARGETS = frozenset({"household_no", "village_code", "status", "household_id", "member_id", "head_name",
                             "household_version", "ignore"})

_YES = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓", "t"})
_NO = frozenset({"否", "无", "没有", "n", "no", "false", "0", "×", "✗", "f"})
_DATE_TEXT = re.compile(r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_TOTAL_WORDS = ("合计", "小计", "总计", "共计", "累计")
_TOTAL_RE = re.compile(r"^[\s\u3000]*(?:合|小|总|共|累)[\s\u3000]*计")
_SIGNATURE_WORDS = ("填表人", "制表人", "审核人", "负责人", "签字", "签名", "盖章", "填报日期", "制表日期", "填表日期",
                    "审核:", "制表:")
_SUBHEADER_OPEN = ("（", "(", "【", "[", "注", "例", "说明", "*")
_EXCEL_DIGITS = 15  # what a number cell keeps: more digits than this were rounded away


@dataclass
class Problem:
    """Something in the sheet that cannot be imported as it is: a blocking one refuses its
    household (`household`, the group's key; "" for a row that belongs to none), a note does not."""

    sheet: str
    row: int
    column: str  # letter, "" for a whole row
    field: str  # the column's header text
    message: Text
    blocking: bool = True
    household: str = ""
    value: str = ""  # the cell as the file holds it

    def to_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "field": self.field,
                "severity": "error" if self.blocking else "note", "message": self.message.as_dict(),
                "value": self.value}


@dataclass
class Refusal:
    """A household the sheet describes that will not be imported, and why."""

    key: str
    sheet: str
    row: int
    household_no: str
    head_name: str
    problems: list[Problem]

    def to_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "household_no": self.household_no,
                "head_name": self.head_name, "reasons": [p.to_dict() for p in self.problems]}


@dataclass
class ColumnMapping:
    """Header text -> target, from a mapping file (TOML) or the built-in labels; extra synonyms."""

    columns: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    village: str | None = None
    synonyms: dict[str, dict[str, str]] = field(default_factory=dict)


Location = tuple[str, int, str]  # sheet, row, column letter
YEAR_CELL = "#year"  # ImportPlan.letters: the income sheet's 年度 column


@dataclass
class ImportPlan:
    file: str
    sheet: str = ""
    header_row: int = 0
    rows: int = 0
    households: list[Household] = field(default_factory=list)  # those that will be imported
    refused: list[Refusal] = field(default_factory=list)
    first_row: dict[str, int] = field(default_factory=dict)  # household id -> its first sheet row
    problems: list[Problem] = field(default_factory=list)
    updated: int = 0  # households that already existed in the workspace, with edits
    unchanged: int = 0  # households of the workspace the sheet shows without an edit
    existing: set[str] = field(default_factory=set)  # ids of those
    # Where each value came from, for locate(), kept small (a register has a million cells): the
    # row of each household, member and income year, (hid, mid or "year:<y>" or "") -> (sheet, row);
    # the column of each member and income field on its sheet, sheet -> {field: letter}; and the
    # first row showing each household field, (hid, field) -> cell.
    rows_at: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    letters: dict[str, dict[str, str]] = field(default_factory=dict)
    household_cells: dict[tuple[str, str], Location] = field(default_factory=dict)
    years_of: dict[str, list[str]] = field(default_factory=dict)  # hid -> "year:<y>" in the order read

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self.problems if not p.blocking]

    def locate(self, household_id: str, member_id: str | None, fld: str | None, message: str = "") -> Location:
        """The cell a finding is about: the member's cell of that field, the household's, the
        income row of the year the message names, or the household's first row."""
        mid = member_id or ""
        tries = ((mid, fld or ""), (mid, ""), ("", fld or "")) if mid else (("", fld or ""),)
        for m, f in tries:
            if (m, f) == ("", ""):
                continue  # the household's first row: only once nothing closer is found
            found = self._cell(household_id, m, f)
            if found is not None:
                return found
        if fld:
            for y in self.years_of.get(household_id, ()):
                if y[5:] in message:
                    sheet, row = self.rows_at[(household_id, y)]
                    letters = self.letters.get(sheet, {})
                    return sheet, row, letters.get(fld) or letters.get(YEAR_CELL, "")
        return self._cell(household_id, "", "") or (self.sheet, self.first_row.get(household_id, 0), "")

    def _cell(self, hid: str, mid: str, fld: str) -> Location | None:
        if mid or not fld:
            at = self.rows_at.get((hid, mid))
            if at is None:
                return None
            if not fld:
                return at[0], at[1], ""
            letter = self.letters.get(at[0], {}).get(fld)
            return (at[0], at[1], letter) if letter is not None else None
        return self.household_cells.get((hid, fld))


def norm_header(text: Any) -> str:
    if text is None:
        return ""
    t = unicodedata.normalize("NFKC", str(text))
    return "".join(ch for ch in t if not ch.isspace()).strip("*:：").lower()


def _norm_word(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace()).lower()


@cache
def builtin_synonyms() -> dict[str, dict[str, str]]:
    """resources/xlsx_synonyms.toml: list key -> {normalised word: label or code}."""
    with (resources_dir() / "xlsx_synonyms.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return {lst: {_norm_word(k): str(v) for k, v in words.items()} for lst, words in data.items()}


def _targets(columns: tuple[RegisterColumn, ...]) -> dict[str, str]:
    known: dict[str, str] = {}
    for col in columns:
        for text in (col.zh, col.en, col.target, col.key):
            known.setdefault(norm_header(text), col.target)
    return known


def _main_targets() -> dict[str, str]:
    known = _targets(register_columns())
    for text, target in ALIASES.items():
        known.setdefault(norm_header(text), target)
    return known


def _valid_target(target: str) -> bool:
    if target in SPECIAL_TARGETS:
        return True
    scope, _, key = target.partition(".")
    if scope == "household":
        return key in household_form().by_key
    if scope == "member":
        return key in member_form().by_key
    return False


def load_mapping(path: str | Path) -> ColumnMapping:
    """A mapping file: `[columns]` header text = target, optional `[options]` sheet and village,
    optional `[synonyms.<code list>]` word = label (added to resources/xlsx_synonyms.toml)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise BadInput(tr("无法读取映射文件：{e}", "cannot read the mapping file: {e}", e=exc.strerror), where=str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(tr("映射文件格式错误：{e}", "the mapping file is not valid TOML: {e}", e=exc), where=str(p)) from None
    cols = data.get("columns")
    if not isinstance(cols, dict) or not cols:
        raise BadInput(tr("映射文件需要 [columns] 表", "the mapping file needs a [columns] table"), where=str(p))
    mapping = ColumnMapping()
    for header, target in cols.items():
        target = str(target)
        if not _valid_target(target):
            raise BadInput(tr("列“{h}”映射到未知字段“{t}”", "column '{h}' maps to an unknown field '{t}'",
                              h=header, t=target), where=str(p))
        mapping.columns[norm_header(header)] = target
    opts = data.get("options") or {}
    mapping.sheet = opts.get("sheet")
    mapping.village = opts.get("village")
    syn = data.get("synonyms") or {}
    if not isinstance(syn, dict):
        raise BadInput(tr("映射文件的 [synonyms] 应为表", "[synonyms] in the mapping file must be a table"), where=str(p))
    from povdesk.core.codes import code_lists
    for lst, words in syn.items():
        if lst not in code_lists() or not isinstance(words, dict):
            raise BadInput(tr("[synonyms.{l}]：没有这个代码表", "[synonyms.{l}]: no such code list", l=lst), where=str(p))
        mapping.synonyms[lst] = {_norm_word(str(k)): str(v) for k, v in words.items()}
    return mapping


# ---------------------------------------------------------------- converters


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().strip("\u3000")


def _ascii(value: Any) -> str:
    return unicodedata.normalize("NFKC", _text(value)).replace(",", "").replace(" ", "")


def _visible_start(value: str) -> str:
    """The text from its first visible character: Excel ignores leading spaces and control
    characters before '=', and so must the formula check."""
    i = 0
    while i < len(value) and unicodedata.category(value[i]) in _INVISIBLE:
        i += 1
    return value[i:]


def is_formula(value: Any) -> bool:
    if type(value) is not str or ("=" not in value and "＝" not in value):
        return False
    return unicodedata.normalize("NFKC", _visible_start(value)[:1]) == "="


def _drop_apostrophe(value: Any) -> Any:
    """A typed apostrophe (Excel's own "keep as text" mark, or a curly one) before a number."""
    if isinstance(value, str) and value[:1] in ("'", "’", "‘", "`") and value[1:].strip()[:1].isdigit():
        return value[1:].strip()
    return value


_CLEAR = "(清空)"  # CLEAR_MARKER as _norm_word gives it


def is_clear(value: Any) -> bool:
    return type(value) is str and "清" in value and _norm_word(value) == _CLEAR


Converted = tuple[Any, Text | None]


def _to_date(value: Any) -> Converted:
    if isinstance(value, datetime):
        return value.date().isoformat(), None
    if isinstance(value, date):
        return value.isoformat(), None
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
        return (_EXCEL_EPOCH + timedelta(days=int(value))).date().isoformat(), None
    text = _ascii(value)
    m = _DATE_TEXT.match(text) or _DATE_COMPACT.match(text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat(), None
        except ValueError:
            pass
    return None, tr("不是有效日期：“{v}”（可写作 1965-03-12、1965.03.12 或 1965年3月12日）",
                    "not a valid date: '{v}' (write 1965-03-12, 1965.03.12 or 1965年3月12日)", v=_text(value))


def _to_number(value: Any, integer: bool) -> Converted:
    if isinstance(value, bool):
        return None, tr("应为数字：“{v}”", "must be a number: '{v}'", v=value)
    if isinstance(value, int | float):
        num: float = value
    else:
        try:
            num = float(_ascii(value))
        except ValueError:
            return None, tr("应为数字：“{v}”", "must be a number: '{v}'", v=_text(value))
    if integer:
        if not float(num).is_integer():
            return None, tr("应为整数：“{v}”", "must be a whole number: '{v}'", v=_text(value))
        return int(num), None
    return float(num), None


def _to_yes_no(value: Any) -> Converted:
    if isinstance(value, bool):
        return value, None
    t = _ascii(value).lower()
    if t in _YES:
        return True, None
    if t in _NO:
        return False, None
    return None, tr("应为 是/否：“{v}”", "must be yes/no (是/否): '{v}'", v=_text(value))


class Converter:
    """Cell values into the form's JSON values, with the synonym tables in force."""

    def __init__(self, mapping: ColumnMapping | None = None) -> None:
        self.synonyms: dict[str, dict[str, str]] = {k: dict(v) for k, v in builtin_synonyms().items()}
        if mapping is not None:
            for lst, words in mapping.synonyms.items():
                self.synonyms.setdefault(lst, {}).update(words)
        self._cache: dict[tuple[str, Any], str | None] = {}

    def find_code(self, list_key: str, value: Any) -> str | None:
        key = (list_key, value)
        try:
            return self._cache[key]
        except (KeyError, TypeError):
            pass
        code = self._find(code_list(list_key), list_key, value)
        with contextlib.suppress(TypeError):  # an unhashable value is simply not cached
            self._cache[key] = code
        return code

    def _find(self, lst: CodeList, list_key: str, value: Any) -> str | None:
        raw = _text(value)
        found = lst.find(raw) or lst.find(unicodedata.normalize("NFKC", raw))
        if found is not None:
            return found.code
        word = self.synonyms.get(list_key, {}).get(_norm_word(raw))
        if word is not None:
            hit = lst.find(word)
            return hit.code if hit is not None else None
        digits = _ascii(value)
        if digits.isdigit():  # Excel turned "01" into 1
            for c in lst.codes:
                if c.code.isdigit() and int(c.code) == int(digits):
                    return c.code
        return None

    def _code(self, spec: FieldSpec, value: Any) -> Converted:
        code = self.find_code(spec.codes or "", value)
        if code is None:
            lst = code_list(spec.codes or "")
            return None, tr("“{v}”不在代码表“{l}”中", "'{v}' is not in the code list '{l}'", v=_text(value), l=lst.zh)
        return code, None

    def _multi(self, spec: FieldSpec, value: Any) -> Converted:
        """Codes or labels separated by 、 , ; / or new lines. Labels may themselves contain those
        separators (e.g. 不得纳入情形), so the longest run of parts that names a code wins."""
        key = spec.codes or ""
        tokens = re.split(r"([、,，;；/\n]+)", _text(value))
        parts = tokens[0::2]
        out: list[str] = []
        i = 0
        while i < len(parts):
            if not parts[i].strip():
                i += 1
                continue
            for j in range(len(parts), i, -1):
                code = self.find_code(key, "".join(tokens[2 * i:2 * j - 1]))
                if code is not None:
                    out.append(code)
                    i = j
                    break
            else:
                return None, tr("“{v}”不在代码表“{l}”中", "'{v}' is not in the code list '{l}'", v=parts[i].strip(),
                                l=code_list(key).zh)
        return out, None

    def convert(self, spec: FieldSpec, value: Any) -> Converted:
        """A cell value as the form's JSON value, or an explanation of why it cannot be."""
        if is_formula(value):
            return None, tr("单元格是公式或以“=”开头（{v}），不导入；请改为普通文字",
                            "the cell is a formula or starts with '=' ({v}); not imported, type plain text",
                            v=str(value).strip()[:40])
        value = _drop_apostrophe(value)
        kind = spec.kind
        if is_text_like(spec) or kind == "id_number":
            rounded = excel_rounded(value)
            if rounded is not None:
                return None, rounded
        if kind == "text":
            return _text(value), None
        if kind == "phone":
            return _ascii(value), None
        if kind == "id_number":
            return _to_id(value)
        if kind == "date":
            return _to_date(value)
        if kind == "integer":
            return _to_number(value, True)
        if kind in ("decimal", "money"):
            return _to_number(value, False)
        if kind == "yes_no":
            return _to_yes_no(value)
        if kind == "code":
            return self._code(spec, value)
        if kind == "multi_code":
            return self._multi(spec, value)
        return _text(value), None


def excel_shows(value: float) -> str:
    """A number cell as Excel shows it formatted as a number: 15 significant digits, zeros after."""
    if value.is_integer() and abs(value) >= 1e15:
        return format(Decimal(f"{value:.15g}"), "f")
    return f"{value:.15g}"


def excel_rounded(value: Any) -> Text | None:
    """Why a number cell cannot be a digit string (ID number, bank account, phone), or None: a
    number Excel keeps has 15 significant digits, so a longer one has lost its last digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        shown = repr(value)
    elif len(str(int(value))) <= _EXCEL_DIGITS:
        return None
    else:
        shown = excel_shows(value) if isinstance(value, float) else str(value)
    return tr("Excel 已把这个号码存成数字并舍去了末尾几位（单元格中是 {v}），无法还原；请把该列设为文本格式后重新输入",
              "Excel stored this number as a number and rounded away its last digits (the cell holds {v}); "
              "it cannot be recovered: format the column as Text and type it again", v=idnumber.masked_text(shown))


def _to_id(value: Any) -> Converted:
    try:
        # Only whether a spreadsheet mangled it matters here, and that does not depend on the
        # day: the rules judge the rest (a birth date after today included) with the real today.
        idnumber.parse(value, today=date.max)
    except idnumber.IdNumberError as exc:
        if exc.reason == "excel_mangled":
            return None, exc.text  # never stored: the lost digits cannot be guessed
    except TypeError:
        return None, tr("身份证号格式不对", "not an ID number")
    # Other defects (check digit, length) are kept and reported by the rules, as on entry.
    return idnumber.normalize(value) if isinstance(value, str) else str(value), None


def convert(spec: FieldSpec, value: Any) -> Converted:
    """A cell value as the form's JSON value with the built-in synonyms (see Converter)."""
    return _default_converter().convert(spec, value)


@cache
def _default_converter() -> Converter:
    return Converter()


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _same(cell: Any, shown: Any) -> bool:
    """Whether a cell still shows what the register wrote for the stored value."""
    if shown is None:
        return False
    if isinstance(shown, str):
        return _text(cell) == shown.strip() if not isinstance(cell, bool) else False
    if isinstance(cell, bool) or isinstance(shown, bool):
        return cell is shown
    if isinstance(cell, int | float):
        return float(cell) == float(shown)
    return False


# ---------------------------------------------------------------- headers


def _map_row(cells: tuple[Any, ...], known: dict[str, str]) -> dict[int, str]:
    out: dict[int, str] = {}
    for j, cell in enumerate(cells):
        t = known.get(norm_header(cell))
        if t:
            out[j] = t
    return out


def _find_header(rows: list[tuple[int, tuple[Any, ...]]],
                 known: dict[str, str]) -> tuple[int, int, dict[int, str], list[str]]:
    """(index in rows of the header, height 1 or 2, column -> target, header texts)."""
    best, best_n = -1, 0
    for i, (_r, row) in enumerate(rows):
        n = len(_map_row(row, known))
        if n > best_n:
            best, best_n = i, n
    if best_n < 3:
        return -1, 0, {}, []
    upper = rows[best][1]
    mapped = _map_row(upper, known)
    height = 1
    texts = [_text(c) if c is not None else "" for c in upper]
    if best + 1 < len(rows) and rows[best + 1][0] == rows[best][0] + 1:
        lower = rows[best + 1][1]
        lower_map = {j: t for j, t in _map_row(lower, known).items() if j not in mapped}
        if len(lower_map) >= 2:
            height = 2
            width = max(len(upper), len(lower))
            texts = []
            for j in range(width):
                up = upper[j] if j < len(upper) else None
                lo = lower[j] if j < len(lower) else None
                target = lower_map.get(j) or mapped.get(j) or known.get(norm_header(f"{up or ''}{lo or ''}"))
                if target:
                    mapped[j] = target
                texts.append(_text(lo) if lo is not None and j in lower_map else _text(up) if up is not None else "")
    return best, height, mapped, texts


@dataclass
class _Col:
    index: int
    target: str  # a special target, or scope.key
    scope: str
    key: str
    spec: FieldSpec | None
    letter: str
    header: str
    # Cell value -> its conversion, for the kinds whose values repeat down a column (codes, yes/no,
    # dates, numbers): a register's columns hold a few dozen distinct values in thousands of rows.
    memo: dict[tuple[type, Any], Converted] | None = field(default=None, repr=False, compare=False)


_MEMO_KINDS = frozenset({"code", "multi_code", "yes_no", "date", "integer", "decimal", "money"})
_MEMO_TYPES = frozenset({str, int, float, bool})
_MEMO_MAX = 4096  # distinct values kept per column


def _columns(cols: dict[int, str], texts: list[str]) -> list[_Col]:
    hf, mf = household_form().by_key, member_form().by_key
    sections = {s.key: s for s in household_form().sections}
    side = {"income": sections["income"], "helper": sections["helpers"], "measure": sections["measures"]}
    out = []
    for j, target in sorted(cols.items()):
        if target == "ignore" or target.startswith("event."):
            continue
        scope, _, key = target.partition(".")
        spec: FieldSpec | None = None
        if scope == "household":
            spec = hf.get(key)
        elif scope == "member":
            spec = mf.get(key)
        elif scope in side:
            spec = next((f for f in side[scope].fields if f.key == key), None)
        if spec is None:
            scope = key = target
        memo: dict[tuple[type, Any], Converted] | None = {} if spec is not None and spec.kind in _MEMO_KINDS else None
        out.append(_Col(j, target, scope, key, spec, get_column_letter(j + 1), texts[j] if j < len(texts) else "",
                        memo))
    return out


class _Sample:
    """Whether the first rows under a header look like records of the register (see SAMPLE_ROWS)."""

    def __init__(self, sheet: str, header: list[tuple[int, tuple[Any, ...]]], cols: list[_Col]) -> None:
        self.sheet, self.header_row = sheet, header[-1][0]
        # A column is headed when any row of the header names it (the lower row under a merged cell too).
        self.headed = frozenset(j for _r, row in header for j, v in enumerate(row) if not _empty(v)) | \
            frozenset(c.index for c in cols)
        self.width = max(self.headed, default=-1) + 1
        self.gaps = len(self.headed) < self.width
        self.name = next((c for c in cols if c.target == "member.name"), None)
        self.seen = 0
        self.numbers: list[tuple[int, str]] = []  # (row, column) of a name that is a number
        self.outside: list[tuple[int, str]] = []  # (row, column) of data under no header

    def see(self, r: int, row: tuple[Any, ...]) -> None:
        """Count one candidate record row; refuse the sheet once the sample is judged unlike a register."""
        self.seen += 1
        n = len(row)
        name = self.name
        if name is not None and name.index < n:
            v = row[name.index]
            if isinstance(v, int | float) and not isinstance(v, bool):
                self.numbers.append((r, name.letter))
                return self._judge()
        if n > self.width or self.gaps:
            headed = self.headed
            inside = outside = 0
            first = -1
            for j, v in enumerate(row):
                if v is None:
                    continue
                if j in headed:
                    inside += 1
                else:
                    outside += 1
                    if first < 0:
                        first = j
            if outside > inside:
                self.outside.append((r, get_column_letter(first + 1)))
        self._judge()

    def _judge(self) -> None:
        if self.seen < SAMPLE_ROWS:
            return
        unlike = len(self.numbers) + len(self.outside)
        if unlike >= SAMPLE_UNLIKE:
            if len(self.numbers) >= len(self.outside):
                (r, c), why = self.numbers[0], Text("姓名是数字", "hold a number as the name")
            else:
                (r, c), why = self.outside[0], Text("在没有列名的列里有数据", "hold data in columns without a header")
            raise BadInput(tr(
                "工作表“{s}”不像花名册：表头（第 {h} 行）下的前 {n} 行中有 {k} 行{why_zh}（如第 {r} 行 {c} 列）；"
                "是不是选错了文件？未导入任何内容",
                "sheet '{s}' does not look like a register: {k} of the first {n} rows under the header (row {h}) "
                "{why_en} (e.g. row {r}, column {c}); the wrong file? Nothing was imported",
                s=self.sheet, h=self.header_row, n=SAMPLE_ROWS, k=unlike, why_zh=why.zh, why_en=why.en, r=r, c=c))
        self.see = self._done  # type: ignore[method-assign]

    def _done(self, r: int, row: tuple[Any, ...]) -> None:
        return None


# ---------------------------------------------------------------- rows to skip


def _looks_like_id(value: Any) -> bool:
    """An ID number or a system id, not a word someone typed in that column."""
    if _empty(value) or is_formula(value):
        return False
    text = _ascii(value)
    return sum(ch.isdigit() for ch in text) >= 6 or bool(_UUID.match(text))


def _row_kind(row: tuple[Any, ...], known: dict[str, str], strong: list[int], names: list[int]) -> str | None:
    """'empty', 'subheader', 'total', 'signature', or None for a row that may hold a record.
    `strong` are the columns that only a record fills (ID number, system ids), `names` the name's.
    A row with an ID number or system id is a record unless its first cells say 合计/小计."""
    values = [v for v in row if v is not None and not (type(v) is str and not v.strip())]
    if not values:
        return "empty"
    if any(type(v) is str and _TOTAL_RE.match(v) for v in values[:4]):
        return "total"
    n = len(row)
    if any(j < n and _looks_like_id(row[j]) for j in strong):
        return None
    texts = [_norm_word(_visible_start(str(v))) for v in values]
    has_name = any(j < n and not _empty(row[j]) and not is_formula(row[j]) for j in names)
    formulas = sum(1 for v in values if is_formula(v))
    if formulas and not has_name and len(values) - formulas <= 1:
        return "total"  # formulas with at most a label beside them
    if any(w in t for t in texts for w in _SIGNATURE_WORDS):
        return "signature"
    if all(isinstance(v, str) and t.startswith(_SUBHEADER_OPEN) for v, t in zip(values, texts, strict=True)):
        return "subheader"
    if len(values) >= 2 and sum(1 for v in values if known.get(norm_header(v))) * 2 >= len(values):
        return "subheader"  # the header again (a sheet printed page by page)
    return None


_SKIP_TEXT = {
    "subheader": ("说明行或重复的表头，已跳过", "an explanatory row or a repeated header; skipped"),
    "total": ("合计行或公式行，已跳过", "a totals or formula row; skipped"),
    "signature": ("签字或填表信息行，已跳过", "a signature or form-filling row; skipped"),
}


# ---------------------------------------------------------------- reading


@dataclass
class _Group:
    key: str
    sheet: str
    first_row: int
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    side: list[tuple[str, list[_Col], int, tuple[Any, ...]]] = field(default_factory=list)
    special: dict[str, str] = field(default_factory=dict)
    head_ids: set[str] = field(default_factory=set)
    stale: tuple[int, int] | None = None  # (the file's version, the workspace's) when the file is older


Lookup = Callable[[list[str], list[str]], dict[str, Household]]


class _Reader:
    def __init__(self, plan: ImportPlan, mapping: ColumnMapping | None, village: str | None,
                 lookup: Lookup | None, progress: Callable[[int, int], None] | None,
                 cancelled: Callable[[], bool] | None) -> None:
        self.plan, self.mapping, self.village, self.lookup = plan, mapping, village, lookup
        self.progress, self.cancelled = progress, cancelled
        self.conv = Converter(mapping)
        self.budget = CellBudget()
        self.groups: dict[str, _Group] = {}
        self.order: list[_Group] = []
        self.blocking = 0

    def problem(self, sheet: str, row: int, col: _Col | None, message: Text, household: str,
                value: Any = None, blocking: bool = True) -> None:
        shown = "" if value is None else (str(value)[:60] if not isinstance(value, float) else excel_shows(value))
        if shown and col is not None and col.target.endswith("id_number"):
            shown = idnumber.masked_text(shown)  # no report prints a full ID number
        self.plan.problems.append(Problem(sheet, row, col.letter if col else "", col.header if col else "",
                                          message, blocking, household, shown))
        if blocking:
            self.blocking += 1
            if self.blocking > MAX_BLOCKING_PROBLEMS:
                first = next(p for p in self.plan.problems if p.blocking)
                raise BadInput(tr(
                    "问题超过 {n} 处，不像是填错了几处的花名册（是不是选错了文件，或列名对不上？），未导入任何内容；"
                    "第一处：{s}!{c}{r}：{m}", "more than {n} problems: this does not look like a register with a few "
                    "mistakes (the wrong file, or columns that do not match?); nothing was imported. The first: "
                    "{s}!{c}{r}: {m}", n=f"{MAX_BLOCKING_PROBLEMS:,}", s=first.sheet, c=first.column, r=first.row,
                    m=first.message), where=sheet)

    def tick(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise BadInput(tr("已取消", "cancelled"))
        self.plan.rows += 1
        if self.progress is not None and self.plan.rows % 1000 == 0:
            self.progress(self.plan.rows, 0)

    # -- the households-and-members sheet

    def main_sheet(self, wb: Any) -> list[str]:
        names = [n for n in wb.sheetnames]
        known = _main_targets()
        if self.mapping is not None:
            known.update(self.mapping.columns)
        if self.mapping is not None and self.mapping.sheet:
            if self.mapping.sheet not in names:
                raise BadInput(tr("找不到工作表“{s}”", "no sheet '{s}'", s=self.mapping.sheet))
            candidates = [self.mapping.sheet]
        elif REGISTER_SHEET in names:
            candidates = [REGISTER_SHEET]
        else:
            candidates = names
        for name in candidates:
            ws = wb[name]
            if getattr(ws, "sheet_state", "visible") != "visible":
                continue
            rows = sheet_rows(ws, self.budget)
            head = _head(rows)
            at, height, cols, texts = _find_header(head, known)
            if at < 0:
                continue
            self.plan.sheet, self.plan.header_row = name, head[at + height - 1][0]
            self._main_rows(name, head[at + height:], rows, _columns(cols, texts), known, head[at:at + height])
            return names
        raise BadInput(tr("找不到表头行：没有一个工作表的前 {n} 行里有可识别的列名（如 姓名、身份证号、与户主关系）；"
                          "旧表请用 --mapping 指定列的对应关系",
                          "no header row found: no sheet has recognisable column names (such as 姓名, 身份证号, "
                          "与户主关系) in its first {n} rows; give a --mapping for a legacy sheet", n=HEADER_SCAN_ROWS))

    def _main_rows(self, sheet: str, buffered: list[tuple[int, tuple[Any, ...]]],
                   rest: Iterator[tuple[int, tuple[Any, ...]]], cols: list[_Col], known: dict[str, str],
                   header: list[tuple[int, tuple[Any, ...]]]) -> None:
        self.main_cols = cols
        sample = _Sample(sheet, header, cols)
        by_target = {c.target: c for c in cols}
        strong = [c.index for c in cols if c.target in ("member.id_number", "household_id", "member_id")]
        names = [c.index for c in cols if c.target == "member.name"]
        c_id, c_no, c_head = by_target.get("household_id"), by_target.get("household_no"), by_target.get("head_name")
        c_rel = by_target.get("member.relation")
        c_idno = by_target.get("member.id_number")
        groups, order = self.groups, self.order
        current: _Group | None = None

        def cell(c: _Col | None, row: tuple[Any, ...]) -> str:
            if c is None or c.index >= len(row) or _empty(row[c.index]) or is_formula(row[c.index]):
                return ""
            v = row[c.index]
            return _text(v) if c is c_head else _ascii(_drop_apostrophe(v))

        for r, row in _chain(buffered, rest):
            kind = _row_kind(row, known, strong, names)
            if kind == "empty":
                continue
            self.tick()
            if kind is not None:
                zh, en = _SKIP_TEXT[kind]
                self.problem(sheet, r, None, Text(zh, en), "", blocking=False)
                continue
            sample.see(r, row)
            hid = cell(c_id, row)
            hid = hid if _UUID.match(hid) else ""
            no, head_name = cell(c_no, row), cell(c_head, row)
            relation = row[c_rel.index] if c_rel is not None and c_rel.index < len(row) else None
            is_head = relation is not None and self.conv.find_code("relation", relation) == HEAD_RELATION
            key = f"id:{hid}" if hid else f"no:{no}" if no else f"head:{head_name}" if head_name else ""
            if not key:
                # Filled down: the row belongs to the household above unless it is a head's row.
                key = f"row:{r}" if is_head or current is None else current.key
            elif current is not None and key != current.key and not hid and not no and not is_head \
                    and current.key.startswith(("id:", "no:")):
                key = current.key  # a head-name column holding the member's own name
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(key, sheet, r)
                order.append(group)
            current = group
            group.rows.append((r, row))
            version = cell(by_target.get("household_version"), row)
            for name, v in (("household_id", hid), ("household_no", no), ("head_name", head_name),
                            ("household_version", version if version.isdigit() else "")):
                if v:
                    group.special.setdefault(name, v)
            vc = cell(by_target.get("village_code"), row)
            if vc:
                group.special.setdefault("village_code", vc)
            if is_head and c_idno is not None:
                idv = cell(c_idno, row)
                if idv:
                    group.head_ids.add(idv.upper())

    # -- the register's other sheets

    def side_sheets(self, wb: Any, names: list[str]) -> None:
        index: dict[str, _Group] = {}
        for g in self.order:
            if "household_id" in g.special:
                index[f"id:{g.special['household_id']}"] = g
            if "household_no" in g.special:
                index[f"no:{g.special['household_no']}"] = g
            for idv in g.head_ids:
                index[f"head:{idv}"] = g
        pending: list[tuple[str, int, list[_Col], tuple[Any, ...], str, str]] = []
        for title, columns in DATA_SHEETS[1:]:
            if title not in names or title == self.plan.sheet:
                continue
            ws = wb[title]
            known = _targets(columns())
            rows = sheet_rows(ws, self.budget)
            head = _head(rows)
            at, height, cols, texts = _find_header(head, known)
            if at < 0:
                continue
            cs = _columns(cols, texts)
            by_target = {c.target: c for c in cs}
            strong = [c.index for c in cs if c.target in ("household_id", "head_id_number")]
            sample = _Sample(title, head[at:at + height], cs)
            for r, row in _chain(head[at + height:], rows):
                kind = _row_kind(row, known, strong, [])
                if kind == "empty":
                    continue
                self.tick()
                if kind is not None:
                    self.problem(title, r, None, Text(*_SKIP_TEXT[kind]), "", blocking=False)
                    continue
                sample.see(r, row)

                def get(t: str, row: tuple[Any, ...] = row, by_target: dict[str, _Col] = by_target) -> str:
                    c = by_target.get(t)
                    if c is None or c.index >= len(row) or _empty(row[c.index]) or is_formula(row[c.index]):
                        return ""
                    return _ascii(_drop_apostrophe(row[c.index]))

                hid, no, head_id = get("household_id"), get("household_no"), get("head_id_number").upper()
                group = (index.get(f"id:{hid}") if _UUID.match(hid) else None) or \
                    (index.get(f"no:{no}") if no else None) or (index.get(f"head:{head_id}") if head_id else None)
                if group is None and (_UUID.match(hid) or no):
                    pending.append((title, r, cs, row, hid if _UUID.match(hid) else "", no))
                    continue
                if group is None:
                    self.problem(title, r, None, tr(
                        "这一行找不到所属的户：请填写户ID（系统）、户编号或户主证件号码",
                        "this row's household cannot be found: give the system household id, the household "
                        "number or the head's ID number"), "")
                    continue
                group.side.append((title, cs, r, row))
        if pending and self.lookup is not None:
            found = self.lookup([p[4] for p in pending if p[4]], [p[5] for p in pending if not p[4] and p[5]])
            for title, r, cs, row, hid, no in pending:
                hh = found.get(hid) if hid else found.get(f"no:{no}")
                if hh is None:
                    self.problem(title, r, None, tr("工作区中没有这一行所属的户（户编号 {no}）",
                                                    "the household of this row is not in the workspace (household "
                                                    "number {no})", no=no or "—"), "")
                    continue
                key = f"id:{hh.id}"
                group = self.groups.get(key)
                if group is None:
                    group = self.groups[key] = _Group(key, title, r, special={"household_id": hh.id})
                    self.order.append(group)
                group.side.append((title, cs, r, row))
        elif pending:
            for title, r, _cs, _row, _hid, no in pending:
                self.problem(title, r, None, tr("找不到这一行所属的户（户编号 {no}）",
                                                "this row's household is not found (household number {no})",
                                                no=no or "—"), "")


def _head(rows: Iterator[tuple[int, tuple[Any, ...]]]) -> list[tuple[int, tuple[Any, ...]]]:
    head: list[tuple[int, tuple[Any, ...]]] = []
    for item in rows:
        head.append(item)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    return head


def _chain(first: list[tuple[int, tuple[Any, ...]]],
           rest: Iterator[tuple[int, tuple[Any, ...]]]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    yield from first
    yield from rest


def read_register(path: str | Path, mapping: ColumnMapping | None = None, *, village: str | None = None,
                  lookup: Lookup | None = None, progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> ImportPlan:
    """Parse a workbook into the households it describes and its problems.

    `lookup(ids, numbers)` returns the workspace's households among those ids and numbers (keyed
    by id, and by "no:" + number for those found by number): they are updated cell by cell,
    their history, status and everything the sheet does not show kept."""
    check_file(path)
    p = Path(path)
    plan = ImportPlan(file=p.name)
    if mapping is not None:
        village = village or mapping.village
    reader = _Reader(plan, mapping, village, lookup, progress, cancelled)
    try:
        wb = load_workbook(p, read_only=True, data_only=False, keep_links=False)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise BadInput(tr("无法读取 .xlsx 文件（{e}）", "cannot read the .xlsx file ({e})", e=type(exc).__name__),
                       where=str(p)) from None
    try:
        names = reader.main_sheet(wb)
        reader.side_sheets(wb, names)
    except BadInput as exc:
        raise BadInput(exc.text, where=str(p)) from None
    except Exception as exc:  # noqa: BLE001 - a damaged part found while streaming
        raise BadInput(tr("无法读取 .xlsx 文件（{e}）", "cannot read the .xlsx file ({e})", e=type(exc).__name__),
                       where=str(p)) from None
    finally:
        wb.close()
    try:
        _Builder(reader).build()
    except BadInput as exc:  # too many problems: the file is named, as for every other refusal
        raise BadInput(exc.text, where=str(p)) from None
    return plan


# ---------------------------------------------------------------- households


class _Builder:
    """Each group of rows into a household: new, or the workspace's own with the edited cells applied."""

    def __init__(self, reader: _Reader) -> None:
        self.r = reader
        self.plan = reader.plan
        self.conv = reader.conv
        cols: list[_Col] = getattr(reader, "main_cols", [])
        self.c_mid = next((c for c in cols if c.target == "member_id"), None)
        self.m_cols = [c for c in cols if c.scope == "member" and c.spec is not None]
        self.h_cols = [c for c in cols if c.scope == "household" and c.spec is not None]
        self.c_name = next((c for c in self.m_cols if c.key == "name"), None)
        self.c_idno = next((c for c in self.m_cols if c.key == "id_number"), None)
        self._side_cols: dict[int, tuple[dict[str, _Col], list[_Col]]] = {}  # id(a side sheet's columns) ->

    def build(self) -> None:
        r, plan = self.r, self.plan
        groups = r.order
        existing: dict[str, Household] = {}
        if r.lookup is not None:
            ids = [g.special["household_id"] for g in groups if "household_id" in g.special]
            nos = [g.special["household_no"] for g in groups if "household_id" not in g.special
                   and "household_no" in g.special]
            existing = r.lookup(ids, nos) if ids or nos else {}
        blocking: dict[str, list[Problem]] = {}
        for p in plan.problems:
            if p.blocking and p.household:
                blocking.setdefault(p.household, []).append(p)
        for g in groups:
            self.group(g, existing, blocking)
            g.rows, g.side = [], []  # the sheet's cells are not needed again: free them as the households are made

    def group(self, g: _Group, existing: dict[str, Household], blocking: dict[str, list[Problem]]) -> None:
        plan = self.plan
        hid = g.special.get("household_id", "")
        old = existing.get(hid) if hid else existing.get(f"no:{g.special.get('household_no', '')}")
        start = len(plan.problems)
        before = old.to_dict() if old is not None else None
        hh = self.household(g, old)
        own = [p for p in plan.problems[start:] if p.blocking] + blocking.get(g.key, [])
        if hh is None or own:
            head = g.special.get("head_name", "") or (self._head_name(g) if g.rows else "")
            no = (hh.household_no if hh is not None else "") or g.special.get("household_no", "")
            plan.refused.append(Refusal(g.key, g.sheet, g.first_row, no, head, own))
            return
        plan.first_row[hh.id] = g.first_row
        if before is not None and hh.to_dict() == before:
            plan.unchanged += 1  # nothing edited: not written again (no new version to sync)
            return
        plan.households.append(hh)
        if old is not None:
            plan.updated += 1
            plan.existing.add(hh.id)

    def _head_name(self, g: _Group) -> str:
        cols = self.r.main_cols
        name = next((c for c in cols if c.target == "member.name"), None)
        rel = next((c for c in cols if c.target == "member.relation"), None)
        for _r, row in g.rows:
            if name is None or name.index >= len(row):
                continue
            if rel is None or (rel.index < len(row) and self.conv.find_code("relation", row[rel.index]) == HEAD_RELATION):
                return _text(row[name.index]) if row[name.index] is not None else ""
        return ""

    def _edit(self, g: _Group, sheet: str, r: int, col: _Col, raw: Any, target: dict[str, Any],
              stored: dict[str, Any] | None, seen: dict[str, tuple[Any, int]] | None = None) -> None:
        """Apply one cell onto `target`: blank or unchanged leaves it, the clear marker empties it,
        anything else is converted (a problem for this household when it cannot be)."""
        if raw is None or (raw.__class__ is str and not raw.strip()):
            return
        spec = col.spec
        assert spec is not None
        key = col.key
        if stored is not None and _same(raw, display(spec, stored.get(key))):
            return
        if g.stale is not None:
            self.r.problem(sheet, r, col, tr(
                "这户在本文件写出之后已在工作区中改动过（文件中为第 {a} 版，工作区中为第 {b} 版），这一处修改不能导入："
                "请重新导出花名册，在新表上修改",
                "this household was changed in the workspace after this file was written (version {a} in the "
                "file, {b} in the workspace), so this change cannot come in: export the register again and edit "
                "the new one", a=g.stale[0], b=g.stale[1]), g.key, raw)
            return
        if is_clear(raw):
            value: Any = None
        else:
            value, why = self._convert(col, spec, raw)
            if why is not None:
                self.r.problem(sheet, r, col, why, g.key, raw)
                return
        if seen is not None:
            if key in seen and seen[key][0] != value:
                self.r.problem(sheet, r, col, tr(
                    "同一户的各行此列不一致（第 {other} 行为另一个值）；请只改一处或改成一致",
                    "rows of the same household disagree in this column (row {other} holds another value); "
                    "change it in one place or make them agree", other=seen[key][1]), g.key, raw)
                return
            seen[key] = (value, r)
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value

    def _convert(self, col: _Col, spec: FieldSpec, raw: Any) -> Converted:
        """Converter.convert, remembered per column for the kinds whose values repeat."""
        memo = col.memo
        if memo is None or raw.__class__ not in _MEMO_TYPES:
            return self.conv.convert(spec, raw)
        key = (raw.__class__, raw)
        hit = memo.get(key)
        if hit is None:
            hit = self.conv.convert(spec, raw)
            if len(memo) < _MEMO_MAX:
                memo[key] = hit
        value, why = hit
        return (list(value), why) if value.__class__ is list else hit  # a list is the caller's to keep

    def household(self, g: _Group, old: Household | None) -> Household | None:
        r, plan = self.r, self.plan
        cols = r.main_cols if g.rows else []
        if old is not None:
            hh = old
            written = g.special.get("household_version", "")
            if written.isdigit() and int(written) < old.version:
                g.stale = (int(written), old.version)
        else:
            if g.special.get("household_id") and r.lookup is not None and not g.rows:
                return None
            code = g.special.get("village_code") or r.village or ""
            if not (code.isascii() and code.isdigit() and len(code) == 12):
                r.problem(g.sheet, g.first_row, None, tr(
                    "不知道这一户属于哪个村：表中没有村代码列，请用 --village 或映射文件的 [options] village 指定",
                    "which village this household belongs to is unknown: there is no village code column; give "
                    "--village or [options] village in the mapping"), g.key)
                return None
            hh = Household(village_code=code, id=g.special.get("household_id") or new_id(), status="applicant",
                           form_version=form_version(), rule_version=RULE_VERSION)
            no = g.special.get("household_no", "")
            if no:
                if no.startswith(f"{code}-"):
                    hh.household_no = no  # an official number, as the register writes it
                else:
                    hh.fields[LEGACY_NO_FIELD] = no  # the village's own number; the store assigns one
        rows_at, hh_cells = plan.rows_at, plan.household_cells
        loc_rows: dict[str, int] = {}
        hh_seen: dict[str, tuple[Any, int]] = {}
        hh_stored = dict(hh.fields) if old is not None else None
        members_by_id = {m.id: m for m in hh.members}
        by_number = {m.id_number: m for m in hh.members if m.id_number}
        by_name = {m.name: m for m in hh.members if m.name}
        if cols:
            c_mid, m_cols, h_cols, c_name, c_idno = self.c_mid, self.m_cols, self.h_cols, self.c_name, self.c_idno
        else:
            c_mid = c_name = c_idno = None
            m_cols, h_cols = [], []
        rows_at[(hh.id, "")] = (g.sheet, g.first_row)
        if m_cols and g.sheet not in plan.letters:
            plan.letters[g.sheet] = {c.key: c.letter for c in m_cols}
        for row_no, row in g.rows:
            n = len(row)
            for c in h_cols:
                raw = row[c.index] if c.index < n else None
                if not _empty(raw) and c.key not in loc_rows:
                    loc_rows[c.key] = row_no
                    hh_cells[(hh.id, c.key)] = (g.sheet, row_no, c.letter)
                self._edit(g, g.sheet, row_no, c, raw, hh.fields, hh_stored, hh_seen)
            if not any(not _empty(row[c.index]) for c in m_cols if c.index < n):
                continue
            mid = _ascii(row[c_mid.index]) if c_mid is not None and c_mid.index < n and row[c_mid.index] else ""
            member = members_by_id.get(mid) if mid else None
            if member is None and not mid:
                idv = row[c_idno.index] if c_idno is not None and c_idno.index < n else None
                namev = row[c_name.index] if c_name is not None and c_name.index < n else None
                member = by_number.get(_ascii(idv).upper() if not _empty(idv) else "") or \
                    by_name.get(_text(namev) if not _empty(namev) else "")
            stored = dict(member.fields) if member is not None else None
            if member is None:
                member = Member(id=mid if _UUID.match(mid) and old is None else new_id())
                hh.members.append(member)
            members_by_id[member.id] = member
            rows_at[(hh.id, member.id)] = (g.sheet, row_no)
            for c in m_cols:
                raw = row[c.index] if c.index < n else None
                self._edit(g, g.sheet, row_no, c, raw, member.fields, stored)
        for title, scols, row_no, row in g.side:
            self.side_row(g, hh, title, scols, row_no, row, old is not None)
        return hh

    def side_row(self, g: _Group, hh: Household, title: str, cols: list[_Col], row_no: int, row: tuple[Any, ...],
                 existing: bool) -> None:
        r = self.r
        known = self._side_cols.get(id(cols))
        if known is None:
            known = self._side_cols[id(cols)] = (
                {c.target: c for c in cols},
                [c for c in cols if c.spec is not None and c.scope in ("income", "helper", "measure")])
        by_target, fields = known
        n = len(row)

        def number(t: str) -> int | None:
            c = by_target.get(t)
            if c is None or c.index >= n or _empty(row[c.index]):
                return None
            v, why = _to_number(_drop_apostrophe(row[c.index]), True)
            if why is not None or v is None or not (0 < v < 10000):
                r.problem(title, row_no, c, why or tr("应为正整数", "must be a positive whole number"), g.key,
                          row[c.index])
                return -1
            return int(v)

        if not any(c.index < n and not _empty(row[c.index]) for c in fields):
            return
        if title in (INCOME_SHEET, MEASURES_SHEET):
            year = number("year")
            if year is None:
                r.problem(title, row_no, by_target.get("year"), tr("缺少年度", "the year is missing"), g.key)
                return
            if year < 0:
                return
            rec = hh.years.get(year)
            if rec is None:
                rec = hh.years[year] = YearRecord(year)
            if title == INCOME_SHEET:
                plan = self.plan
                at = f"year:{year}"
                if (hh.id, at) not in plan.rows_at:
                    plan.years_of.setdefault(hh.id, []).append(at)
                plan.rows_at[(hh.id, at)] = (title, row_no)
                if title not in plan.letters:
                    plan.letters[title] = {c.key: c.letter for c in fields}
                    year_col = by_target.get("year")
                    if year_col is not None:  # a finding about the year's income as a whole points here
                        plan.letters[title][YEAR_CELL] = year_col.letter
                stored = dict(rec.income) if existing else None
                for c in fields:
                    self._edit(g, title, row_no, c, row[c.index] if c.index < n else None, rec.income, stored)
                return
            items = rec.measures
        else:
            items = hh.helpers
            if title == HELPERS_SHEET:
                self.plan.household_cells.setdefault((hh.id, "helpers"), (title, row_no, ""))
        pos = number("position")
        if pos is not None and pos < 0:
            return
        if pos is not None and pos <= len(items) and existing:
            item = items[pos - 1]
            before: dict[str, Any] | None = dict(item)
        else:
            item, before = {}, None
            items.append(item)
        for c in fields:
            self._edit(g, title, row_no, c, row[c.index] if c.index < n else None, item, before)


# ---------------------------------------------------------------- the marked copy


def write_problem_report(source: str | Path, plan: ImportPlan, out: str | Path, lang: str = "zh",
                         findings: list[dict[str, Any]] | None = None) -> None:
    """A copy of the workbook with every problem and finding cell filled (red for what refuses a
    household, yellow for a rule finding or a note) and explained in a comment."""
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    check_file(source)
    wb = load_workbook(source)
    red = PatternFill("solid", fgColor="FF9999")
    yellow = PatternFill("solid", fgColor="FFF2AB")
    marks: list[tuple[str, int, str, str, PatternFill]] = [
        (p.sheet, p.row, p.column, p.message.get(lang), red if p.blocking else yellow) for p in plan.problems]
    for f in findings or []:
        marks.append((f.get("sheet") or plan.sheet, int(f.get("row") or 0), f.get("column") or "",
                      f"{f['rule']}: {f['message'][lang]}", yellow))
    for sheet, row, column, text, fill in marks:
        if sheet not in wb.sheetnames or row <= 0:
            continue
        ws = wb[sheet]
        cell = ws[f"{column or 'A'}{row}"]
        if type(cell).__name__ == "MergedCell":
            continue
        if cell.fill is None or cell.fill.fgColor.rgb != red.fgColor.rgb:
            cell.fill = fill
        if cell.comment is not None:
            text = cell.comment.text + "\n" + text
        cell.comment = Comment(text, "povdesk", width=300, height=120)
    wb.save(out)
