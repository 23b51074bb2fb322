"""The registry of scheduler built-ins defined outside the scheduler module.

A built-in is a ``SchedulerExpression`` kind (``get_context``, ``apply_tags``, ``fork_thread``,
``subrun``, ...) whose arguments stay lazy until its handler decides what to evaluate. A handler
is called on the scheduler's thread as ``handler(scheduler, expr, parent_job, promise)`` and
settles ``promise``; it may call ``scheduler.evaluate(value, parent_job)`` for a Promise of an
evaluated value. This module only holds the table; it evaluates nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, Any, Any, Any], None]

BUILTINS: dict[str, Handler] = {}


def builtin(kind: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of SchedulerExpressions of ``kind``."""

    def register(handler: Handler) -> Handler:
        BUILTINS[kind] = handler
        return handler

    return register


__all__ = ["BUILTINS", "Handler", "builtin"]
