"""Stored values as a user meets them: verified on read, written atomically, memory-lean.

Each test runs `remit run` in a child process, as a user would, and looks at what it
printed, what it returned, and what it left in `.remit/`.
"""

from __future__ import annotations

import os
import pickle
import resource
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_cli, status_row

WORKFLOW = '''
from remit import task

remit_namespace = "vals"


@task()
def blob(n: int) -> bytes:
    return b"v" * n


@task()
def small(x: int) -> str:
    return "s" * x


@task()
def size(data: bytes) -> int:
    return len(data)


@task()
def main(n: int = 200_000) -> list:
    return [size(blob(n)), small(3)]
'''


def _project(tmp_path: Path, source: str = WORKFLOW, ini: str = "") -> Path:
    (tmp_path / "workflow.py").write_text(textwrap.dedent(source))
    (tmp_path / ".remit").mkdir(exist_ok=True)
    if ini:
        (tmp_path / ".remit" / "remit.ini").write_text(textwrap.dedent(ini))
    return tmp_path


def _stored_files(tmp_path: Path) -> list[Path]:
    values = tmp_path / ".remit" / "values"
    return [p for p in values.glob("??/*") if p.is_file()]


def _temporaries(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / ".remit" / "values").rglob("*.tmp") if p.is_file()]


def test_a_replaced_value_file_is_a_miss_with_a_warning(tmp_path: Path) -> None:
    _project(tmp_path)
    first = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "[200000, 'sss']"
    [stored] = _stored_files(tmp_path)
    # Another valid pickle of the same type and size: only the recorded hash tells them apart.
    stored.write_bytes(pickle.dumps(b"w" * 200_000, protocol=5))
    second = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "[200000, 'sss']"
    warnings = [line for line in second.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1, second.stderr
    assert "do not match the recorded hash" in warnings[0] and str(stored) in warnings[0]
    assert status_row(second.stderr, "vals.blob") == [0, 0, 0, 0, 1, 1]  # ran again
    assert status_row(second.stderr, "vals.small") == [0, 0, 0, 1, 0, 1]
    assert pickle.loads(stored.read_bytes()) == b"v" * 200_000  # rewritten
    third = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert "warning" not in third.stderr
    assert status_row(third.stderr, "ALL") == [0, 0, 0, 4, 0, 4]


def test_a_changed_inline_value_is_a_miss_with_a_warning(tmp_path: Path) -> None:
    _project(tmp_path)
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / ".remit" / "remit.db") as db:
        changed = db.execute("UPDATE value SET data = ? WHERE data = ?",
                             (pickle.dumps("ttt", protocol=5), pickle.dumps("sss", protocol=5)))
        assert changed.rowcount == 1
    again = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert again.stdout.strip() == "[200000, 'sss']"
    assert again.stderr.count("warning: cached value") == 1
    assert status_row(again.stderr, "vals.small") == [0, 0, 0, 0, 1, 1]


def test_a_deleted_value_file_runs_the_call_again(tmp_path: Path) -> None:
    _project(tmp_path)
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    [stored] = _stored_files(tmp_path)
    stored.unlink()
    again = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert again.stdout.strip() == "[200000, 'sss']"
    assert "missing from the value store" in again.stderr
    assert status_row(again.stderr, "vals.blob") == [0, 0, 0, 0, 1, 1]
    assert stored.exists()


def _limited_file_size(limit: int):  # type: ignore[no-untyped-def]
    def preexec() -> None:
        # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG, as on a full disk.
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_a_full_value_store_is_one_clear_error_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    _project(tmp_path)
    assert run_cli("run", "workflow.py", "small", "--x", "1", cwd=tmp_path).returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "REMIT_CONFIG"}
    full = subprocess.run(
        [sys.executable, "-m", "remit", "run", "workflow.py", "main", "--n", "3000000"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        preexec_fn=_limited_file_size(1024 * 1024),
    )
    assert full.returncode == 1, full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "cannot write a value to the value store" in errors[0]
    assert "File too large" in errors[0] and "value_store_path" in errors[0]
    assert "Traceback" not in full.stderr
    assert _temporaries(tmp_path) == []
    again = run_cli("run", "workflow.py", "main", "--n", "3000000", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "[3000000, 'sss']"


def test_temporary_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    _project(tmp_path)
    tmp_dir = tmp_path / ".remit" / "values" / ".tmp"
    tmp_dir.mkdir(parents=True)
    host = os.uname().nodename
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    leftover = tmp_dir / f"{host}-{dead}-abc123.tmp"
    leftover.write_bytes(b"half a pickle")
    live = tmp_dir / f"{host}-{os.getpid()}-def456.tmp"  # a writer still running
    live.write_bytes(b"being written")
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not leftover.exists() and live.exists()


MEMORY_WORKFLOW = '''
import os

from remit import task

remit_namespace = "mem"


@task(executor="pool")
def produce(n: int) -> bytes:
    return os.urandom(n)


@task(executor="pool")
def consume(data: bytes) -> int:
    return len(data)


@task()
def main(n: int = 10) -> int:
    return consume(produce(n))
'''

MiB = 1024 * 1024


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_big_value_peaks_below_twice_its_size(tmp_path: Path, mode: str) -> None:
    size = 50 * MiB
    _project(tmp_path, MEMORY_WORKFLOW,
             f"[executors.pool]\ntype = local\nmode = {mode}\nmax_workers = 2\n")
    # The child reports the largest RSS of itself and of every process it waited for.
    code = (
        "import resource, subprocess, sys; "
        f"p = subprocess.run([sys.executable, '-m', 'remit', 'run', 'workflow.py', 'main', "
        f"'--n', '{size}'], capture_output=True, text=True); "
        "print(p.returncode, p.stdout.strip().splitlines()[-1] if p.stdout.strip() else '', "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.stderr.write(p.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if k != "REMIT_CONFIG"}
    for run in ("fresh", "cached"):
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        returncode, result, peak_kib = proc.stdout.split()
        assert returncode == "0", proc.stderr
        assert result == str(size)
        peak = int(peak_kib) * 1024
        assert peak < 2 * size + 100 * MiB, f"{mode} {run}: peak {peak / MiB:.0f} MiB"
