"""Context: get_context as defaults, options and values; where context comes from; caching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from remit import get_context, task
from remit.config import load_config
from remit.context import get_context_value, load_context, parse_assignment
from remit.db import models
from remit.errors import ConfigError

remit_namespace = "tests.lang.context"
ran: list[str] = []


@task(executor=get_context("my_tool.executor", "default"))
def my_tool(value: int, flag: bool = get_context("my_tool.flag", False),
            param: int = get_context("my_tool.param")) -> str:
    ran.append("my_tool")
    return f"{value}:{flag}:{param}"


@task()
def process_values(values: list) -> list:
    ran.append("process_values")
    return [my_tool(v) for v in values]


@task()
def main(size: int = 3) -> dict:
    ran.append("main")
    return {"values": process_values(list(range(size)))}


def _statuses(scheduler) -> dict[str, dict[str, int]]:
    return {name.rsplit(".", 1)[-1]: {k: v for k, v in counts.items() if v and k != "TOTAL"}
            for name, counts in scheduler.run_log.counts.items()}


def test_a_context_change_reruns_only_the_tasks_that_read_it(
    make_scheduler, config_dir: Path
) -> None:
    (config_dir / "context.json").write_text(json.dumps({"my_tool": {"flag": True}}))
    ran.clear()
    assert make_scheduler().run(main()) == {"values": ["0:True:None", "1:True:None",
                                                       "2:True:None"]}
    assert sorted(ran) == ["main", "my_tool", "my_tool", "my_tool", "process_values"]

    ran.clear()
    changed = make_scheduler()
    assert changed.run(main(), context={"my_tool": {"param": 10}}) == {
        "values": ["0:True:10", "1:True:10", "2:True:10"]}
    assert ran == ["my_tool"] * 3  # main and process_values came from the cache
    assert _statuses(changed) == {"main": {"CACHED": 1}, "process_values": {"CACHED": 1},
                                  "my_tool": {"DONE": 3}}

    ran.clear()
    same = make_scheduler()
    assert same.run(main(), context={"my_tool": {"param": 10}})["values"][0] == "0:True:10"
    assert ran == []
    # A run's context is its own: the next run of the same scheduler is back to the config's.
    assert same.run(main())["values"][0] == "0:True:None"


def test_update_context_reaches_the_calls_below(make_scheduler) -> None:
    @task(name="add")
    def add(a: int, b: int, offset: int = get_context("offset", 0),
            mult: int = get_context("mult", 1)) -> int:
        return a + b + offset * mult

    @task(name="outer")
    def outer() -> int:
        return add(3, 4)

    scheduler = make_scheduler()
    assert scheduler.run(add(1, 2)) == 3
    assert scheduler.run(add.update_context({"offset": 4})(1, 2)) == 7
    assert scheduler.run(add.update_context(offset=4).update_context(mult=2)(1, 2)) == 11
    assert scheduler.run(outer.update_context({"offset": 10})()) == 17


def test_identical_calls_in_different_contexts_are_not_shared(make_scheduler) -> None:
    ran.clear()

    @task(name="add2")
    def add2(a: int, b: int, offset: int = get_context("offset", 0)) -> int:
        ran.append("add2")
        return a + b + offset

    @task(name="foo")
    def foo() -> int:
        return add2(1, 2)

    @task(name="both")
    def both() -> list:
        return [foo(), foo.update_context(offset=1)()]

    assert make_scheduler().run(both()) == [3, 4]
    assert ran == ["add2", "add2"]


def test_get_context_in_a_body_and_as_an_executor_option(
    make_scheduler, config_dir: Path
) -> None:
    @task(name="read")
    def read() -> object:
        return get_context("deep.value", "unset")

    ini = "[executors.tools]\ntype = local\nmax_workers = 2\n"
    scheduler = make_scheduler(ini=ini)
    assert scheduler.run(read(), context={"deep": {"value": [1, 2]}}) == [1, 2]
    ran.clear()
    result = scheduler.run(my_tool(7), context={"my_tool": {"executor": "tools"}})
    assert result == "7:False:None"
    engine = create_engine(f"sqlite:///{config_dir / 'remit.db'}")
    with engine.connect() as conn:
        executors = conn.execute(select(models.job.c.executor).where(
            models.job.c.call.startswith("tests.lang.context.my_tool"))).scalars().all()
    assert executors == ["tools"]


def test_context_sources_and_precedence(config_dir: Path, tmp_path: Path) -> None:
    (config_dir / "context.json").write_text(json.dumps({"a": {"x": 1, "y": 1, "z": 1}}))
    (config_dir / "remit.ini").write_text(
        '[scheduler]\ncontext = {"a": {"y": 2, "z": 2}}\n\n[context]\na.z = 3\nname = plain text\n'
    )
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"b": True}))
    context = load_context(load_config(config_dir), [extra], ["a.w=[1, 2]"])
    assert context == {"a": {"x": 1, "y": 2, "z": 3, "w": [1, 2]}, "name": "plain text",
                       "b": True}
    assert get_context_value(context, "a.w", None) == [1, 2]
    assert get_context_value(context, "a.x.deeper", "d") == "d"


@pytest.mark.parametrize("setup, message", [
    (lambda d: (d / "context.json").write_text("{oops"), "context.json: invalid JSON"),
    (lambda d: (d / "context.json").write_text("[1]"), "must be a JSON object, got list"),
    (lambda d: (d / "remit.ini").write_text("[scheduler]\ncontext = {\"a\": 1}\n"
                                            "context_file = c.json\n"),
     "set context or context_file, not both"),
])
def test_bad_context_is_one_clear_error(config_dir: Path, setup, message: str) -> None:
    setup(config_dir)
    with pytest.raises(ConfigError, match=message):
        load_context(load_config(config_dir))
    with pytest.raises(ConfigError, match="expected KEY.PATH=VALUE"):
        parse_assignment("novalue")


def test_a_shallow_cached_call_is_not_served_in_another_context(make_scheduler) -> None:
    @task(name="add3")
    def add3(a: int, b: int, offset: int = get_context("offset", 0)) -> int:
        return a + b + offset

    @task(name="shallow_foo", check_valid="shallow")
    def shallow_foo() -> int:
        return add3(1, 2)

    assert make_scheduler().run(shallow_foo()) == 3
    assert make_scheduler().run(shallow_foo.update_context(offset=1)()) == 4
    again = make_scheduler()
    assert again.run(shallow_foo()) == 3
    assert again.run_log.counts["tests.lang.context.shallow_foo"]["CACHED"] == 1
    assert "tests.lang.context.add3" not in again.run_log.counts  # served whole
