"""Qt-free bilingual text: every user-facing message in the core carries Chinese and English."""

from __future__ import annotations

import os
from dataclasses import dataclass

LANGUAGES = ("zh", "en")


def current_language() -> str:
    """The language for plain-text output: POVDESK_LANG=en|zh, Chinese by default."""
    lang = os.environ.get("POVDESK_LANG", "zh").lower()[:2]
    return lang if lang in LANGUAGES else "zh"


@dataclass(frozen=True, slots=True)
class Text:
    """A message in both languages; `{name}` placeholders are filled by `format`."""

    zh: str
    en: str

    def format(self, **values: object) -> Text:
        """Both templates filled; a Text among the values gives each language its own wording."""
        zh = {k: v.zh if isinstance(v, Text) else v for k, v in values.items()}
        en = {k: v.en if isinstance(v, Text) else v for k, v in values.items()}
        return Text(self.zh.format(**zh), self.en.format(**en))

    def get(self, lang: str | None = None) -> str:
        return self.en if (lang or current_language()) == "en" else self.zh

    def __str__(self) -> str:
        return self.get()

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


def tr(zh: str, en: str, **values: object) -> Text:
    """Marker for translatable core text (the UI's tr() is Qt's; this one stays Qt-free)."""
    text = Text(zh, en)
    return text.format(**values) if values else text
