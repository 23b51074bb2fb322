"""check_valid="shallow" vs "full", cache_scope, prov=False and no_prov, as a user sees them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from remit import CacheScope, task
from remit.config import Config
from remit.db import models
from remit.db.backend import Backend
from remit.db.recorder import ProvenanceRecorder
from remit.db.transfer import copy_executions
from remit.errors import TaskError
from remit.functools import no_prov
from remit.progress import RunLog
from remit.scheduler import Scheduler
from remit.task import _registry

remit_namespace = "tests.lang.cache_options"
calls: list[str] = []


@task()
def leaf(b: int, i: int) -> int:
    return b * 100 + i


@task()
def odd_leaf(i: int) -> int:
    return -i


@task()
def branch(b: int) -> list:
    return [odd_leaf(i) if b == 9 else leaf(b, i) for i in range(9)]


@task()
def root(mode: str) -> list:
    return [branch.with_options(check_valid=mode)(b) for b in range(10)]


def _counts(scheduler) -> tuple[int, int]:
    """(jobs in the run, jobs that ran their body)."""
    counts = scheduler.run_log.counts
    total = sum(c.get("TOTAL", 0) for c in counts.values())
    done = sum(c.get("DONE", 0) for c in counts.values())
    return total, done


@pytest.mark.parametrize("mode", ["shallow", "full"])
def test_shallow_serves_a_whole_unchanged_tree_without_replaying_it(
    make_scheduler, mode: str, monkeypatch
) -> None:
    expected = [[b * 100 + i for i in range(9)] for b in range(9)] + [[-i for i in range(9)]]
    first = make_scheduler()
    assert first.run(root.with_options(check_valid=mode)(mode)) == expected
    assert _counts(first) == (101, 101)

    again = make_scheduler()
    assert again.run(root.with_options(check_valid=mode)(mode)) == expected
    # shallow: the root's final result, its 100 calls below untouched; full: every call replayed.
    assert _counts(again) == ((1, 0) if mode == "shallow" else (101, 0))

    # Change one leaf task's code: only the branch that calls it is replayed below the root.
    def odd_leaf_v2(i: int) -> int:
        return -i * 2

    module = sys.modules[__name__]
    monkeypatch.setitem(_registry, odd_leaf.fullname, odd_leaf)
    monkeypatch.setattr(module, "odd_leaf", task(name="odd_leaf")(odd_leaf_v2))
    changed = make_scheduler()
    result = changed.run(root.with_options(check_valid=mode)(mode))
    assert result[9] == [-2 * i for i in range(9)] and result[:9] == expected[:9]
    # shallow: root + 10 branches (9 served whole) + 9 new odd_leaf calls; full: all 101.
    assert _counts(changed) == ((20, 9) if mode == "shallow" else (101, 9))


@task()
def counted(x: int) -> int:
    calls.append(f"counted({x})")
    return x


@task()
def twice(scope: str) -> list:
    fn = counted.with_options(cache_scope=scope)
    return [fn(1), fn(1)]


class Submitted:
    """Hook listener noting each job sent to an executor, with the reason it ran."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, str]] = []

    def on_job_submit(self, job) -> None:
        self.jobs.append((job.task.name, job.reason))


@pytest.mark.parametrize("scope, first_run, second_run", [
    ("NONE", 2, 2),      # never reused, not even the identical call in the same run
    ("CSE", 1, 1),       # reused within the run only
    ("BACKEND", 1, 0),   # reused across runs from the store (the default)
])
def test_cache_scope(make_scheduler, scope: str, first_run: int, second_run: int) -> None:
    calls.clear()
    assert make_scheduler().run(twice(scope)) == [1, 1]
    assert len(calls) == first_run
    calls.clear()
    again = make_scheduler()
    again.hooks.add(submitted := Submitted())
    assert again.run(twice(scope)) == [1, 1]
    assert len(calls) == second_run
    reasons = [reason for name, reason in submitted.jobs if name == "counted"]
    assert reasons == [f"cache_scope={scope}"] * second_run  # why each one ran


def test_cache_scope_enum_and_bad_values() -> None:
    assert counted.with_options(cache_scope=CacheScope.CSE)
    with pytest.raises(TaskError, match="cache_scope='SOMETIMES' is not one of NONE, CSE"):
        task(cache_scope="SOMETIMES")(lambda: 1)
    with pytest.raises(TaskError, match="check_valid='deep' is not 'full' or 'shallow'"):
        task(check_valid="deep")(lambda: 1)


@task(prov=False)
def secret(x: int) -> int:
    calls.append("secret")
    return x * 2


@task()
def inner(x: int) -> int:
    calls.append("inner")
    return x + 1


@task()
def outer(x: int) -> list:
    return [secret(x), no_prov(inner(inner(x)))]


def _recorded_tasks(config_dir: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{config_dir / 'remit.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(models.task.c.fullname).join(
            models.job, models.job.c.task_hash == models.task.c.hash)).scalars().all()
    return sorted(set(rows))


def test_prov_false_and_no_prov_are_evaluated_but_not_recorded(
    make_scheduler, config_dir: Path
) -> None:
    calls.clear()
    assert make_scheduler().run(outer(1)) == [2, 3]
    assert sorted(calls) == ["inner", "inner", "secret"]
    # Only the recorded calls are in the store: not secret, not the calls inside no_prov.
    assert _recorded_tasks(config_dir) == ["remit.no_prov", "tests.lang.cache_options.outer"]

    calls.clear()
    again = make_scheduler()
    assert again.run(outer(1)) == [2, 3]
    # prov=False calls are never reused; no_prov's result is served whole (shallow).
    assert calls == ["secret"]
    assert again.run_log.counts["remit.no_prov"]["CACHED"] == 1


def test_a_copied_store_serves_shallow_calls(make_scheduler, tmp_path: Path) -> None:
    first = make_scheduler()
    first.run(root.with_options(check_valid="shallow")("shallow"))
    copy = Backend(f"sqlite:///{tmp_path / 'copy.db'}", tmp_path / "copy-values")
    try:
        copy_executions(first.backend, copy, [first.execution.id])
        log = RunLog(open(os.devnull, "w"))
        again = Scheduler(Config(config_dir=tmp_path), copy,
                          listeners=[ProvenanceRecorder(copy), log])
        again.run(root.with_options(check_valid="shallow")("shallow"))
    finally:
        copy.close()
    # The copy carries the subtree records: the whole tree is served from the root's result.
    assert set(log.counts) == {"tests.lang.cache_options.root"}
    assert log.counts["tests.lang.cache_options.root"]["CACHED"] == 1


aligned: list[tuple[str, int]] = []


@task(config_args=["threads"])
def align(sample: str, threads: int = 1) -> str:
    aligned.append((sample, threads))
    return f"{sample}.bam"


def test_config_args_are_not_part_of_the_cache_key(make_scheduler) -> None:
    aligned.clear()
    assert make_scheduler().run(align("a", threads=2)) == "a.bam"
    assert make_scheduler().run(align("a", threads=8)) == "a.bam"  # served from the cache
    assert make_scheduler().run(align("a", 16)) == "a.bam"  # by position too
    assert make_scheduler().run(align("b", threads=2)) == "b.bam"
    assert aligned == [("a", 2), ("b", 2)]


def test_config_args_must_name_parameters() -> None:
    with pytest.raises(TaskError) as info:  # when the task is defined or first called
        @task(config_args=["thread"])
        def misnamed(sample: str, threads: int = 1) -> str:
            return sample

        Scheduler(Config(config_dir=Path("."))).run(misnamed("a"))
    assert "misnamed: config_args names 'thread'" in str(info.value)
    assert "its parameters: sample, threads" in str(info.value)
    _registry.pop("tests.lang.cache_options.misnamed", None)
