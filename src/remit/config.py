"""Finds, reads and validates remit's configuration, `.remit/remit.ini`.

Where it comes from, first match wins: the ``--config DIR`` option, the ``REMIT_CONFIG``
environment variable, else the nearest ``.remit/`` directory from the working directory up
(``.remit/`` in the working directory when there is none; it is created on first run).

Sections: ``[backend]`` (``db_uri``, ``value_store_path``, ``value_store_min_size``,
``stage_after``),
``[scheduler]`` (``job_status_interval``, ``flush_interval``, ``context``, ``context_file``),
``[context]`` (context variables, see context.py), ``[limits]`` (resource amounts, see
limits.py) and ``[executors.NAME]`` (each with a ``type``).
Values may use ``${VAR}`` or ``${VAR:-default}`` to read the environment. Every error names
the file, the section and the option. This module does not create executors or open the DB.
"""

from __future__ import annotations

import configparser
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remit.errors import ConfigError

CONFIG_DIRNAME = ".remit"
CONFIG_FILENAME = "remit.ini"
DEFAULT_EXECUTOR = "default"
# Executors that exist without a section (a section of the same name replaces them).
IMPLICIT_EXECUTORS: dict[str, dict[str, str]] = {
    DEFAULT_EXECUTOR: {"type": "local", "mode": "thread"},
    "process": {"type": "local", "mode": "process"},
}

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_KNOWN_SECTIONS = {"backend", "scheduler", "report", "context", "tags", "limits"}
# Numeric options of [scheduler] and [backend]: (section, option) -> (kind, minimum).
# job_status_interval has a floor: 0 would print a status table in a busy loop.
NUMBER_OPTIONS: dict[tuple[str, str], tuple[str, float]] = {
    ("scheduler", "job_status_interval"): ("seconds", 0.1),
    ("scheduler", "flush_interval"): ("seconds", 0.0),
    ("backend", "value_store_min_size"): ("bytes", 0),
    ("backend", "stage_after"): ("count", 0),
}


class _EnvInterpolation(configparser.Interpolation):
    """``${VAR}`` and ``${VAR:-default}`` from the environment; ``$$`` is a literal ``$``."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def before_get(self, parser: Any, section: str, option: str, value: str, defaults: Any) -> str:
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(
                f"{self.filename}: [{section}] {option}: environment variable ${{{name}}} is not "
                f"set; export it or write ${{{name}:-default}}"
            )

        return _ENV_REF.sub(substitute, value).replace("$$", "$")


@dataclass
class Config:
    """The parsed configuration: the config directory and each section's options."""

    config_dir: Path
    path: Path | None = None
    backend: dict[str, str] = field(default_factory=dict)
    scheduler: dict[str, str] = field(default_factory=dict)
    report: dict[str, str] = field(default_factory=dict)
    executors: dict[str, dict[str, str]] = field(default_factory=dict)
    context: dict[str, str] = field(default_factory=dict)  # dotted path -> JSON or text
    tags: dict[str, str] = field(default_factory=dict)  # execution tags of every run
    limits: dict[str, str] = field(default_factory=dict)  # resource -> amount (limits.py)

    def __post_init__(self) -> None:
        raw: Any = self.config_dir
        if isinstance(raw, Mapping):  # redun's spelling: Config({"executors.x": {...}})
            self.config_dir = Path.cwd() / CONFIG_DIRNAME
            for section, options in raw.items():
                _add_section(self, section, {k: _ini_text(v) for k, v in options.items()},
                             "config")

    def where(self, section: str, option: str | None = None) -> str:
        """A location string for error messages: ``file: [section] option``."""
        place = f"{self.path or self.config_dir / CONFIG_FILENAME}: [{section}]"
        return f"{place} {option}" if option else place

    def get_float(self, section: str, option: str, default: float) -> float:
        """Read a finite number from [backend] or [scheduler], naming the place on a bad value."""
        values: Mapping[str, str] = getattr(self, section)
        raw = values.get(option)
        if raw is None or raw == "":
            return default
        kind, minimum = NUMBER_OPTIONS.get((section, option), ("", float("-inf")))
        if kind in ("bytes", "count"):
            return parse_int(raw, self.where(section, option), minimum=int(minimum))
        return parse_float(raw, self.where(section, option), minimum=minimum)

    def executor_options(self, name: str) -> dict[str, str]:
        """Options of ``[executors.NAME]``; the implicit ``default`` is a local thread pool
        and ``process`` a local process pool, as in redun."""
        if name in self.executors:
            return self.executors[name]
        if name in IMPLICIT_EXECUTORS:
            return dict(IMPLICIT_EXECUTORS[name])
        known = ", ".join(sorted({*IMPLICIT_EXECUTORS, *self.executors}))
        raise ConfigError(
            f"unknown executor {name!r} (known: {known}); add an [executors.{name}] section "
            f"with a 'type' to {self.path or self.config_dir / CONFIG_FILENAME}"
        )


def find_config_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Locate the config directory from the option, REMIT_CONFIG, or the working directory."""
    if explicit:
        return Path(explicit).resolve()
    env = os.environ.get("REMIT_CONFIG")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        candidate = folder / CONFIG_DIRNAME
        if candidate.is_dir():
            return candidate
    return cwd / CONFIG_DIRNAME


def load_config(explicit_dir: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration (a missing file means all defaults)."""
    config_dir = find_config_dir(explicit_dir)
    if explicit_dir and not config_dir.is_dir():
        raise ConfigError(f"config directory {config_dir} does not exist")
    path = config_dir / CONFIG_FILENAME
    config = Config(config_dir=config_dir)
    if not path.exists():
        return config
    config.path = path
    parser = configparser.ConfigParser(interpolation=_EnvInterpolation(str(path)),
                                       inline_comment_prefixes=(";",))  # `x = 1  ; why`
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # case-sensitive names
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: malformed ini: {_one_line(exc)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    for section in parser.sections():
        options = {key: parser.get(section, key) for key in parser.options(section)}
        _add_section(config, section, options, str(path))
    for section, option in NUMBER_OPTIONS:  # bad numbers fail here, before anything runs
        config.get_float(section, option, 0.0)
    for name, amount in config.limits.items():
        parse_int(amount, config.where("limits", name), minimum=1)
    return config


def config_from_dict(
    sections: Mapping[str, Mapping[str, Any]], config_dir: str | os.PathLike[str] | None = None
) -> Config:
    """A Config from ini-like sections, e.g. ``{"executors.procs": {"type": "local"}}``.

    For the Python API (``Scheduler(config={...})`` or ``Config({...})``, as redun's
    ``Config(dict)``); values are checked as the ini's are. ``config_dir`` defaults to
    ``.remit`` in the working directory (where relative paths in options are resolved).
    """
    config = Config(sections)  # type: ignore[arg-type]  # __post_init__ reads the sections
    if config_dir:
        config.config_dir = Path(config_dir).resolve()
    return config


def _ini_text(value: Any) -> str:
    """A Python option value as the ini would spell it (dicts and lists as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value)
    return str(value)


def _add_section(config: Config, section: str, options: dict[str, str], path: str) -> None:
    if section in _KNOWN_SECTIONS:
        setattr(config, section, options)
    elif section.startswith("executors."):
        name = section.split(".", 1)[1]
        if not name:
            raise ConfigError(f"{path}: [{section}]: an executor section needs a name")
        if not options.get("type"):
            raise ConfigError(
                f"{path}: [{section}] type: missing; set e.g. 'type = local' or "
                "'type = aws_batch'"
            )
        config.executors[name] = options
    else:
        raise ConfigError(
            f"{path}: [{section}]: unknown section; expected [backend], [scheduler], "
            "[context], [tags], [limits], [report] or [executors.NAME]"
        )


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def parse_bool(value: str | bool, where: str) -> bool:
    """Parse an ini boolean (true/false, yes/no, on/off, 1/0), naming the place on error."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


def parse_float(value: str | float, where: str, minimum: float | None = None) -> float:
    """Parse a finite number option (no nan or inf), naming the place on error."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    if minimum is not None and number < minimum:
        raise ConfigError(f"{where}: must be at least {minimum:g}, got {value!r}")
    return number


def parse_int(value: str | int, where: str, minimum: int | None = None) -> int:
    """Parse an integer option, naming the place on error."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{where}: must be at least {minimum}, got {number}")
    return number
