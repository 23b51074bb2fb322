"""Resource limits as in redun: ``[limits] db = 2`` and ``@task(limits=["db"])``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from remit import task
from remit.errors import ConfigError, TaskError
from remit.scheduler import Scheduler
from tests.conftest import run_cli

remit_namespace = "tests.lang.limits"

_lock = threading.Lock()
_running: dict[str, int] = {}
most: dict[str, int] = {}


def _enter(kind: str) -> None:
    with _lock:
        _running[kind] = _running.get(kind, 0) + 1
        most[kind] = max(most.get(kind, 0), _running[kind])


def _leave(kind: str) -> None:
    with _lock:
        _running[kind] -= 1


@task(limits=["db"], cache=False)
def query(i: int) -> int:
    _enter("db")
    time.sleep(0.05)
    _leave("db")
    return i


@task(limits={"api": 2}, cache=False)
def heavy_call(i: int) -> int:
    _enter("api")
    time.sleep(0.05)
    _leave("api")
    return -i


@task(limits={"db": 5})
def greedy(i: int) -> int:
    return i


@task()
def fan(n: int) -> list:
    return [query(i) for i in range(n)] + [heavy_call(i) for i in range(n)]


@task()
def asks_too_much() -> int:
    return greedy(1)


@task()
def queries(n: int) -> list:
    return [query(i) for i in range(n)]


WIDE = """
[executors.default]
type = local
max_workers = 12
"""


def test_at_most_the_configured_amount_runs_at_once(
        make_scheduler: Callable[..., Scheduler]) -> None:
    most.clear()
    scheduler = make_scheduler(ini=WIDE + "\n[limits]\ndb = 3\napi = 5\n")
    result = scheduler.run(fan(12))
    assert result == list(range(12)) + [-i for i in range(12)]
    assert most["db"] == 3  # 12 threads, but 3 units of db
    assert most["api"] == 2  # each call holds 2 of the 5 units


def test_a_resource_the_config_does_not_name_has_one_unit(
        make_scheduler: Callable[..., Scheduler]) -> None:
    most.clear()
    assert make_scheduler(ini=WIDE).run(queries(6)) == list(range(6))
    assert most["db"] == 1


def test_a_call_that_wants_more_than_there_is_fails_with_the_fix(
        make_scheduler: Callable[..., Scheduler]) -> None:
    scheduler = make_scheduler(ini="[limits]\ndb = 2\n")
    with pytest.raises(TaskError) as info:
        scheduler.run(asks_too_much())
    message = str(info.value)
    assert "tests.lang.limits.greedy" in message and "5 of resource 'db'" in message
    assert "[limits] db = 2" in message and "set 'db = 5' or more in [limits]" in message


def test_wanting_units_of_an_unnamed_resource_says_there_is_one(
        make_scheduler: Callable[..., Scheduler]) -> None:
    with pytest.raises(TaskError) as info:
        make_scheduler(ini=WIDE).run(fan(2))
    assert "[limits] does not name 'api', so there is 1" in str(info.value)


def test_a_bad_amount_is_a_config_error(make_scheduler: Callable[..., Scheduler]) -> None:
    with pytest.raises(ConfigError) as info:
        make_scheduler(ini="[limits]\ndb = lots\n")
    assert "[limits] db" in str(info.value) and "remit.ini" in str(info.value)


WORKFLOW = '''
from remit import task


@task(limits=["gpu"])
def train(i: int) -> int:
    return i * 2


@task()
def main(n: int = 4) -> int:
    return sum_all([train(i) for i in range(n)])


@task()
def sum_all(values: list) -> int:
    return sum(values)
'''


def test_a_redun_ini_with_limits_runs_and_cached_calls_hold_nothing(tmp_path: Path) -> None:
    (tmp_path / "wf.py").write_text(WORKFLOW)
    (tmp_path / ".remit").mkdir()
    (tmp_path / ".remit" / "remit.ini").write_text("[limits]\ngpu = 2\n")
    first = run_cli("run", "wf.py", "main", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == "12"
    again = run_cli("run", "wf.py", "main", "--n", "5", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == "20"
    assert again.stderr.count("Cached Job") >= 4 and "train(i=4)" in again.stderr
