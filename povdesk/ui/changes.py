"""The one broadcast of what an operation changed: every open screen redraws itself from it, no F5.

A widget that runs an operation (povdesk.ops) hands the result's OpChanges to `ChangeBus.announce`;
every screen that shows workspace data (household list and its counters, editor, procedure panel,
dashboard) listens to `changed` and decides from the OpChanges whether it needs to read again. The
main window owns the one bus of the app and passes it to the screens it makes; a widget made on its
own (tests, a dialog) gets a bus of its own.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from povdesk.ops.changes import OpChanges
from povdesk.ui.signals import emit

log = logging.getLogger(__name__)


class ChangeBus(QObject):
    """Carries OpChanges from the screen that made them to every screen that shows the data."""

    changed = Signal(object)  # OpChanges

    def announce(self, changes: OpChanges) -> None:
        if changes.empty:
            return
        log.debug("changed: %s", changes)
        emit(self.changed, changes)
