"""The executor registry: ``type`` names of ``[executors.NAME]`` sections -> executor classes.

Built-in classes are named as lazy ``module:Class`` paths so that ``import remit`` never
imports boto3 or docker; a class is imported the first time a section of its type is
validated or used. A user's own class registers itself with ``@register_executor("mytype")``
(in the workflow or a module it imports), after which ``type = mytype`` works in the ini.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, overload

from remit.errors import ConfigError
from remit.executors.base import Executor

E = TypeVar("E", bound=type[Executor])

EXECUTOR_TYPES: dict[str, str | type[Executor]] = {
    "local": "remit.executors.local:LocalExecutor",
    "aws_batch": "remit.executors.aws_batch:AWSBatchExecutor",
    "docker": "remit.executors.docker:DockerExecutor",
}


@overload
def register_executor(type_name: str, path: str) -> None: ...


@overload
def register_executor(type_name: str) -> Callable[[E], E]: ...


def register_executor(type_name: str, path: str | None = None) -> Callable[[E], E] | None:
    """Make ``type = type_name`` available in config.

    ``register_executor("mytype", "package.module:Class")`` names a class lazily;
    ``@register_executor("mytype")`` on an Executor subclass registers the class itself.
    """
    if path is not None:
        EXECUTOR_TYPES[type_name] = path
        return None

    def decorate(cls: E) -> E:
        if not (isinstance(cls, type) and issubclass(cls, Executor)):
            raise TypeError(
                f"@register_executor({type_name!r}) decorates a subclass of "
                f"remit.executors.Executor, not {cls!r}"
            )
        EXECUTOR_TYPES[type_name] = cls
        if not cls.type_name:
            cls.type_name = type_name
        return cls

    return decorate


def executor_class(type_name: str, where: str) -> type[Executor]:
    """Import and return the class registered for a type, or raise ConfigError."""
    path = EXECUTOR_TYPES.get(type_name)
    if path is None:
        known = ", ".join(sorted(EXECUTOR_TYPES))
        raise ConfigError(f"{where}: unknown executor type {type_name!r}; known types: {known}")
    if isinstance(path, type):
        return path
    module_name, class_name = path.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{where}: executor type {type_name!r} needs a missing package ({exc.name}); "
            f"install it, e.g. pip install 'remit[aws]'"
        ) from None
    return getattr(module, class_name)


def create_executor(name: str, options: dict[str, str], config_dir: Path, where: str) -> Executor:
    """Validate a section's options and build its executor."""
    cls = executor_class(options.get("type", ""), f"{where} type")
    cls.validate(name, options, where)
    return cls(name, options, config_dir)


__all__ = ["Executor", "EXECUTOR_TYPES", "create_executor", "executor_class", "register_executor"]
