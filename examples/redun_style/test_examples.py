"""The redun-style workflows in this folder give the results their authors expect."""

import shutil
import subprocess
import sys
from pathlib import Path

from examples.redun_style import control_flow, custom_values, functools_tour, higher_order
from remit.pytest import Scheduler

HERE = Path(__file__).parent


def test_functools_tour(scheduler: Scheduler) -> None:
    assert scheduler.run(functools_tour.main(4)) == {
        "map": [0, 3, 6, 9],
        "map_of_lazy": [0, 9, 18, 27],
        "starmap": [0, 11, 22, 33],
        "flatten": ["the", "quick", "fox", "jumps"],
        "flat_map": ["the", "quick", "fox", "jumps"],
        "partial": [1, 2, 3, 4],
        "compose": 9,
        "const": "kept",
        "delay_force": 42,
        "eval": 10,
        "map_partial": [-1, 0, 1, 2],
        "tree": [3, [6, 9]],
    }


def test_control_flow(scheduler: Scheduler) -> None:
    control_flow.printed.clear()
    assert scheduler.run(control_flow.main()) == {
        "8/2": 4.0,
        "8/0": -1.0,
        "caught": "safe",
        "caught_deep": "safe",
        "rethrown": "k",
        "in_order": ["0", "1", "2", "3", "4"],
        "cond_true": 2,
        "cond_false": 200,
        "range": 8,
        "both": "wide",
    }
    assert control_flow.printed == ["0", "1", "2", "3", "4"]  # seq ran them in order


def test_higher_order(scheduler: Scheduler) -> None:
    assert scheduler.run(higher_order.main(8)) == {"sum": 36, "product": 40320}


def test_second_run_is_served_from_the_cache(scheduler: Scheduler) -> None:
    first = scheduler.run(higher_order.main(5))
    states: list[str] = []

    class States:  # a hook listener: sees every job as it ends
        def on_job_done(self, job, value) -> None:  # noqa: ANN001
            states.append(job.state.name)

    scheduler.hooks.add(States())
    assert scheduler.run(higher_order.main(5)) == first == {"sum": 15, "product": 120}
    assert len(states) > 10 and set(states) == {"CACHED"}


def test_custom_value(scheduler: Scheduler) -> None:
    member = custom_values.Member(3, "Ada")
    assert scheduler.run(custom_values.main(member)) == "Hello, Ada. Your id is 3"


def test_custom_value_from_the_command_line(tmp_path: Path) -> None:
    shutil.copy(HERE / "custom_values.py", tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "remit", "run", "custom_values.py", "main",
         "--member", '{"id": 7}'],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "'Hello, Jane Doe. Your id is 7'"
