"""What `remit log` asks the provenance store: executions, jobs, call nodes, files, dataflow.

Read-only queries returning plain rows (mappings); rendering is the CLI's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import desc, func, select
from sqlalchemy.engine import Connection, RowMapping

from remit.db import models as m


@dataclass
class DataflowStep:
    """One call in a value's upstream dataflow and the arguments it was given."""

    call_hash: str
    task_name: str
    arguments: list[RowMapping]
    upstream: dict[str, DataflowStep] = field(default_factory=dict)


class Query:
    """Read access to one provenance database."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- executions and jobs --------------------------------------------------------------

    def recent_executions(self, limit: int = 20) -> list[RowMapping]:
        """Newest executions first, each with its number of jobs."""
        jobs = (
            select(m.job.c.execution_id, func.count().label("n_jobs"))
            .group_by(m.job.c.execution_id).subquery()
        )
        query = (
            select(m.execution, func.coalesce(jobs.c.n_jobs, 0).label("n_jobs"))
            .outerjoin(jobs, jobs.c.execution_id == m.execution.c.id)
            .order_by(desc(m.execution.c.start_time)).limit(limit)
        )
        return list(self.conn.execute(query).mappings())

    def find(self, prefix: str) -> tuple[str, RowMapping] | None:
        """An execution, job, call node, task or value whose id/hash starts with prefix."""
        for kind, table, column in (
            ("execution", m.execution, m.execution.c.id),
            ("job", m.job, m.job.c.id),
            ("call_node", m.call_node, m.call_node.c.call_hash),
            ("task", m.task, m.task.c.hash),
            ("value", m.value, m.value.c.hash),
        ):
            row = self.conn.execute(
                select(table).where(column.startswith(prefix, autoescape=True))
                .order_by(column).limit(1)
            ).mappings().first()
            if row is not None:
                return kind, row
        return None

    def execution_jobs(self, execution_id: str) -> list[RowMapping]:
        """All jobs of an execution, in start order."""
        return list(self.conn.execute(
            select(m.job).where(m.job.c.execution_id == execution_id)
            .order_by(m.job.c.start_time)
        ).mappings())

    def job(self, job_id: str) -> RowMapping | None:
        """One job by full id."""
        return self.conn.execute(select(m.job).where(m.job.c.id == job_id)).mappings().first()

    def job_ancestors(self, job: RowMapping) -> list[RowMapping]:
        """The job's parents, nearest first."""
        chain = []
        parent_id = job["parent_id"]
        while parent_id:
            parent = self.job(parent_id)
            if parent is None:
                break
            chain.append(parent)
            parent_id = parent["parent_id"]
        return chain

    def tags(self, entity_id: str) -> dict[str, str]:
        """Tags recorded on a job or execution (e.g. its AWS Batch job id)."""
        rows = self.conn.execute(select(m.tag.c.key, m.tag.c.value)
                                 .where(m.tag.c.entity_id == entity_id).order_by(m.tag.c.key))
        return {key: value for key, value in rows}

    def task(self, task_hash: str) -> RowMapping | None:
        """A task row by hash."""
        return self.conn.execute(select(m.task).where(m.task.c.hash == task_hash)) \
            .mappings().first()

    def call_node(self, call_hash: str) -> RowMapping | None:
        """A call node row by hash."""
        return self.conn.execute(
            select(m.call_node).where(m.call_node.c.call_hash == call_hash)
        ).mappings().first()

    def arguments(self, call_hash: str) -> list[RowMapping]:
        """A call's arguments with their value previews, in order."""
        return list(self.conn.execute(
            select(m.argument, m.value.c.preview, m.value.c.type)
            .join(m.value, m.value.c.hash == m.argument.c.value_hash)
            .where(m.argument.c.call_hash == call_hash)
            .order_by(m.argument.c.position.nulls_last(), m.argument.c.name)
        ).mappings())

    def value(self, value_hash: str) -> RowMapping | None:
        """A value row (preview, type, storage) by hash."""
        return self.conn.execute(select(m.value).where(m.value.c.hash == value_hash)) \
            .mappings().first()

    def jobs_for_call(self, call_hash: str) -> list[RowMapping]:
        """Jobs that evaluated a call node, first finished first."""
        return list(self.conn.execute(
            select(m.job).where(m.job.c.call_hash == call_hash)
            .order_by(m.job.c.end_time.nulls_last())
        ).mappings())

    # -- files ----------------------------------------------------------------------------

    def files(self, path: str | None = None, limit: int = 100) -> list[RowMapping]:
        """Recorded Files (optionally one path), newest first."""
        query = select(m.file).order_by(desc(m.file.c.first_seen)).limit(limit)
        if path is not None:
            query = query.where(m.file.c.path == path)
        return list(self.conn.execute(query).mappings())

    def producer(self, file_value_hash: str) -> RowMapping | None:
        """The job that produced this File version: in the newest execution that made it,
        the first call to return it (the deepest; its callers only pass it on)."""
        return self.conn.execute(
            select(m.job)
            .join(m.call_file, m.call_file.c.call_hash == m.job.c.call_hash)
            .join(m.execution, m.execution.c.id == m.job.c.execution_id)
            .where(m.call_file.c.value_hash == file_value_hash, m.call_file.c.role == "result",
                   m.job.c.cached.is_(False))
            .order_by(m.execution.c.start_time.desc(), m.job.c.end_time).limit(1)
        ).mappings().first()

    def job_files(self, call_hash: str) -> dict[str, list[RowMapping]]:
        """Files among a call's arguments ('arg') and in its result ('result')."""
        rows = self.conn.execute(
            select(m.call_file.c.role, m.file)
            .join(m.file, m.file.c.value_hash == m.call_file.c.value_hash)
            .where(m.call_file.c.call_hash == call_hash).order_by(m.file.c.path)
        ).mappings()
        grouped: dict[str, list[RowMapping]] = {"arg": [], "result": []}
        for row in rows:
            grouped[row["role"]].append(row)
        return grouped

    def parents_returning(self, call_hash: str, file_value_hash: str) -> list[RowMapping]:
        """Parent calls of ``call_hash`` whose results also hold this File."""
        return list(self.conn.execute(
            select(m.call_node, m.task.c.fullname)
            .join(m.call_edge, m.call_edge.c.parent_call_hash == m.call_node.c.call_hash)
            .join(m.call_file, (m.call_file.c.call_hash == m.call_node.c.call_hash)
                  & (m.call_file.c.role == "result"))
            .join(m.task, m.task.c.hash == m.call_node.c.task_hash)
            .where(m.call_edge.c.child_call_hash == call_hash,
                   m.call_file.c.value_hash == file_value_hash)
        ).mappings())

    def dataflow(self, call_hash: str, depth: int = 8) -> DataflowStep | None:
        """The call and, recursively, the calls whose results became its arguments.

        An argument that is a File produced elsewhere (an earlier run, another branch) is
        followed through the job that produced that File.
        """
        node = self.call_node(call_hash)
        if node is None:
            return None
        task = self.task(node["task_hash"])
        step = DataflowStep(call_hash, task["fullname"] if task else "?", self.arguments(call_hash))
        if depth <= 0:
            return step
        for arg in step.arguments:
            upstream = arg["upstream_call_hash"]
            if upstream is None and arg["type"].endswith((".File", ".Dir")):
                producer = self.producer(arg["value_hash"])
                upstream = producer["call_hash"] if producer else None
            if upstream and upstream != call_hash:
                child = self.dataflow(upstream, depth - 1)
                if child is not None:
                    step.upstream[arg["name"]] = child
        return step
