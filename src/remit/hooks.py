"""Named scheduler hooks: what the provenance recorder and the status display listen to.

A listener is any object with some of these methods; the scheduler calls them on its own
thread, in order of registration:

- ``on_execution_start(execution)`` / ``on_execution_end(execution)``
- ``on_job_created(job)``: a job was made for a task call (state PENDING)
- ``on_job_submit(job)``: sent to its executor (RUNNING)
- ``on_cache_hit(job, result)``: served from the cache instead (CACHED)
- ``on_job_result(job, result)``: the task body returned ``result`` (may hold expressions)
- ``on_job_done(job, value)``: fully evaluated (DONE or CACHED)
- ``on_job_failed(job, failure)``: failed, or a child it waited on failed (FAILED)
- ``on_tags(entity_id, tags)``: tags for an execution, a value or a file (apply_tags)
- ``on_tick()``: the loop is idle or between batches (flush buffers, refresh displays)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

HOOK_NAMES = (
    "on_execution_start",
    "on_execution_end",
    "on_job_created",
    "on_job_submit",
    "on_cache_hit",
    "on_job_result",
    "on_job_done",
    "on_job_failed",
    "on_tags",
    "on_tick",
)


class Hooks:
    """Dispatches each named hook to the listeners that implement it."""

    def __init__(self, listeners: Sequence[Any] = ()) -> None:
        self._listeners: list[Any] = []
        self._by_name: dict[str, list[Callable[..., None]]] = {n: [] for n in HOOK_NAMES}
        for listener in listeners:
            self.add(listener)

    def add(self, listener: Any) -> None:
        """Register a listener; its methods named like hooks will be called."""
        self._listeners.append(listener)
        for name in HOOK_NAMES:
            method = getattr(listener, name, None)
            if method is not None:
                self._by_name[name].append(method)

    def emit(self, name: str, *args: Any) -> None:
        """Call every listener of hook ``name``."""
        for method in self._by_name[name]:
            method(*args)

    def __getitem__(self, name: str) -> list[Callable[..., None]]:
        return self._by_name[name]
