"""An AWS Batch job's CloudWatch log: the stream a job wrote to, and its lines.

Shared by `remit aws logs` and the provenance browser's log pages. Errors are RemitErrors
naming the job and what to do; callers decide how to show them. It does not retry beyond
botocore's own retries (a page or a command can simply be run again).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from remit.errors import RemitError

LOG_GROUP = "/aws/batch/job"  # where AWS Batch (and the local stand-in) write job logs


def log_stream(batch: Any, batch_id: str) -> str:
    """The log stream of an AWS Batch job (its last attempt's, for a job that was retried)."""
    try:
        found = batch.describe_jobs(jobs=[batch_id])["jobs"]
    except Exception as exc:
        raise RemitError(f"AWS Batch: {' '.join(str(exc).split())}") from None
    if not found:
        raise RemitError(f"no AWS Batch job {batch_id}; `remit aws list-jobs EXEC` lists an "
                         "execution's jobs")
    description = found[0]
    container = description.get("container") or {}
    attempts = description.get("attempts") or []
    stream = container.get("logStreamName") or (
        attempts[-1].get("container", {}).get("logStreamName") if attempts else None)
    if not stream:
        raise RemitError(f"AWS Batch job {batch_id} has no log stream yet (status "
                         f"{description['status']}); try again once it runs")
    return stream


def log_lines(logs: Any, stream: str, log_group: str = LOG_GROUP) -> Iterator[str]:
    """Every line of a log stream, oldest first, a page at a time."""
    token = None
    try:
        while True:
            kwargs: dict[str, Any] = {"logGroupName": log_group, "logStreamName": stream,
                                      "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            page = logs.get_log_events(**kwargs)
            for event in page["events"]:
                yield event["message"].rstrip("\n")
            if not page["events"] or page.get("nextForwardToken") in (None, token):
                return
            token = page["nextForwardToken"]
    except RemitError:
        raise
    except Exception as exc:
        raise RemitError(f"CloudWatch Logs {log_group}/{stream}: "
                         f"{' '.join(str(exc).split())}") from None
