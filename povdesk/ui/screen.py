"""Windows sized for the screen they open on: a village laptop is 1366x768, less its taskbar."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

# What a window manager adds around a window (Windows 10: a 31 px title bar and a thin frame):
# the available geometry (the screen less the taskbar) must hold the frame too.
FRAME_ALLOWANCE = 40
FRAME_SIDES = 8  # the left and right edges of the frame together


def available_geometry(widget: QWidget | None = None) -> QRect:
    screen = widget.screen() if widget is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 728)


def _frame(widget: QWidget) -> tuple[int, int]:
    """Width and height the window's frame adds, at least the title bar allowance in height."""
    fg = widget.frameGeometry()
    return max(FRAME_SIDES, fg.width() - widget.width()), max(FRAME_ALLOWANCE, fg.height() - widget.height())


def fit_window(widget: QWidget, width: int, height: int) -> None:
    """Resize to width x height, or less where the screen is smaller, and centre on the screen."""
    area = available_geometry(widget.parentWidget() or widget)
    fw, fh = _frame(widget)
    widget.resize(min(width, area.width() - fw), min(height, area.height() - fh))
    widget.move(area.x() + max(0, (area.width() - fw - widget.width()) // 2),
                area.y() + max(0, (area.height() - fh - widget.height()) // 2))


class ScreenGuard(QObject):
    """Every window and dialog, ours or Qt's, opens within the screen's available geometry: one
    bigger than the screen (a dialog sized for 1920x1080) is shrunk and moved before it appears."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if (event.type() == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow()
                and not watched.isMaximized() and not watched.isFullScreen()
                and watched.windowType() in (Qt.WindowType.Window, Qt.WindowType.Dialog)):
            keep_on_screen(watched)
        return False


def keep_on_screen(widget: QWidget) -> None:
    area = available_geometry(widget.parentWidget() or widget)
    fw, fh = _frame(widget)
    w, h = min(widget.width(), area.width() - fw), min(widget.height(), area.height() - fh)
    if (w, h) != (widget.width(), widget.height()):
        widget.resize(w, h)
    x = min(max(widget.x(), area.x()), area.x() + area.width() - fw - widget.width())
    y = min(max(widget.y(), area.y()), area.y() + area.height() - fh - widget.height())
    if (x, y) != (widget.x(), widget.y()):
        widget.move(x, y)


_screen_guard: ScreenGuard | None = None


def screen_guard() -> ScreenGuard | None:
    """The guard installed on the application, if any."""
    return _screen_guard


def install_screen_guard() -> None:
    """Once per application (every screen calls it, like install_wheel_guard)."""
    global _screen_guard
    app = QApplication.instance()
    if app is None or _screen_guard is not None and _screen_guard.parent() is app:
        return
    _screen_guard = ScreenGuard(app)
    app.installEventFilter(_screen_guard)
