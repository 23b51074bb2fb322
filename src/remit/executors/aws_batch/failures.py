"""Why an AWS Batch job failed, in classes a user can act on, and which classes AWS retries.

A failed job is classified from what DescribeJobs reports of its last attempt: the status
reason, the container's reason and exit code (the attempt's own when AWS lists attempts):

    host     the instance went away: "Host EC2 (instance i-...) terminated." AWS reports a Spot
             reclaim and any other loss of the host alike, so ``spot`` names the same class.
    oom      out of memory: "OutOfMemoryError: Container killed due to memory usage", or exit
             code 137 (SIGKILL) with nothing else to explain it
    image    the image could not be pulled: "CannotPullContainerError: ..."
    timeout  "Job attempt duration exceeded timeout"
    task     the task's own command failed: ``remit oneshot`` exits 1 when the task raised
    other    anything else: terminated by a user, a failed dependency, exit codes remit's
             command never uses

``retry_on`` (``spot, host`` by default) lists the classes AWS Batch retries, each up to
``retries`` times or its own ``CLASS:N``; they become the ``evaluateOnExit`` rules of the
SubmitJob ``retryStrategy`` (at most five: one per class, then "EXIT on anything else"). AWS
counts attempts per job, not per class, so a job gets 1 + the largest count attempts.

Owns the classes, the classifier and the rules; the monitor (``monitor.py``) reports with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remit.errors import ConfigError

CLASSES = ("host", "oom", "image", "timeout", "task", "other")
ALIASES = {"spot": "host"}
DEFAULT_RETRY_ON = "spot, host"
LABELS = {
    "host": "spot or host termination",
    "oom": "out of memory",
    "image": "image pull failed",
    "timeout": "timeout",
    "task": "task error",
    "other": "other failure",
}
TASK_EXIT_CODE = 1  # what `remit oneshot` exits with when the task raised
USAGE_EXIT_CODE = 2  # what it exits with when it does not understand its command line
OOM_EXIT_CODE = 137  # 128 + SIGKILL: what the kernel's OOM killer leaves
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
MAX_RULES = 5  # AWS accepts at most five evaluateOnExit conditions
_RULES: dict[str, dict[str, str]] = {  # patterns: letters, digits, . : and spaces, then *
    "host": {"onStatusReason": "Host EC2*"},
    "image": {"onStatusReason": "CannotPullContainerError*"},
    "oom": {"onReason": "OutOfMemoryError*"},
    "timeout": {"onStatusReason": TIMEOUT_REASON + "*"},
    "task": {"onExitCode": str(TASK_EXIT_CODE)},
}


@dataclass(frozen=True)
class Classified:
    """A failed job's class and the facts it was read from."""

    kind: str
    status_reason: str
    reason: str
    exit_code: int | None
    attempts: int

    @property
    def label(self) -> str:
        """The class in words, e.g. "out of memory"."""
        return LABELS[self.kind]


def classify(description: Mapping[str, Any]) -> Classified:
    """The class of a failed job from its DescribeJobs description."""
    attempts = description.get("attempts") or []
    last = attempts[-1] if attempts else {}
    container = {**(description.get("container") or {}), **(last.get("container") or {})}
    status_reason = str(last.get("statusReason") or description.get("statusReason") or "")
    reason = str(container.get("reason") or "")
    code = container.get("exitCode")
    exit_code = int(code) if code is not None else None
    both = f"{status_reason} {reason}"
    if status_reason.startswith(TIMEOUT_REASON):
        kind = "timeout"
    elif status_reason.startswith("Host EC2") or "spot instance interruption" in both.lower():
        kind = "host"
    elif "CannotPullContainerError" in both:
        kind = "image"
    elif "OutOfMemoryError" in both or (
            exit_code == OOM_EXIT_CODE and status_reason.startswith("Essential container")):
        kind = "oom"
    elif exit_code == TASK_EXIT_CODE:
        kind = "task"
    else:
        kind = "other"
    return Classified(kind, status_reason, reason, exit_code, max(1, len(attempts)))


def parse_retry_on(text: str, where: str) -> tuple[tuple[str, int | None], ...]:
    """``spot, host:3, task:1`` -> (("host", None), ("host", 3), ("task", 1)); checked."""
    parsed: list[tuple[str, int | None]] = []
    for item in text.replace(",", " ").split():
        name, _, count = item.partition(":")
        kind = ALIASES.get(name.strip().lower(), name.strip().lower())
        if kind not in _RULES:
            known = ", ".join(["spot", *_RULES])
            raise ConfigError(f"{where}: unknown failure class {name!r} in retry_on; "
                              f"classes: {known} (e.g. retry_on = spot, host, oom:1)")
        if count and not count.isdigit():
            raise ConfigError(f"{where}: retry_on {item!r}: the count after ':' must be a "
                              "whole number, e.g. host:3")
        parsed.append((kind, int(count) if count else None))
    return tuple(parsed)


def retry_counts(retry_on: tuple[tuple[str, int | None], ...], retries: int) -> dict[str, int]:
    """Retries per class: its own count, else ``retries`` (the largest when named twice)."""
    counts: dict[str, int] = {}
    for kind, count in retry_on:
        counts[kind] = max(counts.get(kind, 0), retries if count is None else count)
    return {kind: count for kind, count in counts.items() if count > 0}


def retry_strategy(retry_on: tuple[tuple[str, int | None], ...], retries: int) -> dict[str, Any]:
    """The SubmitJob ``retryStrategy``: attempts and the evaluateOnExit rules per class."""
    counts = retry_counts(retry_on, retries)
    if not counts:
        return {"attempts": 1}
    rules = [{**_RULES[kind], "action": "RETRY"} for kind in _RULES if kind in counts]
    if len(rules) < MAX_RULES:  # with all five classes retried, "other" is retried too
        rules.append({"onStatusReason": "*", "action": "EXIT"})
    return {"attempts": 1 + max(counts.values()), "evaluateOnExit": rules}


def advice(classified: Classified, memory_gib: float, where: str) -> str:
    """What to do about a failure of this class, in a sentence (may be empty)."""
    if classified.kind == "oom":
        return (f"The job used more than its memory of {memory_gib:g} GiB: raise it with "
                f"@task(memory=...) or `memory = ...` in {where}.")
    if classified.kind == "image":
        return (f"AWS Batch could not pull the job's image: check `image` in {where} and that "
                "the compute environment may pull it.")
    if classified.kind == "other" and classified.exit_code == USAGE_EXIT_CODE:
        return ("The job's `remit oneshot` command line was rejected (exit code 2): the remit "
                "in the image may be older than this one; rebuild the image with this remit.")
    if classified.kind == "host":
        return ("The instance running the job went away (Spot reclaim or host failure): "
                f"`retry_on = spot, host` with `retries = N` in {where} retries such jobs.")
    return ""
