"""`task.partial(...)` and `task.options(...)`: values passed between tasks, hashed, cached."""

from __future__ import annotations

import pickle
import threading

from remit import task
from remit.hashing import hash_value
from remit.task import PartialTask, Task

remit_namespace = "tests.lang.partial"

calls: list[str] = []
_lock = threading.Lock()


@task()
def add(a: int, b: int) -> int:
    with _lock:
        calls.append(f"add({a},{b})")
    return a + b


@task()
def apply_twice(f: PartialTask, x: int) -> int:
    with _lock:
        calls.append(f"apply_twice({x})")
    return f(f(x))


@task()
def make_adder(n: int) -> PartialTask:
    return add.partial(n)


@task()
def where(x: int) -> str:
    import os

    return f"pid-{os.getpid()}"


def test_partial_passed_into_a_task_and_called_there(make_scheduler) -> None:
    assert make_scheduler().run(apply_twice(add.partial(10), 1)) == 21


def test_partial_calls_are_cached_across_runs(make_scheduler) -> None:
    calls.clear()
    make_scheduler().run(apply_twice(add.partial(7), 1))
    assert calls == ["apply_twice(1)", "add(7,1)", "add(7,8)"]
    calls.clear()
    assert make_scheduler().run(apply_twice(add.partial(7), 1)) == 15
    assert calls == []
    assert make_scheduler().run(apply_twice(add.partial(8), 1)) == 17  # other bound argument
    assert calls == ["apply_twice(1)", "add(8,1)", "add(8,9)"]


def test_partial_returned_by_a_task_and_called_later(make_scheduler) -> None:
    scheduler = make_scheduler()
    adder = scheduler.run(make_adder(5))
    assert isinstance(adder, PartialTask)
    assert scheduler.run(adder(1)) == 6


def test_partial_hashes_by_task_and_bound_arguments_and_pickles() -> None:
    assert hash_value(add.partial(1)) == hash_value(add.partial(1))
    assert hash_value(add.partial(1)) != hash_value(add.partial(2))
    assert hash_value(add.partial(1)) != hash_value(add.partial(b=1))
    restored = pickle.loads(pickle.dumps(add.partial(1, b=2)))
    assert restored.task is add and restored.args == (1,) and restored.kwargs == {"b": 2}
    more = add.partial().partial(3)
    assert more.args == (3,)


def test_options_returns_a_task_with_overrides_and_reads_as_a_dict(make_scheduler) -> None:
    on_processes = where.options(executor="process")
    assert isinstance(on_processes, Task)
    assert on_processes.options["executor"] == "process" and where.executor == "default"
    assert where.with_options(memory=2).options["memory"] == 2  # the older spelling
    assert on_processes.hash == where.hash  # options choose where, not what: same cache key
    scheduler = make_scheduler()
    import os

    assert scheduler.run(where(1)) == f"pid-{os.getpid()}"
    assert scheduler.run(on_processes(2)) != f"pid-{os.getpid()}"
    restored = pickle.loads(pickle.dumps(on_processes))
    assert restored.options["executor"] == "process"
    assert add.partial(1).options(executor="process").task.executor == "process"
