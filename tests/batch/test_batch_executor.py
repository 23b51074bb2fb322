"""The AWS Batch executor through the local stand-in: real boto3 calls, real job processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from remit.executors.aws_batch.monitor import MIN_INTERVAL
from tests.batch.project import FANOUT, make_project
from tests.conftest import run_cli, status_row

pytestmark = pytest.mark.aws

WORKFLOW = '''
import os
from remit import task, script
from task_lib.utils import lib_task_on_batch

remit_namespace = "tests.batch"


@task()
def task_on_default(x: int) -> list:
    return ["task_on_default", os.getpid(), x]


@task(executor="batch", batch_tags={"stage": "align"})
def task_on_batch(x: int) -> list:
    return ["task_on_batch", os.getpid(), os.environ.get("AWS_BATCH_JOB_ID"),
            task_on_default(x + 5), x]


@task()
def main(y: int = 10) -> list:
    return [os.getpid(), task_on_batch(y), lib_task_on_batch(y),
            script("echo from-script; echo $AWS_BATCH_JOB_ID", executor="batch")]
'''

LIB = '''
import os
from remit import task

remit_namespace = "tests.batch.lib"


@task(executor="batch")
def lib_task_on_batch(x: int) -> list:
    return ["lib_task_on_batch", os.environ.get("AWS_BATCH_JOB_ID"), x]
'''



def s3_keys(prefix: str) -> list[str]:
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="remit-test", Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def test_mixed_workflow_runs_on_batch(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, WORKFLOW, scratch="mixed", lib=LIB)
    aws_standin.reset_calls()
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    main_pid, on_batch, on_lib, script_out = eval(proc.stdout)
    # task_on_batch ran in a Batch job process, its lazy child back on the scheduler.
    assert on_batch[0] == "task_on_batch" and on_batch[1] != main_pid and on_batch[2]
    assert on_batch[3] == ["task_on_default", main_pid, 15] and on_batch[4] == 10
    assert on_lib[0] == "lib_task_on_batch" and on_lib[1] and on_lib[2] == 10
    assert script_out.startswith(b"from-script\n") and len(script_out.split()) == 2
    err = proc.stderr
    assert len(re.findall(r"AWSBatchExecutor: submit remit job \S+ as AWS Batch job", err)) == 3
    for field in ("job_id", "job_name", "s3_scratch_path", "retry_attempts", "debug"):
        assert f"[remit]   {field:<15} = " in err
    assert "job_name        = remit-test-" in err
    assert status_row(err, "ALL") == [0, 0, 0, 0, 7, 7]
    keys = s3_keys("mixed/")
    assert any(re.fullmatch(r"mixed/code/[0-9a-f]{40}\.tar\.gz", k) for k in keys)
    job_dirs = {k.split("/")[2] for k in keys if k.startswith("mixed/jobs/")}
    assert len(job_dirs) == 3
    for job_dir in job_dirs:
        assert {f"mixed/jobs/{job_dir}/input", f"mixed/jobs/{job_dir}/output"} <= set(keys)
    # view-pickle shows a partially evaluated output: the lazy call of task_on_default.
    outputs = [f"s3://remit-test/mixed/jobs/{d}/output" for d in job_dirs]
    shown = [run_cli("view-pickle", "--unsafe", url, cwd=tmp_path).stdout for url in outputs]
    assert any("TaskExpression('tests.batch.task_on_default', (15,), {})" in s for s in shown)
    inert = [run_cli("view-pickle", url, cwd=tmp_path).stdout for url in outputs]
    assert any("_rebuild_task_expression('tests.batch.task_on_default', (15,)" in s
               for s in inert)
    inputs = run_cli("view-pickle", "--unsafe", outputs[0].replace("/output", "/input"),
                     cwd=tmp_path)
    assert inputs.returncode == 0 and inputs.stdout.startswith("((")

    # Job definition created once; tags carry remit's ids, the ini tags and the task tags.
    batch = boto3.client("batch")
    defs = batch.describe_job_definitions(jobDefinitionName="remit-test-remit-jd",
                                          status="ACTIVE")["jobDefinitions"]
    assert len(defs) == 1
    on_batch_id = on_batch[2]
    tags = batch.describe_jobs(jobs=[on_batch_id])["jobs"][0]["tags"]
    assert tags["project"] == "acme" and tags["user"] == "tester" and tags["stage"] == "align"
    assert tags["remit_task_name"] == "tests.batch.task_on_batch"
    assert {"remit_job_id", "remit_execution_id"} <= set(tags)

    # A second run is served from the cache and submits nothing.
    aws_standin.reset_calls()
    again = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert status_row(again.stderr, "ALL")[3] == 7
    assert aws_standin.calls()["SubmitJob"] == 0
    # A fresh project with the same image reuses the job definition.
    other = make_project(tmp_path / "other", WORKFLOW.replace("x + 5", "x + 6"), scratch="mixed",
                         lib=LIB)
    assert run_cli("run", "workflow.py", "main", cwd=other).returncode == 0
    defs = batch.describe_job_definitions(jobDefinitionName="remit-test-remit-jd",
                                          status="ACTIVE")["jobDefinitions"]
    assert len(defs) == 1


FAILING = '''
import os
from remit import task

@task(executor="batch")
def explode(x: int) -> int:
    print("about to fail on attempt", os.environ["AWS_BATCH_JOB_ATTEMPT"])
    raise ValueError(f"remote boom {x}")

@task(executor="batch", timeout=2)
def sleepy() -> int:
    import time
    time.sleep(60)
    return 1

@task(executor="batch", retries=1, retry_on="task")
def flaky() -> str:
    attempt = os.environ["AWS_BATCH_JOB_ATTEMPT"]
    if attempt == "1":
        raise RuntimeError("first attempt fails")
    return "succeeded on attempt " + attempt

@task()
def main_fail() -> int:
    return explode(3)

@task()
def main_timeout() -> int:
    return sleepy()

@task()
def main_retry() -> str:
    return flaky()
'''


def test_remote_failure_shows_type_traceback_and_log_tail(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, FAILING, scratch="failing")
    proc = run_cli("run", "workflow.py", "main_fail", cwd=tmp_path)
    assert proc.returncode == 1
    err = proc.stderr
    assert "ValueError: remote boom 3" in err
    assert 'raise ValueError(f"remote boom {x}")' in err  # the remote traceback
    assert re.search(r"AWS Batch job \S+ FAILED", err) and "exit code 1" in err
    assert "Last " in err and "about to fail on attempt 1" in err  # CloudWatch log tail


def test_timed_out_job(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, FAILING, scratch="timeout")
    proc = run_cli("run", "workflow.py", "main_timeout", cwd=tmp_path, timeout=90)
    assert proc.returncode == 1
    assert "JobTimeoutError" in proc.stderr and "timeout of 2 s" in proc.stderr
    assert "FAILED (timeout, 1 attempt): Job attempt duration exceeded timeout" in proc.stderr


def test_retries_rerun_a_failed_attempt(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, FAILING, scratch="retry")
    proc = run_cli("run", "workflow.py", "main_retry", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "'succeeded on attempt 2'"
    assert "retry_attempts  = 1" in proc.stderr


def test_array_jobs_group_identical_tasks(aws_standin, tmp_path: Path) -> None:
    n = 300
    make_project(tmp_path, FANOUT, scratch="array", extra="min_array_size = 5\n")
    aws_standin.reset_calls()
    proc = run_cli("run", "workflow.py", "main", "--n", str(n), cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == n * (n - 1)
    calls = aws_standin.calls()
    assert calls["SubmitJob"] == 1  # max_array_size 1000: one array job for all of them
    assert sum(calls.values()) <= 2 * n  # the scheduler's calls: S3 and Batch together
    assert "as AWS Batch array job" in proc.stderr and f"array_size      = {n}" in proc.stderr
    # Array children are not polled one by one: a few calls per poll for the whole array.
    assert calls["DescribeJobs"] < 200 and calls["ListJobs"] < 400
    assert status_row(proc.stderr, "double") == [0, 0, 0, 0, n, n]


def test_describe_jobs_is_batched(aws_standin, tmp_path: Path) -> None:
    n = 120
    make_project(tmp_path, FANOUT, scratch="describe", extra="min_array_size = 100000\n"
                 "max_array_size = 10\n")
    aws_standin.reset_calls()
    started = time.monotonic()
    proc = run_cli("run", "workflow.py", "main", "--n", str(n), cwd=tmp_path, timeout=300)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    calls = aws_standin.calls()
    assert calls["SubmitJob"] == n
    # One call covers up to 100 jobs and polls pace themselves to about 4 calls a second
    # (a few more when the stand-in asks for a retry):
    # one call per job per poll would be about n times as many.
    assert 0 < calls["DescribeJobs"] <= 2 * elapsed / MIN_INTERVAL


def test_reattach_after_scheduler_is_killed(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, '''
        import time
        from remit import task

        @task(executor="batch")
        def slow(x: int) -> int:
            time.sleep(6)
            return x * 3

        @task()
        def main() -> int:
            return slow(7)
    ''', scratch="reattach")
    aws_standin.reset_calls()
    env = {**os.environ}
    first = subprocess.Popen([sys.executable, "-m", "remit", "run", "workflow.py", "main"],
                             cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while aws_standin.calls()["SubmitJob"] == 0 and time.time() < deadline:
        time.sleep(0.2)
    assert aws_standin.calls()["SubmitJob"] == 1
    first.send_signal(signal.SIGKILL)
    first.communicate()
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "21"
    assert "re-attach remit job" in proc.stderr
    assert aws_standin.calls()["SubmitJob"] == 1  # no duplicate submission


def test_debug_mode_without_container_engine_is_a_clear_error(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, '''
        from remit import task

        @task(executor="batch", debug=True)
        def main() -> int:
            return 1
    ''', scratch="debug")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path,
                   env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert proc.returncode == 1
    assert "DOCKER_HOST" in proc.stderr and "container engine" in proc.stderr


def test_failing_array_child_fails_alone(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, '''
        from remit import task

        @task(executor="batch")
        def check(i: int) -> int:
            if i == 3:
                raise ValueError("child 3 is bad")
            return i

        @task()
        def main(n: int = 8) -> list:
            return [check(i) for i in range(n)]
    ''', scratch="array-fail", extra="min_array_size = 5\n")
    aws_standin.reset_calls()
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path, timeout=300)
    assert proc.returncode == 1
    assert aws_standin.calls()["SubmitJob"] == 1
    assert "ValueError: child 3 is bad" in proc.stderr and "check(i=3)" in proc.stderr
    assert re.search(r"AWS Batch job \S+:3 FAILED", proc.stderr)
    assert status_row(proc.stderr, "check") == [0, 0, 1, 0, 7, 8]
