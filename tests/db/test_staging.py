"""Big runs on SQLite stage their rows and merge them in bulk (``db/writer.py``).

``[backend] stage_after = 1`` makes a small run behave as a big one: after its first write,
rows go to the ``stage_*`` tables and are merged into the real ones. A user must not be able
to tell: the store ends complete, a re-run is served from the cache, and a run killed with
rows still staged loses none of them.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from remit.db import models
from remit.db.backend import Backend
from tests.conftest import run_cli

WORKFLOW = '''
import os, time
from remit import task


@task()
def square(i: int) -> int:
    if i >= int(os.environ.get("SLOW_FROM", "1000000")):
        time.sleep(600)
    return i * i


@task()
def total(values: list) -> int:
    return sum(values)


@task()
def main(n: int = 10) -> int:
    return total([square(i) for i in range(n)])
'''

INI = """
[backend]
stage_after = 1

[scheduler]
flush_interval = 0.05
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "wf.py").write_text(WORKFLOW)
    (tmp_path / ".remit").mkdir()
    (tmp_path / ".remit" / "remit.ini").write_text(INI)
    return tmp_path


def _counts(db: Path, *tables: str) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()


def test_a_staged_run_ends_complete_and_its_rerun_is_cached(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = run_cli("run", "wf.py", "main", "--n", "300", cwd=project)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == str(sum(i * i for i in range(300)))
    db = project / ".remit" / "remit.db"
    staged = _counts(db, *(t.name for t in models.staging.values()))
    assert set(staged.values()) == {0}, staged  # everything merged at the end of the run
    real = _counts(db, "job", "call_node", "evaluation")
    assert real == {"job": 302, "call_node": 302, "evaluation": 302}
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT DISTINCT status FROM job").fetchall() == [("DONE",)]
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    again = run_cli("run", "wf.py", "main", "--n", "300", cwd=project)
    assert again.returncode == 0, again.stderr
    assert "square" in again.stderr and "Run " not in again.stderr  # nothing ran again
    assert _counts(db, "job")["job"] == 604


def test_rows_staged_by_a_killed_run_are_merged_and_served(tmp_path: Path) -> None:
    project = _project(tmp_path)
    db = project / ".remit" / "remit.db"
    proc = subprocess.Popen(  # squares 0-39 finish; 40-79 hang until the kill
        [sys.executable, "-m", "remit", "run", "wf.py", "main", "--n", "80"], cwd=project,
        env={**__import__("os").environ, "SLOW_FROM": "40"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        staged = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                staged = _counts(db, "stage_evaluation")["stage_evaluation"]
            except sqlite3.Error:
                staged = 0
            if staged >= 40:
                break
            time.sleep(0.05)
        assert staged >= 40, "the run never staged its finished calls"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert _counts(db, "evaluation")["evaluation"] < 40  # not merged: the run died first
    waiting = sum(_counts(db, *(t.name for t in models.staging.values())).values())
    info = run_cli("db", "info", cwd=project)
    assert info.returncode == 0, info.stderr
    assert f"{waiting} staged rows wait for a merge" in info.stdout
    rerun = run_cli("run", "wf.py", "main", "--n", "80", cwd=project)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip().splitlines()[-1] == str(sum(i * i for i in range(80)))
    conn = sqlite3.connect(db)
    cached = conn.execute(
        "SELECT count(*) FROM job JOIN execution ON job.execution_id = execution.id "
        "WHERE job.cached = 1 AND job.call LIKE '%square%' AND execution.status = 'DONE'"
    ).fetchone()[0]
    conn.close()
    assert cached == 40  # the killed run's finished squares came from the cache
    assert set(_counts(db, *(t.name for t in models.staging.values())).values()) == {0}


def test_staged_rows_become_visible_without_waiting_for_the_end(tmp_path: Path) -> None:
    backend = Backend(f"sqlite:///{tmp_path}/remit.db", tmp_path / "values", stage_after=0)
    try:
        backend.writer.merge_age = 0.0  # merge after every write
        backend.add(models.task, "t" * 40, {"hash": "t" * 40, "fullname": "wf.f",
                                             "namespace": "", "source": "", "deps": None})
        backend.flush(wait=False)
        conn = sqlite3.connect(tmp_path / "remit.db")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if conn.execute("SELECT count(*) FROM task").fetchone()[0]:
                break
            time.sleep(0.02)
        assert conn.execute("SELECT fullname FROM task").fetchall() == [("wf.f",)]
        assert conn.execute("SELECT count(*) FROM stage_task").fetchone()[0] == 0
        conn.close()
    finally:
        backend.close()


def test_a_failed_background_write_fails_the_run_with_the_store_named(tmp_path: Path) -> None:
    backend = Backend(f"sqlite:///{tmp_path}/remit.db", tmp_path / "values")
    try:
        backend.engine  # noqa: B018 - create the schema
        sqlite3.connect(tmp_path / "remit.db").execute("DROP TABLE call_edge")
        backend.add(models.call_edge, ("a", "b"), {"parent_call_hash": "a",
                                                   "child_call_hash": "b", "position": 0})
        backend.flush(wait=False)
        try:
            backend.flush()
        except Exception as exc:
            assert "damaged" in str(exc) and "call_edge" in str(exc)
            assert "remit.db" in str(exc)
        else:
            raise AssertionError("the failed write was not reported")
    finally:
        backend.close()


def test_two_staged_runs_sharing_a_store_both_end_complete(tmp_path: Path) -> None:
    """Both start on a store that does not exist yet, create it at once, and stage, merge
    (each other's rows too) and serve from the cache side by side."""
    project = _project(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "remit", "run", "wf.py", "main", "--n",
                               str(n)], cwd=project, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in (300, 200)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err), n in zip(procs, outputs, (300, 200), strict=True):
        assert proc.returncode == 0, err
        assert out.strip().splitlines()[-1] == str(sum(i * i for i in range(n)))
    db = project / ".remit" / "remit.db"
    assert set(_counts(db, *(t.name for t in models.staging.values())).values()) == {0}
    conn = sqlite3.connect(db)
    try:
        statuses = dict(conn.execute("SELECT status, count(*) FROM job GROUP BY status"))
        assert sum(statuses.values()) == 504  # 302 + 202 jobs
        assert set(statuses) <= {"DONE", "CACHED"}  # CACHED: served from the other run
        assert conn.execute("SELECT count(*) FROM evaluation").fetchone()[0] == 304
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def test_sigterm_during_a_staged_run_merges_what_finished(tmp_path: Path) -> None:
    project = _project(tmp_path)
    db = project / ".remit" / "remit.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "remit", "run", "wf.py", "main", "--n", "80"], cwd=project,
        env={**__import__("os").environ, "SLOW_FROM": "40"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if _counts(db, "stage_evaluation")["stage_evaluation"] >= 40:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and "Interrupted" in err
    assert set(_counts(db, *(t.name for t in models.staging.values())).values()) == {0}
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT status FROM execution").fetchall() == [("INTERRUPTED",)]
        done = conn.execute("SELECT count(*) FROM job WHERE status = 'DONE' "
                            "AND call LIKE 'square%'").fetchone()[0]
        assert done == 40  # every finished square is in the real tables
    finally:
        conn.close()
