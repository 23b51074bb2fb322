"""Writing buffered provenance rows: on a background thread, and staged in bulk on SQLite.

``Backend`` buffers rows by table; ``Writer.submit`` hands a buffer to one background thread
that writes it in one transaction, so the scheduler goes on evaluating while the database
works (SQLite and the PostgreSQL driver release the GIL while they do). At most one buffer
waits behind the one being written: a scheduler faster than the disk waits at the
hand-off, so memory stays bounded. ``Writer.drain`` returns once everything handed over is
in the real tables, and raises the first error the thread met (as a DBError naming the
store); so does the next ``submit`` after a failed write.

Staging (SQLite only). Every recorded row goes into a dozen indexes keyed by random hashes;
once a store holds a few hundred thousand calls, each small batch dirties a page of every
index per row, and writing those pages costs far more than the rows. So once this writer
has written ``stage_after`` rows (``[backend] stage_after``, default ``STAGE_AFTER``), rows
go to the index-free ``stage_*`` tables (plain appends), and are merged into the real
tables by one ``INSERT ... SELECT`` per table when ``merge_rows`` rows wait,
when the oldest has waited ``merge_age`` seconds, and on ``drain``. Each append and each
merge is one transaction, so a run killed at any moment loses nothing it had handed over
and committed: rows a dead run left staged are merged when the store is next opened for
writing (``merge_leftovers``). Until a merge, staged rows are invisible to readers
(`remit log`, the UI, another run's cache lookups); a small run never stages.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine

from remit.db import models
from remit.db.schema import damaged_message
from remit.errors import DBError

STAGE_AFTER = 100_000  # rows written directly before a writer starts staging
MERGE_ROWS = 1_000_000  # staged rows that trigger a merge
MERGE_AGE = 30.0  # seconds the oldest staged row may wait for its merge
_UPSERTED = ("job", "execution", "evaluation", "value")  # a later row replaces an earlier one
_MERGE = object()  # queue marker: merge everything staged

# Held while a writer thread is inside the database driver. The process executor forks its
# workers; a fork while another thread holds SQLite's internal mutexes (its allocator's,
# say) would leave them locked forever in the child, and a task there that opens a database
# would hang. So a fork waits for the write in progress to end.
_IN_DRIVER = threading.Lock()
os.register_at_fork(before=_IN_DRIVER.acquire, after_in_parent=_IN_DRIVER.release,
                    after_in_child=_IN_DRIVER.release)

Rows = dict[str, dict[Any, dict[str, Any]]]


class Writer:
    """A background thread writing row buffers to one database, in hand-off order."""

    def __init__(self, engine: Engine, db_uri: str, stage_after: int = STAGE_AFTER,
                 merge_rows: int = MERGE_ROWS, merge_age: float = MERGE_AGE) -> None:
        self.engine = engine
        self.db_uri = db_uri
        self.stage_after, self.merge_rows, self.merge_age = stage_after, merge_rows, merge_age
        self.sqlite = engine.dialect.name == "sqlite"
        self._queue: deque[Any] = deque()  # the item being written stays first until done
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._written = 0
        self._staged = 0
        self._staged_since = 0.0
        self._statements: dict[str, Any] = {}  # table name -> INSERT (built once)
        self._compiled: dict[str, Any] = {}  # table name -> its SQLite SQL

    def submit(self, rows: Rows) -> None:
        """Hand a buffer over (waiting while another one already waits)."""
        with self._cond:
            self._raise_error()
            while len(self._queue) >= 2 and self._error is None:
                self._cond.wait()
            self._raise_error()
            self._queue.append(rows)
            self._start()
            self._cond.notify_all()

    def drain(self) -> None:
        """Wait until everything handed over is written and merged; raise a write's error."""
        with self._cond:
            if self._thread is None:  # nothing was ever handed over (nor staged)
                self._raise_error()
                return
            self._queue.append(_MERGE)
            self._start()
            self._cond.notify_all()
            while self._queue:
                self._cond.wait()
            self._raise_error()

    def close(self) -> None:
        """Drain, then stop the thread."""
        try:
            self.drain()
        finally:
            with self._cond:
                thread, self._thread = self._thread, None
                self._cond.notify_all()
            if thread is not None:
                thread.join()

    # -- the thread -----------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="remit-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while not self._queue and self._thread is me:
                    self._cond.wait()
                if not self._queue:
                    return
                item = self._queue[0]
            try:
                with _IN_DRIVER:
                    if item is _MERGE:
                        self._merge()
                    else:
                        self._write(item)
            except BaseException as exc:  # reported to the scheduler at its next hand-off
                with self._cond:
                    self._error = self._error or exc
            with self._cond:
                self._queue.popleft()
                self._cond.notify_all()

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error if isinstance(error, DBError) else store_error(self.db_uri, error) \
                from error

    def _write(self, rows: Rows) -> None:
        try:
            self._write_rows(rows)
        except Exception as exc:
            if not _caused_by(exc, UnicodeEncodeError):
                raise
            # text that is not UTF-8 (e.g. a file name's undecodable bytes): escape it
            self._write_rows({name: {key: _escaped(row) for key, row in batch.items()}
                              for name, batch in rows.items()})
        count = sum(len(batch) for batch in rows.values())
        self._written += count
        if self._staged and (self._staged >= self.merge_rows
                             or time.monotonic() - self._staged_since >= self.merge_age):
            self._merge()

    def _write_rows(self, rows: Rows) -> None:
        """One transaction. On PostgreSQL rows go in key order, so that schedulers writing the
        same rows at once take their row locks in the same order and never deadlock."""
        stage = self.sqlite and self._written >= self.stage_after
        staged = 0
        with self.engine.begin() as conn:
            for table in models.record_tables:
                batch = rows.get(table.name)
                if not batch:
                    continue
                if stage and table.name in models.staging:
                    _append(conn, models.staging[table.name], list(batch.values()))
                    staged += len(batch)
                elif self.sqlite:
                    self._insert_sqlite(conn, table, list(batch.values()))
                else:
                    conn.execute(self._upsert(conn, table),
                                 [batch[key] for key in sorted(batch)])
        if staged:
            self._staged_since = self._staged_since if self._staged else time.monotonic()
            self._staged += staged

    def _insert_sqlite(self, conn: Connection, table: Table, batch: list[dict[str, Any]]) -> None:
        # The compiled SQL with plain tuples, skipping SQLAlchemy's per-row parameter
        # processing (a third of a big flush's time); the values are already SQLite types.
        compiled = self._compiled.get(table.name)
        if compiled is None:
            compiled = self._upsert(conn, table).compile(
                dialect=conn.dialect, column_keys=[c.name for c in table.columns])
            self._compiled[table.name] = compiled
        keys = compiled.positiontup
        conn.exec_driver_sql(compiled.string, [tuple(map(row.get, keys)) for row in batch])

    def _upsert(self, conn: Connection, table: Table) -> Any:
        statement = self._statements.get(table.name)
        if statement is None:
            statement = self._statements[table.name] = _upsert(conn, table)
        return statement

    def _merge(self) -> None:
        if self.sqlite and self._staged:
            with self.engine.begin() as conn:
                merge_staged(conn)
        self._staged = 0


def merge_staged(conn: Connection) -> None:
    """Move every staged row into its real table.

    Rows go in the order they were staged (sorting them by key first saved little and took
    memory; bench/README.md): a later row of an upserted table (a job's final state)
    replaces an earlier one; for the other tables the first row of a key stays, as with
    direct writes.
    """
    for name, stage in models.staging.items():
        table = models.metadata.tables[name]
        columns = ", ".join(c.name for c in table.columns)
        verb = "INSERT OR REPLACE" if name in _UPSERTED else "INSERT OR IGNORE"
        conn.exec_driver_sql(f"{verb} INTO {name} ({columns}) SELECT {columns} "
                             f"FROM {stage.name} ORDER BY rowid")
        conn.exec_driver_sql(f"DELETE FROM {stage.name}")


def merge_leftovers(engine: Engine) -> None:
    """Merge rows a run that died left staged (SQLite; nothing to do elsewhere)."""
    if engine.dialect.name != "sqlite":
        return
    probe = " UNION ALL ".join(f"SELECT 1 FROM (SELECT 1 FROM {t.name} LIMIT 1)"
                               for t in models.staging.values())
    with engine.connect() as conn:
        if conn.exec_driver_sql(probe).first() is None:
            return
    with engine.begin() as conn:
        merge_staged(conn)


def _append(conn: Connection, stage: Table, batch: list[dict[str, Any]]) -> None:
    columns = [c.name for c in stage.columns]
    conn.exec_driver_sql(
        f"INSERT INTO {stage.name} ({', '.join(columns)}) VALUES "
        f"({', '.join('?' * len(columns))})",
        [tuple(map(row.get, columns)) for row in batch])


def _upsert(conn: Connection, table: Table) -> Any:
    """INSERT that replaces the row of an upserted table and skips an existing one else."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    if table.name in _UPSERTED:
        keys = [c.name for c in table.primary_key.columns]
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        return stmt.on_conflict_do_update(index_elements=keys, set_=updates)
    return stmt.on_conflict_do_nothing()


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind) or isinstance(getattr(seen, "orig", None), kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _escaped(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(v, str) else v
            for k, v in row.items()}


def store_error(db_uri: str, exc: BaseException) -> DBError:
    """DBError for a failed write; a vanished table says the store is damaged, and the fix."""
    text = str(exc)
    match = re.search(r'no such table: (\w+)|relation "(\w+)" does not exist', text)
    if match:
        return DBError(damaged_message(db_uri, [match.group(1) or match.group(2)]))
    return DBError(f"cannot record provenance in {db_uri!r}: {text}")
