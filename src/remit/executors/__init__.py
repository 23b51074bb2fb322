"""The executor registry: ``type`` names of ``[executors.NAME]`` sections -> executor classes.

Classes are named as lazy ``module:Class`` paths so that ``import remit`` never imports boto3
or docker; a class is imported the first time a section of its type is validated or used.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from remit.errors import ConfigError
from remit.executors.base import Executor

EXECUTOR_TYPES: dict[str, str] = {
    "local": "remit.executors.local:LocalExecutor",
    "aws_batch": "remit.executors.aws_batch:AWSBatchExecutor",
    "docker": "remit.executors.docker:DockerExecutor",
}


def register_executor(type_name: str, path: str) -> None:
    """Make ``type = type_name`` available in config, pointing at ``module:Class``."""
    EXECUTOR_TYPES[type_name] = path


def executor_class(type_name: str, where: str) -> type[Executor]:
    """Import and return the class registered for a type, or raise ConfigError."""
    path = EXECUTOR_TYPES.get(type_name)
    if path is None:
        known = ", ".join(sorted(EXECUTOR_TYPES))
        raise ConfigError(f"{where}: unknown executor type {type_name!r}; known types: {known}")
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
