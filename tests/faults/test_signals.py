"""Signals and kill -9: runs stop cleanly, leave no process behind, and leave a true record."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli, status_row

WORKFLOW = '''
import os
import time
from remit import task, script


@task()
def quick(i: int) -> int:
    return i


@task(executor="procs")
def slow_process(x: int) -> int:
    time.sleep(300)
    return x


@task()
def main() -> list:
    return [quick(i) for i in range(4)] + [
        slow_process(1), slow_process(2),
        script("sleep 301; echo never", executor="default"),
    ]
'''

INI = """
[executors.procs]
type = local
mode = process
max_workers = 2
"""


def project(tmp_path: Path, workflow: str = WORKFLOW, ini: str = INI) -> Path:
    (tmp_path / ".remit").mkdir(exist_ok=True)
    (tmp_path / ".remit" / "remit.ini").write_text(ini)
    (tmp_path / "workflow.py").write_text(workflow)
    return tmp_path


def start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "remit", "run", "workflow.py", "main", *args],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid``, with its command line."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, stack = {}, list(children.get(pid, []))
    while stack:
        child = stack.pop()
        found[child] = command_line(child)
        stack.extend(children.get(child, []))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.1)


def running_everything(proc: subprocess.Popen[str]) -> dict[int, str]:
    """Wait until both process workers and the script's sleep run; return the process tree."""
    def ready() -> bool:
        tree = descendants(proc.pid)
        return any("sleep 301" in c for c in tree.values()) and \
            sum("remit run" in c for c in tree.values()) >= 2 and \
            any(" -I -S -c" in c for c in tree.values())  # the guard
    try:
        wait_for(ready)
    except AssertionError:
        tree = descendants(proc.pid)
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"not all running: {tree}\n{err}") from None
    time.sleep(0.3)  # both slow_process jobs have started in their workers
    return descendants(proc.pid)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_child_outlives_remit_run(tmp_path: Path, signum: int) -> None:
    project(tmp_path)
    proc = start(tmp_path)
    tree = running_everything(proc)
    assert any(c.startswith("sleep 301") for c in tree.values()), tree
    proc.send_signal(signum)
    proc.communicate(timeout=30)
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(pid) for pid in tree):
        time.sleep(0.1)
    left = {pid: cmd for pid, cmd in tree.items() if alive(pid)}
    assert not left, f"still running after remit run ended: {left}"


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    project(tmp_path)
    proc = start(tmp_path)
    running_everything(proc)
    started = time.time()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert time.time() - started < 10
    assert proc.returncode == 143
    assert "Interrupted: finished jobs are recorded; run again to resume" in err
    conn = sqlite3.connect(tmp_path / ".remit" / "remit.db")
    assert conn.execute("SELECT status FROM execution").fetchone()[0] == "INTERRUPTED"
    states = dict(conn.execute("SELECT call, status FROM job").fetchall())
    assert states["slow_process(x=1)"] == "FAILED" and states["quick(i=0)"] == "DONE"
    assert "RUNNING" not in states.values()


def test_a_killed_run_is_shown_abandoned(tmp_path: Path) -> None:
    project(tmp_path)
    proc = start(tmp_path)
    db = tmp_path / ".remit" / "remit.db"

    def recorded() -> bool:
        try:
            return sqlite3.connect(db).execute("SELECT count(*) FROM execution").fetchone()[0]
        except sqlite3.Error:
            return False
    wait_for(recorded)  # written when the run starts, before any job finished
    log = run_cli("log", cwd=tmp_path)
    assert "[ RUNNING ]" in log.stdout, log.stdout
    proc.kill()
    proc.communicate()
    log = run_cli("log", cwd=tmp_path)
    assert log.returncode == 0, log.stderr
    assert "[ ABANDONED ]" in log.stdout and "RUNNING" not in log.stdout
    row = sqlite3.connect(db).execute("SELECT id, pid, host FROM execution").fetchone()
    assert row[1] == proc.pid and row[2]
    detail = run_cli("log", row[0][:8], cwd=tmp_path)
    assert "ABANDONED" in detail.stdout and "RUNNING" not in detail.stdout


CRASHING = '''
import ctypes
import os
import time
from remit import task


@task(executor="procs")
def ok(i: int) -> int:
    time.sleep(0.2)
    return i


@task(executor="procs")
def crash(how: str) -> int:
    time.sleep(0.1)
    if how == "exit":
        os._exit(3)
    ctypes.string_at(0)  # segmentation fault
    return 0


@task()
def total(values: list) -> int:
    return sum(values)


@task()
def main(how: str = "exit") -> list:
    return [total([ok(i) for i in range(6)]), crash(how)]
'''


@pytest.mark.parametrize(("how", "message"), [
    ("exit", "worker process died: exit code 3"),
    ("segfault", "worker process died: signal 11 (SIGSEGV)"),
])
def test_a_dying_worker_fails_its_job_alone(tmp_path: Path, how: str, message: str) -> None:
    project(tmp_path, CRASHING)
    proc = run_cli("run", "workflow.py", "main", "--how", how, cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert message in proc.stderr and "BrokenProcessPool" not in proc.stderr
    assert status_row(proc.stderr, "ok") == [0, 0, 0, 0, 6, 6]
    assert status_row(proc.stderr, "total") == [0, 0, 0, 0, 1, 1]
    assert status_row(proc.stderr, "crash") == [0, 0, 1, 0, 0, 1]
    conn = sqlite3.connect(tmp_path / ".remit" / "remit.db")
    assert conn.execute("SELECT status FROM execution").fetchone()[0] == "FAILED"
    states = dict(conn.execute("SELECT call, status FROM job").fetchall())
    assert states["main(how=" + json.dumps(how).replace('"', "'") + ")"] == "FAILED"
    assert "RUNNING" not in states.values()
