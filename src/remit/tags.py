"""Tags: key/value labels recorded on executions, jobs, tasks and values.

- ``@task(tags=[("project", "acme")])``: on every job of the task (and on the task's hash);
- ``apply_tags(value, tags=[...], job_tags=[...], execution_tags=[...])``: returns ``value``
  (lazily) and tags the value (by its hash; a File by its value hash), the calling job, or the
  execution;
- ``remit run --tag k=v`` or ``Scheduler.run(..., tags=[("k", "v")])``: on the execution.

Tags are stored in the ``tag`` table (one value per entity and key; text, JSON for non-text
values) and shown by ``remit log``. This module parses and routes tags; the recorder stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from remit.builtins import builtin
from remit.errors import ConfigError, RemitError, TaskError
from remit.expression import SchedulerExpression
from remit.hashing import hash_value
from remit.jobs import JobFailure

Tags = list[tuple[str, Any]]


def apply_tags(
    value: Any, tags: Iterable[tuple[str, Any]] = (), job_tags: Iterable[tuple[str, Any]] = (),
    execution_tags: Iterable[tuple[str, Any]] = (),
) -> SchedulerExpression:
    """Lazily return ``value``, tagging the value, the calling job and/or the execution."""
    return SchedulerExpression(
        "apply_tags", (value, _pairs(tags), _pairs(job_tags), _pairs(execution_tags))
    )


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


@builtin("apply_tags")
def _start_apply_tags(scheduler: Any, expr: SchedulerExpression, parent: Any,
                      promise: Any) -> None:
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
            if job_tags and parent is not None:
                parent.tags.update((key, tag_text(v)) for key, v in job_tags)
        promise.resolve(value)

    scheduler.evaluate(expr.args, parent).then(tag, promise.reject)


__all__ = ["apply_tags", "parse_tag_option", "tag_text", "task_tags"]
