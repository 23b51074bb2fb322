"""script() on local files: stdout, staging, change detection, deleted outputs, failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from remit import File, script, task
from remit.errors import ScriptError

remit_namespace = "tests.scripting.local"


@task()
def shout(word: str) -> bytes:
    return script(f"echo {word} | tr a-z A-Z")


@task()
def count_lines(data: File, out: str) -> dict:
    return script(
        """
        wc -l < input.txt > lines.txt
        echo counted
        """,
        inputs=[data.stage("input.txt")],
        outputs={"lines": File(out).stage("lines.txt"), "stdout": File("-")},
        tempdir=True,
    )


@task()
def failing() -> bytes:
    return script("echo first >&2; echo 'last words' >&2; exit 3")


@task()
def unset_variable() -> bytes:
    return script("echo $NOT_DEFINED_ANYWHERE")


def statuses(scheduler, task_name: str) -> dict[str, int]:
    return dict(scheduler.run_log.counts[task_name])


def test_stdout_output(make_scheduler) -> None:
    assert make_scheduler().run(shout("hello")) == b"HELLO\n"


def test_staged_input_and_output_with_change_detection(make_scheduler, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("a\nb\n")
    out = tmp_path / "results" / "lines.txt"
    first = make_scheduler().run(count_lines(File(str(data)), str(out)))
    assert first["stdout"] == b"counted\n"
    assert isinstance(first["lines"], File) and first["lines"].path == str(out)
    assert out.read_text().strip() == "2"

    again = make_scheduler()
    assert again.run(count_lines(File(str(data)), str(out)))["lines"] == first["lines"]
    assert statuses(again, "remit.script_task").get("DONE", 0) == 0  # served from the cache

    data.write_text("a\nb\nc\n")  # the input changed: the script runs again
    changed = make_scheduler()
    changed.run(count_lines(File(str(data)), str(out)))
    assert statuses(changed, "remit.script_task")["DONE"] == 1
    assert out.read_text().strip() == "3"

    out.unlink()  # an output vanished: its cached result is invalid, the script runs again
    restored = make_scheduler()
    restored.run(count_lines(File(str(data)), str(out)))
    assert statuses(restored, "remit.script_task")["DONE"] == 1
    assert out.read_text().strip() == "3"


def test_failing_script_raises_script_error(make_scheduler) -> None:
    with pytest.raises(ScriptError) as info:
        make_scheduler().run(failing())
    error = info.value
    assert error.exit_code == 3
    assert "last words" in error.stderr_tail and "first" in error.stderr_tail
    assert "exited with code 3" in str(error)


def test_scripts_run_with_nounset(make_scheduler) -> None:
    with pytest.raises(ScriptError) as info:
        make_scheduler().run(unset_variable())
    assert "NOT_DEFINED_ANYWHERE" in info.value.stderr_tail


def test_status_table_names_the_script_tasks(make_scheduler) -> None:
    scheduler = make_scheduler()
    scheduler.run(shout("x"))
    assert {"remit.script", "remit.script_task", "remit.postprocess_script"} <= set(
        scheduler.run_log.counts
    )
