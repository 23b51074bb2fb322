"""A team's shared store: one PostgreSQL database and one S3 value store, two projects."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from remit import aws
from tests.conftest import run_cli, status_row

WORKFLOW = '''
from remit import task

remit_namespace = "team"


@task()
def table(n: int) -> list:
    return [f"row {i}" for i in range(n)]


@task()
def count(rows: list) -> int:
    return len(rows)


@task()
def main(n: int = 20_000) -> list:
    rows = table(n)
    return [count(rows), rows[-1]]
'''


@pytest.fixture
def pg_uri(postgres_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the session's server."""
    from sqlalchemy import create_engine, text

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


def _project(path: Path, db_uri: str, store: str) -> Path:
    path.mkdir()
    (path / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    (path / ".remit").mkdir()
    (path / ".remit" / "remit.ini").write_text(
        f"[backend]\ndb_uri = {db_uri}\nvalue_store_path = {store}\n"
    )
    return path


def test_a_second_project_is_served_from_the_shared_s3_value_store(
    tmp_path: Path, pg_uri: str, aws_standin
) -> None:
    bucket = f"remit-team-{uuid.uuid4().hex[:12]}"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    store = f"s3://{bucket}/remit/values"
    alice = _project(tmp_path / "alice", pg_uri, store)
    bob = _project(tmp_path / "bob", pg_uri, store)

    first = run_cli("run", "workflow.py", "main", cwd=alice)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "[20000, 'row 19999']"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys and all(k.startswith("remit/values/") for k in keys)  # the big list is in S3

    second = run_cli("run", "workflow.py", "main", cwd=bob)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "[20000, 'row 19999']"
    assert status_row(second.stderr, "ALL") == [0, 0, 0, 3, 0, 3]  # all from alice's runs
    assert "warning" not in second.stderr
    assert not (bob / ".remit" / "values").exists()  # nothing stored locally

    # A value replaced in S3 is caught there too: bob's next run computes it afresh.
    [big] = [k for k in keys if k.count("/") == 3]
    import pickle

    s3.put_object(Bucket=bucket, Key=big, Body=pickle.dumps(["forged"] * 20_000))
    third = run_cli("run", "workflow.py", "main", cwd=bob)
    assert third.stdout.strip() == "[20000, 'row 19999']"
    assert "do not match the recorded hash" in third.stderr
    assert status_row(third.stderr, "team.table") == [0, 0, 0, 0, 1, 1]
