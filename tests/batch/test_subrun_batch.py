"""subrun on the AWS Batch executor, through the local stand-in: a scheduler in a Batch job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.batch.project import make_project
from tests.conftest import run_cli, status_row

pytestmark = pytest.mark.aws

WORKFLOW = '''
import os
from remit import task
from remit.scheduler import subrun

remit_namespace = "tests.batch.subrun"


@task()
def square(x: int) -> list:
    return [x * x, os.environ.get("AWS_BATCH_JOB_ID")]


@task()
def pipeline(n: int) -> list:
    return [square(i) for i in range(n)]


@task()
def main(n: int = 3) -> list:
    return subrun(pipeline(n), executor="batch", memory=1)
'''


def test_subrun_on_batch(aws_standin, tmp_path: Path) -> None:
    make_project(tmp_path, WORKFLOW, scratch="subrun")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = eval(proc.stdout)
    assert [value for value, _ in result] == [0, 1, 4]
    batch_ids = {batch_id for _, batch_id in result}
    assert len(batch_ids) == 1 and None not in batch_ids  # all inside the one Batch job
    assert len(re.findall(r"submit remit job \S+ as AWS Batch job", proc.stderr)) == 1
    assert "Sub-scheduler report (executor 'batch')" in proc.stderr

    # The sub-workflow's jobs are recorded in this execution, below the subrun job.
    exec_id = re.search(r"Start Execution (\w{8})", proc.stderr).group(1)
    log = run_cli("log", exec_id, cwd=tmp_path).stdout
    assert re.search(r"remit\.subrun_root\(.*\n\s+Job \w+ \[ +DONE +\] .*"
                     r"tests\.batch\.subrun\.pipeline\(n=3\)", log)
    assert len(re.findall(r"tests\.batch\.subrun\.square\(x=\d\)", log)) == 3

    # Nothing changed: served from the store, no Batch job submitted.
    again = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert eval(again.stdout) == result
    assert "submit remit job" not in again.stderr
    assert status_row(again.stderr, "remit.subrun_root")[3] == 1  # CACHED
