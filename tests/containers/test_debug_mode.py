"""debug = True: the very same job runs in a local container of the Batch image."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from tests.batch.project import make_project
from tests.conftest import run_cli, status_row

pytestmark = [pytest.mark.containers, pytest.mark.aws]

WORKFLOW = '''
import os
from pathlib import Path
from remit import task

remit_namespace = "tests.containers"


def marker() -> str:
    path = Path("/etc/remit-image-release")
    return path.read_text().strip() if path.exists() else "no marker: not in the image"


@task()
def on_host(x: int) -> list:
    return ["on_host", marker(), x]


@task(executor="batch", debug=True)
def in_container(x: int) -> list:
    print("running in the container with", x)
    return ["in_container", marker(), on_host(x + 1)]


@task(executor="batch", debug=True)
def broken(x: int) -> int:
    print("container log line before the failure")
    raise KeyError(f"missing {x}")


@task()
def main(x: int = 3) -> list:
    return [marker(), in_container(x)]


@task()
def main_broken() -> int:
    return broken(7)
'''


def _project(tmp_path: Path, image: str, extra: str = "") -> Path:
    return make_project(tmp_path, WORKFLOW, scratch="containers", image=image, extra=extra)


def test_debug_task_runs_inside_the_image(aws_standin, example_image, tmp_path: Path) -> None:
    project = _project(tmp_path, example_image)
    proc = run_cli("run", "workflow.py", "main", cwd=project, timeout=300)
    assert proc.returncode == 0, proc.stderr
    host_marker, (name, container_marker, child) = eval(proc.stdout)
    assert host_marker == "no marker: not in the image"
    assert name == "in_container" and container_marker == "remit-example image"
    assert child == ["on_host", "no marker: not in the image", 4]  # back on the host
    err = proc.stderr
    assert "as Docker container " in err and "job_name        = None" in err
    assert "debug           = True" in err and "retry_attempts  = None" in err
    assert status_row(err, "ALL") == [0, 0, 0, 0, 3, 3]


def test_debug_failure_shows_remote_error_and_log_tail(aws_standin, example_image,
                                                       tmp_path: Path) -> None:
    project = _project(tmp_path, example_image)
    proc = run_cli("run", "workflow.py", "main_broken", cwd=project, timeout=300)
    assert proc.returncode == 1
    err = proc.stderr
    assert "KeyError: 'missing 7'" in err
    assert 'raise KeyError(f"missing {x}")' in err  # the traceback from inside the container
    assert "exited with code 1" in err
    assert "container log line before the failure" in err  # the container's log tail


def test_local_debug_scratch_is_mounted(aws_standin, example_image, tmp_path: Path) -> None:
    project = _project(tmp_path, example_image, extra="debug_scratch = scratch\n")
    proc = run_cli("run", "workflow.py", "main", "--x", "5", cwd=project, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert eval(proc.stdout)[1][1] == "remit-example image"
    jobs = list((project / ".remit" / "scratch" / "jobs").iterdir())
    assert jobs and all((job / "output").exists() for job in jobs)


PDB_WORKFLOW = '''
from remit import task


@task(executor="batch", debug=True, interactive=True)
def stop_here(x: int) -> int:
    y = x * 7
    import pdb; pdb.set_trace()
    return y + 1


@task()
def main() -> int:
    return stop_here(6)
'''


def test_pdb_breakpoint_in_an_interactive_debug_job(aws_standin, example_image,
                                                    tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    project = make_project(tmp_path, textwrap.dedent(PDB_WORKFLOW), scratch="pdb",
                           image=example_image)
    child = pexpect.spawn(sys.executable, ["-m", "remit", "run", "workflow.py", "main"],
                          cwd=str(project), env=dict(os.environ), encoding="utf-8", timeout=120)
    try:
        child.expect(r"\(Pdb\) ")
        child.sendline("p y")
        child.expect("42")
        child.expect(r"\(Pdb\) ")
        child.sendline("c")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert "43" in child.before


def test_interactive_job_without_terminal_fails_clearly(aws_standin, example_image,
                                                        tmp_path: Path) -> None:
    project = make_project(tmp_path, textwrap.dedent(PDB_WORKFLOW), scratch="pdb-noterm",
                           image=example_image)
    proc = run_cli("run", "workflow.py", "main", cwd=project, timeout=120)
    assert proc.returncode == 1
    assert "is interactive but remit run has no terminal" in proc.stderr
