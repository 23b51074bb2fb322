"""Lazy expressions: the graph that calling tasks builds and the Scheduler evaluates.

- ``TaskExpression``: a call of a task with (possibly lazy) arguments.
- ``SimpleExpression``: a lazy operation on a lazy value: ``expr[0]``, ``expr.attr``,
  ``expr(...)``.
- ``SchedulerExpression``: a built-in the scheduler evaluates with lazy arguments
  (``cond``, ``catch``), so that only the needed branch runs.
- ``ValueExpression``: a concrete value wrapped as an expression (``quote``).

Expressions pickle by task *name*, so a remote job can hand back ``other_task(x)`` and the
scheduler resolves it from its own registry. This module builds graphs; it never evaluates them.
"""

from __future__ import annotations

import reprlib
from typing import TYPE_CHECKING, Any

from remit.hashing import normalize

if TYPE_CHECKING:
    from remit.task import Task

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


class Expression:
    """Base of all lazy values; supports lazy indexing, attribute access and calls."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> SimpleExpression:
        return SimpleExpression("getitem", (self, key))

    def __getattr__(self, name: str) -> SimpleExpression:
        if name.startswith("_"):
            raise AttributeError(name)
        return SimpleExpression("getattr", (self, name))

    def __call__(self, *args: Any, **kwargs: Any) -> SimpleExpression:
        return SimpleExpression("call", (self, args, kwargs))

    def __bool__(self) -> bool:
        raise TypeError(
            "a lazy remit expression has no truth value yet; use remit.cond(pred, then, else) "
            "or pass it to another task"
        )

    def __iter__(self) -> Any:
        raise TypeError(
            "a lazy remit expression cannot be iterated before it is evaluated; "
            "index it (expr[0]) or pass it to another task"
        )


class TaskExpression(Expression):
    """A lazy call of a task."""

    __slots__ = ("task_name", "args", "kwargs", "_task")

    def __init__(self, task: Task | str, args: tuple, kwargs: dict[str, Any]) -> None:
        if isinstance(task, str):
            self.task_name, self._task = task, None
        else:
            self.task_name, self._task = task.fullname, task
        self.args = args
        self.kwargs = kwargs

    @property
    def task(self) -> Task:
        """The task this expression calls (looked up by name when it came from a pickle)."""
        if self._task is None:
            from remit.task import get_task

            self._task = get_task(self.task_name)
        return self._task

    def __reduce__(self) -> tuple:
        from remit.task import registered_tasks

        overrides = None
        if self._task is not None and registered_tasks().get(self.task_name) is not self._task:
            overrides = self._task.options  # a call-site copy made with Task.with_options
        return (_rebuild_task_expression, (self.task_name, self.args, self.kwargs, overrides))

    def __repr__(self) -> str:
        return (
            f"TaskExpression({self.task_name!r}, {_repr.repr(self.args)}, "
            f"{_repr.repr(self.kwargs)})"
        )


def _rebuild_task_expression(
    task_name: str, args: tuple, kwargs: dict[str, Any], options: dict[str, Any] | None
) -> TaskExpression:
    expr = TaskExpression(task_name, args, kwargs)
    if options is not None:
        expr._task = expr.task.with_options(**options)
    return expr


class SimpleExpression(Expression):
    """A lazy Python operation (getitem, getattr or call) on lazy operands."""

    __slots__ = ("op", "operands")

    def __init__(self, op: str, operands: tuple) -> None:
        self.op = op
        self.operands = operands

    def apply(self, operands: tuple) -> Any:
        """Perform the operation on evaluated operands."""
        if self.op == "getitem":
            target, key = operands
            return target[key]
        if self.op == "getattr":
            target, name = operands
            return getattr(target, name)
        target, args, kwargs = operands
        return target(*args, **kwargs)

    def __reduce__(self) -> tuple:
        return (SimpleExpression, (self.op, self.operands))

    def __repr__(self) -> str:
        return f"SimpleExpression({self.op!r}, {_repr.repr(self.operands)})"


class SchedulerExpression(Expression):
    """A built-in evaluated by the scheduler itself, with lazy arguments (cond, catch)."""

    __slots__ = ("kind", "args")

    def __init__(self, kind: str, args: tuple) -> None:
        self.kind = kind
        self.args = args

    def __reduce__(self) -> tuple:
        return (SchedulerExpression, (self.kind, self.args))

    def __repr__(self) -> str:
        return f"{self.kind}{_repr.repr(self.args)}"


class ValueExpression(Expression):
    """A concrete value held as an expression; evaluates to the value itself, unexamined."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __reduce__(self) -> tuple:
        return (ValueExpression, (self.value,))

    def __repr__(self) -> str:
        return f"ValueExpression({_repr.repr(self.value)})"


def cond(pred: Any, then: Any, otherwise: Any = None) -> SchedulerExpression:
    """Lazily evaluate ``then`` if ``pred`` evaluates truthy, else ``otherwise``."""
    return SchedulerExpression("cond", (pred, then, otherwise))


def catch(expr: Any, *handlers: Any) -> SchedulerExpression:
    """Evaluate ``expr``; on an error of a listed class, evaluate its handler instead.

    ``catch(expr, ValueError, recover)`` or several pairs ``catch(expr, E1, h1, E2, h2)``.
    The handler (a task or function) is called with the exception.
    """
    if not handlers or len(handlers) % 2:
        raise TypeError("catch(expr, ExceptionClass, handler, ...) needs class/handler pairs")
    pairs = tuple((handlers[i], handlers[i + 1]) for i in range(0, len(handlers), 2))
    return SchedulerExpression("catch", (expr, pairs))


def quote(value: Any) -> ValueExpression:
    """Pass a value through evaluation untouched (expressions inside are not evaluated)."""
    return ValueExpression(value)


@normalize.register(TaskExpression)
def _normalize_task_expression(expr: TaskExpression) -> tuple:
    # The callee's code is not part of it: a changed callee is looked up as a call of its own.
    return ("TaskExpression", expr.task_name, normalize(expr.args), normalize(expr.kwargs))


@normalize.register(SimpleExpression)
def _normalize_simple_expression(expr: SimpleExpression) -> tuple:
    return ("SimpleExpression", expr.op, normalize(expr.operands))


@normalize.register(SchedulerExpression)
def _normalize_scheduler_expression(expr: SchedulerExpression) -> tuple:
    return ("SchedulerExpression", expr.kind, normalize(expr.args))


@normalize.register(ValueExpression)
def _normalize_value_expression(expr: ValueExpression) -> tuple:
    return ("ValueExpression", normalize(expr.value))
