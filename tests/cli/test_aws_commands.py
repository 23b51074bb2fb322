"""`remit aws list-jobs|kill-jobs|logs` against the local AWS stand-in: jobs are found by
their remit_execution_id tag, kill-jobs stops only that execution's jobs still in flight,
and logs prints a job's CloudWatch stream."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import STANDIN_QUEUE, invoke_cli

pytestmark = pytest.mark.aws

JOB_DEFINITION = "remit-cli-test"


@pytest.fixture
def batch(aws_standin: Any) -> Any:
    """A Batch client of the stand-in with a job definition registered."""
    client = boto3.client("batch", endpoint_url=aws_standin.endpoint_url)
    client.register_job_definition(
        jobDefinitionName=JOB_DEFINITION, type="container",
        containerProperties={"image": "remit:test", "command": ["true"],
                             "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                      {"type": "MEMORY", "value": "256"}]})
    return client


def submit(batch: Any, execution_id: str, script: str, task: str) -> str:
    return batch.submit_job(
        jobName="remit-cli-test", jobQueue=STANDIN_QUEUE, jobDefinition=JOB_DEFINITION,
        containerOverrides={"command": ["sh", "-c", script]},
        tags={"remit_execution_id": execution_id, "remit_job_id": str(uuid.uuid4()),
              "remit_task_name": task},
    )["jobId"]


def wait_for(batch: Any, job_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"{job_id} still {job['status']}"
        time.sleep(0.05)


def record_batch_job(root: Path, batch_id: str) -> str:
    """Record, as a run would, a remit job's AWS Batch job id tag; return the remit job id."""
    from remit.db import models
    from remit.db.backend import Backend

    backend = Backend.for_config_dir(root / ".remit", {})
    job_id = str(uuid.uuid4())
    with backend.engine.begin() as conn:
        conn.execute(models.tag.insert(), [{"entity_id": job_id, "key": "aws_batch_job",
                                            "value": batch_id}])
    backend.close()
    return job_id


def test_list_kill_and_logs_of_an_execution(batch: Any, tmp_path: Path) -> None:
    (tmp_path / ".remit").mkdir()
    (tmp_path / ".remit" / "remit.ini").write_text(
        f"[executors.batch]\ntype = aws_batch\nimage = remit:test\nqueue = {STANDIN_QUEUE}\n"
        "s3_scratch = s3://remit-test/remit/\n")
    ours, other = str(uuid.uuid4()), str(uuid.uuid4())
    forever = submit(batch, ours, "echo started forever; exec sleep 60", "demo.forever")
    done = submit(batch, ours, "echo hello from a short job; echo second line", "demo.short")
    bystander = submit(batch, other, "exec sleep 60", "demo.other")
    try:
        wait_for(batch, forever, ("RUNNING",))
        wait_for(batch, bystander, ("RUNNING",))
        wait_for(batch, done, ("SUCCEEDED",))

        listed = invoke_cli("aws", "list-jobs", ours[:8], cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        rows = {line.split()[0]: line.split()[1:] for line in listed.stdout.splitlines()[1:]}
        assert rows[forever][0] == "RUNNING" and rows[forever][-1] == "demo.forever"
        assert rows[done][0] == "SUCCEEDED" and bystander not in rows

        logs = invoke_cli("aws", "logs", done, cwd=tmp_path)
        assert logs.returncode == 0, logs.stderr
        assert logs.stdout.splitlines() == ["hello from a short job", "second line"]
        # by the remit job id the store recorded for that Batch job
        remit_job = record_batch_job(tmp_path, done)
        by_remit_id = invoke_cli("aws", "logs", remit_job[:8], cwd=tmp_path)
        assert by_remit_id.stdout.splitlines() == logs.stdout.splitlines(), by_remit_id.stderr

        killed = invoke_cli("aws", "kill-jobs", ours[:8], "--queue", STANDIN_QUEUE, cwd=tmp_path)
        assert killed.returncode == 0, killed.stderr
        assert f"Terminated {forever} (RUNNING) demo.forever" in killed.stdout
        assert "1 job(s) of execution" in killed.stdout
        stopped = wait_for(batch, forever, ("SUCCEEDED", "FAILED"))
        assert stopped["status"] == "FAILED"
        assert stopped["statusReason"] == "stopped by remit aws kill-jobs"
        assert batch.describe_jobs(jobs=[bystander])["jobs"][0]["status"] == "RUNNING"
        assert "started forever" in invoke_cli("aws", "logs", forever, cwd=tmp_path).stdout

        left = invoke_cli("aws", "list-jobs", ours[:8], "--in-flight", cwd=tmp_path)
        assert "No AWS Batch jobs found" in left.stdout
    finally:
        batch.terminate_job(jobId=forever, reason="test over")
        batch.terminate_job(jobId=bystander, reason="test over")


def test_aws_errors_are_one_line(batch: Any, tmp_path: Path) -> None:
    proc = invoke_cli("aws", "list-jobs", "abc", cwd=tmp_path)
    assert proc.returncode == 2 and "pass --queue NAME" in proc.stderr
    proc = invoke_cli("aws", "logs", str(uuid.uuid4()), cwd=tmp_path)
    assert proc.returncode == 1 and "no AWS Batch job" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / ".remit").exists()


def test_kill_jobs_stops_a_running_remit_execution(aws_standin: Any, tmp_path: Path) -> None:
    from tests.batch.project import make_project

    make_project(tmp_path, '''
        import time
        from remit import task

        @task(executor="batch")
        def slow(x: int) -> int:
            time.sleep(60)
            return x

        @task()
        def main() -> list:
            return [slow(1), slow(2)]
    ''', scratch="killjobs", prefix="remit-kill")
    aws_standin.reset_calls()
    run = subprocess.Popen([sys.executable, "-m", "remit", "run", "workflow.py", "main"],
                           cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        deadline = time.monotonic() + 60
        while aws_standin.calls()["SubmitJob"] < 1:  # both calls go as one array job
            assert time.monotonic() < deadline and run.poll() is None
            time.sleep(0.2)
        while True:  # until the run has recorded its execution and its job is listed
            listed = invoke_cli("aws", "list-jobs", "-", "--in-flight", cwd=tmp_path)
            if "slow" in listed.stdout:
                break
            assert time.monotonic() < deadline, listed.stdout + listed.stderr
            time.sleep(0.5)
        killed = invoke_cli("aws", "kill-jobs", "-", cwd=tmp_path)
        assert killed.returncode == 0, killed.stderr
        assert "job(s) of execution" in killed.stdout and "0 job(s)" not in killed.stdout
        _, err = run.communicate(timeout=90)
    finally:
        run.kill()
    assert run.returncode == 1
    assert "stopped by remit aws kill-jobs" in err
    again = invoke_cli("aws", "list-jobs", "-", "--in-flight", cwd=tmp_path)
    assert "No AWS Batch jobs found" in again.stdout
