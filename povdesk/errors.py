"""Typed errors: each carries a bilingual message a village worker can act on."""

from __future__ import annotations

from povdesk.i18n import Text


class PovdeskError(Exception):
    """Base of every expected failure; the CLI prints it in one line, the UI in one dialog."""

    exit_code = 2

    def __init__(self, text: Text, *, where: str | None = None) -> None:
        self.text = text
        self.where = where
        super().__init__(text.en)

    def message(self, lang: str | None = None) -> str:
        msg = self.text.get(lang)
        return f"{self.where}: {msg}" if self.where else msg

    def __str__(self) -> str:
        return self.message()


class BadInput(PovdeskError):
    """Malformed input from a file, a command line or a form."""


class WorkspaceError(PovdeskError):
    """The workspace file cannot be used: missing, locked, read-only, newer, full disk, corrupt."""


class AuthError(PovdeskError):
    """Unknown user, wrong password or disabled account."""


class NotPermitted(PovdeskError):
    """The user's role may not perform this action."""


class ProcedureRefused(PovdeskError):
    """A procedure step was refused; `reasons` lists every reason, not only the first."""

    exit_code = 1

    def __init__(self, reasons: list[Text], *, where: str | None = None) -> None:
        self.reasons = reasons
        joined = Text("；".join(r.zh for r in reasons), "; ".join(r.en for r in reasons))
        super().__init__(joined, where=where)


class ImportCancelled(PovdeskError):
    """The person stopped an import; nothing was written (its transaction was rolled back)."""


class Cancelled(Exception):
    """Raised by long work that noticed `cancelled()`: a quiet stop, not a failure (the UI's worker
    shows nothing for it). Not a PovdeskError: there is nothing to tell the person who cancelled."""
