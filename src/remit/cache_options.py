"""Cache and provenance task options: ``cache_scope``, ``check_valid`` and ``prov``.

- ``cache_scope``: where a call's result may be reused from. ``CacheScope.NONE`` never
  (not even an identical call in the same run), ``CacheScope.CSE`` only within the run,
  ``CacheScope.BACKEND`` (default) also from the store, across runs.
- ``check_valid``: ``"full"`` (default) replays a cached call's children, each looked up on
  its own; ``"shallow"`` serves a cached call whose whole subtree's task hashes are unchanged
  from its final recorded result, without replaying its children.
- ``prov=False``: the call and everything below it are evaluated but not recorded; such calls
  are never reused (as redun does).

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


_DEFAULT = CachePolicy(CacheScope.BACKEND, False, True, False)
_KEY = "_remit_cache_policy"


def cache_policy(task: Any) -> CachePolicy:
    """The parsed cache options of a Task (computed once per Task object)."""
    found = task.__dict__.get(_KEY)
    if found is None:
        found = task.__dict__[_KEY] = _parse(task.fullname, task.options)
    return found


def _parse(fullname: str, options: dict[str, Any]) -> CachePolicy:
    if not any(k in options for k in ("cache_scope", "check_valid", "prov", "_ultimate_only")):
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
                       bool(options.get("_ultimate_only", False)))


__all__ = ["CacheCheckValid", "CachePolicy", "CacheScope", "cache_policy"]
