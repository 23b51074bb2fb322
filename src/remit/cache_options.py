"""Cache and provenance task options: ``cache_scope``, ``check_valid`` and ``prov``.

- ``cache_scope``: where a call's result may be reused from. ``CacheScope.NONE`` never
  (not even an identical call in the same run), ``CacheScope.CSE`` only within the run,
  ``CacheScope.BACKEND`` (default) also from the store, across runs.
- ``check_valid``: ``"full"`` (default) replays a cached call's children, each looked up on
  its own; ``"shallow"`` serves a cached call whose whole subtree's task hashes are unchanged
  from its final recorded result, without replaying its children.
- ``prov=False``: the call and everything below it are evaluated but not recorded; such calls
  are never reused (as redun does).
- ``config_args=["threads", ...]``: parameters that configure how a call runs, not what it
  computes: they are left out of the cache key, so changing them reuses the cached result
  (as redun does). They are still passed to the task and recorded.

This module reads and checks the options (once per Task object); the scheduler applies them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from remit.errors import TaskError


class CacheScope(enum.StrEnum):
    """Where a call's result may be reused from (the task option ``cache_scope``)."""

    NONE = "NONE"
    CSE = "CSE"
    BACKEND = "BACKEND"


class CacheCheckValid(enum.StrEnum):
    """How a cached call is checked (the task option ``check_valid``)."""

    FULL = "full"
    SHALLOW = "shallow"


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """A task's cache options, parsed."""

    scope: CacheScope
    shallow: bool
    prov: bool
    ultimate_only: bool  # reuse only a shallow-checked final result (subrun)
    config_args: frozenset[str] = frozenset()  # parameters left out of the cache key


_DEFAULT = CachePolicy(CacheScope.BACKEND, False, True, False)
_KEY = "_remit_cache_policy"


def cache_policy(task: Any) -> CachePolicy:
    """The parsed cache options of a Task (computed once per Task object)."""
    found = task.__dict__.get(_KEY)
    if found is None:
        found = task.__dict__[_KEY] = _parse(task.fullname, task.options, task.func)
    return found


def key_hashes(policy: CachePolicy, parameters: list[str], arg_hashes: list[str],
               kwarg_hashes: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The argument hashes that make up the cache key: all but the ``config_args``
    (``parameters``: the names of the task's positional parameters, in order)."""
    if not policy.config_args:
        return arg_hashes, kwarg_hashes
    skip = policy.config_args
    return ([h for i, h in enumerate(arg_hashes)
             if i >= len(parameters) or parameters[i] not in skip],
            {k: h for k, h in kwarg_hashes.items() if k not in skip})


def _parse(fullname: str, options: dict[str, Any], func: Any) -> CachePolicy:
    if not any(k in options for k in ("cache_scope", "check_valid", "prov", "_ultimate_only",
                                      "config_args")):
        return _DEFAULT
    raw_scope = options.get("cache_scope", CacheScope.BACKEND)
    try:
        scope = CacheScope(raw_scope.upper() if isinstance(raw_scope, str) else raw_scope)
    except ValueError:
        raise TaskError(
            f"task {fullname}: cache_scope={raw_scope!r} is not one of NONE, CSE, BACKEND "
            "(or remit.CacheScope.NONE/CSE/BACKEND)"
        ) from None
    raw_check = options.get("check_valid", CacheCheckValid.FULL)
    try:
        check = CacheCheckValid(raw_check.lower() if isinstance(raw_check, str) else raw_check)
    except ValueError:
        raise TaskError(
            f"task {fullname}: check_valid={raw_check!r} is not 'full' or 'shallow'"
        ) from None
    prov = options.get("prov", True)
    if not isinstance(prov, bool):
        raise TaskError(f"task {fullname}: prov={prov!r} must be True or False")
    return CachePolicy(scope, check is CacheCheckValid.SHALLOW, prov,
                       bool(options.get("_ultimate_only", False)),
                       _config_args(fullname, options.get("config_args"), func))


def _config_args(fullname: str, raw: Any, func: Any) -> frozenset[str]:
    if not raw:
        return frozenset()
    if isinstance(raw, str) or not all(isinstance(name, str) for name in raw):
        raise TaskError(f"task {fullname}: config_args must be a list of parameter names, "
                        f"got {raw!r}")
    import inspect

    try:
        known = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):  # no signature to check against
        known = list(raw)
    unknown = [name for name in raw if name not in known]
    if unknown:
        raise TaskError(f"task {fullname}: config_args names {', '.join(map(repr, unknown))}, "
                        f"which {'is' if len(unknown) == 1 else 'are'} not a parameter of the "
                        f"task (its parameters: {', '.join(known)})")
    return frozenset(raw)


__all__ = ["CacheCheckValid", "CachePolicy", "CacheScope", "cache_policy"]
