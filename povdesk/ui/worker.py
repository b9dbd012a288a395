"""The one worker helper: runs a long core job off the UI thread behind a progress dialog with Cancel.

`run_op_in_process` runs a long read-only check (the scan of a county) in a process of its own,
so it shares no interpreter lock with the window, and its memory goes when it ends.

A job is a plain function `job(progress, cancelled) -> result` from the Qt-free core, where
`progress(done, total)` reports and `cancelled()` asks whether to stop. It must open its own
Workspace (SQLite connections are never shared across threads) and never touch widgets;
`run_op` does the opening for an operation of povdesk.ops, `op(ws, progress, cancelled)`.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from povdesk.errors import Cancelled as _OpCancelled
from povdesk.errors import PovdeskError
from povdesk.store import Workspace
from povdesk.ui.errors import report_exception
from povdesk.ui.signals import emit

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]
JobFn = Callable[[Progress, Cancelled], Any]
T = TypeVar("T")
PROGRESS_INTERVAL = 0.05  # seconds


# Raised by a job that noticed `cancelled()`; the UI treats it as a quiet stop. The Qt-free
# operations (povdesk.ops) raise the same class, so their cancellation needs no translation here.
JobCancelled = _OpCancelled


class _Signals(QObject):
    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(object)


class _Runnable(QRunnable):
    def __init__(self, fn: JobFn, signals: _Signals, stop: threading.Event) -> None:
        super().__init__()
        self.fn, self.signals, self.stop = fn, signals, stop

    def run(self) -> None:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            # A bar moves at most every PROGRESS_INTERVAL: a job calling progress() for each of
            # thousands of rows must not flood the UI thread's event queue.
            now = time.monotonic()
            if done >= total or now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                emit(self.signals.progress, done, total)

        try:
            result = self.fn(progress, self.stop.is_set)
        except BaseException:  # noqa: BLE001 - every failure is handed to the UI thread
            emit(self.signals.failed, sys.exc_info())
        else:
            emit(self.signals.finished, result)


class Job(QObject):
    """A running job; `done` carries the result, `error` the exception (after the dialog)."""

    done = Signal(object)
    error = Signal(object)

    def __init__(self, parent: QWidget | None, title: str, fn: JobFn, *, show_dialog: bool = True) -> None:
        super().__init__(parent)
        self._stop = threading.Event()
        self._signals = _Signals()
        self._parent = parent
        self.dialog: QProgressDialog | None = None
        if show_dialog:
            self.dialog = QProgressDialog(title, self.tr("Cancel"), 0, 0, parent)
            self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
            self.dialog.setMinimumDuration(300)
            self.dialog.canceled.connect(self.cancel)
        self._signals.progress.connect(self._on_progress)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._runnable = _Runnable(fn, self._signals, self._stop)

    def start(self, pool: QThreadPool | None = None) -> Job:
        (pool or QThreadPool.globalInstance()).start(self._runnable)
        return self

    def cancel(self) -> None:
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def _on_progress(self, done: int, total: int) -> None:
        if self.dialog is not None:
            self.dialog.setMaximum(max(total, 0))
            self.dialog.setValue(min(done, total) if total else 0)

    def _close(self) -> None:
        if self.dialog is not None:
            self.dialog.reset()
            self.dialog.close()

    def _on_finished(self, result: Any) -> None:
        self._close()
        emit(self.done, result)

    def _on_failed(self, info: Any) -> None:
        self._close()
        exc_type, exc, tb = info
        if not isinstance(exc, JobCancelled):
            if not isinstance(exc, PovdeskError):
                log.error("job failed", exc_info=info)
            report_exception(exc_type, exc, tb, self._parent)
        emit(self.error, exc)


def run_job(parent: QWidget | None, title: str, fn: Callable[[Progress, Cancelled], T],
            on_done: Callable[[T], None] | None = None, *, show_dialog: bool = True) -> Job:
    """Start `fn` in the thread pool; `on_done(result)` runs on the UI thread when it succeeds
    (typed alike, so the type checker sees what crosses the thread)."""
    job = Job(parent, title, fn, show_dialog=show_dialog)
    if on_done is not None:
        job.done.connect(on_done)
    return job.start()


def run_op(parent: QWidget | None, title: str, ws: Workspace, op: Callable[[Workspace, Progress, Cancelled], Any],
           on_done: Callable[[Any], None] | None = None, *, readonly: bool = True, show_dialog: bool = True) -> Job:
    """run_job for an operation over the workspace `ws` is open on: in the thread it gets a Workspace
    of its own on the same file and clock (read-only unless it writes), closed when it is done."""
    path, clock = Path(ws.path), ws.clock

    def job(progress: Progress, cancelled: Cancelled) -> Any:
        own = Workspace.open(path, readonly=readonly, clock=clock)
        try:
            return op(own, progress, cancelled)
        finally:
            own.close()

    return run_job(parent, title, job, on_done, show_dialog=show_dialog)


def _process_main(conn: Any, stop: Any, path: Path, clock: Any, key: bytes | None, op: Any, args: tuple[Any, ...]) -> None:
    """In the child: open the workspace read-only, run `op(ws, *args, progress, cancelled)`, send
    ("progress", (done, total)) now and then and ("done", result) or ("error", exception) once."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            conn.send(("progress", (done, total)))

    try:
        ws = Workspace.open(path, readonly=True, clock=clock, key=key)
        try:
            result = op(ws, *args, progress, stop.is_set)
        finally:
            ws.close()
    except BaseException as exc:  # noqa: BLE001 - every failure is handed to the window
        try:
            conn.send(("error", exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle: its text then
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    else:
        conn.send(("done", result))
    finally:
        conn.close()


def run_op_in_process(parent: QWidget | None, title: str, ws: Workspace, op: Callable[..., Any],
                      args: tuple[Any, ...] = (), on_done: Callable[[Any], None] | None = None, *,
                      show_dialog: bool = True) -> Job:
    """run_op for a read-only operation, in a child process (spawn, as on Windows) waited for by a
    pool thread: `op(ws, *args, progress, cancelled)` must be a module-level function and its
    arguments and result picklable. The window's interpreter is left to the window (a check of a
    county in a thread holds the lock between the keystrokes of a search), and the memory the check
    builds up is the child's, given back when it ends. Cancel stops it at its next `cancelled()`."""
    path, clock = Path(ws.path), ws.clock
    key = ws._key  # an encrypted workspace: the data key this process unlocked, for the child to read it

    def job(progress: Progress, cancelled: Cancelled) -> Any:
        mp = multiprocessing.get_context("spawn")
        receive, send = mp.Pipe(duplex=False)
        stop = mp.Event()
        proc = mp.Process(target=_process_main, args=(send, stop, path, clock, key, op, args), daemon=True,
                          name="povdesk-check")
        proc.start()
        send.close()
        try:
            while True:
                if cancelled():
                    stop.set()
                if receive.poll(0.1):
                    try:
                        kind, payload = receive.recv()
                    except EOFError:
                        raise RuntimeError(f"the check process ended without an answer (exit {proc.exitcode})") from None
                    if kind == "progress":
                        progress(*payload)
                    elif kind == "done":
                        return payload
                    else:
                        raise payload
                elif not proc.is_alive() and not receive.poll():
                    raise RuntimeError(f"the check process ended without an answer (exit {proc.exitcode})")
        finally:
            receive.close()
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)

    return run_job(parent, title, job, on_done, show_dialog=show_dialog)
