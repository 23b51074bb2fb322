"""``subrun(expr, executor, ...)``: evaluate a whole sub-workflow inside another executor's job.

The parent scheduler runs one job, ``remit.subrun_root``, on ``executor`` (a process pool, AWS
Batch, ...). That job imports the workflow's modules, starts its own Scheduler (the parent's
executor configuration and context, its own throwaway SQLite store) and evaluates ``expr``;
it returns the value together with every row its store recorded. The parent's recorder writes
those rows into the parent's store, re-parented under the subrun job in the current execution
(or as an execution of their own with ``new_execution=True``), so ``remit log`` shows the
sub-workflow's jobs, calls and Files as if run locally.

Caching: the subrun job is served from the parent's store only as a whole, and only while no
task anywhere inside it changed (``check_valid="shallow"``); otherwise the sub-scheduler runs
again, looking calls up in the parent's store when the job can reach it (the same machine's
SQLite file, or a PostgreSQL server), so only what changed runs again. It never writes there.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remit.errors import TaskError
from remit.expression import SchedulerExpression, TaskExpression
from remit.hashing import normalize
from remit.jobs import JobInfo
from remit.pickling import dumps
from remit.scheduler_tasks import scheduler_task
from remit.task import registered_tasks, task

_NO_VALUE_STORE = 2**62  # every value inline: the sub-store travels back as rows


class Deferred:
    """An expression hashed as itself but pickled as bytes, unpickled only after imports."""

    def __init__(self, expr: Any, data: bytes | None = None) -> None:
        self._expr, self._data = expr, data

    def load(self) -> Any:
        """The expression (unpickled now, once the workflow's modules are imported)."""
        if self._data is not None:
            self._expr, self._data = pickle.loads(self._data), None
        return self._expr

    def __reduce__(self) -> tuple:
        data = self._data if self._data is not None else dumps(self._expr, "the subrun expression")
        return (Deferred, (None, data))

    def __repr__(self) -> str:
        return repr(self._expr) if self._data is None else "Deferred(...)"


@dataclass(frozen=True)
class SubrunSetup:
    """How the job sets up its scheduler (hashed by value; shown briefly in log lines)."""

    config: dict[str, Any]
    modules: list[str]
    import_paths: list[str]
    context: dict[str, Any] = field(default_factory=dict)
    use_cache: bool = True
    new_execution: bool = False
    cache_store: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"SubrunSetup(modules={self.modules!r})"


@normalize.register(Deferred)
def _normalize_deferred(value: Deferred) -> tuple:
    return ("Deferred", normalize(value.load()))


class SubrunOutcome:
    """What a subrun job returns: the value, the sub-store's rows and its final status table."""

    def __init__(self, result: Any, records: dict[str, list[dict[str, Any]]] | None,
                 status: list[str], execution_id: str, new_execution: bool) -> None:
        self.result = result
        self.records = records
        self.status = status
        self.execution_id = execution_id
        self.new_execution = new_execution

    def take_records(self) -> dict[str, list[dict[str, Any]]] | None:
        """The recorded rows, once (they are not kept in the cached value)."""
        records, self.records = self.records, None
        return records


@normalize.register(SubrunOutcome)
def _normalize_outcome(value: SubrunOutcome) -> tuple:
    return ("SubrunOutcome", normalize(value.result))


def subrun(
    expr: Any,
    executor: str,
    config: dict[str, Any] | None = None,
    new_execution: bool = False,
    load_modules: list[str] | None = None,
    **task_options: Any,
) -> SchedulerExpression:
    """Evaluate ``expr`` with a scheduler running in a job on ``executor``.

    ``config``: ``{"executors": {...}, "scheduler": {...}}`` for the sub-scheduler (default:
    the parent's); ``load_modules``: modules defining the tasks (default: those of every
    loaded task); ``task_options`` (``memory=``, ``vcpus=``, ...) configure the subrun job.
    """
    if "config_dir" in task_options:
        raise TaskError("subrun(config_dir=...) is not supported: pass config={'executors': "
                        "{...}, 'scheduler': {...}}, or nothing to use this run's configuration")
    return _subrun(expr, executor, config, new_execution, load_modules, task_options)


@task(name="subrun_root", namespace="remit", version="1", check_valid="shallow",
      _ultimate_only=True)
def _subrun_root(expr: Deferred, setup: SubrunSetup, job: JobInfo = JobInfo()) -> SubrunOutcome:
    """Inside the job: import the workflow, run a scheduler on ``expr``, return its records."""
    from remit.config import Config
    from remit.db.backend import Backend
    from remit.db.recorder import ProvenanceRecorder
    from remit.loader import load_workflow
    from remit.progress import RunLog
    from remit.scheduler import Scheduler

    for module in setup.modules:
        load_workflow(module, setup.import_paths)
    config, use_cache = setup.config, setup.use_cache
    with tempfile.TemporaryDirectory(prefix="remit-subrun-") as tmp:
        sub_config = Config(config_dir=Path(tmp), scheduler=dict(config.get("scheduler", {})),
                            executors=dict(config.get("executors", {})))
        store = Backend(f"sqlite:///{tmp}/subrun.db", Path(tmp) / "values", _NO_VALUE_STORE)
        log = RunLog(sys.stderr, live=False)
        cache = _open_cache(setup.cache_store) if use_cache else None
        scheduler = Scheduler(sub_config, cache, use_cache=use_cache,
                              listeners=[ProvenanceRecorder(store, 3600.0), log])
        try:  # a failure raises the task's own exception, as the parent's run will
            result = scheduler.run(expr.load(), ["remit", "subrun", job.job_id],
                                   context=setup.context)
            store.flush()
            records = _read_rows(store)
        finally:
            store.close()
            if cache is not None:
                cache.close()
    assert scheduler.execution is not None
    return SubrunOutcome(result, records, _status_lines(log), scheduler.execution.id,
                         setup.new_execution)


_subrun_root.internal = True  # remit's own helper


def _open_cache(cache_store: tuple[str, str] | None) -> Any:
    """The parent's store, for cache lookups only, when this job can reach it; else None."""
    from remit.db.backend import Backend

    if cache_store is None:
        return None
    backend = Backend(cache_store[0], Path(cache_store[1]), read_only=True)
    try:  # a file on the parent's machine, or a server this job cannot reach: no cache
        backend.engine  # noqa: B018 - connect now
    except Exception:
        return None
    return backend


def _read_rows(store: Any) -> dict[str, list[dict[str, Any]]]:
    from sqlalchemy import select

    from remit.db import models

    rows: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for table in models.record_tables:
            rows[table.name] = [dict(r) for r in conn.execute(select(table)).mappings()]
    return rows


def _status_lines(log: Any) -> list[str]:
    from remit.display import status_table_lines

    return status_table_lines(log.counts)


def _module_roots(load_modules: list[str] | None) -> tuple[list[str], list[str]]:
    """The modules to import in the job and their import paths relative to the working dir."""
    if load_modules is None:
        names = {t.func.__module__ for t in registered_tasks().values()}
        load_modules = sorted(n for n in names if n.split(".")[0] not in ("remit", "__main__"))
    paths: list[str] = []
    for name in load_modules:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if file is None:
            continue
        root = Path(file).resolve().parents[name.count(".")]
        rel = os.path.relpath(root, Path.cwd())
        if rel not in paths:
            paths.append(rel)
    return list(load_modules), paths or ["."]


def _parent_config(scheduler: Any, config: dict[str, Any] | None) -> dict[str, Any]:
    if config is not None:
        return config
    parent = scheduler.config
    options = {k: v for k, v in parent.scheduler.items() if k not in ("context", "context_file")}
    return {"executors": dict(parent.executors), "scheduler": options}


@scheduler_task(name="subrun", namespace="remit")
def _subrun(scheduler: Any, parent: Any, promise: Any, expr: Any, executor: str,
            config: dict[str, Any] | None, new_execution: bool, load_modules: list[str] | None,
            task_options: dict[str, Any]) -> None:
    """Run the subrun job on ``executor``; resolve with the sub-workflow's value."""
    modules, import_paths = _module_roots(load_modules)
    context = (parent.context if parent is not None else scheduler.context) or {}
    root = _subrun_root.with_options(executor=executor, **task_options)
    backend = scheduler.backend
    cache_store = (backend.db_uri, str(backend.value_store)) if backend is not None else None
    setup = SubrunSetup(_parent_config(scheduler, config), modules, import_paths, context,
                        scheduler.use_cache,
                        bool(new_execution or (parent is not None and not parent.prov)),
                        cache_store)
    call = TaskExpression(root, (Deferred(expr), setup), {})

    def done(outcome: Any) -> None:
        from remit.progress import log_line

        if not isinstance(outcome, SubrunOutcome):  # a placeholder (remit run --dry-run)
            promise.resolve(outcome)
            return
        log_line(f"Sub-scheduler report (executor {executor!r}), execution "
                 f"{outcome.execution_id[:8]}:")
        for line in outcome.status:
            log_line("  " + line)
        promise.resolve(outcome.result)

    scheduler.evaluate(call, parent).then(done, promise.reject)


__all__ = ["Deferred", "SubrunOutcome", "SubrunSetup", "subrun"]
