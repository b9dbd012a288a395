"""The one place that reads the real date and time; everything else takes a Clock from outside.

"Today" decides what the rules see (ages, deadlines, dates in the future), which year screens
offer, the default date of a procedure step and the demo's story. Tests and reproducible runs
(`povdesk --today 2027-06-30 …`) pass a FixedClock; the app and the CLI default to SYSTEM_CLOCK.
Timestamps (when something was recorded, audit entries, backup names) come from `now()`, which is
always the real instant: recording a step "as of" another day does not backdate the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from povdesk.errors import BadInput
from povdesk.i18n import Text


class Clock:
    """The real date and time (the base class is the system clock)."""

    def today(self) -> dt.date:
        return dt.date.today()

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware in UTC."""
        return dt.datetime.now(dt.UTC)

    def now_iso(self) -> str:
        """UTC timestamp, ISO 8601 with milliseconds and a Z (sorts as text)."""
        return self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class FixedClock(Clock):
    """A clock whose today is fixed; `now()` stays the real instant (see the module docstring)."""

    day: dt.date

    def today(self) -> dt.date:
        return self.day


SYSTEM_CLOCK = Clock()


def parse_today(text: str, option: str = "--today") -> FixedClock:
    """`--today YYYY-MM-DD` as a clock; a clear BadInput for anything else."""
    try:
        return FixedClock(dt.date.fromisoformat(text.strip()))
    except ValueError:
        raise BadInput(Text(f"{option} 应为 YYYY-MM-DD 格式的日期，而不是“{text}”",
                            f"{option} must be a date as YYYY-MM-DD, not '{text}'")) from None
