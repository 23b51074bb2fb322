"""The local AWS stand-in, through real boto3 HTTP calls: S3, Batch jobs that really run, logs,
retries, timeouts, array jobs, ListJobs fidelity, call counting and the `remit emulate aws` CLI."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

import boto3
import pytest
from botocore.config import Config

from remit.__about__ import __version__
from remit.emulate import AWSStandIn

from .conftest import BUCKET, CONTAINER_PROPERTIES, JOB_DEFINITION, QUEUE

pytestmark = pytest.mark.aws

DONE = ("SUCCEEDED", "FAILED")


def submit(batch: Any, command: list[str], **kwargs: Any) -> str:
    """Submit a job running `command` on the test queue; return its id."""
    response = batch.submit_job(
        jobName="remit-test",
        jobQueue=QUEUE,
        jobDefinition=JOB_DEFINITION,
        containerOverrides={"command": command},
        **kwargs,
    )
    return response["jobId"]


def wait_for(batch: Any, job_id: str, statuses: tuple[str, ...] = DONE) -> dict[str, Any]:
    """Poll DescribeJobs until the job reaches one of `statuses`; return its description."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        if job["status"] in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']}, expected one of {statuses}")


def log_lines(logs: Any, stream: str) -> list[str]:
    """The messages of a job's CloudWatch log stream."""
    events = logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=stream)["events"]
    return [event["message"] for event in events]


def test_s3_put_and_get_counted_by_operation(standin: AWSStandIn, s3: Any) -> None:
    standin.reset_calls()
    s3.put_object(Bucket=BUCKET, Key="dir/hello.txt", Body=b"hello")
    assert s3.get_object(Bucket=BUCKET, Key="dir/hello.txt")["Body"].read() == b"hello"
    assert s3.head_object(Bucket=BUCKET, Key="dir/hello.txt")["ContentLength"] == 5
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="dir/")["KeyCount"] == 1

    expected = ["PutObject", "GetObject", "HeadObject", "ListObjectsV2"]
    assert standin.calls() == Counter(expected)  # only this test's client calls since the reset


def test_job_runs_command_with_the_endpoint_and_logs_its_output(
    batch: Any, s3: Any, logs: Any
) -> None:
    script = textwrap.dedent(
        """
        import os, boto3
        job_id = os.environ["AWS_BATCH_JOB_ID"]
        print("hello from", job_id, os.environ["FROM_DEFINITION"])
        boto3.client("s3").put_object(Bucket="remit-test", Key="jobs/" + job_id, Body=b"ran")
        """
    )
    job_id = submit(batch, ["python", "-c", script])
    job = wait_for(batch, job_id)

    assert job["status"] == "SUCCEEDED"
    assert job["container"]["exitCode"] == 0
    assert job["startedAt"] <= job["stoppedAt"]
    assert s3.get_object(Bucket=BUCKET, Key=f"jobs/{job_id}")["Body"].read() == b"ran"
    stream = job["container"]["logStreamName"]
    assert stream.startswith(f"{JOB_DEFINITION}/default/")
    assert log_lines(logs, stream) == [f"hello from {job_id} yes"]


def test_failing_job_is_failed_with_its_exit_code(batch: Any, logs: Any) -> None:
    job_id = submit(batch, ["sh", "-c", "echo boom >&2; exit 3"])
    job = wait_for(batch, job_id)
    job = batch.describe_jobs(jobs=[job_id])["jobs"][0]  # describing twice adds no duplicates

    assert job["status"] == "FAILED"
    assert job["container"]["exitCode"] == 3
    assert job["statusReason"] == "Essential container in task exited"
    names = [entry["name"] for entry in job["container"]["environment"]]
    assert names.count("AWS_BATCH_JOB_ID") == 1
    assert log_lines(logs, job["container"]["logStreamName"]) == ["boom"]


def test_array_children_see_their_index_and_parent_finishes_undescribed(
    batch: Any, logs: Any
) -> None:
    parent = submit(
        batch,
        ["sh", "-c", 'echo "$AWS_BATCH_JOB_ARRAY_INDEX $AWS_BATCH_JOB_ID"'],
        arrayProperties={"size": 5},
    )
    children = [wait_for(batch, f"{parent}:{i}") for i in range(5)]

    for index, child in enumerate(children):
        assert child["status"] == "SUCCEEDED"
        assert child["arrayProperties"] == {"index": index}
        assert log_lines(logs, child["container"]["logStreamName"]) == [f"{index} {parent}:{index}"]
    succeeded = batch.list_jobs(jobQueue=QUEUE, jobStatus="SUCCEEDED")["jobSummaryList"]
    assert parent in {summary["jobId"] for summary in succeeded}  # without DescribeJobs on it
    described = batch.describe_jobs(jobs=[parent])["jobs"][0]
    assert described["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 5


def test_array_parent_fails_when_a_child_fails(batch: Any) -> None:
    parent = submit(
        batch, ["sh", "-c", 'test "$AWS_BATCH_JOB_ARRAY_INDEX" != 1'], arrayProperties={"size": 3}
    )
    statuses = [wait_for(batch, f"{parent}:{i}")["status"] for i in range(3)]

    assert statuses == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert wait_for(batch, parent)["status"] == "FAILED"


def test_terminate_job_kills_the_process(batch: Any, logs: Any) -> None:
    job_id = submit(batch, ["sh", "-c", "echo $$; exec sleep 30"])
    stream = wait_for(batch, job_id, ("RUNNING",))["container"]["logStreamName"]
    while not log_lines(logs, stream):
        time.sleep(0.05)
    pid = int(log_lines(logs, stream)[0])

    batch.terminate_job(jobId=job_id, reason="no longer needed")
    job = wait_for(batch, job_id)

    assert job["status"] == "FAILED"
    assert job["statusReason"] == "no longer needed"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_attempt_duration_timeout_fails_the_job(batch: Any) -> None:
    started = time.monotonic()
    job_id = submit(batch, ["sleep", "30"], timeout={"attemptDurationSeconds": 1})
    job = wait_for(batch, job_id)

    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Job attempt duration exceeded timeout"
    assert time.monotonic() - started < 10


def test_retry_strategy_reruns_a_failed_attempt_in_a_fresh_directory(batch: Any) -> None:
    # fails on attempt 1; attempt 2 succeeds only if the marker of attempt 1 is gone
    script = 'test ! -e marker && touch marker && test "$AWS_BATCH_JOB_ATTEMPT" = 2'
    job_id = submit(batch, ["sh", "-c", script], retryStrategy={"attempts": 3})
    job = wait_for(batch, job_id)

    assert job["status"] == "SUCCEEDED"
    assert [attempt["container"]["exitCode"] for attempt in job["attempts"]] == [1, 0]
    streams = {attempt["container"]["logStreamName"] for attempt in job["attempts"]}
    assert len(streams) == 2


def test_list_jobs_returns_top_level_jobs_unless_asked_for_children(batch: Any) -> None:
    single = submit(batch, ["true"])
    parent = submit(batch, ["true"], arrayProperties={"size": 2})
    for job_id in (single, f"{parent}:0", f"{parent}:1"):
        wait_for(batch, job_id)

    top = batch.list_jobs(jobQueue=QUEUE, jobStatus="SUCCEEDED")["jobSummaryList"]
    by_id = {summary["jobId"]: summary for summary in top}
    assert single in by_id and parent in by_id
    assert not [job_id for job_id in by_id if ":" in job_id]
    assert by_id[parent]["arrayProperties"] == {"size": 2}
    assert "arrayProperties" not in by_id[single]

    children = batch.list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED")["jobSummaryList"]
    assert sorted((c["jobId"], c["arrayProperties"]["index"]) for c in children) == [
        (f"{parent}:0", 0),
        (f"{parent}:1", 1),
    ]


def test_calls_are_counted_per_caller(standin: AWSStandIn, batch: Any) -> None:
    standin.reset_calls()
    script = "import boto3; boto3.client('s3').head_bucket(Bucket='remit-test')"
    wait_for(batch, submit(batch, ["python", "-c", script]))

    client, worker = standin.calls(), standin.calls("worker")
    assert client["SubmitJob"] == 1 and client["DescribeJobs"] >= 1
    assert "HeadBucket" not in client
    assert worker["HeadBucket"] == 1
    assert standin.calls(None)["HeadBucket"] == 1


def test_concurrent_submit_and_describe_never_fail(standin: AWSStandIn, batch: Any) -> None:
    # moto's DescribeJobs iterates its job table while SubmitJob inserts into it from another
    # request thread ("dictionary changed size during iteration": HTTP 500) unless guarded.
    no_retries = Config(retries={"mode": "standard", "max_attempts": 1})
    session = boto3.session.Session()

    def client() -> Any:
        return session.client("batch", endpoint_url=standin.endpoint_url, config=no_retries)

    blocker = submit(batch, ["sleep", "60"])  # its dependents wait in PENDING, cheaply
    ids = [blocker]
    errors: list[str] = []
    done = threading.Event()

    def submitter() -> None:
        own = client()
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            try:
                ids.append(submit(own, ["true"], dependsOn=[{"jobId": blocker}],
                                  arrayProperties={"size": 50}))
            except Exception as err:  # noqa: BLE001 - collected and asserted on
                errors.append(f"SubmitJob: {err!r}")

    def describer() -> None:
        own = client()
        while not done.is_set():
            try:
                recent = ids[-20:]
                own.describe_jobs(jobs=recent + [f"{recent[-1]}:{i}" for i in range(0, 50, 7)])
                own.list_jobs(jobQueue=QUEUE, jobStatus="PENDING")
            except Exception as err:  # noqa: BLE001 - collected and asserted on
                errors.append(f"DescribeJobs/ListJobs: {err!r}")

    submitters = [threading.Thread(target=submitter) for _ in range(3)]
    describers = [threading.Thread(target=describer) for _ in range(3)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # the server runs in this process: make its threads interleave
    try:
        for thread in submitters + describers:
            thread.start()
        for thread in submitters:
            thread.join()
    finally:
        done.set()
        for thread in describers:
            thread.join()
        sys.setswitchinterval(switch_interval)
        batch.terminate_job(jobId=blocker, reason="test over")

    assert not errors, errors[:3]
    assert len(ids) > 10
    described = batch.describe_jobs(jobs=[ids[-1], f"{ids[-1]}:49", "no-such-job"])["jobs"]
    assert [job["jobId"] for job in described] == [ids[-1], f"{ids[-1]}:49"]
    arn = described[0]["jobArn"]
    assert [job["jobId"] for job in batch.describe_jobs(jobs=[arn, ids[-1]])["jobs"]] == [ids[-1]]


PROBE = """
import os
from remit import task


@task()
def facts() -> dict:
    print("probe ran in", os.getcwd())
    return {"pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(),
            "job_id": os.environ["AWS_BATCH_JOB_ID"], "leader": os.getsid(0) == os.getpid()}
"""


def probe_command(tmp_path: Path) -> list[str]:
    """`remit oneshot` of a task reporting its process, with local scratch in `tmp_path`."""
    from remit.remote import scratch

    (tmp_path / "probe.py").write_text(PROBE)
    scratch.write_pickle(str(tmp_path / "input"), ((), {}))
    return ["remit", "--check-version", ">=0.1", "oneshot", "probe", "facts",
            "--import-path", str(tmp_path), "--input", str(tmp_path / "input"),
            "--output", str(tmp_path / "output"), "--error", str(tmp_path / "error")]


def probe_facts(tmp_path: Path) -> dict[str, Any]:
    """What the probe task reported."""
    from remit.remote import scratch

    facts: dict[str, Any] = scratch.read_pickle(str(tmp_path / "output"))
    return facts


def test_remit_jobs_are_forked_warm_by_default(
    standin: AWSStandIn, batch: Any, logs: Any, tmp_path: Path
) -> None:
    assert standin.jobs_run_in == "warm local processes"
    job_id = submit(batch, probe_command(tmp_path))
    job = wait_for(batch, job_id)

    assert job["status"] == "SUCCEEDED", log_lines(logs, job["container"]["logStreamName"])
    facts = probe_facts(tmp_path)
    assert facts["job_id"] == job_id and facts["leader"]
    assert facts["ppid"] != os.getpid()  # the zygote's child, not this (the stand-in's) process
    assert os.path.basename(facts["cwd"]).startswith(f"{job_id}-1-")
    lines = log_lines(logs, job["container"]["logStreamName"])
    assert lines[0] == f"[remit] remit :: version {__version__}"
    assert f"probe ran in {facts['cwd']}" in lines


# --- the `remit emulate aws` command ------------------------------------------------------------


@contextmanager
def cli_standin(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """Run `remit emulate aws --port 0 ARGS` until ready; yield the process and its env."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "remit", "emulate", "aws", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines_into, args=(proc.stderr, stderr), daemon=True).start()
    try:
        ready = stderr.get(timeout=20)
        assert ready.startswith("[remit] AWS stand-in ready on http://127.0.0.1:"), ready
        exports = [proc.stdout.readline() for _ in range(5)]
        env = dict(line.removeprefix("export ").strip().split("=", 1) for line in exports)
        assert env["AWS_ENDPOINT_URL"] == ready.split(" on ")[1].split()[0]
        yield proc, env
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        finally:
            proc.kill()
            proc.stdout.close()


def _lines_into(stream: IO[str], lines: queue.Queue[str]) -> None:
    with stream:
        for line in stream:
            lines.put(line)


def clients(env: dict[str, str]) -> tuple[Any, Any]:
    """S3 and Batch clients of the stand-in whose env is `env`; JOB_DEFINITION registered."""
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    batch = session.client("batch", endpoint_url=env["AWS_ENDPOINT_URL"])
    batch.register_job_definition(
        jobDefinitionName=JOB_DEFINITION, type="container", containerProperties=CONTAINER_PROPERTIES
    )
    return s3, batch


def test_cli_serves_until_sigint_and_ends_its_jobs(tmp_path: Path) -> None:
    env_file = tmp_path / "aws.env"
    with cli_standin("--bucket", "cli-bucket", "--env-file", str(env_file)) as (proc, env):
        assert env_file.read_text().startswith(f"export AWS_ENDPOINT_URL={env['AWS_ENDPOINT_URL']}")
        s3, batch = clients(env)
        s3.put_object(Bucket="cli-bucket", Key="k", Body=b"v")
        assert s3.get_object(Bucket="cli-bucket", Key="k")["Body"].read() == b"v"
        pid_file = tmp_path / "pid"
        job_id = submit(
            batch,
            ["sh", "-c", f"echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; exec sleep 60"],
        )
        wait_for(batch, job_id, ("RUNNING",))
        while not pid_file.exists():
            time.sleep(0.05)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0  # a bound for a loaded machine, not a speed test
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_max_jobs_caps_concurrent_jobs(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, time
        start = time.time(); time.sleep(0.3)
        with open(os.path.join({str(tmp_path)!r}, os.environ["AWS_BATCH_JOB_ID"]), "w") as f:
            f.write(f"{{start}} {{time.time()}}")
        """
    )
    with cli_standin("--max-jobs", "1") as (_, env):
        _, batch = clients(env)
        job_ids = [submit(batch, ["python", "-c", script]) for _ in range(3)]
        assert all(wait_for(batch, job_id)["status"] == "SUCCEEDED" for job_id in job_ids)

    spans = sorted(tuple(map(float, (tmp_path / job_id).read_text().split())) for job_id in job_ids)
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans))


def test_restart_begins_empty_on_the_same_port() -> None:
    script = textwrap.dedent(
        """
        import boto3
        from remit.emulate import AWSStandIn

        def buckets(aws):
            s3 = boto3.client("s3", endpoint_url=aws.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            return [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]

        with AWSStandIn(buckets=["first-bucket"]) as first:
            port = first.port
            assert buckets(first) == ["first-bucket"]
        second = AWSStandIn(port=port, buckets=["second-bucket"])
        for _ in range(2):  # start/stop/start of one instance too
            with second:
                assert second.port == port and buckets(second) == ["second-bucket"]
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.stdout == "ok\n", result.stderr


def test_cli_cold_starts_fresh_processes_and_warm_zygote_dies_with_the_stand_in(
    tmp_path: Path,
) -> None:
    (tmp_path / "cold").mkdir()
    with cli_standin("--cold") as (proc, env):
        _, batch = clients(env)
        assert wait_for(batch, submit(batch, probe_command(tmp_path / "cold")))["status"] == (
            "SUCCEEDED"
        )
        assert probe_facts(tmp_path / "cold")["ppid"] == proc.pid  # a subprocess of its own

    (tmp_path / "warm").mkdir()
    with cli_standin() as (proc, env):
        _, batch = clients(env)
        assert wait_for(batch, submit(batch, probe_command(tmp_path / "warm")))["status"] == (
            "SUCCEEDED"
        )
        zygote = probe_facts(tmp_path / "warm")["ppid"]
        assert zygote != proc.pid
        os.kill(zygote, 0)
        proc.kill()  # no chance to stop the zygote: it notices and exits by itself
        proc.wait()
        deadline = time.monotonic() + 10
        while _running(zygote):
            assert time.monotonic() < deadline, "the zygote outlived its stand-in"
            time.sleep(0.05)


def _running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (an orphan's exit may await reaping)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
