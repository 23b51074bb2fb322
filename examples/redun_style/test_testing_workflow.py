"""Testing a workflow with pytest as redun users do: the `scheduler` fixture from remit.pytest."""

import pytest

from examples.redun_style.testing_workflow import add, add4, divide, main, on_batch
from remit.executors.local import LocalExecutor
from remit.pytest import Scheduler


def test_main(scheduler: Scheduler) -> None:
    assert scheduler.run(main(1)) == 6
    assert scheduler.run(main(2)) == 9


def test_one_task(scheduler: Scheduler) -> None:
    assert scheduler.run(add(1, 2)) == 3
    assert scheduler.run(add(-1, 1)) == 0


def test_errors_come_out_as_themselves(scheduler: Scheduler) -> None:
    with pytest.raises(ZeroDivisionError):
        scheduler.run(divide(4, 0))


def test_the_expression_a_task_returns() -> None:
    tree = add4.func(1, 2, 3, 4)  # the body only: children are not run
    assert tree.task_name == "redun_style.testing.add"
    left, right = tree.args
    assert (left.task_name, left.args) == ("redun_style.testing.add", (1, 2))
    assert right.args == (3, 4)


def test_batch_task_on_a_local_executor(scheduler: Scheduler) -> None:
    scheduler.add_executor(LocalExecutor("batch"))
    assert scheduler.run(on_batch(2)) == 200
