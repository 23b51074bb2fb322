"""What the provenance store still needs, for `remit gc`: reads and one update, nothing else.

A stored value is *referenced* while a call recorded at or after the cutoff returned it or
took it as an argument, or while the cache entry of such a call (an evaluation whose eval
hash a job of that age ran or looked up) points at it. Scratch objects of a job are needed
while a job with that eval hash started at or after the cutoff. Deleting files is not done
here (cli/gc.py does it through the value store and remote/scratch.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, union, update
from sqlalchemy.engine import Connection

from remit.db import models

_CHUNK = 500


def recent_eval_hashes(conn: Connection, cutoff: float) -> set[str]:
    """Eval hashes of every job that started at or after ``cutoff``."""
    job = models.job
    query = select(job.c.eval_hash).where(job.c.start_time >= cutoff).distinct()
    return {row[0] for row in conn.execute(query)}


def referenced_values(conn: Connection, cutoff: float) -> set[str]:
    """Hashes of the values that calls recorded at or after ``cutoff`` still refer to."""
    node, arg, ev, job = models.call_node, models.argument, models.evaluation, models.job
    recent_calls = select(node.c.call_hash).where(node.c.timestamp >= cutoff)
    recent_evals = select(job.c.eval_hash).where(job.c.start_time >= cutoff)
    query = union(
        select(node.c.result_hash).where(node.c.timestamp >= cutoff),
        select(arg.c.value_hash).where(arg.c.call_hash.in_(recent_calls)),
        select(ev.c.value_hash).where(ev.c.eval_hash.in_(recent_evals)),
    )
    return {row[0] for row in conn.execute(query)}


def mark_removed(conn: Connection, value_hashes: Iterable[str]) -> None:
    """Record that these values' bytes are gone from the value store (preview kept)."""
    hashes = list(value_hashes)
    value = models.value
    for start in range(0, len(hashes), _CHUNK):
        chunk = hashes[start:start + _CHUNK]
        conn.execute(update(value).where(value.c.hash.in_(chunk), value.c.storage == "store")
                     .values(storage="none", data_hash=None))
