"""Form specs: forms/*.toml parsed into frozen dataclasses. Nothing else reads the TOML.

The same specs drive the Qt renderer, Excel columns, field validation and the PDF card.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from povdesk.core.codes import code_lists
from povdesk.paths import forms_dir

KINDS = frozenset(
    {"text", "integer", "decimal", "date", "code", "multi_code", "yes_no", "id_number", "phone", "money"}
)
_FIELD_KEYS = frozenset(
    {"key", "kind", "zh", "en", "codes", "required", "min", "max", "max_items", "max_length",
     "pattern", "unit", "visible_if", "private", "help_zh", "help_en"}
)
_SECTION_KEYS = frozenset({"key", "zh", "en", "per_year", "repeating", "fields"})
# What a `visible_if` may name besides the section's own fields: the household's status (a 建档立卡
# field such as 贫困户属性 applies to a household in the registration, not to an ordinary rural
# household monitored against falling into poverty). Callers pass it with the values (with_context).
CONTEXT_FIELDS = frozenset({"status"})


def with_context(values: dict[str, Any], status: str | None) -> dict[str, Any]:
    """The values a `visible_if` is judged on: the record's own plus its household's status."""
    return {**values, "status": status} if status is not None else values


class FormSpecError(ValueError):
    """A form file is malformed; raised at load time so a broken form never reaches users."""


@dataclass(frozen=True, slots=True)
class Condition:
    """Show a field only when another field equals a value or is one of several values."""

    field: str
    values: tuple[Any, ...]

    def holds(self, values: dict[str, Any]) -> bool:
        return values.get(self.field) in self.values


@dataclass(frozen=True, slots=True)
class FieldSpec:
    key: str
    kind: str
    zh: str
    en: str
    section: str
    codes: str | None = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    max_items: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    unit: str | None = None
    visible_if: Condition | None = None
    private: bool = False  # never printed on public lists (ID numbers, health, bank accounts)
    help_zh: str = ""
    help_en: str = ""

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def visible(self, values: dict[str, Any]) -> bool:
        return self.visible_if is None or self.visible_if.holds(values)


@dataclass(frozen=True, slots=True)
class SectionSpec:
    key: str
    zh: str
    en: str
    fields: tuple[FieldSpec, ...]
    per_year: bool = False  # one set of values per income year
    repeating: bool = False  # a list of rows (helpers, measures)

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class FormSpec:
    key: str
    version: str
    zh: str
    en: str
    sections: tuple[SectionSpec, ...]
    by_key: MappingProxyType[str, FieldSpec]

    def section(self, key: str) -> SectionSpec:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def field(self, key: str, section: str | None = None) -> FieldSpec:
        if section is not None:
            for f in self.section(section).fields:
                if f.key == key:
                    return f
            raise KeyError(f"{section}.{key}")
        return self.by_key[key]

    def plain_fields(self) -> tuple[FieldSpec, ...]:
        """Fields stored once per record (not per year, not in a repeating section)."""
        return tuple(f for s in self.sections if not (s.per_year or s.repeating) for f in s.fields)


def _condition(raw: Any, where: str) -> Condition | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or "field" not in raw or ("equals" in raw) == ("in" in raw):
        raise FormSpecError(f"{where}: visible_if needs field and exactly one of equals / in")
    values = (raw["equals"],) if "equals" in raw else tuple(raw["in"])
    return Condition(raw["field"], values)


def parse_form(data: dict[str, Any], origin: str = "<form>") -> FormSpec:
    lists = code_lists()
    try:
        head = data["form"]
        sections = []
        by_key: dict[str, FieldSpec] = {}
        for s in data["sections"]:
            extra = set(s) - _SECTION_KEYS
            if extra:
                raise FormSpecError(f"{origin}: section {s.get('key')}: unknown keys {sorted(extra)}")
            fields = []
            for f in s["fields"]:
                where = f"{origin}: {s['key']}.{f.get('key')}"
                extra = set(f) - _FIELD_KEYS
                if extra:
                    raise FormSpecError(f"{where}: unknown keys {sorted(extra)}")
                if f["kind"] not in KINDS:
                    raise FormSpecError(f"{where}: unknown kind {f['kind']!r}")
                if f["kind"] in ("code", "multi_code") and f.get("codes") not in lists:
                    raise FormSpecError(f"{where}: unknown code list {f.get('codes')!r}")
                spec = FieldSpec(
                    key=f["key"], kind=f["kind"], zh=f["zh"], en=f["en"], section=s["key"],
                    codes=f.get("codes"), required=bool(f.get("required", False)),
                    min=f.get("min"), max=f.get("max"), max_items=f.get("max_items"),
                    max_length=f.get("max_length"), pattern=f.get("pattern"), unit=f.get("unit"),
                    visible_if=_condition(f.get("visible_if"), where), private=bool(f.get("private", False)),
                    help_zh=f.get("help_zh", ""), help_en=f.get("help_en", ""),
                )
                fields.append(spec)
                plain = not (s.get("per_year") or s.get("repeating"))
                if plain:
                    if spec.key in by_key:
                        raise FormSpecError(f"{where}: duplicate field key")
                    by_key[spec.key] = spec
            sections.append(SectionSpec(s["key"], s["zh"], s["en"], tuple(fields),
                                        bool(s.get("per_year", False)), bool(s.get("repeating", False))))
        for sec in sections:
            for fs in sec.fields:
                if fs.visible_if and fs.visible_if.field not in {x.key for x in sec.fields} | CONTEXT_FIELDS:
                    raise FormSpecError(f"{origin}: {fs.key}: visible_if refers to unknown {fs.visible_if.field}")
        return FormSpec(head["key"], str(head["version"]), head["zh"], head["en"], tuple(sections),
                        MappingProxyType(by_key))
    except KeyError as exc:
        raise FormSpecError(f"{origin}: missing key {exc}") from exc


def load_form(path: Path) -> FormSpec:
    with path.open("rb") as fh:
        return parse_form(tomllib.load(fh), path.name)


@cache
def household_form() -> FormSpec:
    return load_form(forms_dir() / "household.toml")


@cache
def member_form() -> FormSpec:
    return load_form(forms_dir() / "member.toml")


def form_version() -> str:
    """Stamped on every record: which form definitions it was entered under."""
    return f"household:{household_form().version};member:{member_form().version}"
