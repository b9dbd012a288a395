"""Excel import: the povdesk template and legacy village sheets (through a column mapping).

Reads with openpyxl in read_only mode. Finds the header row under merged title rows, joins
two-row headers, groups member rows into households (by household id, household number, the
head's name, or else each head row opens a household), converts every cell by its field kind,
and lists every problem by sheet, row and column. Nothing here writes to a workspace: the caller
imports `households` in one transaction when there is no blocking problem.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from povdesk.core import idnumber
from povdesk.core.codes import CodeList, code_list
from povdesk.core.forms import FieldSpec, form_version, household_form, member_form
from povdesk.core.model import HEAD_RELATION, Household, Member, new_id
from povdesk.core.rules import RULE_VERSION
from povdesk.errors import BadInput
from povdesk.i18n import Text, tr
from povdesk.reports.excel import REGISTER_SHEET, register_columns

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
HEADER_SCAN_ROWS = 20
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

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
                             "ignore"})

_YES = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓", "t"})
_NO = frozenset({"否", "无", "没有", "n", "no", "false", "0", "×", "✗", "f"})
_DATE_TEXT = re.compile(r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Problem:
    """Something in the sheet that cannot be imported as it is."""

    sheet: str
    row: int
    column: str  # letter, "" for a whole row
    field: str  # the column's header text
    message: Text
    blocking: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "field": self.field,
                "severity": "error" if self.blocking else "warning", "message": self.message.as_dict()}


@dataclass
class ColumnMapping:
    """Header text -> target, from a mapping file (TOML) or the built-in labels."""

    columns: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    village: str | None = None


@dataclass
class ImportPlan:
    file: str
    sheet: str = ""
    header_row: int = 0
    rows: int = 0
    households: list[Household] = field(default_factory=list)
    first_row: dict[str, int] = field(default_factory=dict)  # household id -> its first sheet row
    problems: list[Problem] = field(default_factory=list)
    updated: int = 0  # households that already existed in the workspace

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]


def norm_header(text: Any) -> str:
    if text is None:
        return ""
    t = unicodedata.normalize("NFKC", str(text))
    return "".join(ch for ch in t if not ch.isspace()).strip("*:：").lower()


def _targets() -> dict[str, str]:
    known: dict[str, str] = {}
    for col in register_columns():
        for text in (col.zh, col.en, col.target, col.key):
            known.setdefault(norm_header(text), col.target)
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
    """A mapping file: `[columns]` header text = target, optional `[options]` sheet and village."""
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
    return mapping


def check_file(path: str | Path) -> None:
    """Refuse what openpyxl must not even open: missing, huge, encrypted/OLE, not a zip."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise BadInput(tr("无法读取文件：{e}", "cannot read the file: {e}", e=exc.strerror), where=str(p)) from None
    if size > MAX_BYTES:
        raise BadInput(tr("文件过大（{mb} MB，上限 {cap} MB），请按村拆分后再导入",
                          "the file is too large ({mb} MB, the limit is {cap} MB); split it by village",
                          mb=size // (1024 * 1024), cap=MAX_BYTES // (1024 * 1024)), where=str(p))
    if head == OLE_MAGIC:
        raise BadInput(tr("文件设置了打开密码（已加密），或是旧的 .xls 格式；请在 Excel 中取消密码并另存为 .xlsx",
                          "the file is password-protected (encrypted) or an old .xls; remove the password "
                          "in Excel and save it as .xlsx"), where=str(p))
    if not zipfile.is_zipfile(p):
        raise BadInput(tr("不是有效的 .xlsx 文件（文件损坏或格式不对）",
                          "not a valid .xlsx file (damaged or another format)"), where=str(p))


# ---------------------------------------------------------------- converters


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().strip("\u3000")


def _ascii(value: Any) -> str:
    return unicodedata.normalize("NFKC", _text(value)).replace(",", "").replace(" ", "")


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


def _find_code(lst: CodeList, value: Any) -> str | None:
    raw = _text(value)
    found = lst.find(raw) or lst.find(unicodedata.normalize("NFKC", raw))
    if found is None:
        digits = _ascii(value)
        if digits.isdigit():  # Excel turned "01" into 1
            for c in lst.codes:
                if c.code.isdigit() and int(c.code) == int(digits):
                    return c.code
        return None
    return found.code


def _to_code(spec: FieldSpec, value: Any) -> Converted:
    lst = code_list(spec.codes or "")
    code = _find_code(lst, value)
    if code is None:
        return None, tr("“{v}”不在代码表“{l}”中", "'{v}' is not in the code list '{l}'", v=_text(value), l=lst.zh)
    return code, None


def _to_multi(spec: FieldSpec, value: Any) -> Converted:
    """Codes or labels separated by 、 , ; / or new lines. Labels may themselves contain those
    separators (e.g. 不得纳入情形), so the longest run of parts that names a code wins."""
    lst = code_list(spec.codes or "")
    tokens = re.split(r"([、,，;；/\n]+)", _text(value))
    parts = tokens[0::2]
    out: list[str] = []
    i = 0
    while i < len(parts):
        if not parts[i].strip():
            i += 1
            continue
        for j in range(len(parts), i, -1):
            code = _find_code(lst, "".join(tokens[2 * i:2 * j - 1]))
            if code is not None:
                out.append(code)
                i = j
                break
        else:
            return None, tr("“{v}”不在代码表“{l}”中", "'{v}' is not in the code list '{l}'", v=parts[i].strip(),
                            l=lst.zh)
    return out, None


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
    """A cell value as the form's JSON value, or an explanation of why it cannot be."""
    if isinstance(value, str) and value.startswith("="):
        return None, tr("单元格是公式或以“=”开头（{v}），不导入；请改为普通文字",
                        "the cell is a formula or starts with '=' ({v}); not imported, type plain text",
                        v=value[:40])
    kind = spec.kind
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
        return _to_code(spec, value)
    if kind == "multi_code":
        return _to_multi(spec, value)
    return _text(value), None


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ---------------------------------------------------------------- reading


def _map_row(cells: tuple[Any, ...], known: dict[str, str]) -> dict[int, str]:
    out: dict[int, str] = {}
    for j, cell in enumerate(cells):
        t = known.get(norm_header(cell))
        if t:
            out[j] = t
    return out


def _find_header(rows: list[tuple[Any, ...]], known: dict[str, str]) -> tuple[int, int, dict[int, str], list[str]]:
    """(header row index, header height 1 or 2, column -> target, header texts)."""
    best, best_n = -1, 0
    for i, row in enumerate(rows):
        n = len(_map_row(row, known))
        if n > best_n:
            best, best_n = i, n
    if best_n < 3:
        return -1, 0, {}, []
    upper = rows[best]
    mapped = _map_row(upper, known)
    height = 1
    texts = [_text(c) if c is not None else "" for c in upper]
    if best + 1 < len(rows):
        lower = rows[best + 1]
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


def read_register(path: str | Path, mapping: ColumnMapping | None = None, *, village: str | None = None,
                  lookup: Callable[[str, str], Household | None] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> ImportPlan:
    """Parse a sheet into households and problems; `lookup(id, household_no)` finds a household
    already in the workspace, which is then updated (its history, income years and helpers kept)."""
    check_file(path)
    p = Path(path)
    plan = ImportPlan(file=p.name)
    known = _targets()
    if mapping is not None:
        known.update(mapping.columns)
        village = village or mapping.village
    try:
        wb = load_workbook(p, read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise BadInput(tr("无法读取 .xlsx 文件（{e}）", "cannot read the .xlsx file ({e})", e=type(exc).__name__),
                       where=str(p)) from None
    try:
        _read(wb, plan, known, mapping, village, lookup, progress, cancelled)
    except BadInput:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BadInput(tr("无法读取 .xlsx 文件（{e}）", "cannot read the .xlsx file ({e})", e=type(exc).__name__),
                       where=str(p)) from None
    finally:
        wb.close()
    return plan


def _read(wb: Any, plan: ImportPlan, known: dict[str, str], mapping: ColumnMapping | None, village: str | None,
          lookup: Callable[[str, str], Household | None] | None,
          progress: Callable[[int, int], None] | None, cancelled: Callable[[], bool] | None) -> None:
    names = list(wb.sheetnames)
    if mapping is not None and mapping.sheet:
        if mapping.sheet not in names:
            raise BadInput(tr("找不到工作表“{s}”", "no sheet '{s}'", s=mapping.sheet))
        names = [mapping.sheet]
    elif REGISTER_SHEET in names:
        names = [REGISTER_SHEET] + [n for n in names if n != REGISTER_SHEET]
    for name in names:
        ws = wb[name]
        if getattr(ws, "sheet_state", "visible") != "visible":
            continue
        it = ws.iter_rows(values_only=True)
        head: list[tuple[Any, ...]] = []
        for row in it:
            head.append(row)
            if len(head) >= HEADER_SCAN_ROWS:
                break
        at, height, cols, texts = _find_header(head, known)
        if at < 0:
            continue
        plan.sheet, plan.header_row = name, at + height
        _rows(plan, name, head[at + height:], it, at + height + 1, cols, texts, village, lookup, progress, cancelled)
        return
    raise BadInput(tr("找不到表头行：没有一个工作表的前 {n} 行里有可识别的列名（如 姓名、身份证号、与户主关系）；"
                      "旧表请用 --mapping 指定列的对应关系",
                      "no header row found: no sheet has recognisable column names (such as 姓名, 身份证号, "
                      "与户主关系) in its first {n} rows; give a --mapping for a legacy sheet", n=HEADER_SCAN_ROWS))


@dataclass
class _Group:
    key: str
    first_row: int
    household: dict[str, Any] = field(default_factory=dict)
    special: dict[str, str] = field(default_factory=dict)
    members: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)  # row, fields, member id


def _rows(plan: ImportPlan, sheet: str, buffered: list[tuple[Any, ...]], rest: Any, first_row: int,
          cols: dict[int, str], texts: list[str], village: str | None,
          lookup: Callable[[str, str], Household | None] | None,
          progress: Callable[[int, int], None] | None, cancelled: Callable[[], bool] | None) -> None:
    hf, mf = household_form().by_key, member_form().by_key
    plan_cols: list[tuple[int, str, str, FieldSpec | None, str]] = []
    for j, target in sorted(cols.items()):
        if target == "ignore":
            continue
        scope, _, key = target.partition(".")
        spec = hf.get(key) if scope == "household" else mf.get(key) if scope == "member" else None
        letter = get_column_letter(j + 1)
        plan_cols.append((j, target if spec is None else scope, key, spec, letter))
    header_of = {j: (texts[j] if j < len(texts) else "") for j in cols}
    groups: dict[str, _Group] = {}
    order: list[_Group] = []
    current: _Group | None = None
    problems = plan.problems
    has_key = any(t in ("household_id", "household_no", "head_name") for t in cols.values())

    def rows_iter() -> Any:
        yield from buffered
        yield from rest

    r = first_row - 1
    for row in rows_iter():
        r += 1
        if cancelled is not None and cancelled():
            raise BadInput(tr("已取消", "cancelled"))
        if plan.rows >= MAX_ROWS:
            raise BadInput(tr("行数超过上限 {n}，请按村拆分后再导入", "more than {n} rows; split the file by village",
                              n=MAX_ROWS))
        if not any(not _empty(v) for v in row):
            continue
        plan.rows += 1
        if progress is not None and plan.rows % 1000 == 0:
            progress(plan.rows, 0)
        hh_vals: dict[str, Any] = {}
        m_vals: dict[str, Any] = {}
        special: dict[str, str] = {}
        n = len(row)
        for j, scope, key, spec, letter in plan_cols:
            value = row[j] if j < n else None
            if _empty(value):
                continue
            if spec is None:
                special[scope] = _text(value) if scope == "head_name" else _ascii(value)
                continue
            converted, why = convert(spec, value)
            if why is not None:
                problems.append(Problem(sheet, r, letter, header_of[j], why))
                continue
            (hh_vals if scope == "household" else m_vals)[key] = converted
        gkey = special.get("household_id") or special.get("household_no") or special.get("head_name")
        if gkey is None and not has_key:
            if m_vals.get("relation") == HEAD_RELATION or current is None:
                gkey = f"row{r}"
            else:
                gkey = current.key
        if gkey is None:
            problems.append(Problem(sheet, r, "", "", tr("这一行没有户编号或户主，无法确定属于哪一户",
                                                          "this row has no household number or head, so its "
                                                          "household is unknown")))
            continue
        group = groups.get(gkey)
        if group is None:
            group = groups[gkey] = _Group(gkey, r)
            order.append(group)
        current = group
        for k, v in hh_vals.items():
            group.household.setdefault(k, v)
        for k, v in special.items():
            group.special.setdefault(k, v)
        if m_vals or special.get("member_id"):
            mid = special.get("member_id", "")
            group.members.append((r, m_vals, mid if _UUID.match(mid) else ""))
    known_member_keys = {key for _, scope, key, spec, _ in plan_cols if scope == "member" and spec is not None}
    known_hh_keys = {key for _, scope, key, spec, _ in plan_cols if scope == "household" and spec is not None}
    for group in order:
        hh = _build(group, known_hh_keys, known_member_keys, village, lookup, plan, sheet)
        if hh is not None:
            plan.households.append(hh)
            plan.first_row[hh.id] = group.first_row


def _build(group: _Group, hh_keys: set[str], member_keys: set[str], village: str | None,
           lookup: Callable[[str, str], Household | None] | None, plan: ImportPlan, sheet: str) -> Household | None:
    hid = group.special.get("household_id", "")
    hid = hid if _UUID.match(hid) else ""
    hno = group.special.get("household_no", "")
    existing = lookup(hid, hno) if lookup is not None else None
    if existing is not None:
        hh = existing
        plan.updated += 1
    else:
        code = group.special.get("village_code") or village or ""
        if not (code.isascii() and code.isdigit() and len(code) == 12):
            plan.problems.append(Problem(sheet, group.first_row, "", "", tr(
                "不知道这一户属于哪个村：表中没有村代码列，请用 --village 或映射文件的 [options] village 指定",
                "which village this household belongs to is unknown: there is no village code column; give "
                "--village or [options] village in the mapping")))
            return None
        hh = Household(village_code=code, household_no=hno, id=hid or new_id(), status="applicant",
                       form_version=form_version(), rule_version=RULE_VERSION)
    for key in hh_keys:
        if key in group.household:
            hh.fields[key] = group.household[key]
        else:
            hh.fields.pop(key, None)
    by_id = {m.id: m for m in hh.members}
    by_number = {m.id_number: m for m in hh.members if m.id_number}
    by_name = {m.name: m for m in hh.members if m.name}
    for _row, values, mid in group.members:
        member = by_id.get(mid) if mid else None
        member = member or by_number.get(values.get("id_number") or "") or by_name.get(values.get("name") or "")
        if member is None:
            member = Member(id=mid or new_id())
            hh.members.append(member)
            by_id[member.id] = member
        for key in member_keys:
            if key in values:
                member.fields[key] = values[key]
            else:
                member.fields.pop(key, None)
    return hh


def write_problem_report(source: str | Path, plan: ImportPlan, out: str | Path, lang: str = "zh") -> None:
    """A copy of the sheet with every problem cell filled red and the problem as a comment."""
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    wb = load_workbook(source)
    red = PatternFill("solid", fgColor="FF9999")
    for prob in plan.problems:
        if prob.sheet not in wb.sheetnames:
            continue
        ws = wb[prob.sheet]
        cell = ws[f"{prob.column or 'A'}{prob.row}"]
        if type(cell).__name__ == "MergedCell":
            continue
        cell.fill = red
        text = prob.message.get(lang)
        if cell.comment is not None:
            text = cell.comment.text + "\n" + text
        cell.comment = Comment(text, "povdesk", width=300, height=120)
    wb.save(out)
