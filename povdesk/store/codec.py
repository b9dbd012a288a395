"""JSON and clock helpers shared by the store: one compact JSON form, one canonical form, one clock."""

from __future__ import annotations

import json
from typing import Any

import orjson

from povdesk.clock import SYSTEM_CLOCK
from povdesk.errors import BadInput, WorkspaceError
from povdesk.i18n import tr

# json's own C string encoder (ensure_ascii=False flavour): a str becomes a JSON literal.
encode_str = json.encoder.encode_basestring

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True)


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not a JSON value")


# The C encoder made once: JSONEncoder.encode builds a new one per call, which costs more than
# encoding a small dict (an import encodes a few million of them). No circular-reference markers:
# values come from JSON-shaped dicts; a cycle still fails, with RecursionError.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_fast = (_c_make_encoder(None, _refuse, encode_str, None, ":", ",", False, False, False)
         if _c_make_encoder is not None else None)
# The same for canonical(): sorted keys, and JSONEncoder.default so that errors read the same.
_fast_sorted = (_c_make_encoder(None, _canonical.default, encode_str, None, ":", ",", True, False, False)
                if _c_make_encoder is not None else None)


def _py_encoder(value: Any, _level: int) -> tuple[str]:
    return (_compact.encode(value),)


# For hot loops that handle errors themselves: encoder(value, 0) gives chunks of compact JSON
# ("".join them); raises TypeError/ValueError/RecursionError on values JSON cannot hold.
encoder = _fast if _fast is not None else _py_encoder


def dumps(value: Any, *, what: str = "") -> str:
    """Compact JSON as stored in the file (Chinese kept as UTF-8, which is a third of \\u escapes)."""
    try:
        if _fast is not None and not isinstance(value, str):
            return "".join(_fast(value, 0))
        return _compact.encode(value)
    except (TypeError, ValueError, RecursionError) as e:
        raise BadInput(
            tr("{what}含有无法保存的值：{err}", "{what} holds a value that cannot be stored: {err}",
               what=what or "record", err=e)
        ) from e


def canonical(value: Any) -> str:
    """Sorted-key JSON: equal values give equal text (used for diffs and the audit hash chain)."""
    if type(value) is str:
        return encode_str(value)
    if _fast_sorted is not None:
        try:
            return "".join(_fast_sorted(value, 0))
        except (TypeError, ValueError, RecursionError):
            pass  # again the usual way, for the usual error (the fast one checks no cycles)
    return _canonical.encode(value)


_orjson_loads = orjson.loads
_orjson_error = orjson.JSONDecodeError


class DamagedData(WorkspaceError, ValueError):
    """Stored JSON that does not parse: the file was damaged or edited outside povdesk. A
    ValueError too, so a caller parsing text that is not stored data can catch it as such."""


def loads(text: str | None) -> Any:
    """Stored JSON back to values: orjson (about 2.3x json's C scanner on a member's fields, the
    bulk of reading a county), the parser import-json and bundles use too, so a value reads back
    as it was read in (an integer beyond 64 bits becomes a float in both). json for what orjson
    refuses (a lone surrogate), and for the error message of text that is not JSON."""
    if text is None:
        return None
    try:
        return _orjson_loads(text)
    except _orjson_error:
        try:
            return json.loads(text)
        except (ValueError, TypeError) as exc:
            raise DamagedData(tr("数据已损坏（不是有效的 JSON：{e}）；工作区文件可能被损坏或在 povdesk 之外被改动过，"
                                 "请用最近的备份恢复", "damaged data (not valid JSON: {e}); the workspace file may be "
                                 "damaged or altered outside povdesk: restore the latest backup", e=str(exc)[:80])
                              ) from None


def now_utc() -> str:
    """UTC timestamp, ISO 8601 with milliseconds and a Z (sorts as text)."""
    return SYSTEM_CLOCK.now_iso()


def prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds so that `lo <= col < hi` is a prefix match that can use an index (LIKE cannot here)."""
    return prefix, prefix + "\U0010ffff"
