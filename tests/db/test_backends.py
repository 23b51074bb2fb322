"""One suite that every provenance backend passes (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from remit import task
from remit.config import Config
from remit.db import models
from remit.db.backend import Backend
from remit.db.query import Query
from remit.db.recorder import ProvenanceRecorder
from remit.db.schema import HEAD_REVISION, current_revision, upgrade
from remit.progress import RunLog
from remit.scheduler import Scheduler

remit_namespace = "tests.db.backends"
runs: list[int] = []


@task()
def inc(x: int) -> int:
    runs.append(x)
    return x + 1


@task()
def fail(x: int) -> int:
    raise ValueError(f"bad {x}")


@task()
def fan(n: int) -> list:
    return [inc(i) for i in range(n)]


def run(db_uri: str, tmp_path: Path, expr, use_cache: bool = True):
    backend = Backend(db_uri, tmp_path / "values")
    log = RunLog(open(os.devnull, "w"))
    scheduler = Scheduler(Config(config_dir=tmp_path), backend, use_cache=use_cache,
                          listeners=[ProvenanceRecorder(backend), log])
    try:
        return scheduler.run(expr, ["remit", "run"]), log, scheduler
    finally:
        backend.close()


def test_schema_is_created_at_head(db_uri: str, tmp_path: Path) -> None:
    backend = Backend(db_uri, tmp_path / "values")
    assert current_revision(backend.engine) == HEAD_REVISION
    backend.close()


def test_records_and_serves_the_cache(db_uri: str, tmp_path: Path) -> None:
    runs.clear()
    result, log, scheduler = run(db_uri, tmp_path, fan(300))
    assert result == list(range(1, 301)) and len(runs) == 300
    result, log, _ = run(db_uri, tmp_path, fan(300))
    assert result == list(range(1, 301)) and len(runs) == 300  # all cached
    assert log.counts["tests.db.backends.inc"]["CACHED"] == 300
    engine = create_engine(db_uri)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(models.execution)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(models.job)).scalar() == 602
        assert conn.execute(select(func.count()).select_from(models.evaluation)).scalar() == 301
        query = Query(conn)
        kind, row = query.find(scheduler.execution.id[:8])
        assert kind == "execution" and row["status"] == "DONE"
        assert len(query.execution_jobs(scheduler.execution.id)) == 301
    engine.dispose()


def test_failures_are_recorded_not_cached(db_uri: str, tmp_path: Path) -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="bad 1"):
            run(db_uri, tmp_path, fail(1))
    engine = create_engine(db_uri)
    with engine.connect() as conn:
        statuses = conn.execute(select(models.job.c.status, models.job.c.error)).all()
        assert [s for s, _ in statuses] == ["FAILED", "FAILED"]
        assert all("ValueError: bad 1" in error for _, error in statuses)
        assert conn.execute(select(func.count()).select_from(models.evaluation)).scalar() == 0
    engine.dispose()


def test_no_cache_rerun_updates_rows(db_uri: str, tmp_path: Path) -> None:
    runs.clear()
    run(db_uri, tmp_path, inc(41))
    run(db_uri, tmp_path, inc(41), use_cache=False)
    assert runs == [41, 41]


def test_alembic_upgrade_builds_the_same_schema(db_uri: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(db_uri)
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), models.metadata) == []
    engine.dispose()


@task(check_valid="shallow")
def shallow_fan(n: int) -> list:
    return [inc(i) for i in range(n)]


def test_shallow_cache_and_tags(db_uri: str, tmp_path: Path) -> None:
    from remit import apply_tags
    from remit.hashing import hash_value

    runs.clear()
    result, _, _ = run(db_uri, tmp_path, apply_tags(shallow_fan(5), tags=[("kind", "incs")]))
    assert result == [1, 2, 3, 4, 5] and len(runs) == 5
    result, log, _ = run(db_uri, tmp_path, shallow_fan(5))
    assert result == [1, 2, 3, 4, 5] and len(runs) == 5
    assert log.counts["tests.db.backends.shallow_fan"]["CACHED"] == 1
    assert "tests.db.backends.inc" not in log.counts  # served whole, children not replayed
    engine = create_engine(db_uri)
    with engine.connect() as conn:
        assert Query(conn).tags(hash_value([1, 2, 3, 4, 5])) == {"kind": "incs"}
    engine.dispose()


def test_records_the_size_of_a_value_past_2_gib(db_uri: str, tmp_path: Path) -> None:
    backend = Backend(db_uri, tmp_path / "values")
    try:
        size = 5 * 2**30  # a 5 GiB value kept in the value store; only its row is written here
        backend.add(models.value, "b" * 40, {
            "hash": "b" * 40, "type": "builtins.bytes", "preview": "b'...'", "size": size,
            "storage": "store", "data": None, "data_hash": "c" * 40})
        backend.flush()
        with backend.engine.connect() as conn:
            found = conn.execute(select(models.value.c.size)
                                 .where(models.value.c.hash == "b" * 40)).scalar()
        assert found == size
    finally:
        backend.close()
