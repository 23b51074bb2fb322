"""Opening the provenance store for reading only, as the pages, pictures and report do.

A SQLite store is opened with ``mode=ro`` so nothing (not even a journal) is written and a
missing database is an error instead of a new empty one; other databases are opened as
configured. The schema is never created or upgraded from here.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine

from remit.config import Config
from remit.errors import DBError


def readonly_engine(config: Config) -> Engine:
    """An engine on the configured store that cannot modify it."""
    db_uri = config.backend.get("db_uri") or f"sqlite:///{config.config_dir / 'remit.db'}"
    if db_uri.startswith("sqlite:///"):
        path = Path(db_uri[len("sqlite:///"):])
        if not path.exists():
            raise DBError(
                f"no provenance store at {path}; run a workflow first (remit run FILE TASK) "
                "or point --config at the project's .remit directory"
            )
        from remit.db.readonly import sqlite_read_only_url  # immutable in a read-only .remit/

        engine = create_engine(sqlite_read_only_url(path),
                               connect_args={"check_same_thread": False})
    else:
        try:
            engine = create_engine(db_uri)
        except Exception as exc:
            raise DBError(f"cannot open database {db_uri!r}: {exc}") from exc
    try:
        with engine.connect() as conn:
            has_jobs = inspect(conn).has_table("job")
    except Exception as exc:
        raise DBError(f"cannot open database {db_uri!r}: {exc}") from exc
    if not has_jobs:
        raise DBError(f"database {db_uri!r} holds no remit provenance (no job table)")
    return engine
