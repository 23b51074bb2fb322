"""SubmitJob at most once, even when its answer is lost.

AWS Batch's SubmitJob has no idempotency token: a request that reached Batch but whose
answer was lost (connection closed, read timeout, a 5xx after the fact) would, if simply
sent again, start a second job. So SubmitJob goes out with botocore's retries off, and after
a transient failure, before sending it again, the job is looked up by name (ListJobs with a
JOB_NAME filter) and recognised by the remit tag that only this submission carries (the
remit job id, or the array id). Costs nothing while calls succeed. Does not own building the
request nor the backoff (the executor's outage clock).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remit.aws_retry import transient_cause
from remit.progress import log_line

if TYPE_CHECKING:
    from remit.executors.aws_batch.executor import AWSBatchExecutor

_DESCRIBE_CHUNK = 100


def submit_once(executor: AWSBatchExecutor, request: dict[str, Any], tag: str) -> str:
    """Submit ``request`` and return the Batch job id; ``request["tags"][tag]`` must be
    unique to this submission. Raises as the executor's ``call`` does."""
    batch = executor.client("batch", max_attempts=1)
    name = request["jobName"]
    marker = request["tags"][tag]
    uncertain = False

    def attempt() -> str:
        nonlocal uncertain
        if uncertain:
            accepted = find_submitted(batch, request["jobQueue"], name, tag, marker)
            if accepted is not None:
                log_line(f"AWSBatchExecutor: SubmitJob {name}: the answer was lost, but AWS "
                         f"Batch had accepted it as job {accepted}; not submitted again")
                return accepted
        try:
            return str(batch.submit_job(**request)["jobId"])
        except Exception as exc:
            uncertain = uncertain or transient_cause(exc) is not None
            raise

    return executor.call(attempt, f"SubmitJob {name}")


def find_submitted(batch: Any, queue: str, name: str, tag: str, marker: str) -> str | None:
    """The id of the job named ``name`` on ``queue`` whose tag ``tag`` is ``marker``."""
    ids: list[str] = []
    pages = batch.get_paginator("list_jobs").paginate(
        jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name]}])
    for page in pages:
        ids.extend(s["jobId"] for s in page["jobSummaryList"] if s["jobName"] == name)
    for start in range(0, len(ids), _DESCRIBE_CHUNK):
        for job in batch.describe_jobs(jobs=ids[start:start + _DESCRIBE_CHUNK])["jobs"]:
            if (job.get("tags") or {}).get(tag) == marker:
                return str(job["jobId"])
    return None
