"""Fixtures for the files tests: S3 of the shared local AWS stand-in, over real HTTP."""

from __future__ import annotations

import uuid

import pytest

from remit import aws


@pytest.fixture(scope="session")
def s3_endpoint(aws_standin) -> str:
    """The shared local AWS stand-in's endpoint (its environment is exported meanwhile)."""
    return aws_standin.endpoint_url


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    """A fresh, empty bucket with a unique name."""
    name = f"remit-test-{uuid.uuid4().hex[:16]}"
    aws.client("s3").create_bucket(Bucket=name)
    return name
