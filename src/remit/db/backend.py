"""The provenance store's write side and cache lookups: one Backend per run.

Owns the engine (SQLite in WAL mode by default, PostgreSQL by ``db_uri``), brings the schema
to the current Alembic head, records values (``valuestore.py`` pickles them: small ones inline,
large ones in the value store, each with the hash of its bytes, verified when read back) and
buffers every record; a flush hands the buffer to ``writer.py``'s background thread, which
writes each table with one ``executemany`` in one transaction. Cache lookups take many eval
hashes per query.
It knows nothing of executors, files' network code or the CLI; `remit log` reads through
``query.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, event, select
from sqlalchemy.engine import Engine

from remit.config import parse_int
from remit.db import models
from remit.db.schema import ensure_schema
from remit.db.writer import STAGE_AFTER, Writer, merge_leftovers
from remit.display import short_repr
from remit.errors import DBError
from remit.progress import log_line
from remit.valuestore import UnusableValue, ValueStore

DEFAULT_MIN_STORE_SIZE = 64 * 1024
_CHUNK = 500
_SEEN_LIMIT = 50_000
_MAX_PENDING = 50_000


class Backend:
    """Buffered recording and batched cache lookups against one database."""

    def __init__(
        self,
        db_uri: str,
        value_store: Path | str,
        min_store_size: int = DEFAULT_MIN_STORE_SIZE,
        read_only: bool = False,
        stage_after: int = STAGE_AFTER,
    ) -> None:
        self.db_uri = db_uri
        self.value_store = value_store
        self.min_store_size = min_store_size
        self.read_only = read_only
        self._engine: Engine | None = None
        self._rows: dict[str, dict[Any, dict[str, Any]]] = {}
        self._pending = 0
        self._seen_values: set[str] = set()
        self._verified: set[str] = set()
        self.store = ValueStore(value_store, min_store_size)
        self.warn: Callable[[str], None] = log_line
        self._writer: Writer | None = None
        self.stage_after = stage_after

    @classmethod
    def for_config_dir(cls, config_dir: Path, backend_options: dict[str, str],
                       read_only: bool = False) -> Backend:
        """Build the backend named by ``[backend]`` (default SQLite in the config dir).

        ``read_only``: never create or migrate anything (for `remit log` and other readers);
        a missing database or an old schema is a DBError saying what to run.
        """
        db_uri = backend_options.get("db_uri") or f"sqlite:///{config_dir / 'remit.db'}"
        store = backend_options.get("value_store_path") or str(config_dir / "values")
        size = parse_int(backend_options.get("value_store_min_size") or DEFAULT_MIN_STORE_SIZE,
                         "[backend] value_store_min_size", minimum=0)
        stage_after = parse_int(backend_options.get("stage_after") or STAGE_AFTER,
                                "[backend] stage_after", minimum=0)
        return cls(db_uri, store, size, read_only=read_only, stage_after=stage_after)

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
            merge_leftovers(engine)
        except DBError:
            raise
        except Exception as exc:
            raise DBError(f"cannot prepare database {self.db_uri!r}: {exc}") from exc
        return engine

    # -- values ---------------------------------------------------------------------------

    def serialize(self, value_hash: str, value: Any) -> dict[str, Any]:
        """A ``value`` row: pickle inline or in the value store (with the hash of its bytes),
        or a preview only for a value that cannot be pickled."""
        stored = self.store.serialize(value_hash, value)
        return {
            "hash": value_hash,
            "type": f"{type(value).__module__}.{type(value).__qualname__}",
            "preview": short_repr(value, 200),
            "size": stored.size,
            "storage": stored.storage,
            "data": stored.data,
            "data_hash": stored.data_hash,
        }

    def load_value(self, storage: str, data: bytes | None, value_hash: str,
                   data_hash: str | None) -> tuple[bool, Any]:
        """``(True, value)`` for a stored value row whose bytes check out, else
        ``(False, None)`` (gone, changed, never stored, or no longer loadable)."""
        try:
            return True, self.store.load(value_hash, storage, data, data_hash)
        except UnusableValue:
            return False, None

    def load_values(self, value_hashes: Sequence[str]) -> dict[str, Any]:
        """Stored values by hash (those gone or no longer loadable are absent)."""
        found: dict[str, Any] = {}
        val = models.value
        with self.engine.connect() as conn:
            for start in range(0, len(value_hashes), _CHUNK):
                chunk = list(set(value_hashes[start:start + _CHUNK]))
                query = select(val.c.hash, val.c.storage, val.c.data, val.c.data_hash) \
                    .where(val.c.hash.in_(chunk))
                for value_hash, storage, data, data_hash in conn.execute(query):
                    ok, loaded = self.load_value(storage, data, value_hash, data_hash)
                    if ok:
                        found[value_hash] = loaded
        return found

    # -- cache ----------------------------------------------------------------------------

    def check_cache(self, eval_hashes: Sequence[str]) -> dict[str, Any]:
        """Values cached for these eval hashes (misses are absent), a query per 500 hashes.

        A value whose bytes no longer match their recorded hash (or that is gone) is a miss,
        with one warning line saying so: the call runs again.
        """
        found: dict[str, Any] = {}
        ev, val = models.evaluation, models.value
        unverified = 0
        with self.engine.connect() as conn:
            for start in range(0, len(eval_hashes), _CHUNK):
                chunk = list(set(eval_hashes[start:start + _CHUNK]))
                query = (
                    select(ev.c.eval_hash, val.c.hash, val.c.storage, val.c.data,
                           val.c.data_hash)
                    .join(val, val.c.hash == ev.c.value_hash)
                    .where(ev.c.eval_hash.in_(chunk))
                )
                for eval_hash, value_hash, storage, data, data_hash in conn.execute(query):
                    if storage == "none":  # never stored, or removed by `remit gc`
                        continue
                    try:
                        found[eval_hash] = self.store.load(value_hash, storage, data, data_hash)
                    except UnusableValue as reason:
                        if data_hash is None:
                            unverified += 1
                        else:
                            self.warn(f"warning: cached value {value_hash[:8]} (call "
                                      f"{eval_hash[:8]}) is not used: {reason}; running the "
                                      "call again")
                        continue
                    self._verified.add(value_hash)
        if unverified:
            self.warn(f"warning: {unverified} cached value(s) were recorded before remit "
                      "verified stored values; running those calls again")
        return found

    # -- buffered writes --------------------------------------------------------------------

    def add(self, table: Table, key: Any, row: dict[str, Any]) -> None:
        """Buffer a row; a later row with the same key replaces it before the flush.

        Past ``_MAX_PENDING`` rows the buffer is written at once, so one call with a million
        children does not hold a million rows in memory.
        """
        rows = self._rows.setdefault(table.name, {})
        if key not in rows:
            self._pending += 1
        rows[key] = row
        if self._pending >= _MAX_PENDING:
            self.flush(wait=False)

    def add_value(self, value_hash: str, value: Any) -> None:
        """Buffer a value row once per hash (serializing it only the first time)."""
        if value_hash in self._seen_values:
            return
        if len(self._seen_values) >= _SEEN_LIMIT:  # bounded: at worst a value is written twice
            self._seen_values.clear()
            self._verified.clear()
        self._seen_values.add(value_hash)
        if value_hash in self._verified:  # just read back and checked: its row is right
            return
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

    def flush(self, wait: bool = True) -> None:
        """Hand every buffered row to the writer (one transaction); with ``wait``, return
        once everything handed over is in the store (``writer.py``)."""
        if self._pending:
            rows, self._rows, self._pending = self._rows, {}, 0
            self.writer.submit(rows)
        if wait and self._writer is not None:
            self._writer.drain()

    @property
    def writer(self) -> Writer:
        """The background writer, started on first use."""
        if self._writer is None:
            self._writer = Writer(self.engine, self.db_uri, self.stage_after)
        return self._writer

    def close(self) -> None:
        """Flush, stop the writer and release the engine."""
        try:
            self.flush(wait=False)
        finally:
            writer, self._writer = self._writer, None
            try:
                if writer is not None:
                    writer.close()
            finally:
                if self._engine is not None:
                    self._engine.dispose()
                    self._engine = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 32 MiB of page cache (default 2): the indexes on hashes take random keys, and a big run's
    # flushes otherwise spend a third of their time re-reading index pages.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()

