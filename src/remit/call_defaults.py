"""Per-call values the scheduler fills in: lazy defaults, lazy task options, and JobInfo.

A task parameter whose default is ``get_context(...)`` gets the context's value for each call
(it then counts as an argument, so it is part of the cache key); a task option that is
``get_context(...)`` (``executor=get_context("tool.executor", "default")``) is resolved per
call; a parameter whose default is a ``JobInfo()`` placeholder receives the running job's info
(not part of the cache key). Each Task is analysed once; tasks with none of these cost one
dictionary lookup per call. This module never runs a task.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from remit.context import GET_CONTEXT, get_context_value
from remit.errors import TaskError
from remit.expression import Expression, SchedulerExpression
from remit.hashing import map_nested
from remit.jobs import JobInfo

_KEY = "_remit_lazy_parts"


@dataclass(frozen=True, slots=True)
class LazyParts:
    """What a task needs filled per call."""

    defaults: tuple[tuple[int, str, Any], ...]  # (position, name, lazy default)
    options: tuple[tuple[str, Any], ...]  # (option, lazy value)
    job_info: tuple[tuple[int, str], ...]  # (position, name) of JobInfo parameters


def lazy_parts(task: Any) -> LazyParts | None:
    """The task's lazy defaults, lazy options and JobInfo parameters (None: there are none)."""
    try:
        return task.__dict__[_KEY]
    except KeyError:
        pass
    defaults, job_info = _signature_parts(task.func)
    options = tuple((k, v) for k, v in task.options.items() if _is_lazy(v))
    parts = LazyParts(defaults, options, job_info) if defaults or options or job_info else None
    task.__dict__[_KEY] = parts
    return parts


_by_func: dict[Any, tuple[tuple, tuple]] = {}


def _signature_parts(func: Any) -> tuple[tuple, tuple]:
    """A function's lazy defaults and JobInfo parameters (once per function, not per copy)."""
    found = _by_func.get(func)
    if found is not None:
        return found
    defaults: list[tuple[int, str, Any]] = []
    job_info: list[tuple[int, str]] = []
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        params = []
    for position, param in enumerate(params):
        if isinstance(param.default, JobInfo):
            job_info.append((position, param.name))
        elif _is_lazy(param.default):
            defaults.append((position, param.name, param.default))
    found = _by_func[func] = (tuple(defaults), tuple(job_info))
    return found


def _is_lazy(value: Any) -> bool:
    if isinstance(value, Expression):
        return True
    if isinstance(value, list | tuple | dict):
        items = value.values() if isinstance(value, dict) else value
        return any(_is_lazy(v) for v in items)
    return False


def fill_call(
    task: Any, parts: LazyParts, args: tuple, kwargs: dict[str, Any],
    context: dict[str, Any] | None,
) -> tuple[Any, dict[str, Any]]:
    """The task to run (options resolved) and the keyword arguments with lazy defaults filled."""
    if parts.options:
        resolved = {name: _resolve(value, context, task, name) for name, value in parts.options}
        task = task.with_options(**resolved)
    if parts.defaults:
        kwargs = dict(kwargs)
        for position, name, default in parts.defaults:
            if position >= len(args) and name not in kwargs:
                kwargs[name] = _resolve(default, context, task, name)
    return task, kwargs


def job_info_names(parts: LazyParts, args: tuple, kwargs: dict[str, Any]) -> list[str]:
    """The JobInfo parameters this call leaves to their placeholder default."""
    return [name for position, name in parts.job_info
            if position >= len(args) and name not in kwargs]


def _resolve(value: Any, context: dict[str, Any] | None, task: Any, name: str) -> Any:
    def leaf(item: Any) -> Any:
        if isinstance(item, SchedulerExpression) and item.kind == GET_CONTEXT:
            var_path, default = item.args
            return get_context_value(context, var_path, _resolve(default, context, task, name))
        if isinstance(item, Expression):
            raise TaskError(
                f"task {task.fullname}: {name} may be a get_context(...) expression or a plain "
                f"value, not {item!r}; compute it in the task body instead"
            )
        return item

    return map_nested(leaf, value)


__all__ = ["LazyParts", "fill_call", "job_info_names", "lazy_parts"]
