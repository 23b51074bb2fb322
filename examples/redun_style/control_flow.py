"""Branching, recovery, ordering and lazy operators, in redun's style."""

import random
import time
from typing import Any

from remit import catch, cond, task
from remit.functools import seq

remit_namespace = "redun_style.control_flow"

printed: list = []


@task()
def ratio(a: float, b: float) -> float:
    return a / b


@task()
def twice(x: int) -> int:
    return 2 * x


@task()
def fallback(error: Exception, value: Any) -> Any:
    return value


@task()
def checked_ratio(a: float, b: float, default: float = 0.0) -> float:
    return catch(ratio(a, b), ZeroDivisionError, fallback.partial(value=default))


@task()
def explode(text: str) -> None:
    raise ValueError(text)


@task()
def explode_later(text: str) -> None:
    return explode(text)


@task()
def translate(error: Exception) -> None:
    raise KeyError(f"was: {error}") from error


@task()
def say(text: str) -> str:
    time.sleep(random.random() * 0.05)
    printed.append(text)
    return text


@task(nout=2)
def min_max(values: list) -> tuple:
    return min(values), max(values)


@task()
def main() -> dict:
    low, high = min_max([4, 9, 1])
    return {
        "8/2": checked_ratio(8, 2),
        "8/0": checked_ratio(8, 0, default=-1.0),
        "caught": catch(explode("bang"), ValueError, fallback.partial(value="safe")),
        "caught_deep": catch(explode_later("bang"), ValueError, fallback.partial(value="safe")),
        "rethrown": catch(
            catch(explode("bang"), ValueError, translate), KeyError, fallback.partial(value="k")
        ),
        "in_order": seq([say(str(i)) for i in range(5)]),
        "cond_true": cond(ratio(9, 3) == 3.0, twice(1), twice(100)),
        "cond_false": cond(twice(2) + 1 == 4, twice(1), twice(100)),
        "range": high - low,
        "both": cond((low < 2) & (high > 8), "wide", "narrow"),
    }
