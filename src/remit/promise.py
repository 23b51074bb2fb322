"""A minimal promise whose callbacks run on the scheduler's thread, one at a time.

Settling a promise never calls its callbacks directly: they are appended to the owner's
ready queue, which the scheduler drains in its loop. Chains thousands of calls deep therefore
unwind iteratively and cannot overflow the Python stack.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

PENDING, FULFILLED, REJECTED = 0, 1, 2

Ready = deque  # of (callback, argument) pairs
_SETTLED: list = []  # the callbacks of every settled promise: never appended to


class Promise:
    """A value that will be fulfilled or rejected exactly once."""

    __slots__ = ("_ready", "state", "value", "_callbacks", "job", "key")

    def __init__(self, ready: Ready) -> None:
        self._ready = ready
        self.state = PENDING
        self.value: Any = None
        self._callbacks: list[tuple[Callable[[Any], None], Callable[[Any], None]]] = []
        self.job: Any = None  # the Job whose result this is, for task calls
        self.key: Any = None  # the scheduler's key for the expression it evaluates

    @property
    def settled(self) -> bool:
        """Whether the promise was fulfilled or rejected."""
        return self.state != PENDING

    def then(self, on_value: Callable[[Any], None], on_error: Callable[[Any], None]) -> None:
        """Call ``on_value(value)`` or ``on_error(error)`` once settled (via the ready queue)."""
        if self.state == PENDING:
            self._callbacks.append((on_value, on_error))
        elif self.state == FULFILLED:
            self._ready.append((on_value, self.value))
        else:
            self._ready.append((on_error, self.value))

    def resolve(self, value: Any) -> None:
        """Fulfil with ``value`` (ignored if already settled)."""
        self._settle(FULFILLED, value)

    def reject(self, error: Any) -> None:
        """Reject with ``error`` (ignored if already settled)."""
        self._settle(REJECTED, error)

    def _settle(self, state: int, value: Any) -> None:
        if self.state != PENDING:
            return
        self.state, self.value = state, value
        index = 0 if state == FULFILLED else 1
        callbacks, self._callbacks = self._callbacks, _SETTLED  # no list kept per promise
        for pair in callbacks:
            self._ready.append((pair[index], value))


def resolved(ready: Ready, value: Any) -> Promise:
    """A promise already fulfilled with ``value``."""
    promise = Promise(ready)
    promise.state, promise.value = FULFILLED, value
    return promise


def all_of(ready: Ready, promises: Sequence[Promise]) -> Promise:
    """Fulfilled with the list of values once all are; rejected with the first error."""
    combined = Promise(ready)
    values: list[Any] = [None] * len(promises)
    remaining = [len(promises)]
    if not promises:
        combined.resolve(values)
        return combined

    def collect(index: int) -> Callable[[Any], None]:
        def on_value(value: Any) -> None:
            values[index] = value
            remaining[0] -= 1
            if remaining[0] == 0:
                combined.resolve(values)

        return on_value

    for i, promise in enumerate(promises):
        promise.then(collect(i), combined.reject)
    return combined
