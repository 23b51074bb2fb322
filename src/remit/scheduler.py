"""The Scheduler: evaluates an expression graph into a value, one call (Job) at a time.

One loop on one thread owns all state. Work to do on that thread sits in a ready queue of
``(callback, argument)`` pairs; executors report finished jobs into an event queue that the
loop blocks on when nothing is ready (it never busy-polls). Calls whose arguments are known
are checked against the cache in batches (one query for many calls); misses go to the
executor their task names. A job whose body returned more expressions stays open until
those are evaluated too, each as a call of its own, so a changed child re-runs alone.

Task options decide reuse (cache_options.py: ``cache_scope``, ``check_valid="shallow"``
served from a call's final result by db/shallow.py, ``prov=False``); each call sees a context
(context.py) from which its lazy defaults and options are filled (call_defaults.py). Built-ins
defined elsewhere (get_context, apply_tags, fork_thread, subrun) are scheduler tasks.

Recording and display are hook listeners (hooks.py); executors know nothing of this module.
"""

from __future__ import annotations

import gc
import os
import queue
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from remit.builtins import BUILTINS
from remit.cache_options import CachePolicy, CacheScope, cache_policy, key_hashes
from remit.call_defaults import fill_call, job_info_names, lazy_parts
from remit.config import IMPLICIT_EXECUTORS, Config, config_from_dict, load_config
from remit.context import context_hash, load_context, merge_context
from remit.current import get_current_scheduler, set_current_scheduler
from remit.errors import ConfigError, RemitError, TaskError
from remit.executors import Executor, create_executor
from remit.executors.base import failure_from_exception
from remit.explain import RunExplainer, invalid_result_reason, uncached_reason
from remit.expression import (
    Expression,
    SchedulerExpression,
    SimpleExpression,
    TaskExpression,
    ValueExpression,
    catch,
    cond,
    throw,
)
from remit.hashing import (
    combine_argument_hashes,
    hash_eval,
    hash_struct,
    hash_value,
    is_valid,
    iter_nested,
    map_nested,
    refresh,
)
from remit.hooks import Hooks
from remit.jobs import Execution, Job, JobFailure, JobInfo, JobState
from remit.limits import ResourceLimits, task_limits
from remit.promise import Promise, all_of, resolved
from remit.scheduler_tasks import scheduler_task
from remit.subrun import subrun
from remit.tags import apply_tags, config_tags
from remit.task import Task, positional_names, registered_tasks
from remit.threads import fork_thread, join_thread

_PRIMITIVES = (str, bytes, int, float, bool, type(None))
_BUILTINS = frozenset({"cond", "catch", "throw"})  # SchedulerExpressions with a _start_ method
_NO_REUSE = CachePolicy(CacheScope.NONE, False, True, False)
TICK_MAX = 10.0  # seconds: listeners (the recorder's heartbeat) hear from the loop this often


class ExecutionFailed(RemitError):
    """The root expression failed; ``failure`` holds the original error and failing job.

    ``Scheduler.execute`` raises it (the command line prints the failing job's path from
    it); ``Scheduler.run`` raises the task's own exception instead.
    """

    def __init__(self, failure: JobFailure, execution: Execution) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.execution = execution


class RemoteTraceback(Exception):
    """The traceback of a task that failed in another process or machine, as text.

    ``Scheduler.run`` chains it as the ``__cause__`` of the task's exception when that
    exception arrived without a traceback of its own (it was pickled), so the traceback
    Python prints shows where the task failed.
    """

    def __str__(self) -> str:
        return "\n" + str(self.args[0]).rstrip()


class Scheduler:
    """Evaluates lazy task expressions, with memoization and provenance hooks."""

    def __init__(
        self,
        config: Config | Mapping[str, Mapping[str, Any]] | str | os.PathLike[str] | None = None,
        backend: Any = None,
        use_cache: bool = True,
        listeners: Sequence[Any] = (),
    ) -> None:
        """``config``: a Config, ini-like sections as a dict (``{"executors.batch": {...}}``),
        a config directory, or None (the nearest ``.remit/``; none needed). Without a
        ``backend`` nothing is recorded and calls are shared only within one run."""
        if isinstance(config, Config):
            self.config = config
        elif isinstance(config, Mapping):
            self.config = config_from_dict(config)
        else:
            self.config = load_config(config)
        self.backend = backend
        self.use_cache = use_cache
        self.hooks = Hooks(listeners)
        self.status_interval = self.config.get_float("scheduler", "job_status_interval", 20.0)
        self._executors: dict[str, Executor] = {}
        self._started: set[str] = set()
        self._ready: deque = deque()
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._cache_queue: list[Job] = []
        self._by_eval: dict[str, Job] = {}
        self._outstanding: dict[str, Job] = {}
        self._expr_promises: dict[tuple[int, int], tuple[Expression, Promise]] = {}
        self._added_executors: set[str] = set()
        self.execution: Execution | None = None
        self.configured_context: dict[str, Any] = load_context(self.config)
        self.context = self.configured_context  # this run's: configured, then run(context=)
        self._context_hash = context_hash(self.context)
        self._known_task_hashes: frozenset[str] | None = None
        self._explainer = RunExplainer(self.backend, time.time())  # one per run
        self._limits = ResourceLimits(self.config)
        self._waiting_for_limits: deque[Job] = deque()

    # -- public ---------------------------------------------------------------------------

    def add_executor(
        self, executor: Executor | str, options: Executor | Mapping[str, Any] | None = None
    ) -> None:
        """Use an executor: an Executor (under its name), or a name with an Executor or with
        ini-style options.

        ``scheduler.add_executor(LocalExecutor("batch"))`` runs the tasks of executor
        ``batch`` locally (e.g. in tests); ``add_executor("procs", {"type": "local",
        "mode": "process"})`` defines one as an ``[executors.procs]`` section would.
        """
        if isinstance(executor, str):
            name = executor
            if isinstance(options, Executor):
                executor, executor.name = options, name
            elif options is None or not options.get("type"):
                raise ConfigError(
                    f"add_executor({name!r}, options): give an Executor, or options with a "
                    "'type', e.g. {'type': 'local', 'mode': 'process'}"
                )
            else:
                self._executors.pop(name, None)
                executor = self._executor(name, {k: str(v) for k, v in options.items()})
        self._executors[executor.name] = executor
        executor.use_cache = self.use_cache
        self._added_executors.add(executor.name)

    def check_executors(self, tasks: dict[str, Task] | None = None) -> None:
        """Validate every configured executor and every task's executor name, up front."""
        for name, options in self.config.executors.items():
            if name not in self._added_executors:
                self._executor(name, options)
        for fullname, task in (tasks if tasks is not None else registered_tasks()).items():
            name = task.executor
            if isinstance(name, Expression):  # get_context(...): checked per call
                continue
            if name not in IMPLICIT_EXECUTORS and name not in self.config.executors \
                    and name not in self._added_executors:
                where = self.config.path or self.config.config_dir / "remit.ini"
                known = ", ".join(
                    sorted({*IMPLICIT_EXECUTORS, *self.config.executors, *self._added_executors})
                )
                raise ConfigError(
                    f"task {fullname} uses executor {name!r}, which is not configured "
                    f"(known: {known}); add an [executors.{name}] section to {where}"
                )
            self._executor(name).check_task_options(task.options, f"task {fullname}")

    def run(
        self,
        expr: Any,
        argv: Sequence[str] | None = None,
        context: dict[str, Any] | None = None,
        tags: Sequence[tuple[str, Any]] = (),
    ) -> Any:
        """Evaluate ``expr`` to a concrete value; if a task failed, raise its own exception.

        A ``ValueError`` raised inside a task comes out as that ``ValueError``; when the task
        ran in another process or machine, its traceback text is chained as the cause
        (RemoteTraceback). ``execute`` raises ExecutionFailed instead. ``context`` is merged
        over the configured context; ``tags`` are recorded on the execution.
        """
        try:
            return self.execute(expr, argv, context=context, tags=tags)
        except ExecutionFailed as failed:
            failure = failed.failure
        raise _original_error(failure)  # outside the except: no ExecutionFailed context

    def execute(
        self,
        expr: Any,
        argv: Sequence[str] | None = None,
        check_tasks: bool = False,
        context: dict[str, Any] | None = None,
        tags: Sequence[tuple[str, Any]] = (),
    ) -> Any:
        """Evaluate ``expr`` to a concrete value; raise ExecutionFailed if it failed.

        Configured executors are checked first; with ``check_tasks`` (``remit run``) so is
        every registered task's executor name, before anything runs. Otherwise a missing
        executor fails the call that needs it, as in redun, so a test module may define
        tasks for executors a test never reaches. ``context`` is merged over the configured
        context for this run; ``tags`` are recorded on the execution.
        """
        self.check_executors(None if check_tasks else {})
        from remit.codedeps import hash_user_tasks

        hash_user_tasks(registered_tasks().values())  # module constants as the run starts
        # Calls are shared within one run only: a Scheduler run twice starts afresh.
        self._by_eval, self._expr_promises, self._cache_queue = {}, {}, []
        self._limits, self._waiting_for_limits = ResourceLimits(self.config), deque()
        self.context = (merge_context(self.configured_context, context) if context
                        else self.configured_context)
        self._context_hash = context_hash(self.context)
        self._known_task_hashes = None
        execution = self.execution = Execution(list(argv or []))
        execution.tags = [*config_tags(self.config), *tags]
        self._explainer = RunExplainer(self.backend, execution.start_time)
        self.hooks.emit("on_execution_start", execution)
        root = self._evaluate(expr, None)
        previous = set_current_scheduler(self)
        try:
            self._loop(root)
            execution.status = "DONE" if root.state == 1 else "FAILED"
        except BaseException:
            execution.status = "INTERRUPTED"
            self._abandon_outstanding()
            raise
        finally:
            execution.end_time = time.time()
            self._stop_executors()
            set_current_scheduler(previous)
            self.hooks.emit("on_execution_end", execution)
        if root.state != 1:
            failure = root.value
            if not isinstance(failure, JobFailure):
                failure = JobFailure(failure, "", None)
            raise ExecutionFailed(failure, execution)
        return root.value

    # -- the loop -------------------------------------------------------------------------

    def _loop(self, root: Promise) -> None:
        # Jobs, promises and expressions are many small objects that live until the run ends:
        # collecting the young generation less often saves a fifth of the loop's time.
        gc.freeze()
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
        try:
            self._drive(root)
        finally:
            gc.set_threshold(*threshold)
            gc.unfreeze()

    def _drive(self, root: Promise) -> None:
        ready, events = self._ready, self._events
        while True:
            budget = _BURST
            while ready:
                callback, argument = ready.popleft()
                callback(argument)
                budget -= 1
                if not budget:  # a long burst (a big fan-out): keep jobs moving meanwhile
                    budget = _BURST
                    self._between_batches()
            if self._cache_queue:
                self._check_cache()
                continue
            self.hooks.emit("on_tick")
            if root.settled and not self._outstanding:
                return
            if not self._outstanding:
                raise RemitError("scheduler stalled: nothing running and nothing ready")
            try:
                event = events.get(timeout=min(self.status_interval, TICK_MAX))
            except queue.Empty:
                self.hooks.emit("on_tick")
                continue
            self._job_reported(*event)
            while True:  # take every report already waiting before going round again
                try:
                    event = events.get_nowait()
                except queue.Empty:
                    break
                self._job_reported(*event)

    def _between_batches(self) -> None:
        """Look up the calls waiting for the cache, take finished jobs' reports (so their
        state is released) and let listeners flush: memory stays bounded however many calls
        an expression fans out to."""
        if self._cache_queue:
            self._check_cache()
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            self._job_reported(*event)
        self.hooks.emit("on_tick")

    def _report(self, job: Job, result: Any, failure: JobFailure | None) -> None:
        """Executor callback, from any thread: queue the report for the loop."""
        self._events.put((job, result, failure))

    # -- evaluation -----------------------------------------------------------------------

    def evaluate(self, value: Any, parent: Job | None) -> Promise:
        """A promise of ``value`` fully evaluated, as a child of ``parent`` (scheduler tasks).

        Only for scheduler tasks' handlers, which run on the scheduler's loop.
        """
        return self._evaluate(value, parent)

    def _evaluate(self, value: Any, parent: Job | None) -> Promise:
        """A promise of ``value`` with every expression inside it evaluated."""
        if type(value) in _PRIMITIVES:
            return resolved(self._ready, value)
        if isinstance(value, Expression):
            key = (id(value), id(parent))
            seen = self._expr_promises.get(key)
            if seen is not None:  # the same expression object again: evaluate it once
                return seen[1]
            promise = Promise(self._ready)
            promise.key = key
            self._expr_promises[key] = (value, promise)  # holding value keeps its id unique
            self._ready.append((self._start_expression, (value, parent, promise)))
            return promise
        exprs = [leaf for leaf in iter_nested(value) if isinstance(leaf, Expression)]
        if not exprs:
            return resolved(self._ready, value)
        if len(exprs) > _WINDOW:
            combined = self._evaluate_window(exprs, parent)
        else:
            combined = all_of(self._ready, [self._evaluate(e, parent) for e in exprs])
        promise = Promise(self._ready)

        def substitute(results: list[Any]) -> None:
            promise.resolve(_substitute(value, exprs, results))

        combined.then(substitute, promise.reject)
        return promise

    def _evaluate_window(self, exprs: list[Expression], parent: Job | None) -> Promise:
        """Like ``all_of`` over the expressions' promises, but with at most ``_WINDOW`` of
        them begun and not yet settled at a time: a fan-out to a million calls never holds a
        million pending promises, jobs and queue entries at once."""
        combined = Promise(self._ready)
        values: list[Any] = [None] * len(exprs)
        begun, left = [0], [len(exprs)]

        def begin_next() -> None:
            index = begun[0]
            begun[0] += 1
            self._evaluate(exprs[index], parent).then(
                lambda value: settled(index, value), combined.reject)

        def settled(index: int, value: Any) -> None:
            values[index] = value
            left[0] -= 1
            if not left[0]:
                combined.resolve(values)
            elif begun[0] < len(exprs) and not combined.settled:
                begin_next()

        for _ in range(_WINDOW):
            begin_next()
        return combined

    def _start_expression(self, item: tuple[Expression, Job | None, Promise]) -> None:
        expr, parent, promise = item
        if isinstance(expr, TaskExpression):
            self._start_call(expr, parent, promise)
        elif isinstance(expr, SimpleExpression):
            self._evaluate(expr.operands, parent).then(
                lambda operands: self._apply_simple(expr, operands, parent, promise),
                promise.reject,
            )
        elif isinstance(expr, SchedulerExpression):
            self._start_scheduler_expression(expr, parent, promise)
        elif isinstance(expr, ValueExpression):
            promise.resolve(expr.value)
        else:  # pragma: no cover - every Expression subclass is handled above
            promise.reject(JobFailure(TypeError(f"unknown expression {expr!r}"), "", parent))

    def _apply_simple(
        self, expr: SimpleExpression, operands: tuple, parent: Job | None, promise: Promise
    ) -> None:
        try:
            value = expr.apply(operands)
        except Exception as exc:
            promise.reject(failure_from_exception(exc, parent))
            return
        self._evaluate(value, parent).then(promise.resolve, promise.reject)

    def _start_scheduler_expression(
        self, expr: SchedulerExpression, parent: Job | None, promise: Promise
    ) -> None:
        if expr.kind in _BUILTINS:
            getattr(self, f"_start_{expr.kind}")(expr, parent, promise)
            return
        handler = BUILTINS.get(expr.kind)
        if handler is None:
            error = TaskError(f"unknown scheduler task {expr.kind!r}: import the module that "
                              "defines it in the workflow")
            promise.reject(JobFailure(error, f"TaskError: {error}\n", parent))
            return
        try:
            handler(self, expr, parent, promise)
        except Exception as exc:
            promise.reject(failure_from_exception(exc, parent))

    def _start_cond(self, expr: SchedulerExpression, parent: Job | None, promise: Promise) -> None:
        pred, then, otherwise = expr.args

        def choose(value: Any) -> None:
            self._evaluate(then if value else otherwise, parent).then(
                promise.resolve, promise.reject
            )

        self._evaluate(pred, parent).then(choose, promise.reject)

    def _start_throw(self, expr: SchedulerExpression, parent: Job | None, promise: Promise) -> None:
        def fail(error: Any) -> None:
            if not isinstance(error, BaseException):
                error = TypeError(f"throw() needs an exception, got {error!r:.80}")
            promise.reject(JobFailure(error, f"{type(error).__name__}: {error}\n", parent))

        self._evaluate(expr.args[0], parent).then(fail, promise.reject)

    def _start_catch(self, expr: SchedulerExpression, parent: Job | None, promise: Promise) -> None:
        body, pairs = expr.args

        def recover(failure: Any) -> None:
            error = failure.error if isinstance(failure, JobFailure) else failure
            for exc_class, handler in pairs:
                if isinstance(error, exc_class):
                    try:
                        recovery = handler(error)
                    except Exception as exc:
                        promise.reject(failure_from_exception(exc, parent))
                        return
                    self._evaluate(recovery, parent).then(promise.resolve, promise.reject)
                    return
            promise.reject(failure)

        self._evaluate(body, parent).then(promise.resolve, recover)

    def _start_call(self, expr: TaskExpression, parent: Job | None, promise: Promise) -> None:
        try:
            task = expr.task
        except RemitError as exc:
            promise.reject(JobFailure(exc, f"{type(exc).__name__}: {exc}\n", parent))
            return
        if all(type(v) in _PRIMITIVES for v in expr.args) and \
                all(type(v) in _PRIMITIVES for v in expr.kwargs.values()):
            # Nothing to evaluate: make the job now rather than a few trips round the queue.
            self._create_job(task, expr.args, dict(expr.kwargs), parent, promise, {})
            return
        names = list(range(len(expr.args))) + list(expr.kwargs)
        values = list(expr.args) + list(expr.kwargs.values())
        arg_promises = [self._evaluate(v, parent) for v in values]

        def create(evaluated: list[Any]) -> None:
            sources = {
                str(name): p.job for name, p in zip(names, arg_promises, strict=True)
                if p.job is not None
            }
            n = len(expr.args)
            args, kwargs = tuple(evaluated[:n]), dict(zip(expr.kwargs, evaluated[n:], strict=True))
            self._create_job(task, args, kwargs, parent, promise, sources)

        all_of(self._ready, arg_promises).then(create, promise.reject)

    # -- jobs -----------------------------------------------------------------------------

    def _create_job(
        self,
        task: Task,
        args: tuple,
        kwargs: dict[str, Any],
        parent: Job | None,
        promise: Promise,
        sources: dict[str, Job],
    ) -> None:
        assert self.execution is not None
        context, chash = self._call_context(task, parent)
        parts = lazy_parts(task)
        error: RemitError | None = None
        if parts is not None:
            try:
                task, kwargs = fill_call(task, parts, args, kwargs, context)
            except RemitError as exc:
                error = exc
        job = Job(task, args, kwargs, self.execution.id, parent, executor=task.executor)
        job.context, job.context_hash = context, chash
        job.sources = sources
        job.promise = promise
        promise.job = job
        if parent is None:
            self.execution.root_job = job
        else:
            parent.children.append(job)
            job.prov = parent.prov
        try:
            policy = cache_policy(task)
        except RemitError as exc:
            policy, error = _NO_REUSE, exc
        if not policy.prov:
            job.prov = False
        self.hooks.emit("on_job_created", job)
        try:
            if error is not None:
                raise error
            job.task_hash = task.hash
            job.arg_hashes = [hash_value(a) for a in args]
            job.kwarg_hashes = {k: hash_value(v) for k, v in kwargs.items()}
        except RemitError as exc:
            self._fail(job, JobFailure(exc, f"{type(exc).__name__}: {exc}\n", job))
            return
        job.args_hash = combine_argument_hashes(*key_hashes(
            policy, positional_names(task), job.arg_hashes, job.kwarg_hashes))
        job.eval_hash = hash_eval(job.task_hash, job.args_hash)
        if parts is not None and parts.job_info:
            self._add_job_info(job, parts)
        scope = policy.scope if job.prov else CacheScope.NONE
        if scope is not CacheScope.NONE:
            key = job.eval_hash + job.context_hash
            twin = self._by_eval.get(key)
            if twin is not None:  # an identical call in this run: evaluate once, share it
                job.cached = True
                twin.promise.then(lambda value: self._share(job, twin, value),
                                  lambda failure: self._fail(job, failure))
                return
            self._by_eval[key] = job
        if (scope is CacheScope.BACKEND and self.use_cache and task.cache
                and self.backend is not None):
            self._cache_queue.append(job)
        else:
            job.reason = uncached_reason(self.use_cache, task.cache, job.prov, scope)
            self._submit(job)

    def _call_context(self, task: Task, parent: Job | None) -> tuple[dict[str, Any] | None, str]:
        """The context a call of ``task`` sees: its caller's, updated by update_context."""
        if parent is None:
            base, chash = self.context or None, self._context_hash
        else:
            base, chash = parent.context, parent.context_hash
        override = task.options.get("_context_override")
        if not override:
            return base, chash
        merged = merge_context(base or {}, override)
        return merged, context_hash(merged)

    def _add_job_info(self, job: Job, parts: Any) -> None:
        """Give JobInfo parameters the running job's info (after hashing: not in the key)."""
        names = job_info_names(parts, job.args, job.kwargs)
        if names:
            job.kwargs = dict(job.kwargs)
            for name in names:
                job.kwargs[name] = JobInfo.from_job(job)
                job.kwarg_hashes[name] = hash_value("JobInfo")

    def _check_cache(self) -> None:
        jobs, self._cache_queue = self._cache_queue, []
        shallow = [job for job in jobs if cache_policy(job.task).shallow]
        if shallow:
            jobs = self._check_shallow(shallow, jobs)
        hits = self.backend.check_cache([job.eval_hash for job in jobs]) if jobs else {}
        misses = []
        for job in jobs:
            result = hits.get(job.eval_hash, _MISS)
            if result is not _MISS and _still_valid(result):
                _refresh_call_arguments(result)
                job.cached = True
                self.hooks.emit("on_cache_hit", job, result)
                self._job_returned(job, result)
            else:
                if result is not _MISS:
                    job.reason = invalid_result_reason(result)
                misses.append(job)
        if misses:
            self._explainer.explain([job for job in misses if not job.reason])
        for job in misses:
            self._submit(job)

    def _check_shallow(self, shallow: list[Job], jobs: list[Job]) -> list[Job]:
        """Serve shallow-checked calls from their final results; return the jobs left."""
        from remit.db.shallow import check_shallow_cache

        if self._known_task_hashes is None:
            self._known_task_hashes = frozenset(t.hash for t in registered_tasks().values())
        hits = check_shallow_cache(self.backend, shallow, self._known_task_hashes)
        served, ultimate_misses = set(), []
        for job in shallow:
            hit = hits.get(job.id)
            if hit is not None and _still_valid(hit.value):
                served.add(job.id)
                job.cached, job.subtree = True, hit.subtree
                self.hooks.emit("on_cache_hit", job, hit.value)
                self._finish(job, hit.value, hit.call_hash)
            elif cache_policy(job.task).ultimate_only:
                served.add(job.id)
                ultimate_misses.append(job)
        if ultimate_misses:
            self._explainer.explain([job for job in ultimate_misses if not job.reason])
            for job in ultimate_misses:
                self._submit(job)
        return [job for job in jobs if job.id not in served]

    def _submit(self, job: Job) -> None:
        try:
            executor = self._executor_for(job)
            wanted = task_limits(job.task.fullname, job.task.options.get("limits"))
            if wanted:
                self._limits.check(job.task.fullname, wanted)
        except RemitError as exc:
            self._fail(job, JobFailure(exc, f"{type(exc).__name__}: {exc}\n", job))
            return
        if wanted:
            if not self._limits.fits(wanted):
                self._waiting_for_limits.append(job)  # started when a holder finishes
                return
            self._limits.take(wanted)
            job.held = wanted
        job.state = JobState.RUNNING
        job.start_time = time.time()
        self._outstanding[job.id] = job
        self.hooks.emit("on_job_submit", job)
        executor.submit(job)

    def _job_reported(self, job: Job, result: Any, failure: JobFailure | None) -> None:
        if self._outstanding.pop(job.id, None) is None:
            return  # a duplicate or late report
        if job.held:
            self._limits.give_back(job.held)
            job.held = None
            waiting, self._waiting_for_limits = self._waiting_for_limits, deque()
            for other in waiting:  # in call order; those that still do not fit wait again
                self._submit(other)
        if failure is not None:
            self._fail(job, failure)
        else:
            self._job_returned(job, result)

    def _job_returned(self, job: Job, result: Any) -> None:
        if not job.cached:
            self.hooks.emit("on_job_result", job, result)
        if type(result) in _PRIMITIVES:  # nothing to evaluate: finish now, release sooner
            self._finish(job, result)
            return
        self._evaluate(result, job).then(
            lambda value: self._finish(job, value), lambda failure: self._fail(job, failure)
        )

    def _finish(self, job: Job, value: Any, call_hash: str = "") -> None:
        try:
            job.result_hash = hash_value(value)
        except RemitError as exc:
            self._fail(job, JobFailure(exc, f"{type(exc).__name__}: {exc}\n", job))
            return
        job.call_hash = call_hash or hash_struct(
            "Call", job.task_hash, job.args_hash, job.result_hash,
            tuple(child.call_hash for child in job.children),
        )
        job.state = JobState.CACHED if job.cached else JobState.DONE
        job.end_time = time.time()
        self.hooks.emit("on_job_done", job, value)
        job.promise.resolve(value)
        self._release(job)

    def _share(self, job: Job, twin: Job, value: Any) -> None:
        job.children, job.subtree = twin.children, twin.subtree  # the same call node
        job.result_hash, job.call_hash = twin.result_hash, twin.call_hash
        job.state, job.end_time = JobState.CACHED, time.time()
        self.hooks.emit("on_job_done", job, value)
        job.promise.resolve(value)
        self._release(job)

    def _release(self, job: Job) -> None:
        # Met again, the same expression makes a twin of this job, which shares its result.
        promise = job.promise
        if promise.key is not None:
            self._expr_promises.pop(promise.key, None)
            promise.key = None
        _release(job)

    def _fail(self, job: Job, failure: JobFailure) -> None:
        if job.state is JobState.FAILED:
            return
        job.state = JobState.FAILED
        job.error = failure
        job.end_time = time.time()
        self.hooks.emit("on_job_failed", job, failure)
        job.promise.reject(failure)

    def _abandon_outstanding(self) -> None:
        """On interruption: record every running job as failed, so the store stays exact."""
        for job in list(self._outstanding.values()):
            self._fail(job, JobFailure(KeyboardInterrupt("run interrupted"), "", job))
        self._outstanding.clear()
        for job in self._by_eval.values():  # bodies done, still waiting for their children
            if job.state is JobState.RUNNING:
                self._fail(job, JobFailure(KeyboardInterrupt("run interrupted"), "", job))

    # -- executors ------------------------------------------------------------------------

    def _executor(self, name: str, options: dict[str, str] | None = None) -> Executor:
        executor = self._executors.get(name)
        if executor is None:
            options = options if options is not None else self.config.executor_options(name)
            where = self.config.where(f"executors.{name}")
            executor = create_executor(name, options, self.config.config_dir, where)
            executor.use_cache = self.use_cache
            self._executors[name] = executor
        return executor

    def _executor_for(self, job: Job) -> Executor:
        name = job.task.executor
        executor = self._executor(name)
        if name not in self._started:
            executor.start(self._report)
            self._started.add(name)
        job.executor = name
        return executor

    def _stop_executors(self) -> None:
        for name in self._started:
            self._executors[name].stop()
        self._started.clear()


_MISS = object()
_BURST = 2000  # ready callbacks between two looks at the cache queue and the reports
_WINDOW = 20_000  # expressions of one value begun and not yet settled, at most


_NOTHING: dict = {}  # shared by released jobs, which are read-only: never mutated
_NO_ITEMS: list = []


def _substitute(value: Any, exprs: list[Expression], results: list[Any]) -> Any:
    """``value`` with each expression found by ``iter_nested`` replaced by its result."""
    if len(exprs) <= _WINDOW:
        return _substitute_by_id(value, exprs, results)
    # Many: take the results in order (the order iter_nested found them) instead of a map
    # by id of a million entries; where map_nested skipped a container that iter_nested
    # entered (a dict or list subclass), the counts differ and the map by id is used.
    ordered = iter(results)
    taken = [0]

    def take(leaf: Any) -> Any:
        if not isinstance(leaf, Expression):
            return leaf
        taken[0] += 1
        return next(ordered, leaf)

    substituted = map_nested(take, value)
    if taken[0] == len(results):
        return substituted
    return _substitute_by_id(value, exprs, results)


def _substitute_by_id(value: Any, exprs: list[Expression], results: list[Any]) -> Any:
    by_id = {id(e): r for e, r in zip(exprs, results, strict=True)}
    return map_nested(
        lambda leaf: by_id.get(id(leaf), leaf) if isinstance(leaf, Expression) else leaf, value)


def _release(job: Job) -> None:
    """Drop what a finished job no longer needs once it is recorded: its arguments and their
    hashes and its call text. What stays (id, task, times, eval, call and result hashes,
    children, the settled promise) is what twins in this run, parents' call hashes, shallow
    cache checks and a look at the job tree after the run read."""
    job.args, job.kwargs, job.sources = (), _NOTHING, _NOTHING
    job.arg_hashes, job.kwarg_hashes = _NO_ITEMS, _NOTHING
    if not job.children:
        job.children = _NO_ITEMS
    if not job.tags:
        job.tags = _NOTHING
    job.call_text = job.args_hash = ""


def _original_error(failure: JobFailure) -> BaseException:
    """The exception a failed task raised, with its remote traceback chained if it has none."""
    error = failure.error
    while isinstance(error, JobFailure):
        error = error.error
    text = failure.traceback_text
    if error.__traceback__ is None and error.__cause__ is None and "Traceback" in text:
        error.__cause__ = RemoteTraceback(text)
    return error


def _refresh_call_arguments(result: Any) -> None:
    """Bring Files inside a cached result's pending calls up to date.

    A cached body that returned ``count(File("data.tsv"))`` would build that File afresh if
    it ran again, so the File's recorded hash is refreshed instead: the call then misses the
    cache exactly when the file changed, without re-running the body that built it.
    """
    if type(result) in _PRIMITIVES:
        return
    stack = [leaf for leaf in iter_nested(result) if isinstance(leaf, Expression)]
    while stack:
        expr = stack.pop()
        if isinstance(expr, TaskExpression):
            parts: Any = (expr.args, expr.kwargs)
        elif isinstance(expr, SimpleExpression):
            parts = expr.operands
        elif isinstance(expr, SchedulerExpression):
            parts = expr.args
        else:
            continue
        for leaf in iter_nested(parts):
            if isinstance(leaf, Expression):
                stack.append(leaf)
            elif type(leaf) not in _PRIMITIVES:
                refresh(leaf)


def _still_valid(value: Any) -> bool:
    """Whether a cached value's Files (and other checked values) still hold."""
    if type(value) in _PRIMITIVES:
        return True
    return is_valid(value)


# Also importable from here, where redun defines them: catch, cond, throw, apply_tags,
# scheduler_task, get_current_scheduler, set_current_scheduler.
__all__ = [
    "ExecutionFailed", "JobInfo", "RemoteTraceback", "Scheduler", "apply_tags", "catch", "cond",
    "fork_thread", "get_current_scheduler", "join_thread", "scheduler_task",
    "set_current_scheduler", "subrun", "throw",
]
