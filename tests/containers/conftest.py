"""Fixtures for tests that run real containers through the Docker Engine API.

On this kind of machine the engine is rootful podman serving the Docker API on a unix socket
(`eval "$(scripts/container-engine.sh start)"` starts it and exports DOCKER_HOST), and the
images come from `scripts/build-images.sh` (no registry needed). Outside CI a missing engine or
image skips these tests with the command that provides it; with CI=true it fails them, because
CI must provide both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import docker
import docker.errors
import pytest

EXAMPLE_IMAGE = "localhost/remit-example:latest"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def _unavailable(message: str) -> NoReturn:
    """Skip the test (local runs) or fail it (CI) because a prerequisite is missing."""
    if _in_ci():
        pytest.fail(f"{message} [CI=true: CI must provide this]", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    """A docker SDK client for DOCKER_HOST (or the default socket) that answered a ping."""
    try:
        # from_env negotiates the API version, so an absent engine already fails here.
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # DockerException, requests' ConnectionError, ...
        where = os.environ.get("DOCKER_HOST", "the default socket (DOCKER_HOST unset)")
        _unavailable(
            f"no container engine reachable at {where} ({type(exc).__name__}): "
            "run scripts/container-engine.sh start and export DOCKER_HOST "
            '(eval "$(scripts/container-engine.sh start)")'
        )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def example_image(docker_engine: docker.DockerClient) -> str:
    """The example image (examples/aws_batch/docker) built from this checkout."""
    try:
        docker_engine.images.get(EXAMPLE_IMAGE)
    except docker.errors.ImageNotFound:
        _unavailable(f"image {EXAMPLE_IMAGE} not found: build it with scripts/build-images.sh")
    return EXAMPLE_IMAGE
