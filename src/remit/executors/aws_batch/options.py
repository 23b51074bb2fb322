"""Options of an ``[executors.NAME] type = aws_batch`` section, parsed and checked up front,
and their per-task overrides (``@task(executor="batch", memory=8, vcpus=4, ...)``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
from dataclasses import dataclass, field
from typing import Any

from remit.config import parse_bool
from remit.errors import ConfigError
from remit.executors.aws_batch.failures import DEFAULT_RETRY_ON, parse_retry_on

REQUIRED = ("image", "queue", "s3_scratch")
MAX_ARRAY_SIZE = 10_000


@dataclass(frozen=True)
class BatchOptions:
    """Everything that decides how a task's job is submitted to AWS Batch."""

    image: str
    queue: str
    s3_scratch: str
    role: str | None = None
    job_name_prefix: str = "remit-job"
    batch_tags: dict[str, str] = field(default_factory=dict)
    debug: bool = False
    interactive: bool = False
    debug_scratch: str | None = None
    aws_region: str | None = None
    vcpus: float = 1.0
    memory: float = 4.0
    gpus: int = 0
    shared_memory: float | None = None
    timeout: int | None = None
    retries: int = 0
    retry_on: tuple[tuple[str, int | None], ...] = field(
        default_factory=lambda: parse_retry_on(DEFAULT_RETRY_ON, "retry_on"))
    privileged: bool = False
    job_def_name: str | None = None
    autocreate_job_def: bool = True
    job_def_extra: dict[str, Any] = field(default_factory=dict)
    code_package: bool = True
    code_includes: tuple[str, ...] = ("**/*.py",)
    code_excludes: tuple[str, ...] = ()
    min_array_size: int = 5
    max_array_size: int = 1000
    job_monitor_interval: float = 5.0
    api_timeout: float = 900.0
    share_id: str | None = None
    scheduling_priority: int | None = None

    @classmethod
    def parse(cls, options: dict[str, str], where: str) -> BatchOptions:
        """Build from ini strings; a ConfigError names the option and the fix."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names - {"type"})
        if unknown:
            raise ConfigError(
                f"{where} {unknown[0]}: unknown aws_batch option; known options: "
                f"{', '.join(sorted(names))}"
            )
        missing = [name for name in REQUIRED if not options.get(name, "").strip()]
        if missing:
            raise ConfigError(
                f"{where} {missing[0]}: required option is missing; aws_batch executors need "
                f"{', '.join(REQUIRED)} (e.g. s3_scratch = s3://YOUR_BUCKET/remit/)"
            )
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            if item.name in options:
                values[item.name] = _convert(item.name, options[item.name], f"{where} {item.name}")
        made = cls(**values)
        made.check(where)
        return made

    def check(self, where: str) -> None:
        """Cross-field checks shared by ini parsing and task overrides."""
        if not self.s3_scratch.startswith("s3://") and not self.debug:
            raise ConfigError(f"{where} s3_scratch: must be an s3:// URL, got {self.s3_scratch!r}")
        if not 1 <= self.max_array_size <= MAX_ARRAY_SIZE:
            raise ConfigError(
                f"{where} max_array_size: must be between 1 and {MAX_ARRAY_SIZE}, "
                f"got {self.max_array_size}"
            )
        if not self.api_timeout > 0:
            raise ConfigError(f"{where} api_timeout: must be a positive number of seconds "
                              f"(how long AWS calls may keep failing), got {self.api_timeout}")
        if len(self.job_name_prefix) < 1 or len(self.job_name_prefix) > 80:
            raise ConfigError(f"{where} job_name_prefix: must be 1 to 80 characters")

    def for_task(self, task_options: dict[str, Any], where: str) -> BatchOptions:
        """These options with a task's own options applied (``batch_tags`` merge)."""
        names = {f.name for f in dataclasses.fields(self)}
        overrides = {k: v for k, v in task_options.items() if k in names}
        if not overrides:
            return self
        if "batch_tags" in overrides:
            tags = overrides["batch_tags"]
            if not isinstance(tags, dict):
                raise ConfigError(f"{where} batch_tags: expected a dict of strings, got {tags!r}")
            overrides["batch_tags"] = {**self.batch_tags,
                                       **check_tags(tags, f"{where} batch_tags")}
        if isinstance(overrides.get("retry_on"), (list, tuple)):  # retry_on=["spot", "oom:1"]
            overrides["retry_on"] = ", ".join(overrides["retry_on"])
        converted = {
            k: v if not isinstance(v, str) or k in _STRINGS else _convert(k, v, f"{where} {k}")
            for k, v in overrides.items()
        }
        made = dataclasses.replace(self, **converted)
        made.check(where)
        return made


def check_tags(tags: dict[Any, Any], where: str) -> dict[str, str]:
    """AWS Batch tags map strings to strings: anything else is a ConfigError naming the key."""
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError(
                f"{where}: tag {key!r} has the value {value!r}; AWS Batch tags map strings "
                "to strings: write each value as a JSON string, e.g. {\"team\": \"42\"}"
            )
    return tags


_STRINGS = {"image", "queue", "s3_scratch", "role", "job_name_prefix", "aws_region",
            "job_def_name", "share_id", "debug_scratch"}
_BOOLS = {"debug", "interactive", "privileged", "autocreate_job_def", "code_package"}
_INTS = {"gpus", "timeout", "retries", "min_array_size", "max_array_size",
         "scheduling_priority"}
_FLOATS = {"vcpus", "memory", "shared_memory", "job_monitor_interval", "api_timeout"}
_JSON = {"batch_tags", "job_def_extra"}
_LISTS = {"code_includes", "code_excludes"}


def _convert(name: str, raw: str, where: str) -> Any:
    text = raw.strip()
    if name in _STRINGS:
        return text or None
    if name in _BOOLS:
        return parse_bool(text, where)
    if name in _INTS or name in _FLOATS:
        try:
            number: float = int(text) if name in _INTS else float(text)
        except ValueError:
            kind = "a whole number" if name in _INTS else "a number"
            raise ConfigError(f"{where}: expected {kind}, got {raw!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{where}: expected a finite number, got {raw!r}")
        if number < 0:
            raise ConfigError(f"{where}: must not be negative, got {raw!r}")
        return number
    if name in _JSON:
        try:
            value = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno}): "
                              f"{raw!r}; write a JSON object like {{\"team\": \"genomics\"}}"
                              ) from None
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a JSON object like {{\"key\": \"value\"}}")
        if name == "batch_tags":
            return check_tags(value, where)
        return value
    if name in _LISTS:
        return tuple(shlex.split(text))
    if name == "retry_on":
        return parse_retry_on(text, where)
    raise AssertionError(name)  # pragma: no cover - every field has a kind
