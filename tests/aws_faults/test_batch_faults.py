"""AWS Batch runs through injected AWS faults: the scheduler's calls fail (throttling, 5xx,
resets) or the endpoint goes down, through real boto3 HTTP to the local stand-in."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from remit.emulate import AWSStandIn
from tests.aws_faults.conftest import through
from tests.aws_faults.proxy import FAILURES, FaultPlan, FaultProxy
from tests.batch.project import FANOUT, make_project
from tests.conftest import STANDIN_BUCKET, STANDIN_QUEUE, run_cli

pytestmark = pytest.mark.aws


def jobs_by_task(project: Path) -> dict[str, list[tuple[str, str | None]]]:
    """(status, error) of every recorded job, by task name, from the project's store."""
    with sqlite3.connect(project / ".remit" / "remit.db") as db:
        rows = db.execute("SELECT t.fullname, j.status, j.error FROM job j "
                          "JOIN task t ON t.hash = j.task_hash").fetchall()
    found: dict[str, list[tuple[str, str | None]]] = {}
    for name, status, error in rows:
        found.setdefault(name.rsplit(".", 1)[-1], []).append((status, error))
    return found


def execution_statuses(project: Path) -> list[str]:
    with sqlite3.connect(project / ".remit" / "remit.db") as db:
        return [row[0] for row in db.execute("SELECT status FROM execution ORDER BY start_time")]


def submitted_names(prefix: str) -> Counter[str]:
    """Job names of every Batch job with this prefix, counted, as the stand-in lists them."""
    batch = boto3.client("batch")
    names: Counter[str] = Counter()
    for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED",
                   "FAILED"):
        pages = batch.get_paginator("list_jobs").paginate(jobQueue=STANDIN_QUEUE,
                                                          jobStatus=status)
        names.update(s["jobName"] for page in pages for s in page["jobSummaryList"]
                     if s["jobName"].startswith(prefix + "-"))
    return names


def test_fanout_finishes_through_ten_percent_failing_calls(
    aws_standin: AWSStandIn, fault_proxy: Callable[[FaultPlan], FaultProxy], tmp_path: Path
) -> None:
    n, prefix = 200, "faulty-fanout"
    make_project(tmp_path, FANOUT, scratch="faulty-fanout", prefix=prefix,
                 extra="min_array_size = 5\nmax_array_size = 40\n")
    proxy = fault_proxy(FaultPlan(rate=0.1, seed=13, latency=0.2, max_faults=500,
                                  kinds=(*FAILURES, "lost", "latency")))
    # botocore's own retries (5 attempts) would absorb nearly every fault: with one attempt
    # each fault reaches remit's backoff loop, on every path (prepare, submit, poll, read).
    env = through(proxy, AWS_MAX_ATTEMPTS="1")
    proc = run_cli("run", "workflow.py", "main", "--n", str(n), cwd=tmp_path, env=env,
                   timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == n * (n - 1)
    assert "backoff step 1: next try in" in proc.stderr  # remit's loop, not botocore's

    # Faults of every kind hit both services, about a tenth of the scheduler's calls.
    kinds = {kind for (_, kind) in proxy.injected}
    assert set(FAILURES) | {"lost", "latency"} <= kinds, proxy.injected
    assert {service for (service, _) in proxy.injected} == {"s3", "batch"}
    calls = sum(proxy.forwarded.values())
    assert 0.04 * calls < proxy.failures() < 0.2 * calls, (proxy.injected, proxy.forwarded)

    # Each job was submitted once: every Batch job name once, every eval hash in one array.
    names = submitted_names(prefix)
    assert names and set(names.values()) == {1}, names
    s3 = boto3.client("s3")
    hashes: list[str] = []
    for name in names:
        array_id = name.removeprefix(prefix + "-array-")
        key = f"faulty-fanout/array_jobs/{array_id}/eval_hashes"
        listing = s3.get_object(Bucket=STANDIN_BUCKET, Key=key)["Body"].read().decode()
        hashes += [line.split()[0] for line in listing.splitlines()]  # eval hash first
    assert len(hashes) == len(set(hashes)) == n
    assert len(names) == n // 40

    # Every call is recorded, done.
    recorded = jobs_by_task(tmp_path)
    assert [status for status, _ in recorded["double"]] == ["DONE"] * n
    assert recorded["total"] == [("DONE", None)] and recorded["main"] == [("DONE", None)]
    assert execution_statuses(tmp_path) == ["DONE"]


def test_submit_whose_answer_was_lost_is_not_repeated(
    aws_standin: AWSStandIn, fault_proxy: Callable[[FaultPlan], FaultProxy], tmp_path: Path
) -> None:
    n, prefix = 4, "lost-submit"
    make_project(tmp_path, FANOUT, scratch="lost-submit", prefix=prefix,
                 extra="min_array_size = 100\n")
    # Batch accepts the first two SubmitJobs, but their answers never come back.
    proxy = fault_proxy(FaultPlan(rate=1.0, kinds=("lost",), operations=("SubmitJob",),
                                  max_faults=2))
    proc = run_cli("run", "workflow.py", "main", "--n", str(n), cwd=tmp_path,
                   env=through(proxy))
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == n * (n - 1)
    assert proxy.injected == {("batch", "lost"): 2}
    assert proc.stderr.count("the answer was lost, but AWS Batch had accepted it") == 2
    names = submitted_names(prefix)
    assert len(names) == n and set(names.values()) == {1}, names


WAITING = '''
import os
import time
from remit import task

@task(executor="batch")
def wait_for(flag: str, i: int) -> int:
    deadline = time.time() + 90
    while not os.path.exists(flag) and time.time() < deadline:
        time.sleep(0.1)
    return 10 * i

@task()
def total(values: list) -> int:
    return sum(values)

@task()
def main(flag: str) -> int:
    return total([wait_for(flag, i) for i in range(3)])
'''


def test_outage_longer_than_api_timeout_fails_once_and_rerun_reattaches(
    aws_standin: AWSStandIn, fault_proxy: Callable[[FaultPlan], FaultProxy], tmp_path: Path
) -> None:
    make_project(tmp_path, WAITING, scratch="outage", prefix="outage",
                 extra="min_array_size = 100\napi_timeout = 4\n")
    flag = tmp_path / "flag"
    proxy = fault_proxy(FaultPlan())
    aws_standin.reset_calls()
    # botocore retries nothing here, so that every backoff step is remit's own.
    env = through(proxy, AWS_MAX_ATTEMPTS="1")
    run = subprocess.Popen([sys.executable, "-m", "remit", "run", "workflow.py", "main",
                            "--flag", str(flag)], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while (proxy.forwarded["SubmitJob"] < 3 and time.monotonic() < deadline
               and run.poll() is None):
            time.sleep(0.1)
        assert proxy.forwarded["SubmitJob"] == 3
        proxy.outage = True
        down = time.monotonic()
        out, err = run.communicate(timeout=60)
        took = time.monotonic() - down
    finally:
        run.kill()
    assert run.returncode == 1, err
    assert 3 < took < 20, err

    # One error, and one log line per backoff step (not per attempt, nor per thread).
    assert err.count("*** Execution failed") == 1
    assert len(re.findall(r"^    AWSUnavailableError: AWS calls failed for \d+ s, "
                          r"longer than api_timeout = 4 s \(region us-east-1, endpoint "
                          r"http://127\.0\.0\.1:\d+\)", err, re.M)) == 1, err
    assert "run again once AWS answers to re-attach" in err
    assert "most recent call last" not in err and "polling failed" not in err
    steps = [int(s) for s in re.findall(r"backoff step (\d+): next try in", err)]
    assert steps == list(range(1, len(steps) + 1)) and 2 <= len(steps) <= 5, err

    # Every job is recorded: the Batch jobs FAILED with that error; the store is consistent.
    recorded = jobs_by_task(tmp_path)
    assert [status for status, _ in recorded["wait_for"]] == ["FAILED"] * 3
    assert all("AWSUnavailableError" in (error or "") for _, error in recorded["wait_for"])
    assert [status for status, _ in recorded["main"]] == ["FAILED"]
    assert execution_statuses(tmp_path) == ["FAILED"]
    with sqlite3.connect(tmp_path / ".remit" / "remit.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    # AWS answers again: the re-run re-attaches to the three jobs still running.
    proxy.outage = False
    log = tmp_path / "rerun.log"
    with log.open("w") as stderr:
        rerun = subprocess.Popen([sys.executable, "-m", "remit", "run", "workflow.py", "main",
                                  "--flag", str(flag)], cwd=tmp_path, env=env,
                                 stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            deadline = time.monotonic() + 30
            while (log.read_text().count("re-attach remit job") < 3
                   and time.monotonic() < deadline and rerun.poll() is None):
                time.sleep(0.1)
            flag.write_text("go")  # only now may the jobs finish
            out, _ = rerun.communicate(timeout=60)
        finally:
            rerun.kill()
    err = log.read_text()
    assert rerun.returncode == 0, err
    assert out.strip() == "30"
    assert err.count("re-attach remit job") == 3
    assert aws_standin.calls()["SubmitJob"] == 3
    assert execution_statuses(tmp_path) == ["FAILED", "DONE"]
