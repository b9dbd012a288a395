"""Strings of Qt's own dialogs that Qt's Chinese translation (qtbase_zh_CN.qm) lacks.

Qt 6 added keyboard mnemonics to a few file-dialog labels ("&Look in:", "Files of &type:") and
its shipped Chinese catalogue still carries only the old sources, so a file dialog said "Look
in:" in the middle of Chinese. The marks below put these sources, under Qt's own contexts, into
povdesk's .ts (packaging/build_translations.py); povdesk's translator is consulted before Qt's,
so the file dialog reads Chinese. Add a line here when a Qt dialog shows English in the Chinese
interface (tests/ui/test_qt_dialogs.py lists what it checks).
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

QT_STRINGS = (
    QT_TRANSLATE_NOOP("QFileDialog", "&Look in:"),
    QT_TRANSLATE_NOOP("QFileDialog", "Files of &type:"),
)
