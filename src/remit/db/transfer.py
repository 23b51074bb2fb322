"""Copying executions between provenance stores: export/import files and push/pull.

An execution travels with everything `remit log` and the cache need: its jobs, their tasks,
the call nodes they reached (and the calls those made, through ``call_edge``), arguments,
cache (``evaluation``) rows, shallow-validity subtrees (``call_subtree``), values, Files,
``call_file`` links and the tags on any of them.

``copy_executions(src, dst, ids)`` first collects the keys of those rows in ``src``, asks
``dst`` which keys it already has, and reads and writes only the missing rows, in one
transaction on ``dst``; an execution or job whose status changed since (a run that finished
after an earlier push) and a tag whose value changed are updated. Running it twice copies
nothing the second time. Values move as bytes: the destination keeps a value inline or in its
own value store by its own ``min_store_size`` (an export file keeps every value inline, so it
is one portable SQLite file). This module knows stores, not the command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select, tuple_, update
from sqlalchemy.engine import Connection

from remit.db import models as m
from remit.db.backend import Backend

_CHUNK = 400
_UPDATED = {"execution": ("status", "end_time", "root_job_id"),
            "job": ("status", "end_time", "call_hash", "error", "cached"),
            "tag": ("value",)}


@dataclass
class CopyReport:
    """How many rows of each table were copied, or updated, by one transfer."""

    copied: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """``2 executions, 14 jobs, ...`` (tables with nothing copied are left out)."""
        parts = [f"{n} {table}" for table, n in self.copied.items() if n]
        parts += [f"{n} {table} updated" for table, n in self.updated.items() if n]
        return ", ".join(parts) or "nothing (the destination had everything)"


def _keys(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


def _chunks(items: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield list(items[start:start + _CHUNK])


def _where_keys(table: Table, keys: list[tuple]) -> Any:
    columns = _keys(table)
    if len(columns) == 1:
        return columns[0].in_([k[0] for k in keys])
    return tuple_(*columns).in_(keys)


def _select_rows(conn: Connection, table: Table, keys: Iterable[tuple],
                 columns: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    query = select(*(columns or table.columns))
    for chunk in _chunks(sorted(set(keys))):
        rows.extend(dict(r) for r in conn.execute(query.where(_where_keys(table, chunk)))
                    .mappings())
    return rows


def _column_in(conn: Connection, query: Any, column: Any, values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for chunk in _chunks(sorted(set(values))):
        out.extend(conn.execute(query.where(column.in_(chunk))))
    return out


def closure(conn: Connection, execution_ids: Sequence[str]) -> dict[str, set[tuple]]:
    """The primary keys, per table, of everything these executions recorded."""
    keys: dict[str, set[tuple]] = {t.name: set() for t in m.record_tables}
    keys["execution"] = {(i,) for i in execution_ids}
    jobs = _column_in(conn, select(m.job.c.id, m.job.c.task_hash, m.job.c.eval_hash,
                                   m.job.c.call_hash), m.job.c.execution_id, execution_ids)
    keys["job"] = {(j.id,) for j in jobs}
    tasks = {j.task_hash for j in jobs}
    calls = {j.call_hash for j in jobs if j.call_hash}
    frontier = set(calls)
    while frontier:
        edges = _column_in(conn, select(m.call_edge.c.parent_call_hash,
                                        m.call_edge.c.child_call_hash),
                           m.call_edge.c.parent_call_hash, frontier)
        keys["call_edge"].update((e.parent_call_hash, e.child_call_hash) for e in edges)
        frontier = {e.child_call_hash for e in edges} - calls
        calls |= frontier
    values: set[str] = set()
    for node in _column_in(conn, select(m.call_node.c.call_hash, m.call_node.c.task_hash,
                                        m.call_node.c.result_hash),
                           m.call_node.c.call_hash, calls):
        keys["call_node"].add((node.call_hash,))
        tasks.add(node.task_hash)
        values.add(node.result_hash)
    for arg in _column_in(conn, select(m.argument.c.call_hash, m.argument.c.name,
                                       m.argument.c.value_hash), m.argument.c.call_hash, calls):
        keys["argument"].add((arg.call_hash, arg.name))
        values.add(arg.value_hash)
    for ev in _column_in(conn, select(m.evaluation.c.eval_hash, m.evaluation.c.value_hash),
                         m.evaluation.c.eval_hash, {j.eval_hash for j in jobs}):
        keys["evaluation"].add((ev.eval_hash,))
        values.add(ev.value_hash)
    links = _column_in(conn, select(m.call_file.c.call_hash, m.call_file.c.value_hash,
                                    m.call_file.c.role), m.call_file.c.call_hash, calls)
    keys["call_file"] = {(c.call_hash, c.value_hash, c.role) for c in links}
    keys["file"] = {(c.value_hash,) for c in links}
    values |= {c.value_hash for c in links}
    keys["call_subtree"] = {(s.call_hash, s.context_hash) for s in _column_in(
        conn, select(m.call_subtree.c.call_hash, m.call_subtree.c.context_hash),
        m.call_subtree.c.call_hash, calls)}
    keys["task"] = {(t,) for t in tasks}
    keys["value"] = {(v,) for v in values}
    entities = {*execution_ids, *(j.id for j in jobs), *values, *tasks}
    keys["tag"] = {(t.entity_id, t.key) for t in _column_in(
        conn, select(m.tag.c.entity_id, m.tag.c.key), m.tag.c.entity_id, entities)}
    return keys


def _existing(conn: Connection, table: Table, keys: set[tuple]) -> set[tuple]:
    found: set[tuple] = set()
    for chunk in _chunks(sorted(keys)):
        found.update(tuple(r) for r in conn.execute(select(*_keys(table))
                                                    .where(_where_keys(table, chunk))))
    return found


def all_execution_ids(conn: Connection) -> list[str]:
    """Every execution in a store, oldest first."""
    return list(conn.execute(select(m.execution.c.id).order_by(m.execution.c.start_time))
                .scalars())


def copy_executions(src: Backend, dst: Backend, execution_ids: Sequence[str]) -> CopyReport:
    """Copy these executions and all they reference from ``src`` to ``dst``, where missing."""
    report = CopyReport()
    with src.engine.connect() as sconn, dst.engine.begin() as dconn:
        wanted = closure(sconn, execution_ids)
        for table in m.record_tables:
            keys = wanted.get(table.name, set())
            present = _existing(dconn, table, keys) if keys else set()
            missing = keys - present
            rows = _select_rows(sconn, table, missing) if missing else []
            if table is m.value:
                rows = [_move_value(src, dst, row) for row in rows]
            for chunk in _chunks(rows):
                dconn.execute(table.insert(), chunk)
            report.copied[table.name] = len(rows)
            if table.name in _UPDATED and present:
                report.updated[table.name] = _update_changed(sconn, dconn, table, present)
    return report


def _update_changed(sconn: Connection, dconn: Connection, table: Table,
                    keys: set[tuple]) -> int:
    """Bring rows that both sides have up to date with ``src`` (status, end time, tag value)."""
    names = _UPDATED[table.name]
    key_names = [c.name for c in _keys(table)]
    columns = [table.c[n] for n in (*key_names, *names)]
    theirs = {tuple(r[k] for k in key_names): r for r in _select_rows(dconn, table, keys, columns)}
    changed = 0
    for row in _select_rows(sconn, table, keys, columns):
        key = tuple(row[k] for k in key_names)
        if any(row[n] != theirs[key][n] for n in names):
            condition = [table.c[k] == row[k] for k in key_names]
            dconn.execute(update(table).where(*condition).values({n: row[n] for n in names}))
            changed += 1
    return changed


def _move_value(src: Backend, dst: Backend, row: dict[str, Any]) -> dict[str, Any]:
    """A value row for ``dst``: inline below its threshold, else written to its value store.
    The pickle bytes travel as they are, so the row's ``data_hash`` still proves them."""
    from remit.errors import RemitError

    data = row.get("data")
    if row["storage"] == "store":
        try:
            data = src.store.read_bytes(row["hash"])
        except (OSError, RemitError):  # gone from the source's store: a cache miss everywhere
            return row
    if data is None:
        return row
    if len(data) < dst.min_store_size:
        return {**row, "storage": "inline", "data": data}
    dst.store.write_bytes(row["hash"], data)
    return {**row, "storage": "store", "data": None}
