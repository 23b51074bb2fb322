"""Wide fan-outs as a user sees them: a summary instead of thousands of `Run` lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.conftest import run_cli, status_row

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
    assert summary == ["[remit] Run    130 more jobs of wide.one on default "
                       "(remit run -v prints each)"]
    assert sum("Run    Job" in line for line in lines) == 22  # main and add_all in full
    assert status_row(proc.stderr, "wide.one") == [0, 0, 0, 0, 150, 150]

    cached = run_cli("run", "workflow.py", "main", "--n", "150", cwd=tmp_path)
    assert "[remit] Cached 130 more jobs of wide.one" in cached.stderr
    assert status_row(cached.stderr, "ALL") == [0, 0, 0, 152, 0, 152]

    verbose = run_cli("run", "--no-cache", "-v", "workflow.py", "main", "--n", "150",
                      cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert sum("Run    Job" in line for line in verbose.stderr.splitlines()) == 152
    assert "more jobs" not in verbose.stderr
