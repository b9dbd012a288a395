"""JSON Lines exchange: one household per line, the shape sync carries (resources/schema)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from povdesk.core.model import ROLES, STATUSES, Household
from povdesk.errors import BadInput
from povdesk.i18n import Text

_VILLAGE = re.compile(r"^[0-9]{12}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TOP_KEYS = frozenset({"id", "household_no", "village_code", "status", "form_version", "rule_version", "version",
                       "updated_at", "updated_by", "fields", "members", "years", "helpers", "events"})
_MEMBER_KEYS = frozenset({"id", "fields"})
# str(uuid.UUID(value)) == value holds exactly for this form (ASCII, lower case, hyphens in place).
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# What json.loads makes for a scalar; anything else takes the full check in _check_values.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def dump_line(hh: Household) -> str:
    return json.dumps(hh.to_dict(), ensure_ascii=False, separators=(",", ":"))


def write_jsonl(households: Iterable[Household], out: IO[str]) -> int:
    n = 0
    for hh in households:
        out.write(dump_line(hh))
        out.write("\n")
        n += 1
    return n


class LineError(BadInput):
    """A malformed line; `where` names the file, line and field."""


def _fail(where: str, zh: str, en: str) -> LineError:
    return LineError(Text(zh, en), where=where)


def _is_uuid(value: Any) -> bool:
    if isinstance(value, str) and _UUID.fullmatch(value) is not None:
        return True  # the common case, without building a UUID
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _check_values(obj: Any, where: str) -> None:
    if not isinstance(obj, dict):
        raise _fail(where, "应为对象（键值表）", "must be an object")
    scalars = _SCALARS
    if type(obj) is dict and set(map(type, obj.values())) <= scalars:
        return  # the common case, without a Python-level loop
    for key, value in obj.items():
        if type(value) in scalars:
            continue
        ok = value is None or isinstance(value, str | int | float | bool) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)) or (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))
        if not ok:
            raise _fail(f"{where}.{key}", "值的类型不正确", "value of the wrong type")


def _structure(data: Any, where: str) -> None:
    """What JSON Schema would say, with the place named; the rules judge the values after."""
    if not isinstance(data, dict):
        raise _fail(where, "每行应为一个户的 JSON 对象", "each line must be one household as a JSON object")
    extra = None if data.keys() <= _TOP_KEYS else set(data) - _TOP_KEYS
    if extra:
        raise _fail(where, f"未知字段 {sorted(extra)}", f"unknown keys {sorted(extra)}")
    for key in ("id", "village_code", "status", "fields", "members"):
        if key not in data:
            raise _fail(where, f"缺少“{key}”", f"missing '{key}'")
    if not _is_uuid(data["id"]):
        raise _fail(f"{where}: id", "不是有效的 UUID", "not a valid UUID")
    if not isinstance(data["village_code"], str) or not _VILLAGE.match(data["village_code"]):
        raise _fail(f"{where}: village_code", "应为 12 位村级区划代码", "must be a 12-digit village code")
    if data["status"] not in STATUSES:
        raise _fail(f"{where}: status", f"未知状态“{data['status']}”", f"unknown status '{data['status']}'")
    if not isinstance(data.get("version", 0), int):
        raise _fail(f"{where}: version", "应为整数", "must be an integer")
    _check_values(data["fields"], f"{where}: fields")
    if not isinstance(data["members"], list):
        raise _fail(f"{where}: members", "应为数组", "must be an array")
    for i, m in enumerate(data["members"]):
        w = f"{where}: members[{i}]"
        if not isinstance(m, dict) or not _is_uuid(m.get("id")) or not m.keys() <= _MEMBER_KEYS:
            raise _fail(w, "成员应有 id（UUID）和 fields", "a member needs an id (UUID) and fields")
        _check_values(m.get("fields") or {}, f"{w}.fields")
    for i, y in enumerate(data.get("years") or []):
        w = f"{where}: years[{i}]"
        if not isinstance(y, dict) or not isinstance(y.get("year"), int) or not 2000 <= y["year"] <= 2100:
            raise _fail(w, "年度记录应有 2000～2100 之间的 year", "a year record needs a year between 2000 and 2100")
        _check_values(y.get("income") or {}, f"{w}.income")
        for j, meas in enumerate(y.get("measures") or []):
            _check_values(meas, f"{w}.measures[{j}]")
    for i, h in enumerate(data.get("helpers") or []):
        _check_values(h, f"{where}: helpers[{i}]")
    uuid_match, date_match, roles = _UUID.fullmatch, _DATE.match, ROLES
    for i, e in enumerate(data.get("events") or []):
        if (type(e) is dict and type(eid := e.get("id")) is str and uuid_match(eid) is not None
                and type(p := e.get("procedure")) is str and p and type(st := e.get("step")) is str and st
                and type(u := e.get("user")) is str and u and type(d := e.get("date")) is str
                and date_match(d) is not None and e.get("role") in roles):
            continue  # the common case; the checks below name what is wrong
        w = f"{where}: events[{i}]"
        if not isinstance(e, dict) or not _is_uuid(e.get("id")):
            raise _fail(w, "程序记录应有 id（UUID）", "a procedure event needs an id (UUID)")
        for key in ("procedure", "step", "user"):
            if not isinstance(e.get(key), str) or not e[key]:
                raise _fail(f"{w}.{key}", "缺少或不是文本", "missing or not text")
        if not isinstance(e.get("date"), str) or not _DATE.match(e["date"]):
            raise _fail(f"{w}.date", "日期应为 YYYY-MM-DD", "date must be YYYY-MM-DD")
        if e.get("role") not in ROLES:
            raise _fail(f"{w}.role", f"未知角色“{e.get('role')}”", f"unknown role '{e.get('role')}'")


def _loads(line: str | bytes, where: str) -> Any:
    """One line's JSON. orjson parses it (about twice as fast as the standard parser, which is most
    of reading a county); what orjson refuses is parsed again by the standard parser, whose error
    names the column, and whose wider acceptance (integers past 64 bits, lone surrogates) is kept."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
    except UnicodeDecodeError:
        raise _fail(where, "不是 UTF-8 编码的文本", "not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(where, f"不是有效的 JSON（第 {exc.colno} 列：{exc.msg}）",
                    f"not valid JSON (column {exc.colno}: {exc.msg})") from None


def parse_line(line: str | bytes, where: str, *, checked: bool = False) -> Household:
    """One record line as a household. `checked`: the line already passed here (a worker parsed
    it and its decision came back), so its structure is not checked again (a function of the
    line's bytes: it passed there, so it passes here)."""
    data = _loads(line, where)
    if not checked:
        _structure(data, where)
    try:
        return Household.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(where, f"结构不正确：{exc}", f"malformed record: {exc}") from None


def jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each non-blank line; a byte-order mark at the start (as Windows
    Notepad writes) is dropped. BadInput when the file cannot be opened."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise BadInput(Text(f"无法打开文件：{exc.strerror}", f"cannot open the file: {exc.strerror}"),
                       where=str(path)) from None
    with fh:
        for n, line in enumerate(fh, 1):
            if n == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if line.strip():
                yield n, line


def read_jsonl(path: Path, *, checked: bool = True) -> Iterator[tuple[int, Household]]:
    """(line number, household) for each non-blank line; raises LineError naming file and line.

    `checked=False` leaves out the structure checks, for a caller that has them done elsewhere
    (import-json's helper process) and reads again checked when anything goes wrong."""
    name = path.name
    for n, line in jsonl_lines(path):
        if checked:
            yield n, parse_line(line, f"{name}:{n}")
        else:
            yield n, Household.from_dict(_loads(line, f"{name}:{n}"))
