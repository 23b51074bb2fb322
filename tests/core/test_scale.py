"""Wide fan-outs as a user sees them: a summary instead of thousands of `Run` lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from remit import task
from tests.conftest import run_cli, status_row

remit_namespace = "tests.core.scale"

WORKFLOW = '''
from remit import task

remit_namespace = "wide"


@task()
def one(i: int) -> int:
    return i


@task()
def add_all(values: list) -> int:
    return sum(values)


@task()
def main(n: int = 10) -> int:
    return add_all([one(i) for i in range(n)])
'''


def test_past_twenty_run_lines_per_task_a_summary_says_how_many_more(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    proc = run_cli("run", "workflow.py", "main", "--n", "150", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(sum(range(150)))
    lines = proc.stderr.splitlines()
    assert sum("Run    Job" in line and "wide.one(" in line for line in lines) == 20
    summary = [line for line in lines if "more jobs of wide.one" in line]
    assert summary == ["[remit] Run    130 more jobs of wide.one on default: 130 new task: no "
                       "earlier call of wide.one recorded (remit run -v prints each)"]
    assert sum("Run    Job" in line for line in lines) == 22  # main and add_all in full
    assert status_row(proc.stderr, "wide.one") == [0, 0, 0, 0, 150, 150]

    cached = run_cli("run", "workflow.py", "main", "--n", "150", cwd=tmp_path)
    assert "[remit] Cached 130 more jobs of wide.one" in cached.stderr
    assert status_row(cached.stderr, "ALL") == [0, 0, 0, 152, 0, 152]

    changed = run_cli("run", "workflow.py", "main", "--n", "200", cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    assert ("[remit] Run    30 more jobs of wide.one on default: 30 argument i changed "
            "(remit run -v prints each)") in changed.stderr.splitlines()

    verbose = run_cli("run", "--no-cache", "-v", "workflow.py", "main", "--n", "150",
                      cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert sum("Run    Job" in line for line in verbose.stderr.splitlines()) == 152
    assert "more jobs" not in verbose.stderr


@task()
def square(i: int) -> int:
    return i * i


@task()
def failing(i: int) -> int:
    raise ValueError(f"no {i}")


def test_a_fan_out_wider_than_the_window_gives_every_result_in_place(
    make_scheduler, monkeypatch
) -> None:
    from collections import OrderedDict

    from remit import scheduler as scheduler_module

    monkeypatch.setattr(scheduler_module, "_WINDOW", 5)  # the window is 20,000 calls
    shared = square(7)
    value = {"list": [square(i) for i in range(40)], "again": [shared, shared, square(3)],
             "tuple": (square(50), "plain", 1.5), "ordered": OrderedDict(a=square(60))}
    scheduler = make_scheduler()
    result = scheduler.run(collect(value))
    assert result["list"] == [i * i for i in range(40)]
    assert result["again"] == [49, 49, 9] and result["tuple"] == (2500, "plain", 1.5)
    assert scheduler.run_log.counts["tests.core.scale.square"]["TOTAL"] >= 43
    with pytest.raises(ValueError, match="no 3"):
        make_scheduler().run(collect([square(i) for i in range(3)] + [failing(3)] +
                                     [square(i) for i in range(100, 140)]))


@task()
def collect(value: object) -> object:
    return value


def test_a_huge_result_prints_flat_and_a_small_one_pretty(tmp_path: Path) -> None:
    (tmp_path / "wf.py").write_text(textwrap.dedent('''
        from remit import task


        @task()
        def many(n: int = 30000) -> list:
            return list(range(n))


        @task()
        def few() -> dict:
            return {f"sample_{i}": list(range(i, i + 5)) for i in range(6)}
    '''))
    huge = run_cli("run", "wf.py", "many", cwd=tmp_path)
    assert huge.returncode == 0, huge.stderr
    assert huge.stdout.splitlines() == [repr(list(range(30000)))]  # one line, all of it
    small = run_cli("run", "wf.py", "few", cwd=tmp_path)
    assert small.returncode == 0, small.stderr
    lines = small.stdout.splitlines()
    assert len(lines) == 6 and lines[0] == "{'sample_0': [0, 1, 2, 3, 4],"
