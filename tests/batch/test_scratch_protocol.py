"""The scratch protocol at scale: outputs found by listing, array inputs in one object, the
submission ledger. Unit tests on a local scratch directory, end to end through the stand-in."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from remit.remote import scratch
from tests.batch.project import FANOUT, make_project
from tests.conftest import run_cli, status_row


def _hash(i: int) -> str:
    return f"{i:040x}"


def test_outputs_present_lists_instead_of_looking_up(tmp_path: Path) -> None:
    root = str(tmp_path / "scratch")
    for i in range(0, 300, 3):  # every third job has an output, every job an input
        scratch.write_bytes(scratch.job_path(root, _hash(i), "output"), b"x")
    for i in range(300):
        scratch.write_bytes(scratch.job_path(root, _hash(i), "input"), b"x")
    wanted = [_hash(i) for i in range(0, 300, 2)]  # many jobs: one listing
    assert scratch.outputs_present(root, wanted) == {_hash(i) for i in range(0, 300, 6)}
    few = [_hash(3), _hash(4), _hash(299)]  # few jobs: looked up one by one
    assert scratch.outputs_present(root, few) == {_hash(3)}
    assert scratch.outputs_present(root, []) == set()


def test_outputs_present_stops_a_listing_that_costs_more_than_lookups(tmp_path: Path,
                                                                      monkeypatch) -> None:
    root = str(tmp_path / "scratch")
    for i in range(40):
        scratch.write_bytes(scratch.job_path(root, _hash(i), "output"), b"x")
    monkeypatch.setattr(scratch, "_KEYS_PER_PAGE", 4)  # a budget of 4 names per 2 jobs
    wanted = [_hash(i) for i in range(0, 40, 4)] + [_hash(1000)]
    assert scratch.outputs_present(root, wanted) == {_hash(i) for i in range(0, 40, 4)}


def test_array_slot_reads_new_and_old_eval_hash_lists(tmp_path: Path) -> None:
    root = str(tmp_path / "scratch")
    inputs = [(_hash(i), pickle.dumps(((i,), {"k": i}))) for i in range(3)]
    path = scratch.write_array(root, "a1", inputs)
    slot = scratch.array_slot(path, 2)
    assert (slot.eval_hash, slot.root) == (_hash(2), root)
    assert scratch.read_pickle(slot.input, slot.input_range) == ((2,), {"k": 2})
    assert scratch.read_hashes(path) == [_hash(i) for i in range(3)]
    old = scratch.array_path(root, "a0")  # an array submitted before inputs were combined
    scratch.write_bytes(old, f"{_hash(7)}\n{_hash(8)}\n".encode())
    slot = scratch.array_slot(old, 1)
    assert (slot.input, slot.input_range) == (scratch.job_path(root, _hash(8), "input"), None)


def _calls_per_job(calls: dict, n: int) -> float:
    return sum(calls.values()) / n


@pytest.mark.aws
def test_fan_out_costs_few_calls_per_job_and_reuses_scratch(aws_standin, tmp_path: Path
                                                            ) -> None:
    n = 150
    make_project(tmp_path, FANOUT, scratch="cheap")
    aws_standin.reset_calls()
    proc = run_cli("run", "workflow.py", "main", "--n", str(n), cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == n * (n - 1)
    calls = aws_standin.calls()
    assert _calls_per_job(calls, n) <= 2, calls
    assert calls["SubmitJob"] == 1 and calls["HeadObject"] <= 2  # the code tarball's, no more
    # Array inputs: one object for the whole array, none per job.
    s3 = boto3.client("s3")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket="remit-test", Prefix="cheap/") for o in page.get("Contents", [])]
    assert not [k for k in keys if k.endswith("/input")]
    (inputs,) = [k for k in keys if k.endswith("/inputs")]
    shown = run_cli("view-pickle", f"s3://remit-test/{inputs}", cwd=tmp_path).stdout
    assert shown.startswith("[0] ((") and f"[{n - 1}] " in shown and f"(({n - 1},), {{}})" in shown
    assert len([k for k in keys if k.endswith("/output")]) == n
    assert not [k for k in keys if "/ledger/" in k]  # the round's entry is gone once done

    # A new store: every output is found in scratch by one listing, nothing runs again.
    (tmp_path / ".remit" / "remit.db").unlink()
    aws_standin.reset_calls()
    again = run_cli("run", "workflow.py", "main", "--n", str(n), cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    calls = aws_standin.calls()
    assert calls["SubmitJob"] == 0 and calls["HeadObject"] <= 1, calls
    assert again.stderr.count("found its output in scratch") == n


@pytest.mark.aws
def test_cache_false_never_reuses_scratch_output(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, '''
        import random
        from remit import task

        @task(executor="batch", cache=False)
        def draw(i: int) -> float:
            return random.random()

        @task()
        def main() -> list:
            return [draw(i) for i in range(6)]
    ''', scratch="nocache")
    first = run_cli("run", "workflow.py", "main", cwd=tmp_path, timeout=300)
    assert first.returncode == 0, first.stderr
    (tmp_path / ".remit" / "remit.db").unlink()
    aws_standin.reset_calls()
    second = run_cli("run", "workflow.py", "main", cwd=tmp_path, timeout=300)
    assert second.returncode == 0, second.stderr
    assert aws_standin.calls()["SubmitJob"] == 1 and "found its output" not in second.stderr
    assert eval(first.stdout) != eval(second.stdout)


SLOW_ARRAY = '''
import time
from remit import task

@task(executor="batch")
def slow(x: int) -> int:
    time.sleep(4)
    return x * 3

@task()
def main(n: int = 6) -> list:
    return [slow(i) for i in range(n)]
'''


def _kill_after_submit(aws_standin, tmp_path: Path, prefix: str) -> None:
    aws_standin.reset_calls()
    first = subprocess.Popen([sys.executable, "-m", "remit", "run", "workflow.py", "main"],
                             cwd=tmp_path, env=dict(os.environ), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _ledger(prefix)[1][:1] in ("", "-"):  # until the entry holds the job's id
            assert time.monotonic() < deadline, "no job was recorded in the ledger"
            time.sleep(0.1)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()


def _ledger(prefix: str) -> tuple[str, str]:
    """The key and text of the one ledger entry under ``prefix`` ("", "" if none)."""
    s3 = boto3.client("s3")
    found = s3.list_objects_v2(Bucket="remit-test", Prefix=f"{prefix}/ledger/").get("Contents")
    if not found:
        return "", ""
    (entry,) = found
    return entry["Key"], s3.get_object(Bucket="remit-test", Key=entry["Key"])["Body"].read(
        ).decode()


@pytest.mark.aws
def test_reattach_to_an_array_after_the_scheduler_is_killed(aws_standin, tmp_path: Path
                                                            ) -> None:
    make_project(tmp_path, SLOW_ARRAY, scratch="reattach-array")
    _kill_after_submit(aws_standin, tmp_path, "reattach-array")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert eval(proc.stdout) == [3 * i for i in range(6)]
    assert proc.stderr.count("re-attach remit job") == 6
    assert aws_standin.calls()["SubmitJob"] == 1 and aws_standin.calls()["ListJobs"] <= 2
    assert _ledger("reattach-array")[0]  # the killed run's entry: its jobs were not its own
    # The next run that submits on the prefix finds the entry's jobs ended and deletes it.
    again = run_cli("run", "--no-cache", "workflow.py", "main", "--n", "2", cwd=tmp_path,
                    timeout=120)
    assert again.returncode == 0, again.stderr
    assert _ledger("reattach-array") == ("", "")


@pytest.mark.aws
def test_reattach_when_killed_while_submitting(aws_standin, tmp_path: Path) -> None:
    """Killed between the ledger's intent and its job ids: the job is found by its name."""
    make_project(tmp_path, SLOW_ARRAY, scratch="reattach-intent")
    _kill_after_submit(aws_standin, tmp_path, "reattach-intent")
    key, body = _ledger("reattach-intent")
    intent = "".join("- " + line.split(" ", 1)[1] + "\n" for line in body.splitlines())
    boto3.client("s3").put_object(Bucket="remit-test", Key=key, Body=intent.encode())
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("re-attach remit job") == 6
    assert aws_standin.calls()["SubmitJob"] == 1
    assert status_row(proc.stderr, "slow") == [0, 0, 0, 0, 6, 6]
