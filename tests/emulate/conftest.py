"""Fixtures for the AWS stand-in tests: one stand-in per test module (per xdist worker)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from remit.emulate import AWSStandIn

QUEUE = "remit-queue"
BUCKET = "remit-test"
JOB_DEFINITION = "remit-test-job"
CONTAINER_PROPERTIES = {
    "image": "remit:test",
    "command": ["true"],
    "resourceRequirements": [
        {"type": "VCPU", "value": "1"},
        {"type": "MEMORY", "value": "256"},
    ],
    "environment": [{"name": "FROM_DEFINITION", "value": "yes"}],
}


@pytest.fixture(scope="module")
def standin() -> Iterator[AWSStandIn]:
    """A running stand-in on an ephemeral port, with its env exported for boto3 meanwhile."""
    with AWSStandIn(port=0, buckets=[BUCKET], queues=[QUEUE]) as aws:
        saved = {key: os.environ.get(key) for key in aws.env}
        os.environ.update(aws.env)
        try:
            yield aws
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture(scope="module")
def s3(standin: AWSStandIn) -> Any:
    """An S3 client of the stand-in."""
    return boto3.client("s3")


@pytest.fixture(scope="module")
def logs(standin: AWSStandIn) -> Any:
    """A CloudWatch Logs client of the stand-in."""
    return boto3.client("logs")


@pytest.fixture(scope="module")
def batch(standin: AWSStandIn) -> Any:
    """A Batch client of the stand-in, with the job definition JOB_DEFINITION registered."""
    client = boto3.client("batch")
    client.register_job_definition(
        jobDefinitionName=JOB_DEFINITION,
        type="container",
        containerProperties=CONTAINER_PROPERTIES,
    )
    return client
