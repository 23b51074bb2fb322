"""Lazy operators on expressions, `cond` on them, and `nout` unpacking, as a user sees them."""

from __future__ import annotations

import pytest

from remit import Scheduler, cond, task
from remit.errors import TaskError
from remit.expression import Expression, SimpleExpression

remit_namespace = "tests.lang.operators"


@task()
def three() -> int:
    return 3


@task()
def number(x: float) -> float:
    return x


@task()
def words() -> list:
    return ["a", "b"]


@task()
def label(text: str) -> str:
    return text


@task(nout=2)
def split(x: int) -> tuple:
    return x // 10, x % 10


@task()
def annotated(x: int) -> tuple[int, str, float]:
    return x, str(x), float(x)


@task()
def not_unpackable(x: int) -> list:
    return [x, x]


@pytest.fixture
def run():
    return Scheduler(config={}).run


def test_equality_is_lazy_and_cond_takes_the_right_branch(run) -> None:
    expr = three() == 3
    assert isinstance(expr, SimpleExpression)  # not False, as an eager == would give
    assert run(cond(three() == 3, label("yes"), label("no"))) == "yes"
    assert run(cond(three() == 4, label("yes"), label("no"))) == "no"
    assert run(cond(three() != 3, label("yes"), label("no"))) == "no"
    assert run(cond(3 == three(), "reflected", "wrong")) == "reflected"


def test_comparisons_and_arithmetic(run) -> None:
    a, b = number(7), number(2)
    results = run([a < b, a <= 7, a > b, a >= 8, a + b, a - b, a * b, a / b, a // b, a % b,
                   10 + a, 10 - a, 3 * a, 14 / a, 15 // b, 15 % a, -a, a == b, a != b])
    assert results == [False, True, True, False, 9, 5, 14, 3.5, 3, 1,
                       17, 3, 21, 2.0, 7, 1, -7, False, True]


def test_logical_and_or_not_combine_conditions(run) -> None:
    a = number(5)
    both = (a > 1) & (a < 10)
    either = (a > 7) | (a == 5)
    assert run([both, either, ~both, (a > 7) & (a < 1)]) == [True, True, False, False]
    assert run(cond((a > 1) & (a < 3), "in", "out")) == "out"


def test_expressions_compose_with_indexing_and_attributes(run) -> None:
    assert run(words()[0] + words()[1]) == "ab"
    assert run(label("abc").upper() == "ABC") is True


def test_expressions_hash_by_identity(run) -> None:
    first, second = three(), three()
    seen = {first: "first", second: "second"}  # usable as dict keys despite lazy ==
    assert seen[first] == "first" and seen[second] == "second"
    assert len({first, second, first}) == 2


def test_bool_and_iteration_say_what_to_use_instead() -> None:
    with pytest.raises(TypeError, match="remit.cond"):
        if three() == 3:
            pass
    with pytest.raises(TypeError, match="nout"):
        a, b = not_unpackable(1)
    with pytest.raises(TypeError, match="nout"):
        list(words()[0])


def test_nout_unpacks_lazily(run) -> None:
    tens, ones = split(42)
    assert isinstance(tens, Expression)
    assert run([tens, ones, label(ones)]) == [4, 2, 2]


def test_nout_is_inferred_from_a_tuple_return_annotation(run) -> None:
    x, text, real = annotated(5)
    assert run([x, text, real]) == [5, "5", 5.0]


def test_nout_must_be_a_count() -> None:
    with pytest.raises(TaskError, match="nout"):
        task(nout="2")(lambda: None)


def test_script_true_tasks_say_what_to_use() -> None:
    with pytest.raises(TaskError, match="remit.script"):
        task(script=True)(lambda: "echo hi")


def test_operators_read_well_in_reprs() -> None:
    assert repr(three() == 3) == "(TaskExpression('tests.lang.operators.three', (), {}) == 3)"
    assert repr(1 + number(2)).startswith("(1 + TaskExpression(")


def test_throw_fails_only_on_the_branch_taken(run) -> None:
    from remit import catch, throw

    assert run(cond(three() == 3, "fine", throw(ValueError("never")))) == "fine"
    with pytest.raises(ValueError, match="negative"):
        run(cond(number(-1) < 0, throw(ValueError("negative")), "fine"))
    assert run(catch(throw(KeyError("k")), KeyError, lambda error: "recovered")) == "recovered"
