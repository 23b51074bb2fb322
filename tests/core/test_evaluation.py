"""Evaluation semantics through the Scheduler API: laziness, containers, built-ins, errors."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from remit import catch, cond, task
from remit.expression import TaskExpression
from remit.jobs import JobState
from remit.scheduler import ExecutionFailed

remit_namespace = "tests.core.evaluation"

calls: list[str] = []
_lock = threading.Lock()


def _note(name: str) -> None:
    with _lock:
        calls.append(name)


@task()
def add(a: int, b: int) -> int:
    _note(f"add({a},{b})")
    return a + b


@task()
def pair(x: int) -> tuple:
    return (x, x * 10)


@dataclasses.dataclass
class Point:
    x: int
    y: int


@task()
def make_point(x: int) -> Point:
    return Point(x, x + 1)


@task()
def nested(n: int) -> dict:
    return {"list": [add(i, i) for i in range(n)], "tuple": (add(1, 2), "plain"),
            "deep": {"inner": [[add(5, 5)]]}}


@task()
def countdown(n: int) -> int:
    return countdown(n - 1) if n > 0 else 0


@task()
def sum_to(n: int) -> int:
    return add(n, sum_to(n - 1)) if n > 0 else 0


@task()
def boom(x: int) -> int:
    raise ValueError(f"boom {x}")


@task()
def recover(error: Exception) -> str:
    return f"recovered from {type(error).__name__}: {error}"


@task()
def is_even(x: int) -> bool:
    return x % 2 == 0


@task()
def label(text: str) -> str:
    _note(f"label({text})")
    return text


@task(cache=False)
def uncached(x: int) -> int:
    _note(f"uncached({x})")
    return x


def test_calling_a_task_is_lazy() -> None:
    calls.clear()
    expr = add(1, 2)
    assert isinstance(expr, TaskExpression)
    assert calls == []


def test_results_flow_into_arguments(make_scheduler) -> None:
    assert make_scheduler().run(add(add(1, 2), add(3, 4))) == 10


def test_nested_containers_are_evaluated(make_scheduler) -> None:
    result = make_scheduler().run(nested(3))
    assert result == {"list": [0, 2, 4], "tuple": (3, "plain"), "deep": {"inner": [[10]]}}


def test_lazy_getitem_and_getattr(make_scheduler) -> None:
    scheduler = make_scheduler()
    assert scheduler.run(add(pair(3)[1], 1)) == 31
    assert scheduler.run(make_point(4).y) == 5


def test_recursion_1000_deep_without_recursion_error(make_scheduler) -> None:
    assert make_scheduler().run(countdown(1500)) == 0
    assert make_scheduler().run(sum_to(1000)) == 500500


def test_deeply_nested_argument_expression(make_scheduler) -> None:
    expr = 0
    for i in range(1200):
        expr = add(expr, i)
    assert make_scheduler().run(expr) == sum(range(1200))


def test_identical_calls_in_one_run_execute_once(make_scheduler) -> None:
    calls.clear()
    scheduler = make_scheduler(use_cache=False)
    assert scheduler.run([add(7, 8), add(7, 8), add(add(7, 8), 0)]) == [15, 15, 15]
    assert calls.count("add(7,8)") == 1


def test_cond_evaluates_only_the_chosen_branch(make_scheduler) -> None:
    calls.clear()
    scheduler = make_scheduler()
    assert scheduler.run(cond(is_even(4), label("even"), label("odd"))) == "even"
    assert "label(odd)" not in calls


def test_catch_recovers_with_a_handler_task(make_scheduler) -> None:
    result = make_scheduler().run(catch(boom(1), ValueError, recover))
    assert result == "recovered from ValueError: boom 1"


def test_catch_does_not_swallow_other_errors(make_scheduler) -> None:
    with pytest.raises(ValueError, match="boom 2"):
        make_scheduler().run(catch(boom(2), KeyError, recover))


def test_failure_keeps_traceback_and_independent_branches_finish(make_scheduler) -> None:
    calls.clear()
    scheduler = make_scheduler()
    with pytest.raises(ExecutionFailed) as info:
        scheduler.execute([boom(3), label("independent")])
    failure = info.value.failure
    assert isinstance(failure.error, ValueError)
    assert "raise ValueError" in failure.traceback_text
    assert failure.job.task.name == "boom"
    assert "label(independent)" in calls
    # The independent branch was cached: a second run does not execute it again.
    calls.clear()
    with pytest.raises(ValueError):
        make_scheduler().run([boom(3), label("independent")])
    assert "label(independent)" not in calls


def test_cache_serves_a_second_run(make_scheduler) -> None:
    calls.clear()
    make_scheduler().run(add(100, 1))
    second = make_scheduler()
    assert second.run(add(100, 1)) == 101
    assert calls.count("add(100,1)") == 1
    assert second.run_log.counts["tests.core.evaluation.add"]["CACHED"] == 1


def test_no_cache_runs_again(make_scheduler) -> None:
    calls.clear()
    make_scheduler().run(add(200, 1))
    make_scheduler(use_cache=False).run(add(200, 1))
    assert calls.count("add(200,1)") == 2


def test_cache_false_task_always_runs(make_scheduler) -> None:
    calls.clear()
    make_scheduler().run(uncached(5))
    make_scheduler().run(uncached(5))
    assert calls.count("uncached(5)") == 2


def test_errors_are_not_cached_across_runs(make_scheduler) -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="boom 9"):
            make_scheduler().run(boom(9))


def test_job_states_after_a_run(make_scheduler) -> None:
    scheduler = make_scheduler()
    scheduler.run(add(1, 1))
    root = scheduler.execution.root_job
    assert root.state is JobState.DONE and root.call_hash and root.end_time >= root.start_time


@task()
def takes(value: object) -> str:
    return "never runs"


@task()
def passes_a_lock() -> str:
    return takes(threading.Lock())


def test_unpicklable_argument_fails_its_call_clearly(make_scheduler) -> None:
    with pytest.raises(ExecutionFailed) as info:
        make_scheduler().execute(passes_a_lock())
    failure = info.value.failure
    assert failure.job.task.name == "takes"
    assert "cannot hash a value of type _thread.lock" in str(failure.error)
    assert "normalize.register" in str(failure.error)
