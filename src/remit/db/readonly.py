"""Opening a provenance store for reading only: no database, directory or schema is created.

`remit log`, `remit tag list`, `remit db info`, `remit export` and other readers open the
store here. SQLite is opened with ``mode=ro``, or ``immutable=1`` when its directory is not
writable (a read-only ``.remit/``: SQLite could not create its WAL index there). A database
whose schema is not the current one is an error naming ``remit db upgrade``; nothing here
migrates. Writers use ``Backend`` as usual.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from remit.db.schema import HEAD_REVISION, check_tables, current_revision
from remit.errors import DBError, NoDatabaseError

_SQLITE = "sqlite:///"


def sqlite_path(db_uri: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` URI, or None for other databases."""
    return Path(db_uri[len(_SQLITE):]) if db_uri.startswith(_SQLITE) else None


def sqlite_read_only_url(path: Path) -> str:
    """A URL opening a SQLite file read-only (immutable when its directory is not writable)."""
    writable = os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)
    mode = "mode=ro" if writable else "immutable=1"
    return f"sqlite:///file:{quote(str(path.resolve()))}?{mode}&uri=true"


def connect_read_only(db_uri: str, threads: bool = False) -> Engine:
    """An engine that only reads ``db_uri``; raises NoDatabaseError when there is nothing.

    ``threads``: its SQLite connections may be used by any thread (a web server's pool).
    """
    path = sqlite_path(db_uri)
    if path is not None:
        if not path.is_file():
            raise NoDatabaseError(
                f"no remit database at {path}; `remit run FILE TASK` records one there, or "
                "pass --config DIR of a project that has one"
            )
        engine = create_engine(sqlite_read_only_url(path),
                               connect_args={"check_same_thread": False} if threads else {})
        event.listen(engine, "connect", _busy_timeout)
    else:
        try:
            engine = create_engine(db_uri)
        except Exception as exc:
            raise DBError(f"cannot open database {db_uri!r}: {exc}") from exc
    try:
        revision = current_revision(engine)
    except Exception as exc:
        engine.dispose()
        raise DBError(f"cannot read database {db_uri!r}: {exc}") from exc
    if revision is None:
        engine.dispose()
        raise NoDatabaseError(f"{db_uri!r} holds no remit schema; `remit run` creates it")
    if revision != HEAD_REVISION:
        engine.dispose()
        how = f"remit db upgrade --db sqlite:///{path}" if path is not None else "remit db upgrade"
        raise DBError(f"database {db_uri!r} is at schema {revision}, this remit reads "
                      f"{HEAD_REVISION}; run `{how}`")
    try:
        check_tables(engine)
    except DBError:
        engine.dispose()
        raise
    return engine


def _busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
