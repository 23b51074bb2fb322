"""A small workflow whose tests (test_testing_workflow.py) use remit's pytest fixture."""

from remit import task

remit_namespace = "redun_style.testing"


@task()
def add(a: int, b: int) -> int:
    return a + b


@task()
def add4(a: int, b: int, c: int, d: int) -> int:
    return add(add(a, b), add(c, d))


@task()
def divide(a: float, b: float) -> float:
    return a / b


@task(executor="batch")
def on_batch(x: int) -> int:
    # Meant for AWS Batch; the test runs it locally instead.
    return x * 100


@task()
def main(x: int) -> int:
    return add4(add(x, x), x, 1, 2)
