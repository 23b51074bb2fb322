"""Tags: key/value labels recorded on executions, jobs, tasks and values.

- ``@task(tags=[("project", "acme")])``: on every job of the task (and on the task's hash);
- ``apply_tags(value, tags=[...], job_tags=[...], execution_tags=[...])``: returns ``value``
  (lazily) and tags the value (by its hash; a File by its value hash), the calling job, or the
  execution;
- ``remit run --tag k=v``, ``Scheduler.run(..., tags=[("k", "v")])`` or a ``[tags]`` section
  of remit.ini (``project = acme``): on the execution.

Tags are stored in the ``tag`` table (one value per entity and key; text, JSON for non-text
values) and shown by ``remit log``. This module parses and routes tags; the recorder stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from remit.errors import ConfigError, RemitError, TaskError
from remit.expression import SchedulerExpression
from remit.hashing import hash_value
from remit.jobs import JobFailure
from remit.scheduler_tasks import scheduler_task

Tags = list[tuple[str, Any]]


def apply_tags(
    value: Any, tags: Iterable[tuple[str, Any]] = (), job_tags: Iterable[tuple[str, Any]] = (),
    execution_tags: Iterable[tuple[str, Any]] = (),
) -> SchedulerExpression:
    """Lazily return ``value``, tagging the value, the calling job and/or the execution."""
    return _apply_tags(value, _pairs(tags), _pairs(job_tags), _pairs(execution_tags))


def _pairs(tags: Any) -> Any:
    """Tags as a list of (key, value) pairs; a dict is accepted too."""
    if isinstance(tags, dict):
        tags = list(tags.items())
    try:
        pairs = [(key, value) for key, value in tags]
    except (TypeError, ValueError):
        raise TaskError(f"tags must be a list of (key, value) pairs, got {tags!r}") from None
    for key, _ in pairs:
        if not isinstance(key, str) or not key:
            raise TaskError(f"a tag key must be a non-empty string, got {key!r}")
    return pairs


def task_tags(task: Any) -> Tags:
    """The ``tags`` option of a task, checked."""
    raw = task.options.get("tags")
    return _pairs(raw) if raw else []


def tag_text(value: Any) -> str:
    """How a tag value is stored: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=repr)


def config_tags(config: Any) -> Tags:
    """The ``[tags]`` section of remit.ini as execution tags (values JSON, else text)."""
    return [parse_tag_option(f"{key}={raw}") for key, raw in getattr(config, "tags", {}).items()]


def parse_tag_option(text: str) -> tuple[str, Any]:
    """``'k=v'`` from the command line; the value is JSON when it parses, else text."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--tag {text!r}: expected KEY=VALUE, e.g. --tag project=acme")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


@scheduler_task(name="apply_tags", namespace="remit")
def _apply_tags(scheduler: Any, parent: Any, promise: Any, value: Any, tags: Tags,
                job_tags: Tags, execution_tags: Tags) -> None:
    """Evaluate the value and the tags, route the tags, resolve with the value."""

    def tag(evaluated: Any) -> None:
        value, tags, job_tags, execution_tags = evaluated
        if parent is None or parent.prov:
            if tags:
                try:
                    value_hash = hash_value(value)
                except RemitError as exc:
                    promise.reject(JobFailure(exc, f"{type(exc).__name__}: {exc}\n", parent))
                    return
                scheduler.hooks.emit("on_tags", value_hash, tags)
            if execution_tags and scheduler.execution is not None:
                scheduler.hooks.emit("on_tags", scheduler.execution.id, execution_tags)
            if job_tags and parent is not None:  # recorded now: a forked thread may
                scheduler.hooks.emit("on_tags", parent.id, job_tags)  # outlive its job
        promise.resolve(value)

    scheduler.evaluate((value, tags, job_tags, execution_tags), parent).then(
        tag, promise.reject)


__all__ = ["apply_tags", "config_tags", "parse_tag_option", "tag_text", "task_tags"]
