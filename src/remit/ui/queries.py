"""What the provenance browser, `remit viz` and `remit report` read from the store.

Read-only queries returning plain rows, shaped for pages: executions with their job counts by
state (one grouped query per page, never one per row), a job's children a page at a time (so
an execution of 10,000 jobs renders in milliseconds), and the versions of a task or a File
over time. `remit log`'s own queries live in ``remit.db.query``; these add to them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, desc, func, select
from sqlalchemy.engine import Connection, RowMapping

from remit.db import models as m

STATES = ("PENDING", "RUNNING", "FAILED", "CACHED", "DONE")


@dataclass
class Page:
    """One page of rows and whether more follow."""

    rows: list[RowMapping]
    page: int
    per_page: int
    has_next: bool


class UIQuery:
    """Read access for pages and pictures, over one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- executions -----------------------------------------------------------------------

    def executions(
        self,
        page: int = 1,
        per_page: int = 50,
        status: str | None = None,
        task: str | None = None,
        tag: tuple[str, str] | None = None,
    ) -> Page:
        """Newest executions first, filtered by status, task full name or tag ``k=v``."""
        query = select(m.execution).order_by(desc(m.execution.c.start_time))
        if status:
            query = query.where(m.execution.c.status == status.upper())
        if task:
            with_task = (
                select(m.job.c.execution_id)
                .join(m.task, m.task.c.hash == m.job.c.task_hash)
                .where(m.task.c.fullname == task)
            )
            query = query.where(m.execution.c.id.in_(with_task))
        if tag:
            tagged = select(m.tag.c.entity_id).where(m.tag.c.key == tag[0],
                                                     m.tag.c.value == tag[1])
            query = query.where(m.execution.c.id.in_(tagged))
        rows = list(self.conn.execute(
            query.offset((page - 1) * per_page).limit(per_page + 1)
        ).mappings())
        return Page(rows[:per_page], page, per_page, len(rows) > per_page)

    def state_counts(self, execution_ids: list[str]) -> dict[str, dict[str, int]]:
        """Jobs by state for each execution, in one grouped query."""
        counts: dict[str, dict[str, int]] = {eid: {} for eid in execution_ids}
        if not execution_ids:
            return counts
        rows = self.conn.execute(
            select(m.job.c.execution_id, m.job.c.status, func.count())
            .where(m.job.c.execution_id.in_(execution_ids))
            .group_by(m.job.c.execution_id, m.job.c.status)
        )
        for execution_id, status, count in rows:
            counts[execution_id][status] = count
        return counts

    def execution(self, execution_id: str) -> RowMapping | None:
        """One execution by id or unique id prefix."""
        return self.conn.execute(
            select(m.execution).where(m.execution.c.id.startswith(execution_id,
                                                                  autoescape=True))
            .order_by(m.execution.c.id).limit(1)
        ).mappings().first()

    def latest_execution(self) -> RowMapping | None:
        """The newest execution."""
        return self.conn.execute(
            select(m.execution).order_by(desc(m.execution.c.start_time)).limit(1)
        ).mappings().first()

    # -- jobs -----------------------------------------------------------------------------

    def _job_rows(self):  # type: ignore[no-untyped-def]
        return select(m.job, m.task.c.fullname).outerjoin(
            m.task, m.task.c.hash == m.job.c.task_hash
        )

    def job(self, job_id: str) -> RowMapping | None:
        """One job (with its task's full name) by id or unique id prefix."""
        return self.conn.execute(
            self._job_rows().where(m.job.c.id.startswith(job_id, autoescape=True))
            .order_by(m.job.c.id).limit(1)
        ).mappings().first()

    def children(self, parent_id: str, offset: int = 0, limit: int = 200) -> Page:
        """A page of a job's children, in start order, each with its own child count."""
        rows = list(self.conn.execute(
            self._job_rows().where(m.job.c.parent_id == parent_id)
            .order_by(m.job.c.start_time, m.job.c.id).offset(offset).limit(limit + 1)
        ).mappings())
        return Page(rows[:limit], offset // max(limit, 1) + 1, limit, len(rows) > limit)

    def child_counts(self, job_ids: list[str]) -> dict[str, int]:
        """How many children each job has, in one grouped query."""
        if not job_ids:
            return {}
        rows = self.conn.execute(
            select(m.job.c.parent_id, func.count())
            .where(m.job.c.parent_id.in_(job_ids)).group_by(m.job.c.parent_id)
        )
        return {key: count for key, count in rows}

    def execution_jobs(self, execution_id: str) -> list[RowMapping]:
        """Every job of an execution with its task name, in start order."""
        return list(self.conn.execute(
            self._job_rows().where(m.job.c.execution_id == execution_id)
            .order_by(m.job.c.start_time)
        ).mappings())

    def tags_of(self, entity_ids: list[str]) -> dict[str, dict[str, str]]:
        """Tags of many jobs or executions at once."""
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        for start in range(0, len(entity_ids), 500):
            rows = self.conn.execute(
                select(m.tag.c.entity_id, m.tag.c.key, m.tag.c.value)
                .where(m.tag.c.entity_id.in_(entity_ids[start:start + 500]))
            )
            for entity_id, key, value in rows:
                tags[entity_id][key] = value
        return tags

    def result_value(self, call_hash: str | None) -> RowMapping | None:
        """The value a finished call returned (preview, type)."""
        if not call_hash:
            return None
        return self.conn.execute(
            select(m.value).join(m.call_node, m.call_node.c.result_hash == m.value.c.hash)
            .where(m.call_node.c.call_hash == call_hash)
        ).mappings().first()

    # -- dataflow for pictures ------------------------------------------------------------

    def upstream_edges(self, call_hashes: list[str]) -> list[tuple[str, str, str]]:
        """``(upstream call, call, argument name)`` for arguments that came from a call."""
        edges: list[tuple[str, str, str]] = []
        for start in range(0, len(call_hashes), 500):
            rows = self.conn.execute(
                select(m.argument.c.upstream_call_hash, m.argument.c.call_hash,
                       m.argument.c.name)
                .where(m.argument.c.call_hash.in_(call_hashes[start:start + 500]),
                       m.argument.c.upstream_call_hash.is_not(None))
            )
            edges.extend(tuple(row) for row in rows)
        return edges

    def call_files(self, call_hashes: list[str]) -> list[tuple[str, str, str, str]]:
        """``(call, role, file value hash, path)`` for Files among arguments and results."""
        found: list[tuple[str, str, str, str]] = []
        for start in range(0, len(call_hashes), 500):
            rows = self.conn.execute(
                select(m.call_file.c.call_hash, m.call_file.c.role, m.file.c.value_hash,
                       m.file.c.path)
                .join(m.file, m.file.c.value_hash == m.call_file.c.value_hash)
                .where(m.call_file.c.call_hash.in_(call_hashes[start:start + 500]))
            )
            found.extend(tuple(row) for row in rows)
        return found

    # -- files and tasks over time --------------------------------------------------------

    def file_versions(self, path: str) -> list[RowMapping]:
        """Every recorded version of a path, newest first."""
        return list(self.conn.execute(
            select(m.file).where(m.file.c.path == path).order_by(desc(m.file.c.first_seen))
        ).mappings())

    def file_by_hash(self, value_hash: str) -> RowMapping | None:
        """A File version by its value hash."""
        return self.conn.execute(
            select(m.file).where(m.file.c.value_hash == value_hash)
        ).mappings().first()

    def task_versions(self, fullname: str) -> list[RowMapping]:
        """Each version of a task's code with when it was first and last used, oldest first."""
        uses = (
            select(m.job.c.task_hash, func.min(m.job.c.start_time).label("first_used"),
                   func.max(m.job.c.start_time).label("last_used"),
                   func.count().label("n_jobs"))
            .group_by(m.job.c.task_hash).subquery()
        )
        return list(self.conn.execute(
            select(m.task, uses.c.first_used, uses.c.last_used, uses.c.n_jobs)
            .outerjoin(uses, uses.c.task_hash == m.task.c.hash)
            .where(m.task.c.fullname == fullname)
            .order_by(uses.c.first_used.nulls_last())
        ).mappings())

    def task_by_hash(self, task_hash: str) -> RowMapping | None:
        """A task version by (a prefix of) its hash."""
        return self.conn.execute(
            select(m.task).where(m.task.c.hash.startswith(task_hash, autoescape=True))
            .order_by(m.task.c.hash).limit(1)
        ).mappings().first()

    def jobs_with_file_result(self, value_hash: str) -> list[RowMapping]:
        """Jobs whose result held this File version, newest first."""
        return list(self.conn.execute(
            self._job_rows()
            .join(m.call_file, and_(m.call_file.c.call_hash == m.job.c.call_hash,
                                    m.call_file.c.role == "result"))
            .where(m.call_file.c.value_hash == value_hash)
            .order_by(desc(m.job.c.start_time)).limit(50)
        ).mappings())
