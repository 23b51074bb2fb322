"""An interrupted run records what finished, exits 130, and a re-run resumes from the cache."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import run_cli, status_row

WORKFLOW = '''
import os
import time
from remit import task


@task()
def quick(i: int) -> int:
    return i


@task()
def slow(x: int) -> int:
    time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
    return x


@task()
def main() -> list:
    return [quick(i) for i in range(4)] + [slow(100)]
'''


def test_interrupt_then_resume(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text(WORKFLOW)
    env = {**os.environ, "SLOW_SECONDS": "60"}
    proc = subprocess.Popen([sys.executable, "-m", "remit", "run", "workflow.py", "main"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    db = tmp_path / ".remit" / "remit.db"
    deadline = time.time() + 30
    done = 0
    while time.time() < deadline and done < 4:
        time.sleep(0.3)
        if db.exists():
            try:
                done = sqlite3.connect(db).execute(
                    "SELECT count(*) FROM job WHERE status = 'DONE'").fetchone()[0]
            except sqlite3.OperationalError:
                done = 0
    assert done >= 4, "the quick jobs should have been recorded within a flush interval"
    started = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.time() - started < 10, "Ctrl-C must not wait for running tasks"
    assert proc.returncode == 130
    assert "Interrupted" in err and "run again to resume" in err
    conn = sqlite3.connect(db)
    status, argv = conn.execute("SELECT status, argv FROM execution").fetchone()
    assert status == "INTERRUPTED" and json.loads(argv)[:2] == ["remit", "run"]
    states = dict(conn.execute("SELECT call, status FROM job").fetchall())
    assert states["slow(x=100)"] == "FAILED" and states["quick(i=0)"] == "DONE"

    again = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "[0, 1, 2, 3, 100]"
    assert status_row(again.stderr, "quick") == [0, 0, 0, 4, 0, 4]
    assert status_row(again.stderr, "slow") == [0, 0, 0, 0, 1, 1]
