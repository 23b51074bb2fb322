"""Local executors: time limits on threads and processes, and no unknown options."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import run_cli, status_row

HANGING = '''
import time
from remit import task


@task(executor="local_exec", timeout=1)
def hang(i: int) -> int:
    time.sleep(120)
    return i


@task(executor="local_exec")
def quick(i: int) -> int:
    time.sleep(0.2)
    return i


@task()
def main() -> list:
    return [hang(0), [quick(i) for i in range(4)]]
'''


def project(tmp_path: Path, ini: str, workflow: str) -> Path:
    (tmp_path / ".remit").mkdir(exist_ok=True)
    (tmp_path / ".remit" / "remit.ini").write_text(ini)
    (tmp_path / "workflow.py").write_text(workflow)
    return tmp_path


@pytest.mark.parametrize(("mode", "what"), [
    ("process", "its worker process was killed"),
    ("thread", "its thread cannot be stopped and is abandoned; the run goes on"),
])
def test_task_timeout_fails_the_job_and_the_run_goes_on(tmp_path: Path, mode: str,
                                                        what: str) -> None:
    project(tmp_path, f"[executors.local_exec]\ntype = local\nmode = {mode}\nmax_workers = 2\n",
            HANGING)
    started = time.time()
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path, timeout=60)
    assert time.time() - started < 20
    assert proc.returncode == 1
    assert f"JobTimeoutError: task hang exceeded its timeout of 1 s ({what})" in proc.stderr
    assert status_row(proc.stderr, "quick") == [0, 0, 0, 0, 4, 4]
    assert status_row(proc.stderr, "hang") == [0, 0, 1, 0, 0, 1]


def test_ini_timeout_applies_to_every_task_of_the_executor(tmp_path: Path) -> None:
    project(tmp_path, "[executors.local_exec]\ntype = local\nmode = process\ntimeout = 1.5\n",
            HANGING.replace("timeout=1", "").replace(", )", ")"))
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "task hang exceeded its timeout of 1.5 s (its worker process was killed)" \
        in proc.stderr
    assert status_row(proc.stderr, "quick") == [0, 0, 0, 0, 4, 4]


def test_a_timeout_counts_from_the_start_of_the_job(tmp_path: Path) -> None:
    project(tmp_path, "[executors.one]\ntype = local\nmode = process\nmax_workers = 1\n", '''
import time
from remit import task

@task(executor="one", timeout=1.5)
def step(i: int) -> int:
    time.sleep(0.6)
    return i

@task()
def main() -> int:
    return [step(i) for i in range(4)]
''')
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr  # 2.4 s queued in all, 0.6 s each
    assert proc.stdout.strip() == "[0, 1, 2, 3]"


@pytest.mark.parametrize(("ini", "workflow_option", "message"), [
    ("memroy = 8\n", "", "[executors.local_exec] memroy: unknown local executor option; "
                         "known options: type, mode, max_workers, timeout"),
    ("timeout = -3\n", "", "[executors.local_exec] timeout: must be at least 0"),
    ("timeout = 0\n", "", "[executors.local_exec] timeout: must be a positive number"),
    ("", "memroy=8", "task quick: option 'memroy' is not an option of executor 'local_exec' "
                     "(type local, which takes: timeout)"),
    ("", "timeout='soon'", "task quick timeout: expected a number, got 'soon'"),
])
def test_unknown_or_bad_local_options_are_config_errors(tmp_path: Path, ini: str,
                                                        workflow_option: str,
                                                        message: str) -> None:
    workflow = HANGING.replace('@task(executor="local_exec")',
                               f'@task(executor="local_exec", {workflow_option})')
    project(tmp_path, f"[executors.local_exec]\ntype = local\n{ini}", workflow)
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 1
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "Run    Job" not in proc.stderr
