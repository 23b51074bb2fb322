"""Failure classes of AWS Batch jobs: recognised from what AWS reports, shown to the user, and
retried per class (retry_on) through the stand-in's evaluateOnExit rules."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from remit.errors import ConfigError
from remit.executors.aws_batch.failures import (
    advice,
    classify,
    parse_retry_on,
    retry_strategy,
)
from tests.batch.project import make_project
from tests.conftest import run_cli

OOM = "OutOfMemoryError: Container killed due to memory usage"


def _described(status_reason: str, exit_code: int | None = None, reason: str = "",
               attempts: int = 1) -> dict:
    """A failed job as DescribeJobs reports it: the last attempt repeats the job's facts."""
    container = {"logStreamName": "jd/default/abc"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if reason:
        container["reason"] = reason
    tries = [{"container": dict(container), "statusReason": status_reason}] * attempts
    return {"jobId": "j", "status": "FAILED", "statusReason": status_reason,
            "container": container, "attempts": tries}


@pytest.mark.parametrize(("description", "kind"), [
    (_described("Host EC2 (instance i-0a1b2c3d4e5f67890) terminated."), "host"),
    (_described("Essential container in task exited", 137, OOM), "oom"),
    (_described(OOM, 137, OOM), "oom"),
    (_described("Essential container in task exited", 137), "oom"),
    (_described("CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                "failed to resolve ref 123.dkr.ecr.us-west-2.amazonaws.com/app:v2: not found"),
     "image"),
    (_described("Task failed to start", None,
                "CannotPullContainerError: Error response from daemon: manifest unknown"),
     "image"),
    (_described("Job attempt duration exceeded timeout", 137), "timeout"),
    (_described("Essential container in task exited", 1), "task"),
    (_described("Terminated by the user"), "other"),
    (_described("Essential container in task exited", 2), "other"),
])
def test_each_class_is_recognised_from_what_aws_reports(description: dict, kind: str) -> None:
    assert classify(description).kind == kind


def test_attempts_are_counted_and_the_last_attempt_decides() -> None:
    description = _described("Essential container in task exited", 1, attempts=3)
    description["attempts"][-1] = {"container": {"exitCode": 137, "reason": OOM},
                                   "statusReason": "Essential container in task exited"}
    classified = classify(description)
    assert (classified.kind, classified.attempts, classified.exit_code) == ("oom", 3, 137)


def test_a_rejected_command_line_suggests_rebuilding_the_image() -> None:
    failure = classify(_described("Essential container in task exited", 2))
    assert "rebuild the image" in advice(failure, 4, "[executors.batch]")


def test_retry_on_becomes_evaluate_on_exit_rules() -> None:
    assert retry_strategy(parse_retry_on("spot, host", "x"), 0) == {"attempts": 1}
    strategy = retry_strategy(parse_retry_on("spot, host, oom:1", "x"), 3)
    assert strategy["attempts"] == 4
    assert strategy["evaluateOnExit"] == [
        {"onStatusReason": "Host EC2*", "action": "RETRY"},
        {"onReason": "OutOfMemoryError*", "action": "RETRY"},
        {"onStatusReason": "*", "action": "EXIT"},
    ]
    with pytest.raises(ConfigError, match="unknown failure class 'gpu'.*spot, host"):
        parse_retry_on("gpu", "[executors.batch] retry_on")
    with pytest.raises(ConfigError, match="whole number, e.g. host:3"):
        parse_retry_on("host:x", "[executors.batch] retry_on")


WORKFLOW = '''
import os
import time
from remit import task

@task(executor="batch", memory=0.25, retries=2)
def hog() -> int:
    data = b"x" * (600 * 2 ** 20)  # far more than 0.25 GiB, every page touched
    time.sleep(10)
    return len(data)

@task(executor="batch", memory=0.25, retry_on="oom:1")
def hog_retried() -> int:
    data = b"x" * (600 * 2 ** 20)
    time.sleep(10)
    return len(data)

@task(executor="batch", retries=2)
def buggy() -> int:
    raise ValueError("a bug is not retried by default")

@task(executor="batch", retry_on="host:2")
def survivor() -> str:
    attempt = os.environ["AWS_BATCH_JOB_ATTEMPT"]
    if attempt != "3":
        time.sleep(60)
    return "done on attempt " + attempt
'''


def _attempts(job_id: str) -> int:
    job = boto3.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]
    return len(job["attempts"])


def _batch_job_id(stderr: str) -> str:
    return re.findall(r"job_id\s+= (\S+)", stderr)[-1]


def _remit_job_id(stderr: str, call: str) -> str:
    return re.search(rf"Run +Job (\w+): +{re.escape(call)}", stderr).group(1)


def test_out_of_memory_says_which_limit_to_raise(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, WORKFLOW, scratch="oom")
    proc = run_cli("run", "workflow.py", "hog", cwd=tmp_path)
    assert proc.returncode == 1
    err = proc.stderr
    assert "ran out of memory (memory = 0.25 GiB)" in err
    assert re.search(r"FAILED \(out of memory, 1 attempt\).*" + OOM + r"\), exit code 137", err)
    assert ("memory of 0.25 GiB: raise it with @task(memory=...) or `memory = ...` in "
            "[executors.batch]") in err
    assert _attempts(_batch_job_id(err)) == 1  # retries=2, but oom is not in retry_on
    log = run_cli("log", _remit_job_id(err, "hog()"), cwd=tmp_path)
    assert "aws_batch_failure=oom" in log.stdout and "out of memory" in log.stdout


def test_oom_retried_as_many_times_as_its_class_says(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, WORKFLOW, scratch="oom-retry")
    proc = run_cli("run", "workflow.py", "hog_retried", cwd=tmp_path)
    assert proc.returncode == 1
    assert "FAILED (out of memory, 2 attempts)" in proc.stderr
    assert _attempts(_batch_job_id(proc.stderr)) == 2


def test_task_error_is_not_retried_by_default(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, WORKFLOW, scratch="bug")
    proc = run_cli("run", "workflow.py", "buggy", cwd=tmp_path)
    assert proc.returncode == 1
    assert "ValueError: a bug is not retried by default" in proc.stderr
    assert "FAILED (task error, 1 attempt)" in proc.stderr
    assert _attempts(_batch_job_id(proc.stderr)) == 1


def test_missing_image_is_an_image_failure(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, WORKFLOW, scratch="image", image="remit-gone:latest")
    aws_standin.set_image_missing("remit-gone:latest")
    try:
        proc = run_cli("run", "workflow.py", "buggy", cwd=tmp_path)
    finally:
        aws_standin.set_image_missing("remit-gone:latest", missing=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert "FAILED (image pull failed, 1 attempt): CannotPullContainerError" in err
    assert "check `image` in [executors.batch]" in err
    assert "ValueError" not in err  # the task never ran


def test_host_termination_retried_per_its_class(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, WORKFLOW, scratch="host", prefix="remit-host")
    run = subprocess.Popen([sys.executable, "-m", "remit", "run", "workflow.py", "survivor"],
                           cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        for attempt in (1, 2):
            job_id = _running("remit-host-", attempt)
            deadline = time.monotonic() + 20  # listed RUNNING a moment before its process is
            while not aws_standin.terminate_host(job_id):
                assert time.monotonic() < deadline, f"job {job_id} never ran"
                time.sleep(0.1)
        out, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 0, err
    assert out.strip() == "'done on attempt 3'"
    batch = boto3.client("batch")
    job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    reasons = [a["statusReason"] for a in job["attempts"]]
    assert len(reasons) == 3
    assert all(re.fullmatch(r"Host EC2 \(instance i-[0-9a-f]{17}\) terminated\.", r)
               for r in reasons[:2])


def _running(prefix: str, attempt: int) -> str:
    """The id of the job named ``prefix...`` once its ``attempt`` runs."""
    batch = boto3.client("batch")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for summary in batch.list_jobs(jobQueue="remit-queue", jobStatus="RUNNING")[
                "jobSummaryList"]:
            if summary["jobName"].startswith(prefix) and _attempts(summary["jobId"]) == attempt - 1:
                return str(summary["jobId"])
        time.sleep(0.2)
    raise AssertionError(f"no running job {prefix}* on attempt {attempt}")
