"""The table of scheduler built-ins defined outside the scheduler module.

A built-in is a ``SchedulerExpression`` kind (a scheduler task's full name, such as
``remit.get_context``, ``remit.apply_tags``, ``remit.subrun`` or ``remit.map_``) whose
arguments stay lazy until its handler decides what to evaluate. ``@scheduler_task``
(scheduler_tasks.py) registers each one here. A handler is called on the scheduler's thread as
``handler(scheduler, expr, parent_job, promise)`` and settles ``promise``; it may call
``scheduler.evaluate(value, parent_job)`` for a Promise of an evaluated value. This module only
holds the table; it evaluates nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, Any, Any, Any], None]

BUILTINS: dict[str, Handler] = {}

__all__ = ["BUILTINS", "Handler"]
