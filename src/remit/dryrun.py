"""`remit run --dry-run`: which calls would run and why, and which the cache would serve.

``DryRunScheduler`` walks the expression graph as a run does, with the same cache lookups
and the same reasons (``explain.py``), but never runs a task body and records nothing (no
recorder is attached; the store is opened read-only and never created or migrated). A call that
would run stands for a placeholder value, ``NOT_KNOWN``: a call that takes it as an argument
is listed as depending on a call that would run (whether it runs then depends on that
result), and the calls a body that would run makes are not known until it runs. Cached
results are followed as in a run, so their own calls are listed too.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, TextIO

from remit.display import format_call
from remit.expression import SchedulerExpression, SimpleExpression
from remit.hashing import iter_nested, normalize
from remit.jobs import Job, JobFailure
from remit.promise import Promise
from remit.scheduler import ExecutionFailed, Scheduler
from remit.task import Task

RUN, CACHED, DEPENDS = "would run", "cached", "may run"


class _NotKnown:
    """The result of a call that would run: not known without running it."""

    def __repr__(self) -> str:
        return "<result of a call that would run>"


NOT_KNOWN = _NotKnown()


@normalize.register(_NotKnown)
def _normalize_not_known(value: _NotKnown) -> tuple:
    return ("not-known",)


@dataclass
class PlannedCall:
    """One line of the plan: what would happen to a call, and why."""

    status: str
    call: str
    reason: str = ""


def _unknown_in(value: Any) -> bool:
    return any(leaf is NOT_KNOWN for leaf in iter_nested(value))


class DryRunScheduler(Scheduler):
    """A Scheduler that plans: cache lookups and reasons, no task bodies, no records."""

    def __init__(self, config: Any, backend: Any, use_cache: bool = True) -> None:
        super().__init__(config, backend, use_cache=use_cache, listeners=[])
        self.plan: list[PlannedCall] = []
        self.hooks.add(self._Planner(self.plan))

    class _Planner:
        """Hook listener noting cache hits in the plan."""

        def __init__(self, plan: list[PlannedCall]) -> None:
            self.plan = plan

        def on_cache_hit(self, job: Job, result: Any) -> None:
            self.plan.append(PlannedCall(CACHED, job.describe_call()))

    def _create_job(self, task: Task, args: tuple, kwargs: dict[str, Any], parent: Job | None,
                    promise: Promise, sources: dict[str, Job]) -> None:
        if _unknown_in((args, kwargs)):
            self.plan.append(PlannedCall(DEPENDS, format_call(task, args, kwargs),
                                         "depends on a call that would run"))
            promise.resolve(NOT_KNOWN)
            return
        super()._create_job(task, args, kwargs, parent, promise, sources)

    def _submit(self, job: Job) -> None:
        reason = job.reason or ("nothing recorded yet" if self.backend is None else "")
        self.plan.append(PlannedCall(RUN, job.describe_call(), reason))
        self._job_returned(job, NOT_KNOWN)

    def _apply_simple(self, expr: SimpleExpression, operands: tuple, parent: Job | None,
                      promise: Promise) -> None:
        if _unknown_in(operands):
            promise.resolve(NOT_KNOWN)
            return
        super()._apply_simple(expr, operands, parent, promise)

    def _start_scheduler_expression(self, expr: SchedulerExpression, parent: Job | None,
                                    promise: Promise) -> None:
        """A built-in (map_, throw, ...) that fails on a value not known yet: not known."""
        inner = Promise(self._ready)

        def rejected(failure: Any) -> None:
            error = failure.error if isinstance(failure, JobFailure) else failure
            if repr(NOT_KNOWN) in str(error) or type(NOT_KNOWN).__name__ in str(error):
                self.plan.append(PlannedCall(DEPENDS, f"{expr.kind}(...)",
                                             "depends on a call that would run"))
                promise.resolve(NOT_KNOWN)
            else:
                promise.reject(failure)

        inner.then(promise.resolve, rejected)
        super()._start_scheduler_expression(expr, parent, inner)

    def _start_cond(self, expr: SchedulerExpression, parent: Job | None,
                    promise: Promise) -> None:
        pred, then, otherwise = expr.args

        def choose(value: Any) -> None:
            if value is NOT_KNOWN:  # which branch runs is not known: list neither
                self.plan.append(PlannedCall(DEPENDS, "cond(...)", "which branch runs depends "
                                             "on a call that would run"))
                promise.resolve(NOT_KNOWN)
                return
            self._evaluate(then if value else otherwise, parent).then(
                promise.resolve, promise.reject)

        self._evaluate(pred, parent).then(choose, promise.reject)


def open_store_read_only(config: Any) -> Any:
    """The run's store opened read-only, or None when it has no database yet (nothing is
    created; a store at an older schema is an error naming `remit db upgrade`)."""
    from remit.db.backend import Backend
    from remit.errors import NoDatabaseError

    backend = Backend.for_config_dir(config.config_dir, config.backend, read_only=True)
    try:
        backend.engine  # noqa: B018 - opened read-only: works on a read-only .remit/ too
    except NoDatabaseError:
        return None
    return backend


def dry_run(config: Any, expr: Any, argv: list[str], use_cache: bool = True,
            stream: TextIO | None = None, context: dict[str, Any] | None = None) -> int:
    """Print the plan for ``expr``; return the exit code (1 when planning failed)."""
    out = stream or sys.stdout
    backend = open_store_read_only(config)
    scheduler = DryRunScheduler(config, backend, use_cache=use_cache)
    out.write("Dry run: nothing runs and nothing is recorded.\n")
    code = 0
    try:
        scheduler.execute(expr, argv, check_tasks=True, context=context)
    except ExecutionFailed as failed:
        out.write(f"Planning stopped: {failed.failure}\n")
        code = 1
    finally:
        if backend is not None:
            backend.close()  # nothing is buffered: this only releases the engine
    width = max((len(p.status) for p in scheduler.plan), default=0)
    for planned in scheduler.plan:
        why = f"  ({planned.reason})" if planned.reason else ""
        out.write(f"{planned.status.ljust(width)}  {planned.call}{why}\n")
    counts = {s: sum(p.status == s for p in scheduler.plan) for s in (RUN, CACHED, DEPENDS)}
    out.write(f"{counts[RUN]} would run, {counts[CACHED]} from the cache, {counts[DEPENDS]} "
              "depend on calls that would run. Calls made inside a call that would run are "
              "known only when it runs.\n")
    return code
