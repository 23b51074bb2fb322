"""examples/redun_style: the context and tags workflows run as their docstrings say."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.conftest import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "redun_style"


def _project(tmp_path: Path, *names: str) -> Path:
    (tmp_path / ".remit").mkdir()
    for name in names:
        shutil.copy(EXAMPLES / name, tmp_path / name)
    return tmp_path


def test_context_example(tmp_path: Path) -> None:
    project = _project(tmp_path, "context_workflow.py", "context.json")
    first = run_cli("run", "--context-file", "context.json", "context_workflow.py", "main",
                    cwd=project)
    assert first.returncode == 0, first.stderr
    assert "'my_tool(3) with flag=True param=None'" in first.stdout
    second = run_cli("run", "--context-file", "context.json", "--context", "my_tool.param=10",
                     "context_workflow.py", "main", cwd=project)
    assert second.returncode == 0, second.stderr
    assert "'my_tool(3) with flag=True param=10'" in second.stdout
    ran = re.findall(r"Run    Job \w+:  redun_style\.context\.(\w+)", second.stderr)
    assert ran == ["my_tool"] * 4


def test_tags_example(tmp_path: Path) -> None:
    project = _project(tmp_path, "tags_workflow.py")
    run = run_cli("run", "--tag", "project=acme", "tags_workflow.py", "main", cwd=project)
    assert run.returncode == 0, run.stderr
    assert (project / "report.txt").read_text() == "9 words\n"
    exec_id = re.search(r"Start Execution (\w{8})", run.stderr).group(1)
    assert "Tags: project=acme, report=written" in run_cli("log", exec_id, cwd=project).stdout
    assert "Tags: kind=report" in run_cli("log", "report.txt", cwd=project).stdout
