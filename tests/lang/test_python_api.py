"""The Python API as a redun user drives it: Scheduler(), run(), executors, async tasks."""

from __future__ import annotations

import asyncio
import os
import traceback
from pathlib import Path

import pytest

from remit import Scheduler, task
from remit.errors import ConfigError
from remit.executors import Executor, register_executor
from remit.executors.local import LocalExecutor
from remit.jobs import Job
from remit.scheduler import ExecutionFailed, RemoteTraceback

remit_namespace = "tests.lang.api"


@task()
def divide(a: float, b: float) -> float:
    return a / b


@task()
def fails_deep(x: int) -> int:
    return divide(x, 0)


@task(executor="process")
def fails_in_a_process(x: int) -> int:
    raise KeyError(f"missing {x}")


@task(executor="process")
def pid(x: int) -> int:
    return os.getpid()


@task(executor="batch")
def on_batch(x: int) -> int:
    return x + 1


@task(executor="inline")
def on_inline(x: int) -> str:
    return f"inline {x}"


@task()
async def fetch(x: int) -> int:
    await asyncio.sleep(0.01)
    return x * 2


@task(executor="process")
async def fetch_in_a_process(x: int) -> int:
    await asyncio.sleep(0)
    return x + os.getpid() * 0 + 1


@register_executor("inline_for_tests")
class InlineExecutor(Executor):
    """Runs each job on the caller's thread (a user-defined executor type)."""

    def submit(self, job: Job) -> None:
        self.report(job, job.task.func(*job.args, **job.kwargs))


def test_scheduler_without_backend_or_ini(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Scheduler().run(divide(6, 3)) == 2
    assert not (tmp_path / ".remit").exists()  # nothing written without a backend


def test_run_raises_the_tasks_own_exception_with_its_traceback() -> None:
    with pytest.raises(ZeroDivisionError) as info:
        Scheduler(config={}).run(fails_deep(4))
    text = "".join(traceback.format_exception(info.value))
    assert "return a / b" in text  # the frame inside the task


def test_process_errors_keep_the_remote_traceback_as_cause() -> None:
    with pytest.raises(KeyError, match="missing 3") as info:
        Scheduler(config={}).run(fails_in_a_process(3))
    cause = info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "in fails_in_a_process" in str(cause) and "KeyError: 'missing 3'" in str(cause)


def test_execute_still_reports_the_failing_job() -> None:
    with pytest.raises(ExecutionFailed) as info:
        Scheduler(config={}).execute(fails_deep(1))
    assert info.value.failure.job.task.name == "divide"
    assert isinstance(info.value.failure.error, ZeroDivisionError)


def test_process_executor_needs_no_section() -> None:
    assert Scheduler(config={}).run(pid(1)) != os.getpid()


def test_add_executor_replaces_an_executor_for_tests() -> None:
    scheduler = Scheduler(config={})
    with pytest.raises(ConfigError, match="'batch'"):
        scheduler.run(on_batch(1))
    scheduler.add_executor(LocalExecutor("batch"))
    assert scheduler.run(on_batch(1)) == 2
    other = Scheduler(config={})
    other.add_executor("batch", {"type": "local", "mode": "process", "max_workers": 1})
    assert other.run(on_batch(2)) == 3
    named = Scheduler(config={})
    named.add_executor("batch", LocalExecutor("anything", mode="process"))
    assert named.run(on_batch(3)) == 4


def test_add_executor_needs_a_type() -> None:
    with pytest.raises(ConfigError, match="type"):
        Scheduler(config={}).add_executor("batch", {"mode": "process"})


def test_config_as_a_dict_of_sections() -> None:
    scheduler = Scheduler(config={"executors.batch": {"type": "local", "max_workers": 2}})
    assert scheduler.run(on_batch(5)) == 6
    with pytest.raises(ConfigError, match=r"\[executors.batch\] type"):
        Scheduler(config={"executors.batch": {"mode": "thread"}})


def test_registered_executor_class_named_in_the_ini(tmp_path: Path) -> None:
    config_dir = tmp_path / ".remit"
    config_dir.mkdir()
    (config_dir / "remit.ini").write_text("[executors.inline]\ntype = inline_for_tests\n")
    assert Scheduler(config=str(config_dir)).run(on_inline(3)) == "inline 3"
    (config_dir / "remit.ini").write_text("[executors.inline]\ntype = no_such_type\n")
    with pytest.raises(ConfigError, match="unknown executor type 'no_such_type'.*inline_for"):
        Scheduler(config=str(config_dir)).run(on_inline(3))


def test_register_executor_decorates_executor_classes_only() -> None:
    with pytest.raises(TypeError, match="Executor"):
        register_executor("not_a_class")(object)


def test_async_tasks_run_on_threads_and_processes(make_scheduler) -> None:
    scheduler = make_scheduler()
    assert scheduler.run([fetch(2), fetch_in_a_process(1)]) == [4, 2]
    again = make_scheduler()
    assert again.run(fetch(2)) == 4
    assert again.run_log.counts["tests.lang.api.fetch"]["CACHED"] == 1


def test_config_built_as_redun_builds_it() -> None:
    from remit.config import Config

    config = Config({"executors.batch": {"type": "local", "mode": "thread"}})
    assert Scheduler(config=config).run(on_batch(7)) == 8


def test_user_executor_type_from_the_workflow_under_remit_run(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    (tmp_path / ".remit").mkdir()
    (tmp_path / ".remit" / "remit.ini").write_text("[executors.here]\ntype = same_thread\n")
    (tmp_path / "workflow.py").write_text(
        "import threading\n"
        "from remit import task\n"
        "from remit.executors import Executor, register_executor\n\n\n"
        "@register_executor('same_thread')\n"
        "class SameThread(Executor):\n"
        "    def submit(self, job):\n"
        "        self.report(job, job.task.func(*job.args, **job.kwargs))\n\n\n"
        "@task(executor='here')\n"
        "def main() -> str:\n"
        "    return threading.current_thread().name\n"
    )
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "'MainThread'"  # ran by the user's executor, not a pool


@task()
async def awaits_a_call(x: int) -> int:
    return await divide(x, 1)


def test_awaiting_an_expression_says_what_to_do_instead() -> None:
    with pytest.raises(TypeError, match="cannot await a lazy remit expression.*return the"):
        Scheduler(config={}).run(awaits_a_call(1))


NAMESPACED = '''
from remit import namespace, task

namespace("tests_ns_acme")


@task()
def hello(name: str = "world") -> str:
    return "hello " + name


namespace()


@task()
def tests_ns_plain() -> int:
    return 1
'''


def test_namespace_and_the_task_registry_as_in_redun(tmp_path: Path) -> None:
    import importlib.util

    from remit import get_current_namespace, get_task_registry
    from remit.task import _registry
    from tests.conftest import run_cli

    path = tmp_path / "namespaced_wf.py"
    path.write_text(NAMESPACED)
    spec = importlib.util.spec_from_file_location("namespaced_wf", path)
    assert spec is not None and spec.loader is not None
    try:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        assert get_current_namespace() == ""
        registry = get_task_registry()
        hello = registry.get(task_name="tests_ns_acme.hello")
        assert hello is not None and hello.namespace == "tests_ns_acme"
        assert registry.get(hash=hello.hash) is hello
        assert registry.get(task_name="tests_ns_plain") is not None  # namespace() unset it
        assert hello in list(registry) and len(registry) >= 2
        assert registry.get(task_name="tests_ns_acme.nothing") is None
    finally:  # a module no other test can import must not stay registered
        _registry.pop("tests_ns_acme.hello", None)
        _registry.pop("tests_ns_plain", None)
    run = run_cli("run", "namespaced_wf.py", "tests_ns_acme.hello", "--name", "remit",
                  cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "'hello remit'"


def test_the_current_scheduler_is_known_while_it_runs(make_scheduler) -> None:
    from remit import get_current_scheduler
    from remit.current import NoCurrentScheduler
    from remit.functools import const

    assert get_current_scheduler(required=False) is None
    with pytest.raises(NoCurrentScheduler):
        get_current_scheduler()
    scheduler = make_scheduler()
    seen = []
    scheduler.hooks.add(type("Spy", (), {  # a listener runs in the scheduler's thread
        "on_job_done": lambda self, job, value: seen.append(get_current_scheduler())})())
    assert scheduler.run(const(1, 2)) == 1
    assert seen and all(s is scheduler for s in seen)
    assert get_current_scheduler(required=False) is None


def test_redun_scheduler_import_paths_work() -> None:
    import remit
    from remit import scheduler
    from remit.scheduler_tasks import scheduler_task

    for name in ("catch", "cond", "throw", "apply_tags", "get_current_scheduler"):
        assert getattr(scheduler, name) is getattr(remit, name), name
    assert scheduler.scheduler_task is scheduler_task
