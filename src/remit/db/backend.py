"""The provenance store's write side and cache lookups: one Backend per run.

Owns the engine (SQLite in WAL mode by default, PostgreSQL by ``db_uri``), brings the schema
to the current Alembic head, serializes values (small pickles inline, large ones in the value
store directory) and buffers every record so that a flush writes each table with one
``executemany`` in one transaction. Cache lookups take many eval hashes per query.
It knows nothing of executors, files' network code or the CLI; `remit log` reads through
``query.py``.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, event, select
from sqlalchemy.engine import Engine

from remit.db import models
from remit.db.schema import ensure_schema
from remit.display import short_repr
from remit.errors import DBError, SerializationError
from remit.pickling import dumps

DEFAULT_MIN_STORE_SIZE = 64 * 1024
_CHUNK = 500
_MISSING = object()


class Backend:
    """Buffered recording and batched cache lookups against one database."""

    def __init__(
        self,
        db_uri: str,
        value_store: Path,
        min_store_size: int = DEFAULT_MIN_STORE_SIZE,
        read_only: bool = False,
    ) -> None:
        self.db_uri = db_uri
        self.value_store = value_store
        self.min_store_size = min_store_size
        self.read_only = read_only
        self._engine: Engine | None = None
        self._rows: dict[str, dict[Any, dict[str, Any]]] = {}
        self._pending = 0
        self._seen_values: set[str] = set()
        self._statements: dict[str, Any] = {}

    @classmethod
    def for_config_dir(cls, config_dir: Path, backend_options: dict[str, str],
                       read_only: bool = False) -> Backend:
        """Build the backend named by ``[backend]`` (default SQLite in the config dir).

        ``read_only``: never create or migrate anything (for `remit log` and other readers);
        a missing database or an old schema is a DBError saying what to run.
        """
        db_uri = backend_options.get("db_uri") or f"sqlite:///{config_dir / 'remit.db'}"
        store = Path(backend_options.get("value_store_path") or config_dir / "values")
        size = int(backend_options.get("value_store_min_size", DEFAULT_MIN_STORE_SIZE))
        return cls(db_uri, store, size, read_only=read_only)

    @property
    def engine(self) -> Engine:
        """The engine, created and migrated on first use."""
        if self._engine is None:
            self._engine = self._connect()
        return self._engine

    def _connect(self) -> Engine:
        if self.read_only:
            from remit.db.readonly import connect_read_only

            return connect_read_only(self.db_uri)
        if self.db_uri.startswith("sqlite:///"):
            folder = Path(self.db_uri[len("sqlite:///"):]).parent
            folder.mkdir(parents=True, exist_ok=True)
            if not os.access(folder, os.W_OK):
                raise DBError(f"{folder} is read-only, so nothing can be recorded there; "
                              "make it writable or pass --config DIR of a writable store")
        try:
            engine = create_engine(self.db_uri)
        except Exception as exc:
            raise DBError(f"cannot open database {self.db_uri!r}: {exc}") from exc
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        try:
            ensure_schema(engine)
        except DBError:
            raise
        except Exception as exc:
            raise DBError(f"cannot prepare database {self.db_uri!r}: {exc}") from exc
        return engine

    # -- values ---------------------------------------------------------------------------

    def serialize(self, value_hash: str, value: Any) -> dict[str, Any]:
        """A ``value`` row for a value: pickle inline, in the value store, or preview only."""
        data: bytes | None
        try:
            data = dumps(value)
        except SerializationError:
            data = None
        row = {
            "hash": value_hash,
            "type": f"{type(value).__module__}.{type(value).__qualname__}",
            "preview": short_repr(value, 200),
            "size": len(data) if data is not None else 0,
            "storage": "none",
            "data": None,
        }
        if data is None:
            return row
        if len(data) >= self.min_store_size:
            path = self._store_path(value_hash)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_bytes(data)
                os.replace(tmp, path)
            row["storage"] = "store"
        else:
            row["storage"], row["data"] = "inline", data
        return row

    def _store_path(self, value_hash: str) -> Path:
        return self.value_store / value_hash[:2] / value_hash

    def load_value(self, storage: str, data: bytes | None, value_hash: str) -> tuple[bool, Any]:
        """``(True, value)`` for a stored value row, ``(False, None)`` when it cannot load."""
        value = self._deserialize(storage, data, value_hash)
        return (False, None) if value is _MISSING else (True, value)

    def _deserialize(self, storage: str, data: bytes | None, value_hash: str) -> Any:
        try:
            if storage == "inline" and data is not None:
                return pickle.loads(data)
            if storage == "store":
                return pickle.loads(self._store_path(value_hash).read_bytes())
        except Exception:  # gone from the store, or its class no longer importable: a miss
            return _MISSING
        return _MISSING

    def load_values(self, value_hashes: Sequence[str]) -> dict[str, Any]:
        """Stored values by hash (those gone or no longer loadable are absent)."""
        found: dict[str, Any] = {}
        val = models.value
        with self.engine.connect() as conn:
            for start in range(0, len(value_hashes), _CHUNK):
                chunk = list(set(value_hashes[start:start + _CHUNK]))
                query = select(val.c.hash, val.c.storage, val.c.data).where(val.c.hash.in_(chunk))
                for value_hash, storage, data in conn.execute(query):
                    loaded = self._deserialize(storage, data, value_hash)
                    if loaded is not _MISSING:
                        found[value_hash] = loaded
        return found

    # -- cache ----------------------------------------------------------------------------

    def check_cache(self, eval_hashes: Sequence[str]) -> dict[str, Any]:
        """Values cached for these eval hashes (misses are absent), a query per 500 hashes."""
        found: dict[str, Any] = {}
        ev, val = models.evaluation, models.value
        with self.engine.connect() as conn:
            for start in range(0, len(eval_hashes), _CHUNK):
                chunk = list(set(eval_hashes[start:start + _CHUNK]))
                query = (
                    select(ev.c.eval_hash, val.c.hash, val.c.storage, val.c.data)
                    .join(val, val.c.hash == ev.c.value_hash)
                    .where(ev.c.eval_hash.in_(chunk))
                )
                for eval_hash, value_hash, storage, data in conn.execute(query):
                    loaded = self._deserialize(storage, data, value_hash)
                    if loaded is not _MISSING:
                        found[eval_hash] = loaded
        return found

    # -- buffered writes --------------------------------------------------------------------

    def add(self, table: Table, key: Any, row: dict[str, Any]) -> None:
        """Buffer a row; a later row with the same key replaces it before the flush."""
        rows = self._rows.setdefault(table.name, {})
        if key not in rows:
            self._pending += 1
        rows[key] = row

    def add_value(self, value_hash: str, value: Any) -> None:
        """Buffer a value row once per hash (serializing it only the first time)."""
        if value_hash in self._seen_values:
            return
        self._seen_values.add(value_hash)
        self.add(models.value, value_hash, self.serialize(value_hash, value))

    def note_value(self, value_hash: str) -> bool:
        """Mark a value hash as buffered; False if it already was."""
        if value_hash in self._seen_values:
            return False
        self._seen_values.add(value_hash)
        return True

    @property
    def pending(self) -> int:
        """Number of buffered rows."""
        return self._pending

    def flush(self) -> None:
        """Write every buffered row in one transaction (upserts for jobs and executions)."""
        if not self._pending:
            return
        rows, self._rows, self._pending = self._rows, {}, 0
        try:
            with self.engine.begin() as conn:
                for table in models.metadata.sorted_tables:
                    batch = rows.get(table.name)
                    if batch:
                        conn.execute(self._insert(table), list(batch.values()))
        except Exception as exc:
            raise DBError(f"cannot record provenance in {self.db_uri!r}: {exc}") from exc

    def _insert(self, table: Table) -> Any:
        statement = self._statements.get(table.name)
        if statement is None:
            statement = self._statements[table.name] = self._build_insert(table)
        return statement

    def _build_insert(self, table: Table) -> Any:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(table)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table)
        if table.name in ("job", "execution", "evaluation"):
            keys = [c.name for c in table.primary_key.columns]
            updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
            return stmt.on_conflict_do_update(index_elements=keys, set_=updates)
        return stmt.on_conflict_do_nothing()

    def close(self) -> None:
        """Flush and release the engine."""
        try:
            self.flush()
        finally:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

