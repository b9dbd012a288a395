"""Code lists (resources/codes.toml) as frozen lookups."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from povdesk.paths import resource


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    zh: str
    en: str
    attrs: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class CodeList:
    key: str
    zh: str
    en: str
    codes: tuple[Code, ...]
    by_code: MappingProxyType[str, Code]

    # Codes are strings; a value of another type (a list or an object from an imported file, a
    # number) is simply not a code here, never an error.
    def __contains__(self, code: object) -> bool:
        return type(code) is str and code in self.by_code

    def label(self, code: Any, lang: str = "zh") -> str:
        c = self.by_code.get(code) if type(code) is str else None
        return c.label(lang) if c else code if type(code) is str else str(code)

    def attr(self, code: Any, name: str, default: Any = None) -> Any:
        c = self.by_code.get(code) if type(code) is str else None
        return c.attrs.get(name, default) if c else default

    def find(self, text: str) -> Code | None:
        """A code from its code, Chinese or English label (Excel import, CLI)."""
        text = text.strip()
        if text in self.by_code:
            return self.by_code[text]
        for c in self.codes:
            if text in (c.zh, c.en) or text.lower() == c.en.lower():
                return c
        return None


def _parse(data: dict[str, Any]) -> dict[str, CodeList]:
    lists: dict[str, CodeList] = {}
    for key, body in data.items():
        codes = tuple(
            Code(
                code=str(c["code"]),
                zh=c["zh"],
                en=c["en"],
                attrs=MappingProxyType({k: v for k, v in c.items() if k not in ("code", "zh", "en")}),
            )
            for c in body["codes"]
        )
        lists[key] = CodeList(key, body["zh"], body["en"], codes, MappingProxyType({c.code: c for c in codes}))
    return lists


@cache
def code_lists() -> MappingProxyType[str, CodeList]:
    with resource("codes.toml").open("rb") as fh:
        return MappingProxyType(_parse(tomllib.load(fh)))


def code_list(key: str) -> CodeList:
    return code_lists()[key]
