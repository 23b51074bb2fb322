"""A tour of remit.functools, written as a redun user writes it (only the names differ)."""

from typing import Any

from remit import task
from remit.functools import compose, const, delay, eval_, flat_map, flatten, force, map_, starmap
from remit.task import Task

remit_namespace = "redun_style.functools_tour"


@task()
def triple(x: int) -> int:
    return 3 * x


@task()
def plus(a: int, b: int) -> int:
    return a + b


@task()
def bounds(x: int) -> dict[str, int]:
    return {"a": x * 10, "b": x}


@task()
def tokens(line: str) -> list[str]:
    return line.split()


@task()
def echo(x: Any) -> Any:
    return x


@task()
def open_later(promised: Task) -> Any:
    return force(promised)


@task()
def map_nested(fn: Task, tree: Any) -> Any:
    """A home-made higher-order task: apply fn to every leaf of nested lists."""
    if isinstance(tree, list):
        return [map_nested(fn, branch) for branch in tree]
    return fn(tree)


@task()
def main(n: int = 4) -> dict:
    values = list(range(n))
    tripled = map_(triple, values)
    lines = ["the quick fox", "jumps"]
    add_one = plus.partial(1)
    return {
        "map": tripled,
        "map_of_lazy": map_(triple, tripled),
        "starmap": starmap(plus, map_(bounds, values)),
        "flatten": flatten(map_(tokens, lines)),
        "flat_map": flat_map(tokens, lines),
        "partial": map_(add_one, values),
        "compose": compose(triple, add_one)(2),
        "const": const(echo("kept"), echo("dropped")),
        "delay_force": open_later(delay(plus(20, 22))),
        "eval": eval_("x ** 2 + y", 3, y=1, pos_args=["x"]),
        "map_partial": map_.partial(eval_.partial("v - 1", pos_args=["v"]))(values),
        "tree": map_nested(triple, [1, [2, 3]]),
    }
