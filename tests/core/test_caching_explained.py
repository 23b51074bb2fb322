"""Caching a user can trust: code dependencies in the task hash, and the reasons a call ran.

Each test edits real workflow files on disk and runs `remit` as a user would, then checks
which calls ran, the reason on their `Run` lines, what `--dry-run` predicted and what
`remit why` says afterwards.
"""

from __future__ import annotations

import pickle
import re
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_cli

HELPERS = '''\
"""Helpers the workflow imports."""

SCALE = 10


def inner(x):
    return x * SCALE


def normalize(x):
    return inner(x) + 1


def unrelated(x):
    return -x


class Scaler:
    offset = 1

    def scale(self, x):
        return x * 3 + self.offset
'''

WORKFLOW = '''\
import helpers
from helpers import Scaler

from remit import task

FACTOR = 2


def unused_here(x):
    return x


@task()
def via_helper(x: int) -> int:
    return helpers.normalize(x)


@task()
def via_constant(x: int) -> int:
    return x * FACTOR


@task()
def via_method(x: int) -> int:
    return Scaler().scale(x)


@task()
def plain(x: int) -> int:
    return x + 100


@task()
def main(x: int = 1) -> dict:
    return {"h": via_helper(x), "c": via_constant(x), "m": via_method(x), "p": plain(x)}
'''

_RUN_LINE = re.compile(r"\] Run +Job (\w+):  (\w+)\(.*?\) on \w+(?:  \((.*)\))?$")


def ran(stderr: str) -> dict[str, tuple[str, str]]:
    """task name -> (job id prefix, reason) for each `Run` line."""
    found = {}
    for line in stderr.splitlines():
        match = _RUN_LINE.search(line)
        if match:
            found[match.group(2)] = (match.group(1), match.group(3) or "")
    return found


def planned(stdout: str, status: str) -> dict[str, str]:
    """task name -> reason for the dry-run lines of one status."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith(status + " "):
            match = re.match(r"\s*(\w+)\(.*?\)(?:  \((.*)\))?$", line[len(status):])
            assert match, line
            found[match.group(1)] = match.group(2) or ""
    return found


def edit(path: Path, old: str, new: str) -> None:
    """Replace one piece of text in a file, as a user's edit."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A workflow and its helper module, run once so that everything is cached."""
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "workflow.py").write_text(WORKFLOW)
    first = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert set(ran(first.stderr)) == {"main", "via_helper", "via_constant", "via_method", "plain"}
    assert all(r.startswith("new task") for _, r in ran(first.stderr).values())
    return tmp_path


EDITS = {
    "helper": ("helpers.py", "return inner(x) + 1", "return inner(x) + 2",
               "via_helper", "code of helper normalize() changed", "'h': 12"),
    "helper's helper": ("helpers.py", "return x * SCALE", "return SCALE * x + 1",
                        "via_helper", "code of helper inner() changed", "'h': 12"),
    "module constant": ("workflow.py", "FACTOR = 2", "FACTOR = 5",
                        "via_constant", "constant FACTOR changed", "'c': 5"),
    "helper module constant": ("helpers.py", "SCALE = 10", "SCALE = 20",
                               "via_helper", "constant SCALE changed", "'h': 21"),
    "class method": ("helpers.py", "return x * 3 + self.offset", "return x * 4 + self.offset",
                     "via_method", "code of method Scaler.scale() changed", "'m': 5"),
}


@pytest.mark.parametrize("case", list(EDITS))
def test_an_edit_reruns_exactly_the_tasks_that_depend_on_it(project: Path, case: str) -> None:
    filename, old, new, task_name, reason, result = EDITS[case]
    edit(project / filename, old, new)

    dry = run_cli("run", "--dry-run", "workflow.py", "main", cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert planned(dry.stdout, "would run") == {task_name: reason}
    assert set(planned(dry.stdout, "cached")) == {
        "main", "via_helper", "via_constant", "via_method", "plain"} - {task_name}

    proc = run_cli("run", "workflow.py", "main", cwd=project)
    assert proc.returncode == 0, proc.stderr
    runs = ran(proc.stderr)
    assert {name: why for name, (_, why) in runs.items()} == {task_name: reason}
    assert result in proc.stdout

    why = run_cli("why", runs[task_name][0], cwd=project)
    assert why.returncode == 0, why.stderr
    assert f"Ran because: {reason}" in why.stdout
    assert "Compared with: Job " in why.stdout

    again = run_cli("run", "workflow.py", "main", cwd=project)
    assert ran(again.stderr) == {}


def test_changing_unrelated_code_reruns_nothing(project: Path) -> None:
    edit(project / "helpers.py", "return -x", "return -2 * x")
    edit(project / "workflow.py", "def unused_here(x):\n    return x", "def unused_here(x):\n"
         "    return x + 1\n\n\nOTHER = 3")
    dry = run_cli("run", "--dry-run", "workflow.py", "main", cwd=project)
    assert planned(dry.stdout, "would run") == {}
    proc = run_cli("run", "workflow.py", "main", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert ran(proc.stderr) == {}


def test_changed_argument_and_file_are_named(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("a\nb\n")
    (tmp_path / "workflow.py").write_text('''\
from remit import File, task


@task()
def count(data: File, label: str) -> str:
    return label + str(len(data.read().splitlines()))


@task()
def main(label: str = "n=") -> str:
    return count(File("data.txt", content_hash=True), label)
''')
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    (tmp_path / "data.txt").write_text("a\nb\nc\n")
    data = str((tmp_path / "data.txt").resolve())

    dry = run_cli("run", "--dry-run", "workflow.py", "main", cwd=tmp_path)
    assert planned(dry.stdout, "would run") == {"count": f"File {data} changed"}
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert "'n=3'" in proc.stdout
    job_id, reason = ran(proc.stderr)["count"]
    assert reason == f"File {data} changed"
    assert f"Ran because: File {data} changed" in run_cli("why", job_id, cwd=tmp_path).stdout
    assert f"Ran because: File {data} changed" in run_cli("log", job_id, cwd=tmp_path).stdout

    proc = run_cli("run", "workflow.py", "main", "--label", "lines:", cwd=tmp_path)
    runs = ran(proc.stderr)
    assert runs["main"][1] == "argument label changed"
    assert runs["count"][1] == "argument label changed"


def test_no_cache_cache_false_and_unreadable_value_are_reasons(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text('''\
from remit import task


@task(cache=False)
def clock() -> str:
    return "tick"


@task()
def big(n: int) -> bytes:
    return bytes(n)


@task()
def main(n: int = 100_000) -> list:
    return [clock(), big(n)]
''')
    first = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert ran(first.stderr)["clock"][1] == "cache=False"
    again = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert set(ran(again.stderr)) == {"clock"}

    for stored in (tmp_path / ".remit" / "values").rglob("*"):
        if stored.is_file() and stored.stat().st_size >= 100_000:
            stored.unlink()  # big(n)'s value is gone from the value store
    dry = run_cli("run", "--dry-run", "workflow.py", "main", cwd=tmp_path)
    unreadable = "the cached value could not be read or failed verification"
    assert planned(dry.stdout, "would run") == {"clock": "cache=False", "big": unreadable}
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert ran(proc.stderr)["big"][1] == unreadable

    [stored] = [p for p in (tmp_path / ".remit" / "values").rglob("*")
                if p.is_file() and pickle.loads(p.read_bytes()) == bytes(100_000)]
    stored.write_bytes(pickle.dumps(bytes([7]) * 100_000, protocol=5))  # valid, but not it
    dry = run_cli("run", "--dry-run", "workflow.py", "main", cwd=tmp_path)
    assert planned(dry.stdout, "would run") == {"clock": "cache=False", "big": unreadable}
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    job_id, reason = ran(proc.stderr)["big"]
    assert reason == unreadable
    assert f"Ran because: {unreadable}" in run_cli("why", job_id, cwd=tmp_path).stdout

    forced = run_cli("run", "--no-cache", "workflow.py", "main", cwd=tmp_path)
    assert {why for _, why in ran(forced.stderr).values()} == {"--no-cache"}


def _count_rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("execution", "job", "task", "call_node", "evaluation", "value")}


def test_dry_run_runs_and_records_nothing(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text('''\
from pathlib import Path

from remit import task

STEP = 1


@task()
def step(i: int) -> int:
    Path(f"ran-step-{i}").touch()
    return i + STEP


@task()
def total(values: list) -> int:
    Path("ran-total").touch()
    return sum(values)


@task()
def main(n: int = 3) -> int:
    return total([step(i) for i in range(n)])
''')
    fresh = run_cli("run", "--dry-run", "workflow.py", "main", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert planned(fresh.stdout, "would run") == {"main": "nothing recorded yet"}
    assert not (tmp_path / ".remit" / "remit.db").exists()

    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    for marker in tmp_path.glob("ran-*"):
        marker.unlink()
    db = tmp_path / ".remit" / "remit.db"
    before = _count_rows(db)
    edit(tmp_path / "workflow.py", "STEP = 1", "STEP = 2")

    dry = run_cli("run", "--dry-run", "workflow.py", "main", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert planned(dry.stdout, "cached") == {"main": ""}
    assert planned(dry.stdout, "would run") == {"step": "constant STEP changed"}
    assert dry.stdout.count("would run  step(") == 3
    assert planned(dry.stdout, "may run") == {"total": "depends on a call that would run"}
    assert "3 would run, 1 from the cache, 1 depend on calls that would run" in dry.stdout
    assert list(tmp_path.glob("ran-*")) == []
    assert _count_rows(db) == before


def test_a_task_mutating_its_argument_fails_and_is_never_cached(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text('''\
from remit import task


@task()
def make(n: int) -> list:
    return list(range(n))


@task()
def grow(items: list) -> int:
    items.append(99)
    return len(items)


@task()
def main(n: int = 3) -> list:
    items = make(n)
    return [grow(items), items]
''')
    for _ in range(2):  # the failure is not cached: a re-run fails the same way
        proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
        assert proc.returncode == 1
        assert "ArgumentMutatedError: task grow changed its argument 'items' in place" \
            in proc.stderr
    edit(tmp_path / "workflow.py", "items.append(99)", "items = [*items, 99]")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "[4, [0, 1, 2]]" in proc.stdout


def test_why_a_file_was_made_again(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text('''\
from remit import File, task

HEADER = "# v1"


@task()
def report(n: int) -> File:
    out = File("out/report.txt")
    out.write(HEADER + "\\n" + str(n) + "\\n")
    return out


@task()
def main(n: int = 2) -> File:
    return report(n)
''')
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    first = run_cli("why", "out/report.txt", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "report(n=2)" in first.stdout
    assert "Ran because: new task: no earlier call of report recorded" in first.stdout

    edit(tmp_path / "workflow.py", 'HEADER = "# v1"', 'HEADER = "# v2"')
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    job_id = ran(proc.stderr)["report"][0]
    why = run_cli("why", "out/report.txt", cwd=tmp_path)
    assert why.stdout.startswith(f"Job {job_id}  report(n=2)")
    assert "Ran because: constant HEADER changed" in why.stdout
    assert "Compared with: Job " in why.stdout

    missing = run_cli("why", "out/nothing.txt", cwd=tmp_path)
    assert missing.returncode == 1
    assert "no File recorded at" in missing.stderr


def test_dry_run_through_built_ins_that_take_a_result_not_known_yet(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text('''\
from remit import cond, task
from remit.functools import map_

N = 1


@task()
def make(n: int) -> list:
    return list(range(n + N))


@task()
def triple(x: int) -> int:
    return 3 * x


@task()
def main(n: int = 3) -> list:
    return [map_(triple, make(n)), cond(make(n), "some", "none")]
''')
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    edit(tmp_path / "workflow.py", "N = 1", "N = 2")
    dry = run_cli("run", "--dry-run", "workflow.py", "main", cwd=tmp_path)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert planned(dry.stdout, "would run") == {"make": "constant N changed"}
    assert "may run    remit.map_(...)  (depends on a call that would run)" in dry.stdout
    assert "may run    cond(...)  (which branch runs depends on a call that would run)" \
        in dry.stdout
