"""Checks, before the first job is submitted, that what an aws_batch section names exists.

Owns: one check per (region, queue, bucket, job definition settings) and run, whose result
is remembered: the job queue (DescribeJobQueues: exists and ENABLED), the scratch bucket
(HeadBucket: exists, reachable, in which region) and the job definition (found, or
registered when ``autocreate_job_def`` allows). A missing resource becomes one
AWSResourceError naming it, the region and the endpoint asked, and what to fix, instead of
a raw ClientException at SubmitJob. Transient failures are retried by the executor's
outage clock. Does not own submitting, nor the job definition logic (``jobdefs``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from remit.errors import AWSResourceError
from remit.executors.aws_batch.options import BatchOptions

if TYPE_CHECKING:
    from remit.executors.aws_batch.executor import AWSBatchExecutor

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
        queues = call(lambda: batch.describe_job_queues(jobQueues=[opts.queue])["jobQueues"],
                      f"DescribeJobQueues {opts.queue}")
        if not queues:
            raise AWSResourceError(
                f"AWS Batch job queue {opts.queue!r} does not exist ({location(batch)}): "
                f"create it there, or set queue in {where} to an existing queue; "
                f"{_REGION_HINT}"
            )
        state = queues[0].get("state")
        if state != "ENABLED":
            raise AWSResourceError(
                f"AWS Batch job queue {opts.queue!r} is {state} ({location(batch)}): "
                f"enable it, or set queue in {where} to an enabled queue"
            )
        bucket = _bucket(opts.s3_scratch)
        if bucket:
            s3 = executor.client("s3")
            call(lambda: _check_bucket(s3, bucket, opts.s3_scratch, where),
                 f"HeadBucket {bucket}")
        call(lambda: executor.job_definition(opts), "finding the job definition")


def _check_bucket(s3: Any, bucket: str, scratch: str, where: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        response = exc.response
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if status >= 500 or status == 429:
            raise  # transient: the outage clock retries it
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if status == 404:
            problem = "does not exist"
        elif status == 403:
            problem = "is not accessible with these credentials (403 Forbidden)"
        elif status == 301 and headers.get("x-amz-bucket-region"):
            problem = f"is in region {headers['x-amz-bucket-region']}"
        else:
            problem = f"cannot be reached ({response.get('Error', {}).get('Code', status)})"
        raise AWSResourceError(
            f"S3 bucket {bucket!r} of s3_scratch = {scratch} {problem} ({location(s3)}): "
            f"create it, or set s3_scratch in {where} to a bucket you can write"
        ) from None


def _bucket(scratch: str) -> str:
    """The bucket of an ``s3://`` scratch URL ("" for a local scratch directory)."""
    if not scratch.startswith("s3://"):
        return ""
    return scratch[len("s3://"):].split("/", 1)[0]
