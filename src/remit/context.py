"""Context: a tree of values that reaches deep tasks without passing through every caller.

``get_context("my_tool.flag", False)`` is a lazy expression. Used as a task parameter's
default or as a task option, the scheduler fills it per call from the context that call sees,
so the value becomes one of the call's arguments: changing it re-runs only the tasks that read
it. Inside a task body it evaluates like any other expression.

Where the context comes from (later wins, dictionaries merge key by key):

1. ``.remit/context.json`` in the config directory;
2. ``[scheduler] context = {JSON}`` or ``[scheduler] context_file = PATH`` in remit.ini;
3. a ``[context]`` section of remit.ini, one dotted path per line (``my_tool.flag = true``;
   values are JSON, else text);
4. ``remit run --context-file F`` (JSON) and ``--context key.path=value``, or
   ``Scheduler.run(expr, context={...})``;
5. ``task.update_context({...})`` for one call and the calls below it.

This module parses, merges and looks values up; the scheduler decides which context a call sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from remit.errors import ConfigError
from remit.expression import SchedulerExpression
from remit.hashing import hash_value
from remit.scheduler_tasks import scheduler_task

CONTEXT_FILENAME = "context.json"
_MISSING = object()


@scheduler_task(name="get_context", namespace="remit")
def _get_context(scheduler: Any, parent: Any, promise: Any, var_path: str,
                 default: Any = None) -> None:
    """Resolve a context variable from the context the calling job sees."""
    context = parent.context if parent is not None else scheduler.context
    scheduler.evaluate(default, parent).then(
        lambda value: promise.resolve(get_context_value(context, var_path, value)),
        promise.reject,
    )


GET_CONTEXT = _get_context.fullname  # the kind of get_context(...) expressions


def get_context(var_path: str, default: Any = None) -> SchedulerExpression:
    """A lazy value: the context variable at dotted ``var_path``, or ``default`` if unset."""
    if not isinstance(var_path, str) or not var_path:
        raise TypeError("get_context(var_path, default): var_path is a dotted name such as "
                        "'my_tool.flag'")
    return _get_context(var_path, default)


def get_context_value(context: dict[str, Any] | None, var_path: str, default: Any) -> Any:
    """The value at dotted ``var_path`` in a context tree, or ``default``."""
    value: Any = context or {}
    for part in var_path.split("."):
        if not isinstance(value, dict):
            return default
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return default
    return value


def merge_context(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A new tree: ``base`` with ``update`` merged in (nested dicts merge, others replace)."""
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        merged[key] = (merge_context(old, value)
                       if isinstance(old, dict) and isinstance(value, dict) else value)
    return merged


def context_hash(context: dict[str, Any] | None) -> str:
    """The hash of a context tree ('' for an empty one)."""
    return hash_value(context) if context else ""


def parse_assignment(text: str, where: str = "--context") -> dict[str, Any]:
    """``'a.b=10'`` -> ``{'a': {'b': 10}}``; the value is JSON when it parses, else text."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path or any(not part for part in path.split(".")):
        raise ConfigError(f"{where} {text!r}: expected KEY.PATH=VALUE, e.g. my_tool.flag=true")
    return _nest(path, _parse_value(raw.strip()))


def _nest(path: str, value: Any) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    node = tree
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return tree


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def read_context_file(path: str | Path, where: str) -> dict[str, Any]:
    """A context tree from a JSON file (an object at the top)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read context file {path}: {exc.strerror}") from None
    return _parse_tree(text, f"{where}: context file {path}")


def _parse_tree(text: str, where: str) -> dict[str, Any]:
    try:
        tree = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid JSON ({exc})") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{where}: the context must be a JSON object, got {type(tree).__name__}")
    return tree


def load_context(
    config: Any, files: Iterable[str | Path] = (), assignments: Iterable[str] = ()
) -> dict[str, Any]:
    """The run's context: config directory, remit.ini, then files and KEY=VALUE assignments."""
    context: dict[str, Any] = {}
    default_file = Path(config.config_dir) / CONTEXT_FILENAME
    if default_file.exists():
        context = read_context_file(default_file, str(default_file))
    scheduler = config.scheduler
    if scheduler.get("context") and scheduler.get("context_file"):
        raise ConfigError(f"{config.where('scheduler')}: set context or context_file, not both")
    if scheduler.get("context"):
        context = merge_context(context, _parse_tree(scheduler["context"],
                                                     config.where("scheduler", "context")))
    if scheduler.get("context_file"):
        path = Path(config.config_dir) / scheduler["context_file"]
        context = merge_context(context, read_context_file(
            path, config.where("scheduler", "context_file")))
    for key, raw in getattr(config, "context", {}).items():
        context = merge_context(context, parse_assignment(f"{key}={raw}",
                                                          config.where("context", key)))
    return merge_context(context, extra_context(files, assignments))


def extra_context(files: Iterable[str | Path] = (), assignments: Iterable[str] = ()
                  ) -> dict[str, Any]:
    """The context given on the command line: JSON files, then KEY.PATH=VALUE assignments."""
    context: dict[str, Any] = {}
    for path in files:
        context = merge_context(context, read_context_file(path, "--context-file"))
    for text in assignments:
        context = merge_context(context, parse_assignment(text))
    return context


__all__ = [
    "GET_CONTEXT",
    "extra_context",
    "get_context",
    "get_context_value",
    "load_context",
    "merge_context",
    "parse_assignment",
    "read_context_file",
]
