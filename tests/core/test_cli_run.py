"""`remit run` as a user runs it: output, caching, selective re-runs, errors, exit codes."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

from tests.conftest import run_cli, status_row

WORKFLOW = '''
from remit import task

remit_namespace = "demo"


@task()
def double(x: int) -> int:
    return x * 2


@task()
def inc(x: int) -> int:
    return x + 1


@task()
def main(y: int = 10, label: str = "n", scale: float = 1.0, flag: bool = False) -> list:
    return [label, inc(double(y)), double(3), scale, flag]
'''


def write(tmp_path: Path, source: str, name: str = "workflow.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path



def test_run_prints_log_table_and_result(tmp_path: Path) -> None:
    write(tmp_path, WORKFLOW)
    proc = run_cli("run", "workflow.py", "main", "--y", "4", "--label", "hi", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['hi', 9, 6, 1.0, False]"
    err = proc.stderr
    assert "[remit] remit :: version" in err
    assert f"[remit] config dir: {tmp_path / '.remit'}" in err
    assert "[remit] Start Execution " in err and "remit run workflow.py main --y 4" in err
    assert "Run    Job " in err and "demo.main(y=4, label='hi', scale=1.0, flag=False) on default" \
        in err
    assert "| JOB STATUS" in err
    # PENDING RUNNING FAILED CACHED DONE TOTAL
    assert status_row(err, "ALL") == [0, 0, 0, 0, 4, 4]
    assert status_row(err, "demo.double") == [0, 0, 0, 0, 2, 2]
    assert (tmp_path / ".remit" / "remit.db").exists()


def test_second_run_is_cached_and_no_cache_reruns(tmp_path: Path) -> None:
    write(tmp_path, WORKFLOW)
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    again = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert again.returncode == 0
    assert status_row(again.stderr, "ALL") == [0, 0, 0, 4, 0, 4]
    assert "Cached Job" in again.stderr and "Run    Job" not in again.stderr
    forced = run_cli("run", "--no-cache", "workflow.py", "main", cwd=tmp_path)
    assert status_row(forced.stderr, "ALL") == [0, 0, 0, 0, 4, 4]


def test_editing_one_task_reruns_it_and_its_downstream_only(tmp_path: Path) -> None:
    source = WORKFLOW
    write(tmp_path, source)
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    # A comment or a docstring is not a code change.
    write(tmp_path, source.replace("    return x + 1", "    # one more\n    return x + 1"))
    same = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert status_row(same.stderr, "ALL") == [0, 0, 0, 4, 0, 4]
    # Changing inc's code re-runs inc (and main's result changes), nothing else.
    write(tmp_path, source.replace("return x + 1", "return x + 100"))
    edited = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert edited.returncode == 0, edited.stderr
    assert edited.stdout.strip() == "['n', 120, 6, 1.0, False]"
    assert status_row(edited.stderr, "demo.inc") == [0, 0, 0, 0, 1, 1]
    assert status_row(edited.stderr, "demo.double") == [0, 0, 0, 2, 0, 2]
    assert status_row(edited.stderr, "demo.main") == [0, 0, 0, 1, 0, 1]


def test_changing_an_upstream_result_reruns_the_consumer(tmp_path: Path) -> None:
    write(tmp_path, WORKFLOW)
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    write(tmp_path, WORKFLOW.replace("return x * 2", "return x * 3"))
    edited = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert edited.stdout.strip() == "['n', 31, 9, 1.0, False]"
    assert status_row(edited.stderr, "demo.double") == [0, 0, 0, 0, 2, 2]
    assert status_row(edited.stderr, "demo.inc") == [0, 0, 0, 0, 1, 1]


def test_task_help_lists_parameters(tmp_path: Path) -> None:
    write(tmp_path, WORKFLOW)
    proc = run_cli("run", "workflow.py", "main", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    for option in ("--y INTEGER", "--label TEXT", "--scale FLOAT", "--flag / --no-flag"):
        assert option in proc.stdout


def test_bad_argument_type_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path, WORKFLOW)
    proc = run_cli("run", "workflow.py", "main", "--y", "ten", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Invalid value for '--y'" in proc.stderr
    assert "'ten' is not a valid integer" in proc.stderr


def test_unknown_task_and_missing_file(tmp_path: Path) -> None:
    write(tmp_path, WORKFLOW)
    proc = run_cli("run", "workflow.py", "nope", cwd=tmp_path)
    assert proc.returncode == 1
    assert "no task named 'nope'" in proc.stderr and "double" in proc.stderr
    proc = run_cli("run", "missing.py", "main", cwd=tmp_path)
    assert proc.returncode == 1 and "missing.py does not exist" in proc.stderr


FAILING = '''
from remit import task

remit_namespace = "demo"


@task()
def fine(x: int) -> int:
    return x


@task()
def explode(x: int) -> int:
    values = {"a": 1}
    return values["missing"] + x


@task()
def main() -> list:
    return [fine(1), explode(2)]
'''


def test_failure_shows_task_traceback_and_exits_non_zero(tmp_path: Path) -> None:
    write(tmp_path, FAILING)
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 1
    err = proc.stderr
    assert "*** Execution failed" in err
    assert "> Job " in err and " main > Job " in err and " explode" in err
    assert 'values["missing"]' in err and "KeyError: 'missing'" in err
    assert status_row(err, "demo.explode")[2] == 1  # FAILED
    assert status_row(err, "demo.fine")[4] == 1  # the independent branch finished
    rows = sqlite3.connect(tmp_path / ".remit" / "remit.db").execute(
        "SELECT status, error FROM job JOIN task ON job.task_hash = task.hash "
        "WHERE task.fullname = 'demo.explode'"
    ).fetchall()
    assert rows and rows[0][0] == "FAILED" and "KeyError" in rows[0][1]


def test_unknown_executor_is_an_error_before_anything_runs(tmp_path: Path) -> None:
    write(tmp_path, '''
        from remit import task

        @task(executor="gpu_farm")
        def main() -> int:
            raise SystemExit("must not run")
    ''')
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 1
    assert "uses executor 'gpu_farm', which is not configured" in proc.stderr
    assert "[executors.gpu_farm]" in proc.stderr
    assert "Run    Job" not in proc.stderr


def test_unknown_executor_type_and_malformed_ini(tmp_path: Path) -> None:
    write(tmp_path, WORKFLOW)
    (tmp_path / ".remit").mkdir()
    ini = tmp_path / ".remit" / "remit.ini"
    ini.write_text("[executors.fast]\ntype = quantum\n")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 1
    assert f"{ini}: [executors.fast] type: unknown executor type 'quantum'" in proc.stderr
    ini.write_text("[executors.fast\ntype = local\n")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 1 and f"{ini}: malformed ini" in proc.stderr
    ini.write_text("[executors.fast]\ntype = local\nmode = rocket\n")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert "[executors.fast] mode: expected 'thread' or 'process', got 'rocket'" in proc.stderr


PROCESSES = '''
import os
from remit import task

@task(executor="procs")
def where(x: int) -> int:
    return os.getpid()

@task()
def main() -> list:
    return [os.getpid(), where(1), where(2)]
'''


def test_process_executor_runs_tasks_in_other_processes(tmp_path: Path) -> None:
    write(tmp_path, PROCESSES)
    (tmp_path / ".remit").mkdir()
    (tmp_path / ".remit" / "remit.ini").write_text(
        "[executors.procs]\ntype = local\nmode = process\nmax_workers = 2\n"
    )
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    main_pid, pid1, pid2 = eval(proc.stdout)
    assert main_pid not in (pid1, pid2)
    assert "where(x=1) on procs" in proc.stderr


def test_config_dir_option_and_env_interpolation(tmp_path: Path) -> None:
    write(tmp_path, PROCESSES)
    conf = tmp_path / "elsewhere"
    conf.mkdir()
    (conf / "remit.ini").write_text(
        "[executors.procs]\ntype = local\nmode = ${PROC_MODE:-thread}\n"
    )
    proc = run_cli("run", "--config", str(conf), "workflow.py", "main", cwd=tmp_path,
                   env={"PROC_MODE": "process"})
    assert proc.returncode == 0, proc.stderr
    assert f"config dir: {conf}" in proc.stderr
    main_pid, pid1, _ = eval(proc.stdout)
    assert main_pid != pid1
    (conf / "remit.ini").write_text("[executors.procs]\ntype = local\nmode = ${PROC_MODE}\n")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path, env={"REMIT_CONFIG": str(conf)})
    assert proc.returncode == 1
    assert "[executors.procs] mode: environment variable ${PROC_MODE} is not set" in proc.stderr
