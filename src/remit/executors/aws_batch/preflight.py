"""Checks, before the first job is submitted, that what an aws_batch section names exists.

Owns: one check per (region, queue, bucket, job definition settings) and run, whose result
is remembered: the job queue (DescribeJobQueues: exists and ENABLED), the scratch bucket
(HeadBucket: exists) and the job definition (found, or registered when
``autocreate_job_def`` allows). A missing resource becomes one AWSResourceError naming it,
the region and the endpoint asked, and what to fix, instead of a raw ClientException at
SubmitJob. A check the credentials may not make (access denied: a role allowed to submit
jobs and write a prefix need not be allowed to describe queues or head the bucket) is
skipped, and SubmitJob or the first write speaks instead. Transient failures are retried by
the executor's outage clock. Does not own submitting, nor the job definition logic (``jobdefs``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from remit.errors import AWSResourceError
from remit.executors.aws_batch.options import BatchOptions

if TYPE_CHECKING:
    from remit.executors.aws_batch.executor import AWSBatchExecutor

T = TypeVar("T")
_REGION_HINT = "the region comes from aws_region, else AWS_REGION or AWS_DEFAULT_REGION"


def location(client: Any) -> str:
    """``region R, endpoint URL`` of a boto3 client: where a resource was looked for."""
    return f"region {client.meta.region_name}, endpoint {client.meta.endpoint_url}"


class Preflight:
    """The resource checks of one executor, each run once per distinct setting."""

    def __init__(self, executor: AWSBatchExecutor) -> None:
        self.executor = executor
        self._lock = threading.Lock()
        self._checked: dict[tuple, AWSResourceError | None] = {}

    def problem(self, opts: BatchOptions) -> AWSResourceError | None:
        """The missing resource among those ``opts`` name (checked once), or None."""
        key = (opts.aws_region, opts.queue, _bucket(opts.s3_scratch), opts.image, opts.role,
               opts.job_def_name, opts.autocreate_job_def, repr(opts.job_def_extra),
               opts.privileged, opts.shared_memory)
        with self._lock:  # one submitter thread: the lock only guards the dict
            if key in self._checked:
                return self._checked[key]
        try:
            self._check(opts)
            error = None
        except AWSResourceError as exc:
            error = exc
        with self._lock:
            self._checked[key] = error
        return error

    def _check(self, opts: BatchOptions) -> None:
        executor = self.executor
        call, where = executor.call, executor.where
        batch = executor.client("batch")
        queues = call(lambda: _unless_denied(
            lambda: batch.describe_job_queues(jobQueues=[opts.queue])["jobQueues"]),
            f"DescribeJobQueues {opts.queue}")
        if queues is None:
            pass  # not allowed to look
        elif not queues:
            raise AWSResourceError(
                f"AWS Batch job queue {opts.queue!r} does not exist ({location(batch)}): "
                f"create it there, or set queue in {where} to an existing queue; "
                f"{_REGION_HINT}"
            )
        elif queues[0].get("state") != "ENABLED":
            state = queues[0].get("state")
            raise AWSResourceError(
                f"AWS Batch job queue {opts.queue!r} is {state} ({location(batch)}): "
                f"enable it, or set queue in {where} to an enabled queue"
            )
        bucket = _bucket(opts.s3_scratch)
        if bucket:
            s3 = executor.client("s3")
            found = call(lambda: _unless_denied(lambda: _bucket_exists(s3, bucket)),
                         f"HeadBucket {bucket}")
            if found is False:
                raise AWSResourceError(
                    f"S3 bucket {bucket!r} of s3_scratch = {opts.s3_scratch} does not exist "
                    f"({location(s3)}): create it, or set s3_scratch in {where} to a bucket "
                    "you can write"
                )
        call(lambda: executor.job_definition(opts), "finding the job definition")


def _bucket_exists(s3: Any, bucket: str) -> bool:
    """HeadBucket: False when S3 answers 404 (other errors propagate)."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return False
        raise
    return True


def _unless_denied(check: Callable[[], T]) -> T | None:
    """The check's answer, or None when the credentials may not ask (HTTP 403)."""
    from botocore.exceptions import ClientError

    try:
        return check()
    except ClientError as exc:
        response = exc.response
        denied = (response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403
                  or "AccessDenied" in response.get("Error", {}).get("Code", ""))
        if denied:
            return None
        raise


def _bucket(scratch: str) -> str:
    """The bucket of an ``s3://`` scratch URL ("" for a local scratch directory)."""
    if not scratch.startswith("s3://"):
        return ""
    return scratch[len("s3://"):].split("/", 1)[0]
