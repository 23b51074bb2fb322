"""The provenance schema as SQLAlchemy Core tables (Core keeps `remit run` start-up short).

- ``execution``: one `remit run` (argv, root job, times, status, and the heartbeat,
  pid and host of the scheduler running it).
- ``job``: one evaluation of a call in an execution (status, times, executor, error text,
  and why it ran instead of coming from the cache).
- ``task``: a task's full name, hash, source and the code dependencies its hash covers.
- ``call_node``: a finished call: task hash + args hash -> result hash; ``call_edge`` links
  a call to the calls it made; ``argument`` holds each argument's value and, when the value
  came from another call's result, that call (the dataflow).
- ``evaluation``: the cache: eval hash -> the value the task body returned.
- ``value``: every recorded value by hash (type, preview, pickle inline or in the value store,
  and the hash of those pickle bytes: a value whose bytes no longer match is not served).
- ``file``: Files seen as arguments or results (path and content hash); ``call_file`` links
  each call to the Files among its arguments and in its result.
- ``call_subtree``: for calls of ``check_valid="shallow"`` tasks, the hashes of every task in
  the call's subtree (and the context it ran in), so a re-run can serve the call's final
  result without replaying its children while none of those tasks changed.
- ``tag``: key/value tags on executions, jobs, tasks and values (entity id: execution id, job
  id, task hash or value hash), e.g. the AWS Batch job id or ``@task(tags=...)``.

``record_tables`` are those, in dependency order. ``staging`` holds, for every record table
but ``execution``, a ``stage_<name>`` table with the same columns and no key or index: a big
run on SQLite appends its rows there and merges them into the real tables in bulk
(``writer.py``), because inserting into a dozen hash-keyed indexes row batch by row batch
costs a big store most of its time.

Alembic migrations in ``migrations/`` create exactly this schema; a test keeps them in step.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

HASH = String(40)
UUID = String(36)

metadata = MetaData()

execution = Table(
    "execution",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("argv", Text, nullable=False),
    Column("root_job_id", UUID),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Column("status", String(16), nullable=False),
    # Liveness of the scheduler running it: a RUNNING execution whose process is gone, or
    # whose heartbeat stopped, died without closing (shown as ABANDONED).
    Column("heartbeat", Float),
    Column("pid", Integer),
    Column("host", String(255)),
)

job = Table(
    "job",
    metadata,
    Column("id", UUID, primary_key=True),
    Column("execution_id", UUID, nullable=False, index=True),
    Column("parent_id", UUID, index=True),
    Column("task_hash", HASH, nullable=False),
    Column("eval_hash", HASH, nullable=False, index=True),
    Column("call_hash", HASH, index=True),
    Column("executor", String(128), nullable=False),
    Column("call", Text, nullable=False),  # task(args) as logged, values shortened
    Column("status", String(16), nullable=False),
    Column("cached", Boolean, nullable=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Column("error", Text),
    Column("cpu_seconds", Float),  # CPU time of the task body, where the executor measures it
    Column("reason", Text),  # why it ran instead of coming from the cache (explain.py)
)

task = Table(
    "task",
    metadata,
    Column("hash", HASH, primary_key=True),
    Column("fullname", String(512), nullable=False, index=True),
    Column("namespace", String(512), nullable=False),
    Column("source", Text, nullable=False),
    Column("deps", Text),  # JSON: what the hash covers, label -> hash (codedeps.py)
)

call_node = Table(
    "call_node",
    metadata,
    Column("call_hash", HASH, primary_key=True),
    Column("task_hash", HASH, nullable=False, index=True),
    Column("args_hash", HASH, nullable=False, index=True),  # explanations look calls up by it
    Column("result_hash", HASH, nullable=False, index=True),
    Column("timestamp", Float, nullable=False),
)

call_edge = Table(
    "call_edge",
    metadata,
    Column("parent_call_hash", HASH, primary_key=True),
    Column("child_call_hash", HASH, primary_key=True),
    Column("position", Integer, nullable=False),
)
Index("ix_call_edge_child", call_edge.c.child_call_hash)

argument = Table(
    "argument",
    metadata,
    Column("call_hash", HASH, primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("value_hash", HASH, nullable=False, index=True),
    Column("upstream_call_hash", HASH),
)

evaluation = Table(
    "evaluation",
    metadata,
    Column("eval_hash", HASH, primary_key=True),
    Column("task_hash", HASH, nullable=False),
    Column("args_hash", HASH, nullable=False),
    Column("value_hash", HASH, nullable=False),
)

value = Table(
    "value",
    metadata,
    Column("hash", HASH, primary_key=True),
    Column("type", String(256), nullable=False),
    Column("preview", Text, nullable=False),
    Column("size", BigInteger, nullable=False),  # bytes; values may pass 2 GiB
    Column("storage", String(16), nullable=False),  # inline | store | none (unpicklable)
    Column("data", LargeBinary),
    Column("data_hash", HASH),  # hash of the pickle bytes (inline or in the value store)
)

file = Table(
    "file",
    metadata,
    Column("value_hash", HASH, primary_key=True),
    Column("path", Text, nullable=False),
    Column("content_hash", String(128), nullable=False),
    Column("first_seen", Float, nullable=False),
)
Index("ix_file_path", file.c.path)

call_file = Table(
    "call_file",
    metadata,
    Column("call_hash", HASH, primary_key=True),
    Column("value_hash", HASH, primary_key=True),
    Column("role", String(8), primary_key=True),  # arg | result
)
Index("ix_call_file_value", call_file.c.value_hash)

call_subtree = Table(
    "call_subtree",
    metadata,
    Column("call_hash", HASH, primary_key=True),
    Column("context_hash", String(40), primary_key=True),  # "" when the call saw no context
    Column("task_hashes", Text, nullable=False),  # sorted, space-separated
)

tag = Table(
    "tag",
    metadata,
    Column("entity_id", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

record_tables: tuple[Table, ...] = tuple(metadata.sorted_tables)


def _stage_of(table: Table) -> Table:
    return Table(f"stage_{table.name}", metadata,
                 *(Column(c.name, c.type) for c in table.columns), info={"stage_of": table.name})


staging: dict[str, Table] = {t.name: _stage_of(t) for t in record_tables if t is not execution}
