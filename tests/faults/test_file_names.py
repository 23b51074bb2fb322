"""A File whose name is not UTF-8 is recorded losslessly and works on every run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import status_row


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`remit` in a child process; its output may hold the name's raw bytes."""
    return subprocess.run([sys.executable, "-m", "remit", *args], cwd=cwd, capture_output=True,
                          text=True, errors="surrogateescape", timeout=120)

WORKFLOW = '''
import os
from remit import File, task


@task()
def write(name: bytes) -> File:
    path = os.fsdecode(name)
    with open(path, "w") as out:
        out.write("data")
    return File(path)


@task()
def size(file: File) -> int:
    return len(file.read())


@task()
def main() -> list:
    made = write(b"out-\\xff\\xfe.txt")
    return [size(made), made]
'''


def test_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text(WORKFLOW)
    for attempt in ("first", "cached"):
        proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("[4, File(path=out-")
        expected = [0, 0, 0, 0, 1, 1] if attempt == "first" else [0, 0, 0, 1, 0, 1]
        assert status_row(proc.stderr, "write") == expected
    assert os.path.exists(os.fsencode(tmp_path) + b"/out-\xff\xfe.txt")
    files = run_cli("log", "--file", cwd=tmp_path)
    assert files.returncode == 0
    assert f"{tmp_path}/out-\\xff\\xfe.txt" in files.stdout
    producer = run_cli("log", os.fsdecode(os.fsencode(tmp_path) + b"/out-\xff\xfe.txt"),
                       cwd=tmp_path)
    assert producer.returncode == 0, producer.stderr
    assert "Produced by Job" in producer.stdout and "write(name=" in producer.stdout
