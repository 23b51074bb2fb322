"""`remit emulate aws --containers`: each Batch job of the stand-in runs in a container of its
job definition's image, reaching the stand-in over the host network.

The stand-in runs in its own process (`remit emulate aws --containers --port 0 --env-file F`):
moto's state is global, and this test process may already hold the session's stand-in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import docker
import pytest

from remit.emulate.containers import LABEL
from tests.conftest import run_cli, status_row

pytestmark = [pytest.mark.containers, pytest.mark.aws]

BUCKET = "remit-containers"
QUEUE = "remit-queue"

WORKFLOW = '''
import os
from pathlib import Path
from remit import task

remit_namespace = "tests.containers.standin"


def read(path: str):
    file = Path(path)
    return file.read_text().strip() if file.exists() else None


@task(executor="batch", memory=0.5)
def inside(x: int) -> dict:
    print("job", x, "in", os.getcwd())
    return {
        "release": read("/etc/remit-image-release"),
        "job_id": os.environ.get("AWS_BATCH_JOB_ID"),
        "attempt": os.environ.get("AWS_BATCH_JOB_ATTEMPT"),
        "index": os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "cwd": os.getcwd(),
        "memory_max": read("/sys/fs/cgroup/memory.max")  # cgroup v2, else v1
        or read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        "x": x,
    }


@task(executor="batch")
def fails(x: int) -> int:
    print("about to fail in the container with", x)
    raise ValueError(f"container boom {x}")


@task()
def main(n: int = 1) -> list:
    return [inside(x) for x in range(n)]


@task()
def main_fails() -> int:
    return fails(5)
'''

INI = """
[executors.batch]
type = aws_batch
image = {image}
queue = {queue}
s3_scratch = s3://{bucket}/{scratch}/
job_monitor_interval = 1
min_array_size = 3
"""


@pytest.fixture(scope="module")
def container_standin(docker_engine: docker.DockerClient,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A `remit emulate aws --containers` process of its own; yields its client environment."""
    env_file = tmp_path_factory.mktemp("standin") / "aws.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "remit", "emulate", "aws", "--containers", "--port", "0",
         "--bucket", BUCKET, "--queue", QUEUE, "--env-file", str(env_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not env_file.exists():
            if proc.poll() is not None:
                pytest.fail(f"the stand-in exited: {proc.communicate()[1]}")
            assert time.monotonic() < deadline, "the stand-in did not start"
            time.sleep(0.1)
        lines = env_file.read_text().splitlines()
        yield dict(line.removeprefix("export ").split("=", 1) for line in lines)
    finally:
        _stop(proc)


def project(root: Path, image: str, scratch: str) -> Path:
    """A workflow whose Batch executor runs `image` on the container stand-in."""
    (root / ".remit").mkdir(parents=True)
    (root / ".remit" / "remit.ini").write_text(
        INI.format(image=image, queue=QUEUE, bucket=BUCKET, scratch=scratch)
    )
    (root / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    return root


def leftover_containers(engine: docker.DockerClient, job_id: str) -> list[Any]:
    """Containers the stand-in started for any attempt of `job_id` that still exist.

    One listing, read as listed (``sparse``): inspecting each container after the listing
    would race with the stand-in removing it.
    """
    return [c for c in engine.containers.list(all=True, sparse=True, filters={"label": LABEL})
            if (c.attrs.get("Labels") or {}).get(LABEL, "").startswith(f"{job_id}#")]


def test_batch_task_runs_inside_the_image(
    container_standin: dict[str, str], docker_engine: docker.DockerClient, example_image: str,
    tmp_path: Path,
) -> None:
    root = project(tmp_path, example_image, "single")
    proc = run_cli("run", "workflow.py", "main", cwd=root, env=container_standin, timeout=180)
    assert proc.returncode == 0, proc.stderr

    [result] = eval(proc.stdout)
    assert result["release"] == "remit-example image"  # only the image has this file
    assert not Path("/etc/remit-image-release").exists()
    assert result["job_id"] and result["attempt"] == "1" and result["index"] is None
    assert result["endpoint"] == container_standin["AWS_ENDPOINT_URL"]  # over the host network
    assert result["cwd"] == "/remit-job"  # the image's WORKDIR
    assert result["memory_max"] == str(512 * 1024 * 1024)  # the job's MEMORY requirement
    assert status_row(proc.stderr, "tests.containers.standin.inside") == [0, 0, 0, 0, 1, 1]
    assert leftover_containers(docker_engine, result["job_id"]) == []


def test_array_children_each_run_in_a_container(
    container_standin: dict[str, str], docker_engine: docker.DockerClient, example_image: str,
    tmp_path: Path,
) -> None:
    root = project(tmp_path, example_image, "array")
    proc = run_cli("run", "workflow.py", "main", "--n", "3", cwd=root, env=container_standin,
                   timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "as AWS Batch array job" in proc.stderr

    results = eval(proc.stdout)
    assert [r["x"] for r in results] == [0, 1, 2]
    assert all(r["release"] == "remit-example image" for r in results)
    parent = results[0]["job_id"].rpartition(":")[0]
    assert sorted((r["job_id"], r["index"]) for r in results) == [
        (f"{parent}:{i}", str(i)) for i in range(3)
    ]
    assert leftover_containers(docker_engine, parent) == []


def test_failing_container_job_is_failed_with_its_log(
    container_standin: dict[str, str], example_image: str, tmp_path: Path
) -> None:
    root = project(tmp_path, example_image, "failing")
    proc = run_cli("run", "workflow.py", "main_fails", cwd=root, env=container_standin,
                   timeout=180)
    assert proc.returncode == 1
    assert "ValueError: container boom 5" in proc.stderr
    assert "exit code 1" in proc.stderr
    assert "about to fail in the container with 5" in proc.stderr  # CloudWatch log tail


def _batch(env: dict[str, str]) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    return session.client("batch", endpoint_url=env["AWS_ENDPOINT_URL"])


def _wait(batch: Any, job_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        time.sleep(0.1)


def test_timeout_and_terminate_kill_and_remove_the_container(
    container_standin: dict[str, str], docker_engine: docker.DockerClient, example_image: str
) -> None:
    batch = _batch(container_standin)
    batch.register_job_definition(
        jobDefinitionName="remit-sleeper", type="container",
        containerProperties={
            "image": example_image, "command": ["sleep", "60"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                     {"type": "MEMORY", "value": "256"}],
        },
    )
    started = time.monotonic()
    timed = batch.submit_job(jobName="timed", jobQueue=QUEUE, jobDefinition="remit-sleeper",
                             timeout={"attemptDurationSeconds": 2})["jobId"]
    killed = batch.submit_job(jobName="killed", jobQueue=QUEUE,
                              jobDefinition="remit-sleeper")["jobId"]
    _wait(batch, killed, ("RUNNING",))
    deadline = time.monotonic() + 30
    while not leftover_containers(docker_engine, killed):
        assert time.monotonic() < deadline, "no container for the running job"
        time.sleep(0.1)
    batch.terminate_job(jobId=killed, reason="not needed")

    killed_job = _wait(batch, killed, ("SUCCEEDED", "FAILED"))
    timed_job = _wait(batch, timed, ("SUCCEEDED", "FAILED"))
    assert killed_job["status"] == "FAILED" and killed_job["statusReason"] == "not needed"
    assert killed_job["container"]["exitCode"] == 128 + signal.SIGKILL
    assert timed_job["status"] == "FAILED"
    assert timed_job["statusReason"] == "Job attempt duration exceeded timeout"
    assert time.monotonic() - started < 40  # not the 60 s the commands would sleep
    assert leftover_containers(docker_engine, killed) == []
    assert leftover_containers(docker_engine, timed) == []


def test_no_engine_is_a_clear_error_unless_falling_back(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    base = [sys.executable, "-m", "remit", "emulate", "aws", "--containers", "--port", "0"]
    failed = subprocess.run(base, env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert f"DOCKER_HOST=unix://{tmp_path}/no-engine.sock" in failed.stderr
    assert "scripts/container-engine.sh start" in failed.stderr
    assert "--fallback-local" in failed.stderr

    env_file = tmp_path / "aws.env"
    proc = subprocess.Popen([*base, "--fallback-local", "--env-file", str(env_file)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    try:
        first, ready = proc.stderr.readline(), proc.stderr.readline()
        assert "no container engine reachable" in first
        assert "running Batch jobs as local processes instead" in first
        assert ready.startswith("[remit] AWS stand-in ready on http://127.0.0.1:")
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """Interrupt a `remit emulate aws` process and reap it (killed if it lingers)."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
