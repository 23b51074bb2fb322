"""`remit push` / `remit pull` between a project's SQLite store and a real PostgreSQL server:
both sides end with the same executions, and running either twice duplicates nothing."""

from __future__ import annotations

import sqlite3
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from remit.db.models import record_tables
from tests.conftest import invoke_cli, run_cli, status_row

WORKFLOW = '''
from remit import File, task

remit_namespace = "pushpull"


@task()
def square(x: int) -> int:
    return x * x


@task()
def save(path: str, n: int) -> File:
    out = File(path)
    out.write(str(n))
    return out


@task(check_valid="shallow")
def main(n: int = 3, big: int = 70_000) -> list:
    return [square(i) for i in range(n)] + [bytes(big), save(f"out{n}.txt", n)]
'''

COUNTED = tuple(table.name for table in record_tables)  # every table travels


@pytest.fixture
def postgres_db(postgres_server: str) -> Iterator[str]:
    """An empty PostgreSQL database on the session's throwaway server."""
    name = f"remit_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{postgres_server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def project(root: Path) -> Path:
    root.mkdir()
    (root / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    return root


def sqlite_counts(root: Path) -> dict[str, int]:
    with sqlite3.connect(root / ".remit" / "remit.db") as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}


def pg_counts(uri: str) -> dict[str, int]:
    engine = create_engine(uri)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in COUNTED}
    engine.dispose()
    return counts  # type: ignore[return-value]


def ids(root: Path) -> set[str]:
    with sqlite3.connect(root / ".remit" / "remit.db") as conn:
        return {row[0] for row in conn.execute("SELECT id FROM execution")}


def test_push_and_pull_through_postgres(tmp_path: Path, postgres_db: str) -> None:
    laptop, colleague = project(tmp_path / "laptop"), project(tmp_path / "colleague")
    for n in ("2", "3"):
        assert run_cli("run", "workflow.py", "main", "--n", n, cwd=laptop).returncode == 0
    exec_id = sorted(ids(laptop))[0]
    assert invoke_cli("tag", "add", exec_id[:8], "owner=laptop", cwd=laptop).returncode == 0

    pushed = invoke_cli("push", postgres_db, cwd=laptop)
    assert pushed.returncode == 0, pushed.stderr
    assert "Pushed 2 execution(s)" in pushed.stdout and "2 execution" in pushed.stdout
    assert pg_counts(postgres_db) == sqlite_counts(laptop)
    again = invoke_cli("push", postgres_db, cwd=laptop)
    assert again.returncode == 0 and "nothing (the destination had everything)" in again.stdout
    assert pg_counts(postgres_db) == sqlite_counts(laptop)

    # The colleague ran one execution of their own, pulls the team's, then pushes theirs.
    assert run_cli("run", "workflow.py", "main", "--n", "4", cwd=colleague).returncode == 0
    pulled = invoke_cli("pull", postgres_db, cwd=colleague)
    assert pulled.returncode == 0, pulled.stderr
    assert ids(colleague) == ids(laptop) | ids(colleague)
    assert invoke_cli("push", postgres_db, cwd=colleague).returncode == 0
    assert invoke_cli("pull", postgres_db, cwd=laptop).returncode == 0
    assert ids(laptop) == ids(colleague) and len(ids(laptop)) == 3
    assert pg_counts(postgres_db) == sqlite_counts(laptop) == sqlite_counts(colleague)
    twice = invoke_cli("pull", postgres_db, cwd=laptop)
    assert "nothing (the destination had everything)" in twice.stdout
    assert sqlite_counts(laptop) == pg_counts(postgres_db)

    # What was pulled serves the cache and shows in remit log, tags included.
    rerun = run_cli("run", "workflow.py", "main", "--n", "4", cwd=laptop)
    assert rerun.returncode == 0, rerun.stderr
    assert status_row(rerun.stderr, "pushpull.square") == [0, 0, 0, 4, 0, 4]
    assert "File out4.txt in the cached result changed or is gone" in rerun.stderr  # not here
    assert "owner=laptop" in invoke_cli("tag", "list", exec_id[:8], cwd=colleague).stdout
    # A tag changed on one side is updated, not duplicated, on the other.
    invoke_cli("tag", "add", exec_id[:8], "owner=team", cwd=laptop)
    updated = invoke_cli("push", postgres_db, exec_id[:8], cwd=laptop)
    assert "1 tag updated" in updated.stdout
    assert pg_counts(postgres_db)["tag"] == sqlite_counts(laptop)["tag"]


def test_push_to_a_bad_destination_is_one_clear_error(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    assert run_cli("run", "workflow.py", "main", cwd=root).returncode == 0
    proc = invoke_cli("push", "nowhere", cwd=root)
    assert proc.returncode == 1
    assert "nowhere is neither a database URL, a .db file nor a config directory" in proc.stderr
    proc = invoke_cli("push", "postgresql+psycopg://postgres@127.0.0.1:1/x", cwd=root)
    assert proc.returncode == 1 and proc.stderr.startswith("Error: cannot ")
    assert len(proc.stderr.strip().splitlines()) == 1
