"""subrun: a sub-workflow evaluated by a scheduler inside a process-pool job."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from remit import task
from remit.db import models
from remit.subrun import subrun
from remit.task import _registry

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
    assert [v for v, _ in changed.run(main_sub(3))] == [1, 2, 5]
    assert changed.run_log.counts["remit.subrun_root"]["DONE"] == 1


def test_a_failing_subrun_raises_the_original_error(make_scheduler) -> None:
    with pytest.raises(ValueError, match="bad input 7"):
        make_scheduler(ini=INI).run(subrun(broken(7), executor="procs"))
