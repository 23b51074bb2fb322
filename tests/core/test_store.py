"""The provenance store: rows of a run, value storage, and migrations matching the models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select

from remit import task
from remit.db import models
from remit.db.schema import HEAD_REVISION, MIGRATIONS_DIR, current_revision, ensure_schema, upgrade

remit_namespace = "tests.core.store"


@task()
def leaf(x: int) -> int:
    return x + 1


@task()
def big(n: int) -> bytes:
    return b"x" * n


@task()
def root(x: int) -> list:
    return [leaf(x), leaf(leaf(x))]


def test_rows_recorded_for_a_run(make_scheduler, config_dir: Path) -> None:
    scheduler = make_scheduler()
    assert scheduler.run(root(1), ["remit", "run", "t.py", "root"]) == [2, 3]
    execution = scheduler.execution
    engine = create_engine(f"sqlite:///{config_dir / 'remit.db'}")
    with engine.connect() as conn:
        ex = conn.execute(select(models.execution)).mappings().one()
        assert ex["id"] == execution.id and ex["status"] == "DONE"
        assert json.loads(ex["argv"]) == ["remit", "run", "t.py", "root"]
        assert ex["root_job_id"] == execution.root_job.id and ex["end_time"] >= ex["start_time"]
        jobs = conn.execute(select(models.job)).mappings().all()
        # leaf(1) is called twice: the identical second call shares the first one's result.
        assert sorted(j["status"] for j in jobs) == ["CACHED", "DONE", "DONE", "DONE"]
        assert all(j["execution_id"] == execution.id and j["call_hash"] for j in jobs)
        root_row = next(j for j in jobs if j["parent_id"] is None)
        assert root_row["id"] == execution.root_job.id
        tasks = {r.fullname: r for r in conn.execute(select(models.task))}
        assert set(tasks) == {"tests.core.store.root", "tests.core.store.leaf"}
        assert "def leaf(x: int)" in tasks["tests.core.store.leaf"].source
        node = conn.execute(select(models.call_node).where(
            models.call_node.c.call_hash == root_row["call_hash"])).mappings().one()
        assert node["task_hash"] == tasks["tests.core.store.root"].hash
        children = conn.execute(select(models.call_edge).where(
            models.call_edge.c.parent_call_hash == node["call_hash"])).all()
        assert len(children) == 2  # leaf(1) and leaf(2); the twin call is the same call node
        result = conn.execute(select(models.value).where(
            models.value.c.hash == node["result_hash"])).mappings().one()
        assert result["preview"] == "[2, 3]" and result["type"] == "builtins.list"
        # The inner leaf(leaf(1)) call records where its argument came from.
        upstream = conn.execute(select(models.argument).where(
            models.argument.c.upstream_call_hash.is_not(None))).mappings().all()
        assert len(upstream) == 1 and upstream[0]["name"] == "x"
        cache = conn.execute(select(models.evaluation)).all()
        assert len(cache) == 3


def test_large_values_go_to_the_value_store(make_scheduler, config_dir: Path) -> None:
    assert make_scheduler().run(big(200_000)) == b"x" * 200_000
    engine = create_engine(f"sqlite:///{config_dir / 'remit.db'}")
    with engine.connect() as conn:
        row = conn.execute(select(models.value).where(models.value.c.size > 100_000)) \
            .mappings().one()
    assert row["storage"] == "store" and row["data"] is None
    assert (config_dir / "values" / row["hash"][:2] / row["hash"]).exists()
    again = make_scheduler()
    assert again.run(big(200_000)) == b"x" * 200_000
    assert again.run_log.counts["tests.core.store.big"]["CACHED"] == 1


def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from remit.db.schema import alembic_config

    engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION
    assert ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() == HEAD_REVISION
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), models.metadata) == []
    ensure_schema(engine)  # a migrated database is accepted as it is
    assert alembic_config(engine).get_main_option("script_location") == str(MIGRATIONS_DIR)


def test_new_database_is_created_and_stamped(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    ensure_schema(engine)
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode in ("wal", "delete")


def test_import_remit_stays_light() -> None:
    code = (
        "import sys, remit; heavy = [m for m in ('boto3', 'docker', 'sqlalchemy', 'alembic', "
        "'moto', 'starlette', 'jinja2', 'uvicorn') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
