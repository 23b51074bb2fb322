"""subrun: a sub-workflow evaluated by a scheduler inside a process-pool job."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from remit import task
from remit.db import models
from remit.db.shallow import SUBTREE_CHANGED
from remit.errors import TaskError
from remit.subrun import subrun
from remit.task import _registry
from tests.conftest import run_cli

remit_namespace = "tests.lang.subrun"
INI = "[executors.procs]\ntype = local\nmode = process\nmax_workers = 1\n"


@task()
def square(x: int) -> list:
    return [x * x, os.getpid()]


@task()
def pipeline(n: int) -> list:
    return [square(i) for i in range(n)]


@task()
def main_sub(n: int) -> list:
    return subrun(pipeline(n), executor="procs")


@task()
def broken(n: int) -> int:
    raise ValueError(f"bad input {n}")


def _jobs(config_dir: Path) -> list[dict]:
    engine = create_engine(f"sqlite:///{config_dir / 'remit.db'}")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(models.job)).mappings()]


def test_subrun_on_the_process_executor(make_scheduler, config_dir: Path, monkeypatch) -> None:
    first = make_scheduler(ini=INI)
    result = first.run(main_sub(3))
    assert [value for value, _ in result] == [0, 1, 4]
    pids = {pid for _, pid in result}
    assert len(pids) == 1 and pids != {os.getpid()}  # all ran inside the one subrun job

    # The sub-workflow's jobs are in this execution, below the subrun job.
    jobs = {j["id"]: j for j in _jobs(config_dir)}
    assert {j["execution_id"] for j in jobs.values()} == {first.execution.id}
    by_call = {j["call"].split("(")[0].rsplit(".", 1)[-1]: j for j in jobs.values()}
    assert set(by_call) == {"main_sub", "subrun_root", "pipeline", "square"}
    assert by_call["subrun_root"]["executor"] == "procs"
    assert by_call["pipeline"]["parent_id"] == by_call["subrun_root"]["id"]
    assert by_call["subrun_root"]["parent_id"] == by_call["main_sub"]["id"]
    squares = [j for j in jobs.values() if ".square(" in j["call"]]
    assert len(squares) == 3 and all(j["parent_id"] == by_call["pipeline"]["id"]
                                     for j in squares)

    # Unchanged: the subrun is served whole from the store, no job started.
    again = make_scheduler(ini=INI)
    assert again.run(main_sub(3)) == result
    counts = again.run_log.counts
    assert counts["remit.subrun_root"]["CACHED"] == 1 and "tests.lang.subrun.square" not in counts

    # A task inside the subrun changed: the subrun runs again.
    def square_v2(x: int) -> list:
        return [x * x + 1, os.getpid()]

    monkeypatch.setitem(_registry, square.fullname, square)
    monkeypatch.setattr(sys.modules[__name__], "square", task(name="square")(square_v2))
    changed = make_scheduler(ini=INI)
    reasons: list[str] = []
    changed.hooks.add(type("Reasons", (), {
        "on_job_submit": lambda self, job: reasons.append(job.reason)})())
    assert [v for v, _ in changed.run(main_sub(3))] == [1, 2, 5]
    assert changed.run_log.counts["remit.subrun_root"]["DONE"] == 1
    assert reasons == [SUBTREE_CHANGED]  # only the subrun job ran here, and this is why
    # Inside, the sub-scheduler found pipeline in this store: only the changed squares ran.
    latest = [j for j in _jobs(config_dir) if j["execution_id"] == changed.execution.id]
    status = sorted((j["call"].split("(")[0].rsplit(".", 1)[-1], j["status"]) for j in latest)
    assert status == [("main_sub", "CACHED"), ("pipeline", "CACHED"), ("square", "DONE"),
                      ("square", "DONE"), ("square", "DONE"), ("subrun_root", "DONE")]


def test_a_failing_subrun_raises_the_original_error(make_scheduler) -> None:
    with pytest.raises(ValueError, match="bad input 7"):
        make_scheduler(ini=INI).run(subrun(broken(7), executor="procs"))


def test_subrun_as_an_execution_of_its_own(make_scheduler, config_dir: Path) -> None:
    scheduler = make_scheduler(ini=INI)
    result = scheduler.run(subrun(pipeline(2), executor="procs", new_execution=True))
    assert [value for value, _ in result] == [0, 1]
    jobs = _jobs(config_dir)
    executions = {j["execution_id"] for j in jobs}
    assert len(executions) == 2 and scheduler.execution.id in executions
    engine = create_engine(f"sqlite:///{config_dir / 'remit.db'}")
    with engine.connect() as conn:
        tag = conn.execute(select(models.tag).where(
            models.tag.c.key == "subrun_execution")).mappings().one()
        recorded = set(conn.execute(select(models.execution.c.id)).scalars())
    assert recorded == executions and tag["value"] in executions - {scheduler.execution.id}
    sub_jobs = [j for j in jobs if j["execution_id"] == tag["value"]]
    assert sorted(j["call"].split("(")[0].rsplit(".", 1)[-1] for j in sub_jobs) == \
        ["pipeline", "square", "square"]


def test_subrun_config_dir_is_a_clear_error() -> None:
    with pytest.raises(TaskError, match=r"subrun\(config_dir=...\) is not supported"):
        subrun(pipeline(2), executor="procs", config_dir=".remit")


DRY_WORKFLOW = """
from remit import task
from remit.scheduler import subrun


@task()
def square(x: int) -> int:
    return x * x


@task()
def main(n: int = 2) -> list:
    return subrun([square(i) for i in range(n)], executor="process")
"""


def test_dry_run_plans_a_subrun(tmp_path: Path) -> None:
    (tmp_path / ".remit").mkdir()
    (tmp_path / "workflow.py").write_text(DRY_WORKFLOW)
    first = run_cli("run", "--dry-run", "workflow.py", "main", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert re.search(r"would run +main\(n=2\)", first.stdout)
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    again = run_cli("run", "--dry-run", "workflow.py", "main", cwd=tmp_path)
    assert re.search(r"cached +remit\.subrun_root\(", again.stdout)
    assert "0 would run" in again.stdout
