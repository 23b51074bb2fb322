"""User-defined scheduler tasks: built-ins that see their arguments unevaluated."""

from __future__ import annotations

import pickle

import pytest

from remit import Scheduler, task
from remit.expression import SchedulerExpression
from remit.scheduler_tasks import scheduler_task

remit_namespace = "tests.lang.schedtasks"

ran: list[int] = []


@task()
def maybe(x: int) -> int | None:
    ran.append(x)
    return None if x < 0 else x


@scheduler_task(namespace="tests.lang.schedtasks")
def first_present(scheduler, parent, promise, exprs: list):
    """Evaluate the expressions one at a time; the first value that is not None."""

    def step(index: int) -> None:
        if index == len(exprs):
            promise.resolve(None)
            return
        scheduler.evaluate(exprs[index], parent).then(
            lambda value: promise.resolve(value) if value is not None else step(index + 1),
            promise.reject,
        )

    step(0)


@scheduler_task(namespace="tests.lang.schedtasks")
def broken(scheduler, parent, promise, x):
    raise RuntimeError(f"handler broke on {x}")


def test_a_scheduler_task_evaluates_only_what_it_needs() -> None:
    ran.clear()
    expr = first_present([maybe(-1), maybe(2), maybe(3)])
    assert isinstance(expr, SchedulerExpression)
    assert Scheduler(config={}).run(expr) == 2
    assert ran == [-1, 2]  # maybe(3) was never needed


def test_scheduler_task_expressions_pickle_and_run_after() -> None:
    expr = pickle.loads(pickle.dumps(first_present([maybe(5)])))
    assert Scheduler(config={}).run(expr) == 5


def test_a_failing_handler_fails_the_run_with_its_error() -> None:
    with pytest.raises(RuntimeError, match="handler broke on 1"):
        Scheduler(config={}).run(broken(1))


def test_bad_arguments_fail_at_the_call_site() -> None:
    with pytest.raises(TypeError, match="first_present"):
        first_present()
