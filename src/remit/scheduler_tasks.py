"""Scheduler tasks: built-ins evaluated by the scheduler itself, with their arguments lazy.

A scheduler task (``remit.functools.map_``, ``seq``...) is not a job: calling it returns a
``SchedulerExpression`` whose arguments the scheduler hands, still unevaluated, to the task's
handler. The handler decides what to evaluate and when, through
``scheduler.evaluate(value, parent) -> Promise``, and settles the promise it was given::

    @scheduler_task(namespace="mylib")
    def first_ready(scheduler, parent, promise, exprs):
        ...

Scheduler tasks are registered like tasks (by full name), so expressions that name them
pickle and hash like any other, and ``.partial`` works on them; their handlers join the
scheduler's table of built-ins (``remit.builtins``) under that name. This module defines the
mechanism only; the built-ins live where they belong (functools.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from remit.builtins import BUILTINS
from remit.errors import TaskError
from remit.task import Task, _registry

if TYPE_CHECKING:
    from remit.expression import SchedulerExpression
    from remit.jobs import Job
    from remit.promise import Promise

# handler(scheduler, parent_job, promise, *args) -> None; it settles the promise later.
Handler = Callable[..., None]


class SchedulerTask(Task):
    """A task whose calls the scheduler evaluates itself (see the module docstring)."""

    def __init__(self, handler: Handler, name: str, namespace: str, version: str) -> None:
        super().__init__(handler, name=name, namespace=namespace, version=version)
        params = list(inspect.signature(handler).parameters.values())[3:]
        self._call_signature = inspect.Signature(params)
        self.internal = True

    def __call__(self, *args: Any, **kwargs: Any) -> SchedulerExpression:
        from remit.expression import SchedulerExpression

        try:
            bound = self._call_signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.fullname}(): {exc}") from None
        bound.apply_defaults()
        return SchedulerExpression(self.fullname, tuple(bound.args))

    def with_options(self, **options: Any) -> Task:
        """Scheduler tasks run inside the scheduler: they take no options."""
        raise TaskError(f"{self.fullname} runs inside the scheduler and takes no options")

    def start(
        self, scheduler: Any, expr: SchedulerExpression, parent: Job | None, promise: Promise
    ) -> None:
        """Begin evaluating one call: the handler settles ``promise`` when done."""
        self.func(scheduler, parent, promise, *expr.args)


def scheduler_task(
    name: str | None = None, namespace: str = "", version: str = "1"
) -> Callable[[Handler], SchedulerTask]:
    """Declare a scheduler task from a handler ``(scheduler, parent, promise, *args)``."""

    def decorate(handler: Handler) -> SchedulerTask:
        new = SchedulerTask(handler, name or handler.__name__, namespace, version)
        _registry[new.fullname] = new
        BUILTINS[new.fullname] = new.start
        return new

    return decorate
