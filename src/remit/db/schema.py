"""Brings a database to the current schema: new databases are created directly and stamped,
older ones are upgraded by Alembic (imported only then, to keep start-up short).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from remit.db import models
from remit.errors import DBError

# The newest migration in migrations/versions (a test checks they agree).
HEAD_REVISION = "0003_staging"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision recorded in the database, or None for a new database."""
    with engine.connect() as conn:
        return _revision_in(conn)


def _revision_in(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


_SCHEMA_LOCK = 0x72656D6974  # PostgreSQL advisory lock key ("remit"): one schema writer


def ensure_schema(engine: Engine) -> None:
    """Create, or upgrade to, the current schema (two processes starting at once are fine)."""
    if engine.dialect.name != "postgresql":
        try:
            _ensure_schema(engine)
        except DBError:
            raise
        except Exception:  # another process created it meanwhile (SQLite has no schema lock)
            if current_revision(engine) != HEAD_REVISION:
                raise
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK})
        try:
            _ensure_schema(engine)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK})


def _ensure_schema(engine: Engine) -> None:
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        check_tables(engine)
        return
    if revision is None:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # One transaction holding the write lock: Python's sqlite3 commits DDL as it
                # goes otherwise, and a second process starting at the same moment would see
                # half a schema. It waits here instead, then finds the schema made.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                if _revision_in(conn) == HEAD_REVISION:
                    return
            if inspect(conn).get_table_names():
                raise DBError(
                    f"database {engine.url!r} has tables but no remit schema version; "
                    "point [backend] db_uri at an empty database or a remit one"
                )
            models.metadata.create_all(conn)
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL "
                              "PRIMARY KEY)"))
            conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": HEAD_REVISION})
        return
    upgrade(engine)


def check_tables(engine: Engine) -> None:
    """Raise DBError naming the tables missing from a database stamped as current."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
    missing = sorted(set(models.metadata.tables) - present)
    if missing:
        raise DBError(damaged_message(str(engine.url), missing))


def damaged_message(db_uri: str, missing: list[str]) -> str:
    """The one-line error for a store whose tables are gone, with the way out."""
    tables = ", ".join(missing)
    return (
        f"database {db_uri!r} is damaged or was made by an older remit (missing table"
        f"{'s' if len(missing) > 1 else ''}: {tables}); run `remit db upgrade`, or move the "
        "file aside (or point [backend] db_uri elsewhere) to start a new store"
    )


def alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    """An Alembic Config pointing at remit's migrations and this engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
