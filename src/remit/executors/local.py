"""Runs jobs on this machine: a thread pool (``mode = thread``, the default executor) or a
process pool (``mode = process``, see ``process_pool``). Calls and results cross to worker
processes as ``transfer`` payloads (large ones by file).

Options: ``mode``, ``max_workers``, ``timeout`` (seconds; also a task option,
``@task(timeout=2)``). Any other option in the ini section is a ConfigError, and so is a task
option of a task on this executor that no executor type knows (``memroy=8``). A job over its
time limit fails with JobTimeoutError: in a process its worker is killed; in a thread (which
cannot be killed) it is abandoned and the run goes on without it.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import os
import pickle
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from remit.config import parse_float, parse_int
from remit.errors import ConfigError, JobTimeoutError, RemoteJobError, SerializationError
from remit.executors import transfer
from remit.executors.base import Executor, Report, failure_from_exception
from remit.executors.deadlines import Deadlines
from remit.executors.mutation import mutated_arguments, mutation_error
from remit.jobs import Job, JobFailure
from remit.task import SCHEDULER_OPTIONS

_MODES = ("thread", "process")
_SECTION_OPTIONS = ("type", "mode", "max_workers", "timeout")
TASK_OPTIONS = ("timeout",)


class LocalExecutor(Executor):
    """Thread or process pool on the local machine.

    Built from a section's options, or directly for the Python API:
    ``LocalExecutor("batch")`` (threads) or ``LocalExecutor("procs", mode="process")``.
    """

    type_name = "local"

    def __init__(
        self,
        name: str,
        options: dict[str, str] | None = None,
        config_dir: Any = None,
        *,
        mode: str | None = None,
        max_workers: int | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(name, options, config_dir)
        self.mode = mode or self.options.get("mode", "thread")
        self.validate(name, {**self.options, "mode": self.mode}, f"LocalExecutor({name!r})")
        default_workers = 20 if self.mode == "thread" else (os.cpu_count() or 2)
        self.max_workers = max_workers or int(self.options.get("max_workers", default_workers))
        raw = timeout or self.options.get("timeout")
        self.timeout = _timeout(raw, f"[executors.{name}] timeout") if raw else None
        self._threads: ThreadPoolExecutor | None = None
        self._processes: Any = None
        self._deadlines = Deadlines(f"remit-{name}-timeouts")

    @classmethod
    def validate(cls, name: str, options: dict[str, str], where: str) -> None:
        """Check ``mode``, ``max_workers`` and ``timeout``; any other option is an error."""
        unknown = sorted(set(options) - set(_SECTION_OPTIONS))
        if unknown:
            raise ConfigError(f"{where} {unknown[0]}: unknown local executor option; known "
                              f"options: {', '.join(_SECTION_OPTIONS)}")
        mode = options.get("mode", "thread")
        if mode not in _MODES:
            raise ConfigError(f"{where} mode: expected 'thread' or 'process', got {mode!r}")
        if "max_workers" in options:
            parse_int(options["max_workers"], f"{where} max_workers", minimum=1)
        if options.get("timeout"):
            _timeout(options["timeout"], f"{where} timeout")

    def check_task_options(self, options: dict[str, Any], where: str) -> None:
        """A task on this executor may set ``timeout`` besides the scheduler's options, and the
        resource options of other executor types (``memory=8`` matters when the same task runs
        on AWS Batch, so it is accepted and ignored here); any other name is a ConfigError."""
        known = SCHEDULER_OPTIONS | set(TASK_OPTIONS) | _resource_options()
        unknown = sorted(set(options) - known)
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{where}: option {unknown[0]!r} is not an option of executor {self.name!r} "
                f"(type local, which takes: {', '.join(TASK_OPTIONS)}); {hint}remove it or run "
                "the task on an executor that has it"
            )
        timeout = options.get("timeout")
        if isinstance(timeout, int | float | str):  # not a get_context(...) expression
            _timeout(timeout, f"{where} timeout")

    def start(self, report: Report) -> None:
        """Create the pool lazily on first submit (a stopped executor may start again)."""
        super().start(report)
        self._deadlines = Deadlines(f"remit-{self.name}-timeouts")

    def submit(self, job: Job) -> None:
        """Run the job in the pool; the result is reported from the pool's thread."""
        options = job.task.options
        if len(options) > 1 or (options and "executor" not in options):  # beyond the usual
            try:
                self.check_task_options(options, f"task {job.task.fullname}")
            except ConfigError as exc:
                self.report(job, None, JobFailure(exc, f"{type(exc).__name__}: {exc}\n", job))
                return
        timeout = options.get("timeout", self.timeout)
        timeout = float(timeout) if isinstance(timeout, int | float | str) else self.timeout
        if self.mode == "thread":
            if self._threads is None:
                self._threads = ThreadPoolExecutor(self.max_workers,
                                                   thread_name_prefix=f"remit-{self.name}")
            self._threads.submit(self._run_in_thread, job, timeout)
            return
        try:
            payload = transfer.pack((job.task.func, job.args, job.kwargs),
                                    f"the arguments of {job.task.fullname}")
        except (SerializationError, OSError) as exc:
            self.report(job, None, JobFailure(exc, f"{type(exc).__name__}: {exc}\n", job))
            return
        if self._processes is None:
            from remit.executors.process_pool import WorkerPool

            transfer.clean_stale()
            self._processes = WorkerPool(self.max_workers, _run_pickled, f"remit-{self.name}")
        token = self._processes.submit(
            payload, lambda outcome, got: self._done(job, outcome, got, payload))
        if timeout is not None:
            self._deadlines.add(time.monotonic() + timeout,
                                lambda: self._process_deadline(job, token, timeout))

    def stop(self) -> None:
        """Shut the pools down without waiting for abandoned jobs (their processes die)."""
        self._deadlines.stop()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None
        if self._processes is not None:
            self._processes.stop()
            self._processes = None

    # -- threads ----------------------------------------------------------------------------

    def _run_in_thread(self, job: Job, timeout: float | None) -> None:
        if timeout is not None:
            self._deadlines.add(time.monotonic() + timeout, lambda: self._report_timeout(
                job, timeout, "its thread cannot be stopped and is abandoned; the run goes on"))
        started = time.thread_time()
        try:
            result = job.task.func(*job.args, **job.kwargs)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, none lost
            job.cpu_seconds = time.thread_time() - started
            self.report(job, None, failure_from_exception(exc, job))
            return
        job.cpu_seconds = time.thread_time() - started
        mutated = mutated_arguments(job)
        if mutated:
            error = mutation_error(job, mutated)
            self.report(job, None, JobFailure(error, f"{type(error).__name__}: {error}\n", job))
            return
        self.report(job, result, None)  # after a timeout, the scheduler ignores it

    def _report_timeout(self, job: Job, timeout: float, what: str) -> None:
        error = JobTimeoutError(
            f"task {job.task.fullname} exceeded its timeout of {timeout:g} s ({what})"
        )
        self.report(job, None, JobFailure(error, f"JobTimeoutError: {error}\n", job))

    # -- processes --------------------------------------------------------------------------

    def _process_deadline(self, job: Job, token: int, timeout: float) -> None:
        """The limit counts from the job's start in a worker, not from its submission."""
        pool = self._processes
        if pool is None:
            return
        started = pool.started(token)
        if started is None or time.time() - started < timeout:
            remaining = timeout if started is None else timeout - (time.time() - started)
            if pool.pending(token):
                self._deadlines.add(time.monotonic() + remaining,
                                    lambda: self._process_deadline(job, token, timeout))
            return
        if not pool.pending(token):  # finished meanwhile
            return
        pool.kill(token)
        self._report_timeout(job, timeout, "its worker process was killed")

    def _done(self, job: Job, outcome: str, returned: Any, payload: transfer.Payload) -> None:
        transfer.discard(payload)  # kept until now: a job whose pool broke is submitted again
        if outcome == "died":  # returned is what happened to the worker
            error = RemoteJobError(f"task {job.task.fullname}: {returned}")
            self.report(job, None, JobFailure(error, f"RemoteJobError: {error}\n", job))
            return
        status, body, job.cpu_seconds = returned
        if status == "ok":
            try:
                self.report(job, transfer.unpack(body), None)
            except Exception as exc:
                self.report(job, None, failure_from_exception(exc, job))
        else:
            error, text = pickle.loads(body)
            self.report(job, None, JobFailure(error, text, job))


@functools.cache
def _resource_options() -> frozenset[str]:
    """Option names of the aws_batch executor (memory, vcpus, ...), valid on any task."""
    from remit.executors.aws_batch.options import BatchOptions

    return frozenset(f.name for f in dataclasses.fields(BatchOptions))


def _timeout(value: Any, where: str) -> float:
    number = parse_float(value, where, minimum=0)
    if number <= 0 or not math.isfinite(number):
        raise ConfigError(f"{where}: must be a positive number of seconds, got {value!r}")
    return number


def _run_pickled(payload: transfer.Payload) -> tuple[str, Any, float]:
    """Worker side: run the function; return ('ok', result payload) or ('error', (exc,
    traceback)), with the CPU seconds it took."""
    import traceback

    func, args, kwargs = transfer.unpack(payload, delete=False)
    del payload
    started = time.process_time()
    try:
        result = func(*args, **kwargs)
        cpu = time.process_time() - started
        del args, kwargs
        return "ok", transfer.pack(result, "the result"), cpu
    except BaseException as exc:  # noqa: BLE001
        cpu = time.process_time() - started
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            return "error", pickle.dumps((exc, text), protocol=5), cpu
        except Exception:
            return "error", pickle.dumps((RuntimeError(repr(exc)), text), protocol=5), cpu
