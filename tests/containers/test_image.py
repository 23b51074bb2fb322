"""Smoke test of the example image: remit is installed from this checkout and runs."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from remit.__about__ import __version__

pytestmark = pytest.mark.containers

MARKER = "/etc/remit-image-release"


def test_example_image_runs_remit(docker_engine: docker.DockerClient, example_image: str) -> None:
    # One container for all checks (each start costs about a second); `set -e` so a failing
    # command fails the run (the SDK raises ContainerError on a non-zero exit, with stderr).
    script = f"set -e; remit --version; cat {MARKER}; command -v remit; pwd"
    output = docker_engine.containers.run(
        example_image, ["sh", "-c", script], network_mode="host", remove=True
    ).decode()
    version, marker, remit_path, workdir = output.splitlines()

    assert version == f"remit, version {__version__}"
    assert marker == "remit-example image"
    assert remit_path == "/opt/remit/bin/remit"
    assert workdir == "/remit-job"
    # The marker proves the command ran in the image, not on this host.
    assert not Path(MARKER).exists()
