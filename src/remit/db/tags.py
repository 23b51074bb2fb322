"""Tags: key/value labels on executions, jobs, tasks, values and Files (the ``tag`` table).

Resolves what an id prefix names (an execution, a job, a value or a File's value), lists
tags, finds what carries a tag, and adds or removes tags. Executors' tags (the AWS Batch job
id) and task/execution tags recorded during a run live in the same table. Plain reads and
writes on a connection; rendering belongs to ``cli/tag.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from remit.db import models as m
from remit.errors import DBError


def _columns() -> tuple[tuple[str, Any], ...]:
    return (("execution", m.execution.c.id), ("job", m.job.c.id),
            ("file", m.file.c.value_hash), ("value", m.value.c.hash), ("task", m.task.c.hash))


@dataclass(frozen=True)
class Entity:
    """Something that can carry tags: its kind and full id (or value hash)."""

    kind: str
    id: str


def resolve(conn: Connection, prefix: str) -> Entity:
    """The one execution, job, task, File or value whose id starts with ``prefix``."""
    found: list[Entity] = []
    for kind, column in _columns():
        rows = conn.execute(select(column).where(column.startswith(prefix, autoescape=True))
                            .limit(2)).scalars().all()
        for entity_id in rows:
            if not any(e.id == entity_id for e in found):
                found.append(Entity(kind, entity_id))
    if not found:
        raise DBError(f"no execution, job, task, value or File matches {prefix!r}; "
                      "`remit log` lists executions and jobs")
    if len(found) > 1:
        names = ", ".join(f"{e.kind} {e.id[:12]}" for e in found[:4])
        raise DBError(f"id {prefix!r} is ambiguous ({names}); give more characters")
    return found[0]


def kind_of(conn: Connection, entity_id: str) -> str:
    """What a tagged id is: execution, job, file, value, task (or 'unknown')."""
    for kind, column in _columns():
        if conn.execute(select(column).where(column == entity_id)).first() is not None:
            return kind
    return "unknown"


def tags_of(conn: Connection, entity_id: str) -> dict[str, str]:
    """An entity's tags by key."""
    rows = conn.execute(select(m.tag.c.key, m.tag.c.value).where(m.tag.c.entity_id == entity_id)
                        .order_by(m.tag.c.key))
    return {key: value for key, value in rows}


def find(conn: Connection, filters: dict[str, str | None], limit: int = 100
         ) -> list[tuple[str, str, str]]:
    """``(entity_id, key, value)`` rows of every entity carrying all ``filters``
    (``key: None`` matches any value); every tag when there are no filters."""
    query = select(m.tag.c.entity_id, m.tag.c.key, m.tag.c.value)
    for key, value in filters.items():
        match = select(m.tag.c.entity_id).where(m.tag.c.key == key)
        if value is not None:
            match = match.where(m.tag.c.value == value)
        query = query.where(m.tag.c.entity_id.in_(match))
    query = query.order_by(m.tag.c.entity_id, m.tag.c.key).limit(limit)
    return [(entity_id, key, value) for entity_id, key, value in conn.execute(query)]


def add(conn: Connection, entity_id: str, tags: dict[str, str]) -> None:
    """Set tags on an entity (a key it already has takes the new value)."""
    if not tags:
        return
    conn.execute(delete(m.tag).where(m.tag.c.entity_id == entity_id,
                                     m.tag.c.key.in_(list(tags))))
    conn.execute(m.tag.insert(), [{"entity_id": entity_id, "key": k, "value": v}
                                  for k, v in tags.items()])


def remove(conn: Connection, entity_id: str, keys: dict[str, str | None]) -> int:
    """Remove tags by key (and value, when given); return how many were removed."""
    removed = 0
    for key, value in keys.items():
        statement = delete(m.tag).where(m.tag.c.entity_id == entity_id, m.tag.c.key == key)
        if value is not None:
            statement = statement.where(m.tag.c.value == value)
        removed += conn.execute(statement).rowcount or 0
    return removed
