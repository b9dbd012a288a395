"""emit(): every signal the app emits from Python goes through here, so PySide6's lost reference is given back.

PySide6 6.12.0's `SignalInstance.emit()` returns `True` without taking a reference to it: each call
made from Python leaves `True` one reference short. A few thousand emits later (the progress of a
600-page print preview, or a day of typing, since every keystroke emits `FormView.changed`) the
count reaches zero while the interpreter still holds it, and the process aborts, at exit or in
the middle of work ("Fatal Python error: bool_dealloc", exit code 134). Whether the installed
PySide6 has the fault is measured once at import, so a fixed release is left alone.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    fired = Signal()


def _emit_loses_a_reference() -> bool:
    """Whether emit() leaves its returned bool one reference short (measured, not assumed)."""
    probe = _Probe()
    tries = 16
    before = sys.getrefcount(True)
    for _ in range(tries):
        probe.fired.emit()
    lost = before - sys.getrefcount(True)
    if lost >= tries:
        for _ in range(lost):  # give back what the probe itself took
            _incref(True)
        return True
    return False


EMIT_LOSES_A_REFERENCE = _emit_loses_a_reference()


def emit(signal: Any, *args: Any) -> None:
    """`signal.emit(*args)`, with the reference PySide6 drops handed back when it drops one."""
    result = signal.emit(*args)
    if EMIT_LOSES_A_REFERENCE and isinstance(result, bool):
        _incref(result)
