"""How values, calls and the JOB STATUS table look in logs and in `remit log`.

Text formatting only: it reads jobs and values, never changes them.
"""

from __future__ import annotations

import inspect
import reprlib
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remit.task import Task

_short = reprlib.Repr()
_short.maxstring = 200
_short.maxother = 200
_short.maxlist = _short.maxtuple = _short.maxdict = 10

# For long containers: as many items as could show, strings long enough not to be cut early.
_long = reprlib.Repr()
_long.maxlist = _long.maxtuple = _long.maxdict = _long.maxset = _long.maxfrozenset = 250
_long.maxstring = _long.maxother = 1000
_long.maxlevel = 20

STATUS_COLUMNS = ("PENDING", "RUNNING", "FAILED", "CACHED", "DONE", "TOTAL")


def short_repr(value: Any, limit: int = 200) -> str:
    """repr() of a value, cut to about ``limit`` characters with '...' at the cut.

    A long str or bytes (or a long list, tuple, dict or set) is cut before repr() runs, so a
    200 MB value costs no 200 MB (or 800 MB) string.
    """
    kind = type(value)
    if kind in (str, bytes) and len(value) > limit:
        value = value[: limit + 1]
    try:
        if kind in (list, tuple, dict, set, frozenset) and len(value) > limit:
            text = _long.repr(value)
        else:
            text = repr(value)
    except Exception:  # a broken __repr__ must not break logging
        text = _short.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_BRACKETS: dict[type, tuple[str, str]] = {
    list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})"),
}


def deep_repr(value: Any) -> str:
    """``repr(value)`` without recursion, for lists, tuples, dicts and sets nested deeper than
    Python's recursion limit allows (built-in containers only; others use their own repr)."""
    out: list[str] = []
    stack: list[tuple[bool, Any]] = [(False, value)]
    while stack:
        literal, item = stack.pop()
        if literal:
            out.append(item)
            continue
        kind = type(item)
        if kind in (list, tuple) or (kind in (set, frozenset) and item):
            opening, closing = _BRACKETS[kind]
            parts: list[tuple[bool, Any]] = [(True, opening)]
            for i, child in enumerate(item):
                if i:
                    parts.append((True, ", "))
                parts.append((False, child))
            if kind is tuple and len(item) == 1:
                parts.append((True, ","))
            parts.append((True, closing))
            stack.extend(reversed(parts))
        elif kind is dict:
            parts = [(True, "{")]
            for i, (key, child) in enumerate(item.items()):
                parts += [(True, ", ")] if i else []
                parts += [(False, key), (True, ": "), (False, child)]
            parts.append((True, "}"))
            stack.extend(reversed(parts))
        else:
            out.append(repr(item))
    return "".join(out)


_PRETTY_MAX = 100_000  # characters: a longer result prints flat (pretty would take seconds)


def format_result(value: Any) -> str:
    """A run's result as printed: pretty when it is not huge and fits Python's recursion
    limit, else flat (one line, complete)."""
    import pprint

    try:
        flat = repr(value)
        return pprint.pformat(value) if len(flat) <= _PRETTY_MAX else flat
    except RecursionError:
        return deep_repr(value)


def bind_arguments(task: Task, args: tuple, kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
    """Pair a call's arguments with the task's parameter names (positional ones too)."""
    simple = _simple_parameters(task)
    if simple is not None:  # what Signature.bind_partial gives, without its cost per call
        positional, names = simple
        if len(args) <= len(positional) and all(
                k in names and k not in positional[:len(args)] for k in kwargs):
            given = list(zip(positional[:len(args)], args, strict=True))
            if kwargs:
                given += [(n, kwargs[n]) for n in names if n in kwargs]
            return given
    try:
        signature = task.__dict__.get("_signature")
        if signature is None:
            signature = task.__dict__["_signature"] = inspect.signature(task.func)
        bound = signature.bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return [(f"arg{i}", a) for i, a in enumerate(args)] + list(kwargs.items())
    pairs: list[tuple[str, Any]] = []
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            pairs.extend(value.items())
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            pairs.extend((f"*{name}[{i}]", v) for i, v in enumerate(value))
        else:
            pairs.append((name, value))
    return pairs


def _simple_parameters(task: Task) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(positional-or-keyword names, every name) of a task without ``*args``, ``**kwargs`` or
    positional-only parameters, else None (cached on the task)."""
    cached = task.__dict__.get("_simple_parameters", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    try:
        params = list(inspect.signature(task.func).parameters.values())
    except (TypeError, ValueError):
        params = []
    kinds = {p.kind for p in params}
    simple: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    if params and kinds <= {inspect.Parameter.POSITIONAL_OR_KEYWORD,
                            inspect.Parameter.KEYWORD_ONLY}:
        simple = (tuple(p.name for p in params if p.kind is inspect.Parameter.
                        POSITIONAL_OR_KEYWORD), tuple(p.name for p in params))
    task.__dict__["_simple_parameters"] = simple
    return simple


def format_call(task: Task, args: tuple, kwargs: dict[str, Any], limit: int = 200) -> str:
    """``namespace.task(x=1, y='a')`` with each value shortened to ``limit`` characters."""
    inner = ", ".join(f"{k}={short_repr(v, limit)}" for k, v in bind_arguments(task, args, kwargs))
    return f"{task.fullname}({inner})"


def format_duration(seconds: float | None) -> str:
    """``0:00:01.25`` style duration, or ``-`` when unknown."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(max(seconds, 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:05.2f}"


def format_time(timestamp: float | None) -> str:
    """Local ``YYYY-MM-DD HH:MM:SS`` for a Unix time, or ``-``."""
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def status_table_lines(counts: dict[str, dict[str, int]], now: float | None = None) -> list[str]:
    """The JOB STATUS table: one row per task plus ALL, columns STATUS_COLUMNS."""
    names = sorted(counts)
    width = max([len("TASK"), *(len(n) for n in names)]) + 2
    total = {col: sum(c.get(col, 0) for c in counts.values()) for col in STATUS_COLUMNS}
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now or time.time()))

    def row(label: str, values: dict[str, int]) -> str:
        return "| " + label.ljust(width) + "".join(f"{values.get(c, 0):>8}" for c in STATUS_COLUMNS)

    header = "| " + "TASK".ljust(width) + "".join(f"{c:>8}" for c in STATUS_COLUMNS)
    lines = ["", f"| JOB STATUS {stamp}", header, "|", row("ALL", total)]
    lines.extend(row(name, counts[name]) for name in names)
    return lines
