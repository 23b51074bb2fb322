"""Lazy expressions: the graph that calling tasks builds and the Scheduler evaluates.

- ``TaskExpression``: a call of a task with (possibly lazy) arguments.
- ``SimpleExpression``: a lazy operation on a lazy value: ``expr[0]``, ``expr.attr``,
  ``expr(...)`` and the operators (``expr == 3``, ``a + b``, ``x & y``, ...).
- ``SchedulerExpression``: a built-in the scheduler evaluates with lazy arguments
  (``cond``, ``catch``, ``throw``, ``remit.functools.map_``...), so that only the needed
  branch runs.
- ``ValueExpression``: a concrete value wrapped as an expression (``quote``).

Expressions pickle by task *name*, so a remote job can hand back ``other_task(x)`` and the
scheduler resolves it from its own registry. This module builds graphs; it never evaluates them.
"""

from __future__ import annotations

import operator
import reprlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from remit.hashing import normalize

if TYPE_CHECKING:
    from remit.task import Task

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


class Expression:
    """Base of all lazy values; supports lazy indexing, attribute access, calls and operators.

    Comparison operators build expressions too (``expr == 3`` is lazy), so expressions hash
    by identity and never compare equal eagerly: do not put them in ``==``-based lookups.
    """

    __slots__ = ()
    __hash__ = object.__hash__  # identity: __eq__ below is lazy, not a comparison

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
            "a lazy remit expression has no truth value yet: use remit.cond(pred, then, "
            "otherwise) to branch on it, combine conditions with & | ~ instead of and/or/not, "
            "or pass it to another task that receives the value"
        )

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(
            "a lazy remit expression cannot be iterated or unpacked before it is evaluated: "
            "declare @task(nout=N) to unpack a task's N results (a, b = t()), index it "
            "(expr[0]), use remit.functools.map_ over it, or pass it to another task"
        )

    def __await__(self) -> Any:
        raise TypeError(
            "a task cannot await a lazy remit expression (redun's eager evaluation is not "
            "supported): return the expression from the task and take its value in another "
            "task, or branch on it with remit.cond"
        )

    # Lazy operators: each builds a SimpleExpression named by its _OPERATORS key.
    def __eq__(self, other: object) -> SimpleExpression:  # type: ignore[override]
        return SimpleExpression("eq", (self, other))

    def __ne__(self, other: object) -> SimpleExpression:  # type: ignore[override]
        return SimpleExpression("ne", (self, other))

    def __lt__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("lt", (self, other))

    def __le__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("le", (self, other))

    def __gt__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("gt", (self, other))

    def __ge__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("ge", (self, other))

    def __add__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("add", (self, other))

    def __radd__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("radd", (self, other))

    def __sub__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("sub", (self, other))

    def __rsub__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("rsub", (self, other))

    def __mul__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("mul", (self, other))

    def __rmul__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("rmul", (self, other))

    def __truediv__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("div", (self, other))

    def __rtruediv__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("rdiv", (self, other))

    def __floordiv__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("floordiv", (self, other))

    def __rfloordiv__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("rfloordiv", (self, other))

    def __mod__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("mod", (self, other))

    def __rmod__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("rmod", (self, other))

    def __and__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("and", (self, other))

    def __rand__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("rand", (self, other))

    def __or__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("or", (self, other))

    def __ror__(self, other: Any) -> SimpleExpression:
        return SimpleExpression("ror", (self, other))

    def __invert__(self) -> SimpleExpression:
        return SimpleExpression("not", (self,))

    def __neg__(self) -> SimpleExpression:
        return SimpleExpression("neg", (self,))


# Operations of SimpleExpression by name, applied to the evaluated operands. The reflected
# ones ("radd": ``3 + expr``) take the expression first. ``&``, ``|`` and ``~`` are the
# logical and/or/not of the values, as in redun (so ``(a > 1) & (b < 2)`` reads naturally).
_OPERATORS: dict[str, Callable[..., Any]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
    "gt": operator.gt, "ge": operator.ge,
    "add": operator.add, "radd": lambda a, b: b + a,
    "sub": operator.sub, "rsub": lambda a, b: b - a,
    "mul": operator.mul, "rmul": lambda a, b: b * a,
    "div": operator.truediv, "rdiv": lambda a, b: b / a,
    "floordiv": operator.floordiv, "rfloordiv": lambda a, b: b // a,
    "mod": operator.mod, "rmod": lambda a, b: b % a,
    "and": lambda a, b: a and b, "rand": lambda a, b: b and a,
    "or": lambda a, b: a or b, "ror": lambda a, b: b or a,
    "not": operator.not_, "neg": operator.neg,
}
_SYMBOLS = {
    "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "add": "+",
    "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%", "and": "&", "or": "|",
}


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

    def __iter__(self) -> Iterator[Any]:
        nout = self.task.nout
        if nout is None:
            return super().__iter__()
        return iter([SimpleExpression("getitem", (self, i)) for i in range(nout)])

    def __reduce__(self) -> tuple:
        from remit.task import registered_tasks

        overrides = None
        if self._task is not None and registered_tasks().get(self.task_name) is not self._task:
            overrides = dict(self._task.options)  # a call-site copy made with task.options()
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
        if self.op == "call":
            target, args, kwargs = operands
            return target(*args, **kwargs)
        return _OPERATORS[self.op](*operands)

    def __reduce__(self) -> tuple:
        return (SimpleExpression, (self.op, self.operands))

    def __repr__(self) -> str:
        operands = self.operands
        if self.op in _SYMBOLS:
            return f"({operands[0]!r} {_SYMBOLS[self.op]} {_repr.repr(operands[1])})"
        if self.op[0] == "r" and self.op[1:] in _SYMBOLS:
            return f"({_repr.repr(operands[1])} {_SYMBOLS[self.op[1:]]} {operands[0]!r})"
        if self.op == "getitem":
            return f"{operands[0]!r}[{_repr.repr(operands[1])}]"
        if self.op == "getattr":
            return f"{operands[0]!r}.{operands[1]}"
        return f"SimpleExpression({self.op!r}, {_repr.repr(operands)})"


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


def throw(error: Any) -> SchedulerExpression:
    """Fail lazily with ``error`` (an exception, possibly lazy), e.g. in a ``cond`` branch."""
    return SchedulerExpression("throw", (error,))


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
