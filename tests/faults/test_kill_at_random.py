"""kill -9 of `remit run` at random moments of a mixed local + AWS Batch workflow.

Each time the run is killed, then run again to the end: the result is right, no Batch job
is ever submitted twice for the same call, the SQLite store passes its integrity check, and
no execution is left RUNNING (the killed ones are ABANDONED).
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch.project import make_project
from tests.conftest import run_cli

pytestmark = pytest.mark.aws

WORKFLOW = '''
import time
from remit import task


@task(executor="batch")
def remote(i: int) -> int:
    return i * 10


@task(executor="procs")
def in_process(x: int) -> int:
    time.sleep(0.1)
    return x + 1


@task()
def in_thread(values: list) -> int:
    return sum(values)


@task()
def main(seed: int = 0) -> int:
    calls = [remote(seed * 100 + i) for i in range(2)] + [remote(i) for i in range(2)]
    return in_thread([in_process(c) for c in calls])
'''

PROCS = """
[executors.procs]
type = local
mode = process
max_workers = 2
"""

SEEDS = 5
KILLS_PER_SEED = 2  # 10 kills in all, each followed by a run again


def expected(seed: int) -> int:
    calls = [(seed * 100 + i) * 10 for i in range(2)] + [i * 10 for i in range(2)]
    return sum(c + 1 for c in calls)


def wait_for_execution(db: Path, seed: int, proc: subprocess.Popen) -> None:
    """Until the run has recorded its (RUNNING) execution, or ended."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            found = sqlite3.connect(db).execute(
                "SELECT count(*) FROM execution WHERE status = 'RUNNING' AND argv LIKE ?",
                (f'%"--seed", "{seed}"%',)).fetchone()[0]
        except sqlite3.Error:
            found = 0
        if found:
            return
        time.sleep(0.05)


def test_kill_minus_nine_at_random_moments(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, WORKFLOW, scratch="kill9", extra="min_array_size = 1000\n")
    with open(tmp_path / ".remit" / "remit.ini", "a") as ini:
        ini.write(PROCS)
    db = tmp_path / ".remit" / "remit.db"
    rng = random.Random(1309)
    aws_standin.reset_calls()
    distinct_remote_calls: set[int] = set()
    for seed in range(SEEDS):
        distinct_remote_calls |= {seed * 100 + i for i in range(2)} | {0, 1}
        for kill in range(KILLS_PER_SEED):
            victim = subprocess.Popen(
                [sys.executable, "-m", "remit", "run", "workflow.py", "main", "--seed",
                 str(seed)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if kill:  # while it runs: some time after its execution row appeared
                wait_for_execution(db, seed, victim)
                time.sleep(rng.uniform(0.0, 2.0))
            else:  # while it starts
                time.sleep(rng.uniform(0.1, 1.5))
            victim.kill()
            victim.wait()
            if db.exists():
                check = sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0]
                assert check == "ok"
        again = run_cli("run", "workflow.py", "main", "--seed", str(seed), cwd=tmp_path,
                        timeout=60)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == str(expected(seed))
        submitted = aws_standin.calls()["SubmitJob"]
        assert submitted <= len(distinct_remote_calls), "a Batch job was submitted twice"
    assert aws_standin.calls()["SubmitJob"] == len(distinct_remote_calls)
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    log = run_cli("log", "-n", "100", cwd=tmp_path)
    assert log.returncode == 0, log.stderr
    assert "RUNNING" not in log.stdout
    # Each seed's last run is DONE; a victim that finished before its kill is DONE too.
    done, abandoned = log.stdout.count("[  DONE  ]"), log.stdout.count("ABANDONED")
    assert done >= SEEDS and abandoned >= SEEDS
    assert done + abandoned == log.stdout.count("  Exec ")  # nothing else, nothing RUNNING
