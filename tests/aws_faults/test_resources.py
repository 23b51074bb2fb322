"""A queue, bucket or job definition that does not exist where remit looks (a wrong region
included) is one clear error naming it, the region and the endpoint, before any SubmitJob."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from remit.emulate import AWSStandIn
from tests.aws_faults.test_batch_faults import execution_statuses, jobs_by_task
from tests.batch.project import FANOUT, make_project
from tests.conftest import run_cli

pytestmark = pytest.mark.aws

WHERE = r"region {region}, endpoint http://127.0.0.1:"


@pytest.mark.parametrize(("change", "message", "region"), [
    ({"queue = remit-queue": "queue = no-such-queue"},
     "AWS Batch job queue 'no-such-queue' does not exist", "us-east-1"),
    ({"s3://remit-test/": "s3://no-such-bucket/"},
     "S3 bucket 'no-such-bucket' of s3_scratch = s3://no-such-bucket/missing/ does not exist",
     "us-east-1"),
    ({"job_monitor_interval": "job_def_name = no-such-jd\nautocreate_job_def = false\n"
                              "job_monitor_interval"},
     "no ACTIVE AWS Batch job definition named 'no-such-jd'", "us-east-1"),
    ({"job_monitor_interval": "aws_region = eu-west-1\njob_monitor_interval"},
     "AWS Batch job queue 'remit-queue' does not exist", "eu-west-1"),
], ids=["queue", "bucket", "job-definition", "wrong-region"])
def test_missing_resource_is_one_clear_error(
    aws_standin: AWSStandIn, tmp_path: Path, change: dict[str, str], message: str, region: str
) -> None:
    make_project(tmp_path, FANOUT, scratch="missing")
    ini = tmp_path / ".remit" / "remit.ini"
    text = ini.read_text()
    for old, new in change.items():
        assert old in text
        text = text.replace(old, new)
    ini.write_text(text)
    aws_standin.reset_calls()
    proc = run_cli("run", "workflow.py", "main", "--n", "3", cwd=tmp_path)
    assert proc.returncode == 1
    err = proc.stderr
    final = [line for line in err.splitlines() if line.startswith("    AWSResourceError: ")]
    assert len(final) == 1, err
    assert message in final[0] and WHERE.format(region=region) in final[0], final[0]
    assert "ClientException" not in err and "most recent call last" not in err
    assert aws_standin.calls()["SubmitJob"] == 0
    recorded = jobs_by_task(tmp_path)
    assert [status for status, _ in recorded["double"]] == ["FAILED"] * 3
    assert all("AWSResourceError" in (error or "") for _, error in recorded["double"])
    assert execution_statuses(tmp_path) == ["FAILED"]


@pytest.mark.parametrize(("value", "problem"), [
    ("0", "must be a positive number of seconds"), ("-5", "must not be negative"),
    ("nan", "expected a finite number"), ("inf", "expected a finite number"),
    ("soon", "expected a number"),
])
def test_api_timeout_is_checked_up_front(tmp_path: Path, value: str, problem: str) -> None:
    make_project(tmp_path, FANOUT, extra=f"api_timeout = {value}\n")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 1
    assert f"[executors.batch] api_timeout: {problem}" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_emulate_uses_the_region_of_the_environment(tmp_path: Path) -> None:
    shell = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    shell["AWS_DEFAULT_REGION"] = "us-west-2"
    with _emulate(shell, "--bucket", "remit-test") as (ready, exports):
        assert ready.endswith("(region us-west-2)")
        assert exports["AWS_DEFAULT_REGION"] == exports["AWS_REGION"] == "us-west-2"
        # A run with the same shell, given only the endpoint and credentials, works.
        make_project(tmp_path, FANOUT, scratch="region")
        env = {**shell, **{k: exports[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                                  "AWS_SECRET_ACCESS_KEY")}}
        proc = subprocess.run([sys.executable, "-m", "remit", "run", "workflow.py", "main",
                               "--n", "3"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=90)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "6"
    with _emulate(shell, "--region", "eu-west-1", "--queue", "q") as (ready, exports):
        assert ready.endswith("(region eu-west-1)") and exports["AWS_REGION"] == "eu-west-1"


class _emulate:  # noqa: N801 - used like a function
    """`remit emulate aws --port 0 ARGS` with ``env``: yields its ready line and exports."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "remit", "emulate", "aws", "--port", "0", *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def __enter__(self) -> tuple[str, dict[str, str]]:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        exports = dict(self.proc.stdout.readline().removeprefix("export ").strip().split("=", 1)
                       for _ in range(5))
        return self.proc.stderr.readline().strip(), exports

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.communicate(timeout=15)
        finally:
            self.proc.kill()
