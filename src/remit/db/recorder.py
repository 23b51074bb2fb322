"""Provenance recording: a hook listener that turns jobs into buffered store rows.

It records tasks, executions, jobs, call nodes with their arguments and children, values,
Files, and the cache (evaluation) rows, and flushes the backend's buffer at most every
``flush_interval`` seconds (or sooner when many rows wait) and at the end of a run. The
execution row is written at once when a run starts, and its heartbeat (with the scheduler's
pid and host) is refreshed every ``HEARTBEAT_INTERVAL`` seconds while it runs.
"""

from __future__ import annotations

import json
import time
from typing import Any

from remit.cache_options import cache_policy
from remit.db import liveness, models
from remit.db.backend import Backend
from remit.db.shallow import subtree_task_hashes
from remit.errors import HashingError
from remit.hashing import hash_value, iter_nested
from remit.jobs import Execution, Job, JobFailure
from remit.subrun import SubrunOutcome
from remit.tags import tag_text, task_tags
from remit.task import positional_names

_FLUSH_ROWS = 20_000
HEARTBEAT_INTERVAL = 30.0  # seconds between heartbeats of a running execution


class ProvenanceRecorder:
    """Hook listener writing provenance through a Backend."""

    def __init__(self, backend: Backend, flush_interval: float = 1.0) -> None:
        self.backend = backend
        self.flush_interval = flush_interval
        self._last_flush = time.monotonic()
        self._tasks: set[str] = set()
        self._execution: Execution | None = None
        self._last_beat = 0.0

    # -- hooks ----------------------------------------------------------------------------

    def on_execution_start(self, execution: Execution) -> None:
        """Record the execution as RUNNING, with its tags, at once."""
        self._execution_row(execution)
        self.on_tags(execution.id, execution.tags)
        self.backend.flush()  # now: a run killed at once still leaves its row

    def on_tags(self, entity_id: str, tags: Any) -> None:
        """Record tags on an execution, job, task or value."""
        for key, value in tags:
            self.backend.add(models.tag, (entity_id, key),
                             {"entity_id": entity_id, "key": key, "value": tag_text(value)})

    def on_execution_end(self, execution: Execution) -> None:
        """Record the outcome and write everything still buffered."""
        self._execution_row(execution)
        self.backend.flush()

    def on_job_submit(self, job: Job) -> None:
        """Record the job as RUNNING."""
        if job.prov:
            self._job_row(job)

    def on_job_result(self, job: Job, result: Any) -> None:
        """Cache what the task body returned (it may still hold expressions)."""
        if isinstance(result, SubrunOutcome):
            self._subrun_rows(job, result)
        if not job.task.cache or not job.prov or cache_policy(job.task).ultimate_only:
            return
        try:
            value_hash = hash_value(result)
        except HashingError:  # not cacheable; the call that takes the value fails clearly
            return
        self.backend.add_value(value_hash, result)
        self.backend.add(models.evaluation, job.eval_hash, {
            "eval_hash": job.eval_hash, "task_hash": job.task_hash,
            "args_hash": job.args_hash, "value_hash": value_hash,
        })

    def on_job_done(self, job: Job, value: Any) -> None:
        """Record the call node, its arguments, children and result, and the job."""
        if not job.prov:
            return
        backend = self.backend
        self._task_row(job)
        if cache_policy(job.task).shallow:
            backend.add(models.call_subtree, (job.call_hash, job.context_hash), {
                "call_hash": job.call_hash, "context_hash": job.context_hash,
                "task_hashes": " ".join(sorted(subtree_task_hashes(job))),
            })
        backend.add_value(job.result_hash, value)
        self._call_files(job.call_hash, "result", value)
        backend.add(models.call_node, job.call_hash, {
            "call_hash": job.call_hash, "task_hash": job.task_hash, "args_hash": job.args_hash,
            "result_hash": job.result_hash, "timestamp": job.end_time,
        })
        for position, child in enumerate(job.children):
            if child.call_hash:
                backend.add(models.call_edge, (job.call_hash, child.call_hash), {
                    "parent_call_hash": job.call_hash, "child_call_hash": child.call_hash,
                    "position": position,
                })
        self._argument_rows(job)
        self._job_row(job)

    def on_job_failed(self, job: Job, failure: JobFailure) -> None:
        """Record the job as FAILED with its traceback."""
        if not job.prov:
            return
        self._task_row(job)
        self._job_row(job, error=failure)

    def on_tick(self) -> None:
        """Flush when the buffer is large or old enough; beat the execution's heartbeat."""
        now = time.monotonic()
        if self._execution is not None and now - self._last_beat >= HEARTBEAT_INTERVAL:
            self._execution_row(self._execution)
        pending = self.backend.pending
        if pending and (pending >= _FLUSH_ROWS or now - self._last_flush >= self.flush_interval):
            self.backend.flush(wait=False)
            self._last_flush = now

    # -- rows -----------------------------------------------------------------------------

    def _subrun_rows(self, job: Job, outcome: SubrunOutcome) -> None:
        """Record a subrun's rows: its jobs under ``job`` in this execution (or its own)."""
        records = outcome.take_records()
        if not records:
            return
        job.subtree = frozenset({job.task_hash, *(r["task_hash"] for r in records["job"])})
        if not job.prov:
            return
        sub_id = outcome.execution_id
        keep_execution = outcome.new_execution
        for table in models.record_tables:
            keys = [c.name for c in table.primary_key.columns]
            for row in records.get(table.name, ()):
                if table is models.execution and not keep_execution:
                    continue
                if table is models.job and not keep_execution:
                    row = {**row, "execution_id": job.execution_id,
                           "parent_id": row["parent_id"] or job.id}
                elif table is models.tag and row["entity_id"] == sub_id and not keep_execution:
                    row = {**row, "entity_id": job.execution_id}
                if table is models.value:
                    self.backend.note_value(row["hash"])
                self.backend.add(table, tuple(row[k] for k in keys), row)
        if keep_execution:
            job.tags["subrun_execution"] = sub_id

    def _execution_row(self, execution: Execution) -> None:
        self._execution, self._last_beat = execution, time.monotonic()
        self.backend.add(models.execution, execution.id, {
            "id": execution.id, "argv": json.dumps(execution.argv),
            "root_job_id": execution.root_job.id if execution.root_job else None,
            "start_time": execution.start_time, "end_time": execution.end_time,
            "status": execution.status, **liveness.this_process(),
        })

    def _task_row(self, job: Job) -> None:
        task = job.task
        if job.task_hash and job.task_hash not in self._tasks:
            self._tasks.add(job.task_hash)
            self.backend.add(models.task, job.task_hash, {
                "hash": job.task_hash, "fullname": task.fullname, "namespace": task.namespace,
                "source": task.source, "deps": json.dumps(task.code_deps, sort_keys=True),
            })
            self.on_tags(job.task_hash, task_tags(task))

    def _job_row(self, job: Job, error: JobFailure | None = None) -> None:
        self.on_tags(job.id, task_tags(job.task))  # @task(tags=...)
        self.on_tags(job.id, job.tags.items())  # e.g. aws_batch_job, apply_tags(job_tags=...)
        self.backend.add(models.job, job.id, {
            "id": job.id, "execution_id": job.execution_id,
            "parent_id": job.parent.id if job.parent else None,
            "task_hash": job.task_hash or job.task.hash, "eval_hash": job.eval_hash,
            "call_hash": job.call_hash or None, "executor": job.executor,
            "call": job.describe_call(),
            "status": job.state.value, "cached": job.cached, "start_time": job.start_time,
            "end_time": job.end_time, "error": _error_text(error) if error else None,
            "cpu_seconds": job.cpu_seconds,
            "reason": job.reason or None,
        })

    def _argument_rows(self, job: Job) -> None:
        params = positional_names(job.task)
        named = [
            (params[i] if i < len(params) else f"*{i}", str(i), i, h, v)
            for i, (h, v) in enumerate(zip(job.arg_hashes, job.args, strict=True))
        ]
        named += [(k, k, -1, job.kwarg_hashes[k], v) for k, v in job.kwargs.items()]
        for name, source_key, position, value_hash, value in named:
            self.backend.add_value(value_hash, value)
            self._call_files(job.call_hash, "arg", value)
            source = job.sources.get(source_key)
            self.backend.add(models.argument, (job.call_hash, name), {
                "call_hash": job.call_hash, "name": name, "position": position,
                "value_hash": value_hash,
                "upstream_call_hash": source.call_hash if source is not None else None,
            })

    def _call_files(self, call_hash: str, role: str, value: Any) -> None:
        """Record the Files inside ``value`` and link them to the call as ``role``."""
        if type(value) in (int, str, float, bool, bytes, type(None)):
            return
        for leaf in iter_nested(value):
            describe = getattr(leaf, "__remit_file_record__", None)
            if describe is None:
                continue
            path, content_hash = describe()
            value_hash = hash_value(leaf)
            self.backend.add_value(value_hash, leaf)
            self.backend.add(models.file, value_hash, {
                "value_hash": value_hash, "path": path, "content_hash": content_hash,
                "first_seen": time.time(),
            })
            self.backend.add(models.call_file, (call_hash, value_hash, role), {
                "call_hash": call_hash, "value_hash": value_hash, "role": role,
            })


def _error_text(failure: JobFailure) -> str:
    """The stored text of a failure: its remote-style traceback, else its message."""
    return failure.traceback_text or f"{type(failure.error).__name__}: {failure.error}"
