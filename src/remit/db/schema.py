"""Brings a database to the current schema: new databases are created directly and stamped,
older ones are upgraded by Alembic (imported only then, to keep start-up short).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from remit.db import models
from remit.errors import DBError

# The newest migration in migrations/versions (a test checks they agree).
HEAD_REVISION = "0002_store"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision recorded in the database, or None for a new database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Create, or upgrade to, the current schema."""
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return
    if revision is None:
        with engine.begin() as conn:
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
