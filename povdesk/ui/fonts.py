"""Loads the bundled CJK font so the app shows Chinese on a machine with no Chinese font."""

from __future__ import annotations

import logging

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from povdesk.paths import resource

log = logging.getLogger(__name__)

FONT_FILE = ("fonts", "NotoSansSC-Regular.ttf")


def load_app_font(app: QApplication, point_size: int = 10) -> str:
    """Register the bundled font and make it the application font; returns its family."""
    font_id = QFontDatabase.addApplicationFont(str(resource(*FONT_FILE)))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        log.warning("bundled font %s could not be loaded", resource(*FONT_FILE))
        return app.font().family()
    font = QFont(families[0], point_size)
    app.setFont(font)
    return families[0]
