"""Higher-order helpers over lazy values, as redun's ``redun.functools``.

- ``map_(task, values)``: ``[task(v) for v in values]``, where ``values`` may be lazy (the
  result of another task); ``starmap(task, rows)`` calls ``task(**row)`` for each row.
- ``seq(exprs)``: evaluates the expressions one after another (item i+1 starts only after
  item i finished) and returns their values as a list.
- ``flatten``, ``flat_map``, ``zip_``, ``const``, ``identity``: small tasks on lazy lists.
- ``compose(f, g)`` (``f(g(x))``), ``delay(expr)`` / ``force(delayed)``, ``apply_func(func,
  *args)`` / ``as_task(func)`` (a plain function applied to lazy arguments), and
  ``eval_(code, **vars)`` (a Python expression over lazy values).

The helpers are tasks (memoized like any other, hashed by their ``version``) or scheduler
tasks (``map_``, ``seq``: evaluated inside the scheduler, never a job); all of them are
marked ``internal`` so displays can hide them. ``no_prov(expr)`` (evaluate without
recording) lives in prov.py and is re-exported here, as redun has it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from textwrap import dedent
from typing import TYPE_CHECKING, Any, TypeVar

from remit.executors.base import failure_from_exception
from remit.prov import no_prov
from remit.scheduler_tasks import scheduler_task
from remit.task import PartialTask, Task, task

if TYPE_CHECKING:
    from remit.jobs import Job
    from remit.promise import Promise

T = TypeVar("T")


def _builtin(func: Callable[..., Any]) -> Task:
    """Register one of remit's helper tasks: namespace ``remit``, fixed version, internal."""
    made = task(namespace="remit", version="1")(func)
    made.internal = True
    return made


@_builtin
def identity(x: T) -> T:
    """Return the argument unchanged."""
    return x


@_builtin
def const(x: T, _: Any) -> T:
    """Return ``x`` once ``_`` was evaluated too (run something, keep only the first value)."""
    return x


@_builtin
def apply_func(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a plain (module-level, picklable) function on possibly lazy arguments."""
    return func(*args, **kwargs)


@_builtin
def eval_(code: str, *args: Any, **kwargs: Any) -> Any:
    """Evaluate the Python expression ``code`` with the keyword arguments as its variables.

    Positional arguments need names: ``eval_("x * 10", 4, pos_args=["x"])``.
    """
    names = kwargs.pop("pos_args", [])
    if len(names) != len(args):
        raise TypeError(
            f"eval_() got {len(args)} positional argument(s) but pos_args names {len(names)}: "
            "pass pos_args=[...] with one name per positional argument"
        )
    variables = dict(zip(names, args, strict=True))
    variables.update(kwargs)
    return eval(dedent(code), variables)  # noqa: S307 - evaluating user code is the point


@_builtin
def flatten(list_of_lists: Sequence[Sequence[T]]) -> list[T]:
    """Concatenate a list of lists into one list."""
    return [item for items in list_of_lists for item in items]


@_builtin
def zip_(*lists: Sequence[Any]) -> list[tuple]:
    """``list(zip(*lists))`` over lazy lists."""
    return list(zip(*lists, strict=False))


@_builtin
def compose_apply(tasks: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
    """Apply the last task to the arguments, then each earlier one to the result."""
    remaining = list(reversed(tasks))
    result = remaining[0](*args, **kwargs)
    for step in remaining[1:]:
        result = step(result)
    return result


@scheduler_task(namespace="remit")
def map_(scheduler: Any, parent: Job | None, promise: Promise, a_task: Any, values: Any) -> None:
    """A list of ``a_task(value)`` for each value; ``values`` may be a lazy list."""

    def call_each(task_value: Any, items: Any) -> None:
        if not isinstance(items, list | tuple):
            error = TypeError(
                f"map_() maps over a list or tuple, but the values evaluated to a "
                f"{type(items).__name__}: {items!r:.80}"
            )
            promise.reject(failure_from_exception(error, parent))
            return
        try:
            calls = [task_value(item) for item in items]
        except Exception as exc:
            promise.reject(failure_from_exception(exc, parent))
            return
        scheduler.evaluate(calls, parent).then(promise.resolve, promise.reject)

    def with_task(task_value: Any) -> None:
        if isinstance(values, list | tuple):  # each call may start as soon as its item is ready
            call_each(task_value, values)
        else:
            scheduler.evaluate(values, parent).then(
                lambda items: call_each(task_value, items), promise.reject
            )

    scheduler.evaluate(a_task, parent).then(with_task, promise.reject)


@scheduler_task(namespace="remit")
def seq(scheduler: Any, parent: Job | None, promise: Promise, exprs: Any) -> None:
    """Evaluate the expressions one after another; the list of their values."""
    if not isinstance(exprs, list | tuple):
        scheduler.evaluate(exprs, parent).then(promise.resolve, promise.reject)
        return
    results: list[Any] = []

    def step(_: Any = None) -> None:
        if len(results) == len(exprs):
            promise.resolve(results)
            return
        scheduler.evaluate(exprs[len(results)], parent).then(store, promise.reject)

    def store(value: Any) -> None:
        results.append(value)
        step()

    step()


@_builtin
def flat_map(a_task: Any, values: Sequence[Any]) -> list[Any]:
    """``flatten(map_(a_task, values))``."""
    return flatten(map_(a_task, values))


def starmap(a_task: Any, kwargs: Any = ()) -> Any:
    """A list of ``a_task(**row)`` for each dict in ``kwargs`` (which may be lazy)."""
    return map_(eval_.partial("a_task(**x)", pos_args=["x"], a_task=a_task), kwargs)


def compose(*tasks: Any) -> PartialTask:
    """A task applying the tasks right to left: ``compose(f, g)(x)`` is ``f(g(x))``."""
    if not tasks:
        raise TypeError("compose() needs at least one task")
    return compose_apply.partial(tasks)


def delay(x: Any) -> PartialTask:
    """Hold ``x`` (an expression) unevaluated until ``force`` is called on it."""
    return identity.partial(x)


def force(x: Any) -> Any:
    """Evaluate what ``delay`` held back."""
    return x()


def as_task(func: Callable[..., Any]) -> PartialTask:
    """A task from a plain module-level function: ``as_task(max)(a, b)`` with lazy a, b."""
    return apply_func.partial(func)


__all__ = [
    "apply_func", "as_task", "compose", "const", "delay", "eval_", "flat_map", "flatten",
    "force", "identity", "map_", "no_prov", "seq", "starmap", "zip_",
]
