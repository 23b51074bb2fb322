"""Two `remit run` processes on one PostgreSQL store at once: both right, all recorded."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

WORKFLOW = '''
from remit import task


@task()
def square(i: int) -> int:
    return i * i


@task()
def shift(x: int, offset: int) -> int:
    return x + offset


@task()
def total(values: list) -> int:
    return sum(values)


@task()
def main(n: int = 120, offset: int = 0) -> int:
    order = range(n) if offset % 2 else reversed(range(n))  # recorded in opposite orders
    squares = [square(i) for i in order]             # the same calls in both runs
    return total([shift(s, offset) for s in squares])  # calls of this run only
'''


def test_two_schedulers_share_one_postgres_store(postgres_server: str, tmp_path: Path) -> None:
    name = f"remit_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_uri = f"{postgres_server}/{name}"
    try:
        (tmp_path / ".remit").mkdir()
        (tmp_path / ".remit" / "remit.ini").write_text(
            f"[backend]\ndb_uri = {db_uri}\n[scheduler]\nflush_interval = 0\n")
        (tmp_path / "workflow.py").write_text(WORKFLOW)
        n = 60
        runs = {
            offset: subprocess.Popen(
                [sys.executable, "-m", "remit", "run", "workflow.py", "main", "--n", str(n),
                 "--offset", str(offset)],
                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for offset in (1, 1000)
        }
        for offset, proc in runs.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            assert "deadlock" not in err.lower() and "serializ" not in err.lower()
            assert out.strip() == str(sum(i * i + offset for i in range(n)))
        engine = create_engine(db_uri)
        with engine.connect() as conn:
            executions = conn.execute(text("SELECT status FROM execution")).scalars().all()
            assert executions == ["DONE", "DONE"]
            jobs = conn.execute(text(
                "SELECT count(*), count(*) FILTER (WHERE status IN ('DONE', 'CACHED')) FROM job"
            )).one()
            assert jobs[0] == jobs[1] == 2 * (1 + n + n + 1)
            shifted = conn.execute(text(
                "SELECT count(DISTINCT call_hash) FROM job j JOIN task t ON t.hash = j.task_hash"
                " WHERE t.fullname = 'shift'")).scalar()
            assert shifted == 2 * n
            assert conn.execute(text("SELECT count(*) FROM evaluation")).scalar() == \
                n + 2 * n + 2 + 2
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
