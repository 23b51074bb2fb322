"""JobInfo for a task's own job, and fork_thread/join_thread, as redun's examples use them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from remit import JobInfo, task
from remit.db import models
from remit.scheduler import fork_thread, join_thread

remit_namespace = "tests.lang.jobs"
events: list[str] = []


@task()
def who_am_i(x: int, job: JobInfo = JobInfo()) -> dict:
    return {"x": x, "job_id": job.job_id, "execution_id": job.execution_id,
            "eval_hash": job.eval_hash}


def test_a_task_sees_its_own_job(make_scheduler, config_dir: Path) -> None:
    scheduler = make_scheduler()
    info = scheduler.run(who_am_i(5))
    root = scheduler.execution.root_job
    assert info == {"x": 5, "job_id": root.id, "execution_id": scheduler.execution.id,
                    "eval_hash": root.eval_hash}
    engine = create_engine(f"sqlite:///{config_dir / 'remit.db'}")
    with engine.connect() as conn:
        row = conn.execute(select(models.job).where(models.job.c.id == root.id)).mappings().one()
    assert row["eval_hash"] == info["eval_hash"]
    # The JobInfo is not part of the cache key: a re-run is served from the cache.
    again = make_scheduler()
    assert again.run(who_am_i(5)) == info
    assert again.run_log.counts["tests.lang.jobs.who_am_i"]["CACHED"] == 1


@task(cache=False)
def slow_double(x: int) -> int:
    time.sleep(0.3)
    events.append("double done")
    return 2 * x


@task(cache=False)
def make_thread(x: int) -> object:
    events.append("make_thread")
    return fork_thread(slow_double(x))  # make_thread ends while slow_double still runs


@task(cache=False)
def take_thread(thread: object) -> int:
    events.append("take_thread")
    return join_thread(thread)


@task(cache=False)
def threads_main(x: int) -> int:
    return take_thread(make_thread(x))


def test_fork_and_join_thread(make_scheduler) -> None:
    events.clear()
    scheduler = make_scheduler()
    ended: dict[str, float] = {}  # finished jobs release their state: note the times as they end

    class EndTimes:
        def on_job_done(self, job: object, value: object) -> None:
            ended[job.task.name] = job.end_time  # type: ignore[attr-defined]

    scheduler.hooks.add(EndTimes())
    assert scheduler.run(threads_main(10)) == 20
    # take_thread ran before the forked work finished, and joined it.
    assert events == ["make_thread", "take_thread", "double done"]
    assert ended["make_thread"] < ended["slow_double"]
    assert ended["take_thread"] >= ended["slow_double"]


@task(cache=False)
def failing(x: int) -> int:
    raise ValueError(f"thread failed on {x}")


@task(cache=False)
def fork_failing(x: int) -> object:
    return fork_thread(failing(x))


@task(cache=False)
def join_failing(x: int) -> int:
    return take_thread(fork_failing(x))


def test_a_failed_thread_fails_the_join(make_scheduler) -> None:
    with pytest.raises(ValueError, match="thread failed on 4"):
        make_scheduler().run(join_failing(4))
    with pytest.raises(TypeError, match=r"join_thread\(\) needs a Thread from fork_thread\(\)"):
        make_scheduler().run(take_thread(5))
