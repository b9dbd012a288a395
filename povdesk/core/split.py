"""Work through a list of households from both ends: a forked helper process from the front, this
process from the back, meeting in the middle. Used by import-json and by sync bundle import, which
replay and validate a county's households while this process writes them.

The helper is a fork (Linux only, with no other threads running): it sees this process's memory
as it was, so the households need not be sent to it; only results travel back, pickled. It makes
its own list with `produce()`: import-json and sync read their files a second time, and the fork
happens before this process reads them. Forking later, with the records in memory, would double
that memory: every page holding them is shared, and the first process to touch one (a reference
count is a write) gets a copy. `work` is applied to each item and (ids, results) sent back.

    split = SplitWork.start(produce, work, fingerprint=...)   # None when not worth it / possible
    ...                                                        # this process does its own part
    results = split.finish(households)                         # aligned; NOT_DONE where not done

Whatever the helper did not do (it failed, it met a malformed item, `fingerprint()` changed, `work`
raised) comes back as NOT_DONE, to be done in this process in order, so that results and errors
are the ones a plain loop gives. bounds[0] is written only by the helper (the next index it may
take), bounds[1] only by this process (the lowest index it has taken); a stale read can make both
do one item, never neither. bounds[2] is set by the helper when `produce()` yields None (a
malformed item), so that this process can stop early.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

from povdesk.core.model import Household

log = logging.getLogger(__name__)


class _NotDone:
    """A result neither process computed; one object, also after a trip through pickle."""

    def __reduce__(self) -> str:
        return "NOT_DONE"

    def __repr__(self) -> str:
        return "NOT_DONE"


NOT_DONE: Any = _NotDone()


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused for a bulk job: households hold no cycles, and with
    millions of live objects every full collection walks all of them."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def file_states(paths: Sequence[os.PathLike[str] | str]) -> list[tuple[int, int, int] | None]:
    """(size, modification time, inode) of each file, None where it cannot be read: a fingerprint
    for start() that tells when a file the helper reads changed under it."""
    out: list[tuple[int, int, int] | None] = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            out.append(None)
        else:
            out.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return out


def worth_it(parallel: bool | None) -> bool:
    """True when a helper may help: asked for, or left to us on a machine with a second CPU."""
    return (os.cpu_count() or 1) > 1 if parallel is None else parallel


def _fork_context() -> Any:
    """A fork context where forking is safe and cheap: Linux, no other threads running."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None


def _guarded(work: Callable[[Household], Any], hh: Household) -> Any:
    try:
        return work(hh)
    except Exception:  # done again by the caller, in order, to raise there
        return NOT_DONE


def _die_with_parent() -> None:
    """Ask Linux to end this process when the parent ends (killed mid-import, say)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _helper(produce: Callable[[], Iterator[Household | None]], work: Callable[[Household], Any],
            fingerprint: Callable[[], Any], bounds: Any, out: Connection) -> None:
    _die_with_parent()
    gc.disable()
    results: list[Any] = []
    ids: list[str] = []
    ok = True
    before = fingerprint()
    try:
        for index, hh in enumerate(produce()):
            if index >= bounds[1]:
                break
            if hh is None:
                bounds[2] = 1
                break
            bounds[0] = index + 1
            ids.append(hh.id)
            results.append(_guarded(work, hh))
    except Exception:
        ok = False
    try:
        out.send({"ok": ok and fingerprint() == before, "state": before, "ids": ids, "results": results})
    finally:
        out.close()


def _no_fingerprint() -> None:
    return None


class SplitWork:
    """One helper process at work on a list; made by start(), ended by finish() or stop()."""

    def __init__(self, proc: Any, conn: Connection, bounds: Any, work: Callable[[Household], Any],
                 fingerprint: Callable[[], Any]) -> None:
        self._proc, self._conn, self._bounds = proc, conn, bounds
        self._work = work
        self._fingerprint = fingerprint
        self._state = fingerprint()
        self.stats: dict[str, Any] = {"helper": True}
        # After finish(): whether the helper met a malformed item (None: its word cannot be
        # trusted), and the first index this process did (the helper checked none from there).
        self.verdict: bool | None = None
        self.parent_from = 0

    @classmethod
    def start(cls, produce: Callable[[], Iterator[Household | None]], work: Callable[[Household], Any], *,
              fingerprint: Callable[[], Any] = _no_fingerprint) -> SplitWork | None:
        """Fork the helper; None where that is not possible (not Linux, threads running, no processes)."""
        mp = _fork_context()
        if mp is None:
            return None
        try:
            receive, send = mp.Pipe(duplex=False)
            bounds = mp.Array("q", [0, sys.maxsize, 0], lock=False)
            proc = mp.Process(target=_helper, args=(produce, work, fingerprint, bounds, send), daemon=True)
            proc.start()
            send.close()
        except OSError as exc:  # no processes to spare: do it all here
            log.info("no helper process (%s)", exc)
            return None
        return cls(proc, receive, bounds, work, fingerprint)

    @property
    def malformed(self) -> bool:
        """The helper has met a malformed item (produce() yielded None)."""
        return bool(self._bounds[2])

    def limit(self, n: int) -> None:
        """There are n items: the helper need not look further."""
        self._bounds[1] = min(self._bounds[1], n)

    def finish(self, items: Sequence[Household]) -> list[Any]:
        """Do items from the back until meeting the helper, then take its results: one per item,
        NOT_DONE where neither process did it (or the helper's copy of the item differs)."""
        n = len(items)
        results: list[Any] = [NOT_DONE] * n
        bounds = self._bounds
        self.limit(n)
        mine = 0
        work = self._work
        while not self.malformed:  # after a malformed item the caller refuses all: nothing to do
            i = bounds[1] - 1
            if i < bounds[0]:
                break
            bounds[1] = i
            results[i] = _guarded(work, items[i])
            mine += 1
        self.parent_from = bounds[1]
        msg = self._receive()
        self.stop()
        if msg is None:
            self.stats.update(helper_failed=True, parent_did=mine)
            return results
        theirs, ids = msg["results"], msg["ids"]
        taken = 0
        for i in range(min(len(theirs), n)):
            if ids[i] == items[i].id and results[i] is NOT_DONE and theirs[i] is not NOT_DONE:
                results[i] = theirs[i]
                taken += 1
        self.stats.update(helper_did=taken, parent_did=mine)
        return results

    def _receive(self) -> dict[str, Any] | None:
        try:
            msg = self._conn.recv()
        except (EOFError, OSError):
            msg = None
        ok = bool(msg) and msg["ok"] and msg["state"] == self._state and self._fingerprint() == self._state
        self.verdict = self.malformed if ok else None
        return msg if ok else None

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.terminate()
            self._proc.join()
            self._proc = None
