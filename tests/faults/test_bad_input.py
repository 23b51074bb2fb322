"""Bad configuration and bad command lines: one clear line each, naming the fix."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_cli

WORKFLOW = '''
from remit import task


@task()
def main(x: int = 1) -> int:
    return x + 1
'''


def project(tmp_path: Path, ini: str, workflow: str = WORKFLOW) -> Path:
    (tmp_path / ".remit").mkdir(exist_ok=True)
    (tmp_path / ".remit" / "remit.ini").write_text(ini)
    (tmp_path / "workflow.py").write_text(workflow)
    return tmp_path


@pytest.mark.parametrize(
    ("section", "line", "message"),
    [
        ("scheduler", "job_status_interval = 0", "job_status_interval: must be at least 0.1"),
        ("scheduler", "job_status_interval = -1", "job_status_interval: must be at least 0.1"),
        ("scheduler", "job_status_interval = inf", "job_status_interval: expected a finite"),
        ("scheduler", "flush_interval = nan", "flush_interval: expected a finite number"),
        ("scheduler", "flush_interval = soon", "flush_interval: expected a number, got 'soon'"),
        ("backend", "value_store_min_size = abc",
         "value_store_min_size: expected a whole number, got 'abc'"),
        ("backend", "value_store_min_size = -5", "value_store_min_size: must be at least 0"),
    ],
)
def test_bad_numbers_are_one_config_error(tmp_path: Path, section: str, line: str,
                                          message: str) -> None:
    project(tmp_path, f"[{section}]\n{line}\n")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 1
    assert f"remit.ini: [{section}] {message}" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_small_status_interval_prints_a_bounded_number_of_tables(tmp_path: Path) -> None:
    project(tmp_path, "[scheduler]\njob_status_interval = 0.1\n", '''
import time
from remit import task

@task()
def main() -> int:
    time.sleep(1)
    return 1
''')
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 2 <= proc.stderr.count("| JOB STATUS") <= 15


def test_batch_tags_must_map_strings_to_strings(tmp_path: Path) -> None:
    project(tmp_path, '''
[executors.batch]
type = aws_batch
image = img
queue = q
s3_scratch = s3://bucket/remit/
batch_tags = {"a": 1, "b": {"c": 2}}
''')
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 1
    assert "[executors.batch] batch_tags: tag 'a' has the value 1; AWS Batch tags map strings " \
           "to strings" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_task_batch_tags_must_be_strings_too(tmp_path: Path) -> None:
    from remit.errors import ConfigError
    from remit.executors.aws_batch.options import BatchOptions

    opts = BatchOptions.parse({"image": "i", "queue": "q", "s3_scratch": "s3://b/"}, "[x]")
    with pytest.raises(ConfigError, match="tag 'stage' has the value 3"):
        opts.for_task({"batch_tags": {"stage": 3}}, "task t")


def test_a_missing_module_is_one_line(tmp_path: Path) -> None:
    proc = run_cli("run", "no.such.module", "main", cwd=tmp_path)
    assert proc.returncode == 1
    assert "cannot import workflow 'no.such.module': No module named 'no'" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_missing_table_says_the_database_is_damaged(tmp_path: Path) -> None:
    project(tmp_path, "")
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    db = tmp_path / ".remit" / "remit.db"
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE call_edge")
    for args in (("run", "workflow.py", "main", "--x", "5"), ("log",)):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 1, proc.stdout
        assert "Traceback" not in proc.stderr and "no such table" not in proc.stderr
        assert "damaged or was made by an older remit (missing table: call_edge)" in proc.stderr
        assert "remit db upgrade" in proc.stderr
