"""Deadlines: one timer thread that calls back when a job's time limit is up.

``Deadlines.add(when, callback)`` calls ``callback()`` at ``when`` (``time.monotonic()``
seconds) on the timer thread; a callback may add a new deadline (e.g. when the job turned out
to have started later). The thread starts on first use and stops with ``stop()``. Knows
nothing of jobs.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Deadlines:
    """A heap of (time, callback) served by one daemon thread."""

    def __init__(self, name: str = "remit-deadlines") -> None:
        self.name = name
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def add(self, when: float, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at monotonic time ``when``."""
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._order), callback))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def stop(self) -> None:
        """Forget every deadline and end the thread."""
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap
                                             or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, callback = heapq.heappop(self._heap)
            callback()
