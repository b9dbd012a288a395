"""Form values as printed text: codes as labels, yes/no as 是/否, numbers without noise.

Shared by the card, the publicity list, the reports and the Excel register so that a value looks
the same everywhere it is printed.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from povdesk.core.codes import code_list
from povdesk.core.forms import FieldSpec
from povdesk.core.model import STATUS_LABELS, Member
from povdesk.core.regions import full_name

YES_NO = {True: ("是", "Yes"), False: ("否", "No")}


def _label(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def number(value: float, decimals: int | None = None) -> str:
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return f"{value:.10g}"


def money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def show(spec: FieldSpec, value: Any, lang: str = "zh") -> str:
    """One field value as text; empty string when not filled."""
    if value is None or value == "" or value == []:
        return ""
    kind = spec.kind
    if kind == "code":
        return code_list(spec.codes or "").label(str(value), lang)
    if kind == "multi_code":
        items = value if isinstance(value, list) else [value]
        lst = code_list(spec.codes or "")
        return ("、" if lang == "zh" else ", ").join(lst.label(str(v), lang) for v in items)
    if kind == "yes_no":
        if isinstance(value, bool):
            return _label(lang, *YES_NO[value])
        return str(value)
    if kind in ("decimal", "money") and isinstance(value, int | float) and not isinstance(value, bool):
        return money(float(value)) if kind == "money" else number(float(value))
    return str(value)


def code_label(list_key: str, code: Any, lang: str = "zh") -> str:
    if code is None or code == "":
        return ""
    return code_list(list_key).label(str(code), lang)


def status_label(status: str, lang: str = "zh") -> str:
    zh, en = STATUS_LABELS.get(status, (status, status))
    return _label(lang, zh, en)


def age(member: Member, on: date) -> str:
    born = member.birth_date
    if born is None:
        return ""
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return str(max(years, 0))


@cache
def village_name(code: str) -> str:
    """Full region name of a village code (cached: a village prints many households)."""
    try:
        return full_name(code)
    except Exception:  # noqa: BLE001 - a malformed code still prints, as itself
        return code


def mask_tail(text: str, keep: int = 4) -> str:
    """A bank account as printed: only the last digits shown."""
    text = str(text)
    return ("****" + text[-keep:]) if len(text) > keep else text
