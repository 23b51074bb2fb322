"""Fixtures for the files tests: an in-process moto S3 server reached over real HTTP."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import pytest

from remit import aws

_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
_CLEARED_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """Start moto's server on a free port and point every boto3 client at it."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    env = {**_FAKE_ENV, "AWS_ENDPOINT_URL": url}
    saved = {name: os.environ.get(name) for name in (*env, *_CLEARED_ENV)}
    os.environ.update(env)
    for name in _CLEARED_ENV:
        os.environ.pop(name, None)
    aws.reset_clients()
    try:
        yield url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        aws.reset_clients()
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    """A fresh, empty bucket with a unique name."""
    name = f"remit-test-{uuid.uuid4().hex[:16]}"
    aws.client("s3").create_bucket(Bucket=name)
    return name
