"""A debug container does not outlive `remit run`, even when remit is killed with -9."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch.project import make_project

pytestmark = [pytest.mark.containers, pytest.mark.aws]

WORKFLOW = '''
import time
from remit import task


@task(executor="batch", debug=True)
def forever(tag: str) -> int:
    time.sleep(600)
    return 1


@task()
def main(tag: str) -> int:
    return forever(tag)
'''


def debug_containers(engine, before: set[str] = frozenset()) -> list:  # type: ignore[assignment]
    """Running containers of a `remit ... oneshot ... forever` job, not among ``before``."""
    found = []
    for container in engine.containers.list():
        command = container.attrs["Config"]["Cmd"] or []
        if "oneshot" in command and command[-1:] == ["forever"] and container.id not in before:
            found.append(container)
    return found


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_debug_container_is_removed_when_remit_dies(aws_standin, example_image, docker_engine,
                                                    tmp_path: Path, signum: int) -> None:
    make_project(tmp_path, WORKFLOW, scratch="debug-cleanup", image=example_image)
    tag = f"cleanup-{tmp_path.name}"  # a call of its own: nothing cached, nothing to re-attach
    before = {c.id for c in debug_containers(docker_engine)}  # another test's, if any
    proc = subprocess.Popen([sys.executable, "-m", "remit", "run", "workflow.py", "main",
                             "--tag", tag], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240  # starting a container is slow under load
        while not debug_containers(docker_engine, before):
            if time.time() > deadline or proc.poll() is not None:
                pytest.fail(f"no debug container appeared: {_stop(proc)}")
            time.sleep(0.5)
        proc.send_signal(signum)
        proc.communicate(timeout=60)
        deadline = time.time() + 60  # a forced removal waits for podman, slow under load
        while debug_containers(docker_engine, before):
            assert time.time() < deadline, "the debug container outlived remit run"
            time.sleep(0.5)
    finally:
        _stop(proc)
        for container in debug_containers(docker_engine, before):  # never leave one behind
            container.remove(force=True)


def _stop(proc: subprocess.Popen) -> str:
    """Kill `remit run` if it still runs; its standard error (never blocks for long)."""
    if proc.poll() is None:
        proc.kill()
    try:
        return proc.communicate(timeout=30)[1] or ""
    except (subprocess.TimeoutExpired, ValueError):
        return ""
