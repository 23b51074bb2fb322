"""A small remit workflow: fan out, combine, recurse.

    remit run workflow.py main --n 5
"""

from remit import task

remit_namespace = "examples.quickstart"


@task()
def square(x: int) -> int:
    """Square one number."""
    return x * x


@task()
def total(values: list) -> int:
    """Add the numbers up."""
    return sum(values)


@task()
def countdown(n: int) -> int:
    """Recurse n levels deep, lazily: each level is a job of its own."""
    if n == 0:
        return 0
    return countdown(n - 1)


@task()
def main(n: int = 5, depth: int = 3) -> dict:
    """Sum the squares of 0..n-1 and count down from ``depth``."""
    squares = [square(i) for i in range(n)]
    return {"squares": squares, "total": total(squares), "countdown": countdown(depth)}
