"""``[scheduler] setup_scheduler = FILE_OR_MODULE::FUNCTION``, as in redun: a user function
builds the Scheduler of `remit run` (to add executors, say), given the config and the
``remit --setup KEY=VALUE`` arguments, which must be parameters of the function.

`remit run` then gives that scheduler its store, cache setting and listeners. A file is
found relative to the directory of remit.ini; a module on the import path.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from remit.config import Config
from remit.errors import ConfigError


def parse_setup(items: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` items of ``--setup`` as a dict (ConfigError naming a malformed one)."""
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--setup {item!r}: expected KEY=VALUE, e.g. --setup profile=dev")
        found[key] = value
    return found


def user_scheduler(config: Config, setup: dict[str, str]) -> Any | None:
    """The scheduler the configured setup function builds, or None when none is configured."""
    spec = (config.scheduler.get("setup_scheduler") or "").strip()
    where = config.where("scheduler", "setup_scheduler")
    if not spec:
        if setup:
            raise ConfigError(f"--setup was given but {where} is not set")
        return None
    target, sep, name = spec.rpartition("::")
    if not sep or not target or not name:
        raise ConfigError(f"{where} = {spec!r}: expected FILE_OR_MODULE::FUNCTION, e.g. "
                          "../workflow.py::setup_scheduler")
    from remit.loader import load_workflow
    from remit.scheduler import Scheduler

    if target.endswith(".py"):
        base = config.path.parent if config.path is not None else config.config_dir
        target = str((base / target).resolve())
    module = load_workflow(target)
    function = getattr(module, name, None)
    if not callable(function):
        raise ConfigError(f"{where}: {target} has no function {name!r}")
    params = inspect.signature(function).parameters
    unknown = [key for key in setup if key not in params]
    if unknown:
        raise ConfigError(f"--setup {unknown[0]}: not a parameter of {name}() "
                          f"(its parameters: {', '.join(list(params)[1:]) or 'none'})")
    scheduler = function(config, **setup)
    if not isinstance(scheduler, Scheduler):
        raise ConfigError(f"{where}: {name}() returned {type(scheduler).__name__}, not a "
                          "remit Scheduler")
    return scheduler
