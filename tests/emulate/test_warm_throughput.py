"""Warm job processes keep large fan-outs fast: a tripwire for the zygote path breaking.

Each child below really runs `remit oneshot` (its own process, the task's code, S3 round
trips). Cold, a child costs about 0.4-0.6 s of CPU on a 2-core machine, so 200 children take
well over a minute; warm, about 10-15 s (1,000 take about 50 s).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from remit.emulate import AWSStandIn
from tests.batch.project import FANOUT, make_project
from tests.conftest import run_cli, status_row

pytestmark = pytest.mark.aws

def test_two_hundred_array_children_run_warm(aws_standin: AWSStandIn, tmp_path: Path) -> None:
    n = 200
    make_project(tmp_path, FANOUT, scratch="warm-fanout", extra="min_array_size = 5\n")
    aws_standin.reset_calls()
    started = time.monotonic()
    proc = run_cli("run", "workflow.py", "main", "--n", str(n), cwd=tmp_path, timeout=300)
    elapsed = time.monotonic() - started

    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == n * (n - 1)
    assert aws_standin.calls()["SubmitJob"] == 1
    assert aws_standin.calls("worker")["PutObject"] == n  # every child wrote its own result
    assert status_row(proc.stderr, "double") == [0, 0, 0, 0, n, n]
    assert elapsed < 60, f"{n} warm children took {elapsed:.0f} s"
