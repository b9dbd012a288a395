"""The mouse wheel scrolls the page: a drop-down, number or date box changes only once it has the focus.

Qt lets the wheel change a QComboBox or a spin box (QSpinBox, QDateEdit…) that the pointer merely
passes over while the user scrolls a long form, and gives it the focus on the way (Qt::WheelFocus),
so answers changed by themselves (是否军烈属 from 否 to 是). One application-wide event filter fixes
the whole class, in every screen: such widgets take the focus only by click or Tab, and a wheel
over one without the focus scrolls the nearest scrollable area instead.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget

GUARDED = (QComboBox, QAbstractSpinBox)


class WheelGuard(QObject):
    """Installed once on the application (`install_wheel_guard`)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(watched, GUARDED):
            if watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif (kind == QEvent.Type.Wheel and isinstance(watched, GUARDED) and isinstance(event, QWheelEvent)
              and not watched.hasFocus()):
            scroll_nearest_area(watched, event)
            return True  # the value stays as it is
        return False


def scroll_nearest_area(widget: QWidget, event: QWheelEvent) -> None:
    """Hand the wheel to the first scrollable area around `widget` (the form's page), if any."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            horizontal = abs(event.angleDelta().x()) > abs(event.angleDelta().y())
            bar = parent.horizontalScrollBar() if horizontal else parent.verticalScrollBar()
            if bar is not None and bar.maximum() > bar.minimum():
                QCoreApplication.sendEvent(bar, event)
                return
        parent = parent.parentWidget()


_guard: WheelGuard | None = None


def install_wheel_guard() -> None:
    """Once per application; every screen calls it, so a widget shown on its own is guarded too."""
    global _guard
    app = QApplication.instance()
    if app is None or _guard is not None and _guard.parent() is app:
        return
    _guard = WheelGuard(app)
    app.installEventFilter(_guard)
    _guard_made_widgets()


def all_widgets() -> list[QWidget]:
    """QApplication.allWidgets(), safely: it is a snapshot of pointers, and wrapping each allocates;
    a garbage collection meanwhile could delete a Python-owned widget of that snapshot (one left in
    a reference cycle), so a later pointer would dangle (a segfault). The collector waits until
    every one is wrapped; the list then holds them."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return list(QApplication.allWidgets())
    finally:
        if collecting:
            gc.enable()


def _guard_made_widgets() -> None:
    """Widgets made while the guard was away (or before it came) were polished already."""
    for widget in all_widgets():
        if isinstance(widget, GUARDED) and widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


@contextmanager
def guards_paused() -> Iterator[None]:
    """Build many widgets at once without the application-wide filters (this guard and the screen
    guard) in the way: each widget made sends a dozen events (ChildAdded, LayoutRequest…) through
    every Python filter at a few microseconds each, a tenth of a second over the main window's
    thousands. Nothing may be shown or wheeled inside; afterwards the filters are back, in their
    order, and the widgets made are guarded as if they had been polished under the guard."""
    from povdesk.ui import screen

    app = QApplication.instance()
    paused = [f for f in (_guard, screen.screen_guard()) if f is not None and app is not None and f.parent() is app]
    for f in paused:
        app.removeEventFilter(f)  # type: ignore[union-attr]
    try:
        yield
    finally:
        for f in paused:  # as install_wheel_guard and install_screen_guard put them (the last asked first)
            app.installEventFilter(f)  # type: ignore[union-attr]
        if _guard is not None and _guard in paused:
            _guard_made_widgets()
