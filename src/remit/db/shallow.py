"""Shallow cache lookups: a call served from its final recorded result, children unreplayed.

A call of a ``check_valid="shallow"`` task is a hit when the store holds a call node with the
same task hash and arguments hash, recorded in the same context, whose subtree's task hashes
(``call_subtree``) all belong to the tasks loaded now: no task below it changed. The lookup
takes one query for a batch of calls. The caller still checks the value's validity (Files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from remit.db import models as m
from remit.jobs import Job

_CHUNK = 400
SUBTREE_CHANGED = "a task it calls changed; shallow check"


@dataclass(frozen=True, slots=True)
class ShallowHit:
    """A call's recorded final result."""

    call_hash: str
    value: Any
    subtree: frozenset[str]


def check_shallow_cache(
    backend: Any, jobs: Sequence[Job], known_task_hashes: frozenset[str]
) -> dict[str, ShallowHit]:
    """Hits by job id for calls whose whole recorded subtree uses only known task hashes.

    A job with a recorded result whose subtree holds a changed task gets ``job.reason``.
    """
    wanted: dict[tuple[str, str, str], list[Job]] = {}
    stale: set[tuple[str, str, str]] = set()
    for job in jobs:
        wanted.setdefault((job.task_hash, job.args_hash, job.context_hash), []).append(job)
    hits: dict[str, ShallowHit] = {}
    found: dict[tuple[str, str, str], tuple[float, ShallowHit]] = {}
    cs, cn, val = m.call_subtree, m.call_node, m.value
    args_hashes = sorted({key[1] for key in wanted})
    with backend.engine.connect() as conn:
        for start in range(0, len(args_hashes), _CHUNK):
            query = (
                select(cs.c.call_hash, cs.c.context_hash, cs.c.task_hashes, cn.c.task_hash,
                       cn.c.args_hash, cn.c.timestamp, val.c.hash, val.c.storage, val.c.data,
                       val.c.data_hash)
                .join(cn, cn.c.call_hash == cs.c.call_hash)
                .join(val, val.c.hash == cn.c.result_hash)
                .where(cn.c.args_hash.in_(args_hashes[start:start + _CHUNK]))
            )
            for row in conn.execute(query):
                key = (row.task_hash, row.args_hash, row.context_hash)
                if key not in wanted:
                    continue
                subtree = frozenset(row.task_hashes.split())
                if not subtree <= known_task_hashes:
                    stale.add(key)  # a task below this call changed (or is gone)
                    continue
                best = found.get(key)
                if best is not None and best[0] >= row.timestamp:
                    continue
                ok, value = backend.load_value(row.storage, row.data, row.hash, row.data_hash)
                if ok:
                    found[key] = (row.timestamp, ShallowHit(row.call_hash, value, subtree))
    for key, (_, hit) in found.items():
        for job in wanted[key]:
            hits[job.id] = hit
    for key in stale - set(found):
        for job in wanted[key]:
            job.reason = SUBTREE_CHANGED
    return hits


def subtree_task_hashes(job: Job) -> frozenset[str]:
    """The hashes of the task of ``job`` and of every task called below it (cached on jobs)."""
    if job.subtree is not None:
        return job.subtree
    hashes = {job.task_hash}
    stack = list(job.children)
    while stack:
        child = stack.pop()
        if child.subtree is not None:
            hashes |= child.subtree
            continue
        if child.task_hash:
            hashes.add(child.task_hash)
        stack.extend(child.children)
    job.subtree = frozenset(hashes)
    return job.subtree


__all__ = ["SUBTREE_CHANGED", "ShallowHit", "check_shallow_cache", "subtree_task_hashes"]
