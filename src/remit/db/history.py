"""Earlier calls of the same tasks, read for explanations (why a call ran, not from cache).

Read-only, batched: each function takes many tasks or hashes and asks in chunks of a few
hundred, so explaining 10,000 misses costs a handful of queries. What the rows mean is
``explain.py``'s business; this module only fetches them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from remit.db import models as m

_CHUNK = 500
CANDIDATES_PER_TASK = 1000  # newest earlier calls considered per task version


@dataclass(frozen=True)
class EarlierCall:
    """A finished call recorded before: which task version, which arguments, when."""

    call_hash: str
    task_hash: str
    args_hash: str
    timestamp: float


def _chunks(items: Sequence[str]) -> Iterable[list[str]]:
    unique = sorted(set(items))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start:start + _CHUNK]


def task_versions(conn: Connection, fullnames: Sequence[str]) -> dict[str, dict[str, dict]]:
    """fullname -> {task_hash: code deps recorded with it ({} when not recorded)}."""
    found: dict[str, dict[str, dict]] = {}
    for chunk in _chunks(fullnames):
        query = select(m.task.c.fullname, m.task.c.hash, m.task.c.deps) \
            .where(m.task.c.fullname.in_(chunk))
        for fullname, task_hash, deps in conn.execute(query):
            found.setdefault(fullname, {})[task_hash] = json.loads(deps) if deps else {}
    return found


def existing_evaluations(conn: Connection, eval_hashes: Sequence[str]) -> set[str]:
    """The eval hashes that have a cache row (whether or not its value still loads)."""
    found: set[str] = set()
    for chunk in _chunks(eval_hashes):
        query = select(m.evaluation.c.eval_hash).where(m.evaluation.c.eval_hash.in_(chunk))
        found.update(conn.execute(query).scalars())
    return found


def calls_with_args(
    conn: Connection, task_hashes: Sequence[str], args_hashes: Sequence[str]
) -> list[EarlierCall]:
    """Finished calls of these task versions with exactly these argument hashes."""
    calls: list[EarlierCall] = []
    node = m.call_node
    wanted = set(task_hashes)
    for args in _chunks(args_hashes):  # by the args_hash index; task versions are few
        query = select(node.c.call_hash, node.c.task_hash, node.c.args_hash, node.c.timestamp) \
            .where(node.c.args_hash.in_(args))
        calls.extend(EarlierCall(*row) for row in conn.execute(query) if row[1] in wanted)
    return calls


def newest_calls(conn: Connection, task_hash: str, before: float | None = None,
                 limit: int = CANDIDATES_PER_TASK) -> list[EarlierCall]:
    """The newest finished calls of one task version (before a time, if given)."""
    node = m.call_node
    query = select(node.c.call_hash, node.c.task_hash, node.c.args_hash, node.c.timestamp) \
        .where(node.c.task_hash == task_hash)
    if before is not None:
        query = query.where(node.c.timestamp < before)
    query = query.order_by(node.c.timestamp.desc()).limit(limit)
    return [EarlierCall(*row) for row in conn.execute(query)]


def argument_hashes(conn: Connection, call_hashes: Sequence[str]) -> dict[str, dict[str, str]]:
    """call hash -> {argument name: value hash}."""
    found: dict[str, dict[str, str]] = {}
    arg = m.argument
    for chunk in _chunks(call_hashes):
        query = select(arg.c.call_hash, arg.c.name, arg.c.value_hash) \
            .where(arg.c.call_hash.in_(chunk))
        for call_hash, name, value_hash in conn.execute(query):
            found.setdefault(call_hash, {})[name] = value_hash
    return found


def file_paths(conn: Connection, value_hashes: Sequence[str]) -> dict[str, str]:
    """File value hash -> path, for the hashes that are recorded Files."""
    found: dict[str, str] = {}
    for chunk in _chunks(value_hashes):
        query = select(m.file.c.value_hash, m.file.c.path).where(m.file.c.value_hash.in_(chunk))
        found.update({key: value for key, value in conn.execute(query)})
    return found


def jobs_of_calls(conn: Connection, call_hashes: Sequence[str]) -> dict[str, tuple[str, str]]:
    """call hash -> (job id, execution id) of the newest job that computed it (not cached)."""
    found: dict[str, tuple[str, str]] = {}
    job = m.job
    for chunk in _chunks(call_hashes):
        query = select(job.c.call_hash, job.c.id, job.c.execution_id) \
            .where(job.c.call_hash.in_(chunk), job.c.cached.is_(False)) \
            .order_by(job.c.start_time)
        for call_hash, job_id, execution_id in conn.execute(query):
            found[call_hash] = (job_id, execution_id)  # the newest wins: rows come oldest first
    return found
