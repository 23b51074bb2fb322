"""remit.functools as a user sees it: lazy maps, sequencing, composition, memoization."""

from __future__ import annotations

import threading
import time

import pytest

from remit import task
from remit.functools import (
    apply_func,
    as_task,
    compose,
    const,
    delay,
    eval_,
    flat_map,
    flatten,
    force,
    identity,
    map_,
    seq,
    starmap,
    zip_,
)
from remit.task import get_task

remit_namespace = "tests.lang.functools"

calls: list[str] = []
spans: dict[int, tuple[float, float]] = {}
_lock = threading.Lock()


def _note(text: str) -> None:
    with _lock:
        calls.append(text)


@task()
def double(x: int) -> int:
    _note(f"double({x})")
    return 2 * x


@task()
def add(a: int, b: int) -> int:
    _note(f"add({a},{b})")
    return a + b


@task()
def numbers(n: int) -> list:
    return list(range(n))


@task()
def make_row(x: int) -> dict:
    return {"a": x, "b": 10 * x}


@task()
def split_words(text: str) -> list:
    return text.split()


@task()
def slow(i: int, seconds: float) -> int:
    start = time.monotonic()
    time.sleep(seconds)
    with _lock:
        spans[i] = (start, time.monotonic())
    return i


@task()
def run_delayed(delayed: object) -> int:
    return force(delayed)


def test_map_over_a_concrete_and_a_lazy_list(make_scheduler) -> None:
    scheduler = make_scheduler()
    assert scheduler.run(map_(double, [1, 2, 3])) == [2, 4, 6]
    assert scheduler.run(map_(double, numbers(4))) == [0, 2, 4, 6]  # a task's lazy result
    assert scheduler.run(map_(double, map_(double, numbers(3)))) == [0, 4, 8]


def test_map_is_memoized_per_item(make_scheduler) -> None:
    calls.clear()
    make_scheduler().run(map_(double, [21, 22]))
    calls.clear()
    second = make_scheduler()
    assert second.run(map_(double, [21, 22, 23])) == [42, 44, 46]
    assert calls == ["double(23)"]  # the two earlier items came from the cache
    assert second.run_log.counts["tests.lang.functools.double"]["CACHED"] == 2


def test_map_of_a_partial_task_and_map_partial(make_scheduler) -> None:
    scheduler = make_scheduler()
    assert scheduler.run(map_(add.partial(100), [1, 2])) == [101, 102]
    double_all = map_.partial(double)
    assert scheduler.run(double_all([5, 6])) == [10, 12]


def test_map_over_something_not_a_list_names_it(make_scheduler) -> None:
    with pytest.raises(TypeError, match="map_.*list or tuple.*int"):
        make_scheduler().run(map_(double, add(1, 2)))


def test_seq_runs_items_one_after_another(make_scheduler) -> None:
    spans.clear()
    assert make_scheduler().run(seq([slow(0, 0.3), slow(1, 0.0), slow(2, 0.0)])) == [0, 1, 2]
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0]
    # Without seq the same calls overlap: the check above can fail.
    spans.clear()
    make_scheduler().run([slow(10, 0.3), slow(11, 0.0)])
    assert spans[11][0] < spans[10][1]


def test_starmap_flatten_flat_map_zip(make_scheduler) -> None:
    scheduler = make_scheduler()
    rows = map_(make_row, [1, 2])
    assert scheduler.run(starmap(add, rows)) == [11, 22]
    word_lists = map_(split_words, ["hello world", "not invented here"])
    assert scheduler.run(flatten(word_lists)) == ["hello", "world", "not", "invented", "here"]
    assert scheduler.run(flat_map(split_words, ["a b", "c"])) == ["a", "b", "c"]
    assert scheduler.run(zip_(numbers(3), map_(double, numbers(3)))) == [(0, 0), (1, 2), (2, 4)]


def test_compose_const_identity(make_scheduler) -> None:
    scheduler = make_scheduler()
    double_inc = compose(double, add.partial(1))
    assert scheduler.run(double_inc(2)) == 6  # double(add(1, 2))
    calls.clear()
    assert scheduler.run(const(identity("kept"), double(500))) == "kept"
    assert "double(500)" in calls  # the second argument was evaluated, then dropped


def test_delay_holds_an_expression_until_forced(make_scheduler) -> None:
    calls.clear()
    delayed = delay(add(4, 5))
    assert calls == []
    assert make_scheduler().run(run_delayed(delayed)) == 9
    assert calls == ["add(4,5)"]


def test_plain_functions_and_eval(make_scheduler) -> None:
    scheduler = make_scheduler()
    assert scheduler.run(as_task(max)(10, double(15), 3)) == 30
    assert scheduler.run(apply_func(len, numbers(5))) == 5
    assert scheduler.run(eval_("a * b", a=2, b=double(3))) == 12
    assert scheduler.run(eval_("x * 10", 4, pos_args=["x"])) == 40
    assert scheduler.run(map_(eval_.partial("x * 3", pos_args=["x"]), [1, 2])) == [3, 6]
    with pytest.raises(TypeError, match="pos_args"):
        scheduler.run(eval_("x", 4))


def test_helpers_are_marked_internal_not_by_name() -> None:
    for name in ("remit.identity", "remit.map_", "remit.seq", "remit.eval_", "remit.flatten"):
        assert get_task(name).internal is True
    assert double.internal is False


@task(executor="process")
def plan_in_a_process(n: int) -> object:
    return {"doubled": map_(double, list(range(n))), "ordered": seq([double(1), double(2)]),
            "more": double(n) + 1}


def test_helpers_returned_from_another_process_are_evaluated(make_scheduler) -> None:
    result = make_scheduler().run(plan_in_a_process(3))
    assert result == {"doubled": [0, 2, 4], "ordered": [2, 4], "more": 7}
    again = make_scheduler()
    assert again.run(plan_in_a_process(3)) == result
    assert again.run_log.counts["tests.lang.functools.plan_in_a_process"]["CACHED"] == 1


def _source_of(body: str) -> object:
    namespace: dict = {}
    exec(compile(f"def helper(x):\n    {body}\n", "<test>", "exec"), namespace)
    return namespace["helper"]


def _make_scaler(factor: int):
    def scale(x: int) -> int:
        return x * factor

    return scale


def test_plain_functions_are_keyed_by_their_code_and_captured_values() -> None:
    from remit.hashing import hash_value

    assert hash_value(_make_scaler(2)) == hash_value(_make_scaler(2))
    assert hash_value(_make_scaler(2)) != hash_value(_make_scaler(3))
    assert hash_value(_source_of("return x + 1")) != hash_value(_source_of("return x + 2"))
    assert hash_value(as_task(_make_scaler(2))) != hash_value(as_task(_make_scaler(3)))


def test_apply_func_reruns_when_the_function_changes(make_scheduler) -> None:
    assert make_scheduler().run(apply_func(_make_scaler(2), 5)) == 10
    second = make_scheduler()
    assert second.run(apply_func(_make_scaler(3), 5)) == 15  # not the cached 10
    assert second.run_log.counts["remit.apply_func"]["DONE"] == 1


def test_a_self_referring_function_hashes() -> None:
    from remit.hashing import hash_value

    def countdown(n: int) -> int:
        return countdown(n - 1) if n else 0

    assert hash_value(countdown) == hash_value(countdown)
