"""Tasks passed to tasks: a divide-and-conquer reduce, in redun's style."""


from remit import task
from remit.task import Task

remit_namespace = "redun_style.higher_order"


@task()
def plus(a: int, b: int) -> int:
    return a + b


@task()
def times(a: int, b: int) -> int:
    return a * b


@task()
def fold(op: Task, items: list[int]) -> int:
    """Split the list in halves, fold each, then combine the two with op."""
    if len(items) == 1:
        return items[0]
    half = len(items) // 2
    return op(fold(op, items[:half]), fold(op, items[half:]))


@task()
def main(n: int = 8) -> dict:
    items = list(range(1, n + 1))
    return {"sum": fold(plus, items), "product": fold(times, items)}
