"""Fixtures for the AWS stand-in tests: clients of the session's stand-in.

The stand-in itself is ``aws_standin`` from tests/conftest.py (session scope, one per xdist
worker, its env exported): moto's state is global, so a process can run only one stand-in
and these tests share it with the rest of the suite.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from remit.emulate import AWSStandIn

QUEUE = "remit-queue"
BUCKET = "remit-test"
JOB_DEFINITION = "remit-standin-test"
CONTAINER_PROPERTIES = {
    "image": "remit:test",
    "command": ["true"],
    "resourceRequirements": [
        {"type": "VCPU", "value": "1"},
        {"type": "MEMORY", "value": "256"},
    ],
    "environment": [{"name": "FROM_DEFINITION", "value": "yes"}],
}


@pytest.fixture
def standin(aws_standin: AWSStandIn) -> AWSStandIn:
    """The running stand-in, with bucket BUCKET and job queue QUEUE."""
    assert BUCKET in aws_standin.buckets and QUEUE in aws_standin.queues
    return aws_standin


@pytest.fixture
def s3(standin: AWSStandIn) -> Any:
    """An S3 client of the stand-in."""
    return boto3.client("s3", endpoint_url=standin.endpoint_url)


@pytest.fixture
def logs(standin: AWSStandIn) -> Any:
    """A CloudWatch Logs client of the stand-in."""
    return boto3.client("logs", endpoint_url=standin.endpoint_url)


@pytest.fixture
def batch(standin: AWSStandIn) -> Any:
    """A Batch client of the stand-in, with the job definition JOB_DEFINITION registered."""
    client = boto3.client("batch", endpoint_url=standin.endpoint_url)
    client.register_job_definition(
        jobDefinitionName=JOB_DEFINITION,
        type="container",
        containerProperties=CONTAINER_PROPERTIES,
    )
    return client
