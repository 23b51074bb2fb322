"""Runs jobs on this machine: a thread pool (``mode = thread``, the default executor) or a
process pool (``mode = process``). Options: ``mode``, ``max_workers``.
Calls and results cross to worker processes as ``transfer`` payloads (large ones by file).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from concurrent.futures import Executor as PoolExecutor
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from remit.config import parse_int
from remit.errors import ConfigError, SerializationError
from remit.executors import transfer
from remit.executors.base import Executor, Report, failure_from_exception
from remit.executors.mutation import mutated_arguments, mutation_error
from remit.jobs import Job, JobFailure

_MODES = ("thread", "process")


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
    ) -> None:
        super().__init__(name, options, config_dir)
        self.mode = mode or self.options.get("mode", "thread")
        self.validate(name, {**self.options, "mode": self.mode}, f"LocalExecutor({name!r})")
        default_workers = 20 if self.mode == "thread" else (os.cpu_count() or 2)
        self.max_workers = max_workers or int(self.options.get("max_workers", default_workers))
        self._pool: PoolExecutor | None = None

    @classmethod
    def validate(cls, name: str, options: dict[str, str], where: str) -> None:
        """Check ``mode`` and ``max_workers``."""
        mode = options.get("mode", "thread")
        if mode not in _MODES:
            raise ConfigError(f"{where} mode: expected 'thread' or 'process', got {mode!r}")
        if "max_workers" in options:
            parse_int(options["max_workers"], f"{where} max_workers", minimum=1)

    def start(self, report: Report) -> None:
        """Create the pool lazily on first submit."""
        super().start(report)

    def submit(self, job: Job) -> None:
        """Run the job in the pool; the result is reported from the pool's thread."""
        if self._pool is None:
            self._pool = self._make_pool()
        if self.mode == "thread":
            self._pool.submit(self._run_in_thread, job)
            return
        try:
            payload = transfer.pack((job.task.func, job.args, job.kwargs),
                                    f"the arguments of {job.task.fullname}")
        except (SerializationError, OSError) as exc:
            self.report(job, None, JobFailure(exc, f"{type(exc).__name__}: {exc}\n", job))
            return
        future = self._pool.submit(_run_pickled, payload)
        future.add_done_callback(lambda fut: self._process_done(job, fut, payload))

    def stop(self) -> None:
        """Shut the pool down without waiting for abandoned jobs."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _make_pool(self) -> PoolExecutor:
        if self.mode == "process":
            transfer.clean_stale()
        if self.mode == "thread":
            return ThreadPoolExecutor(self.max_workers, thread_name_prefix=f"remit-{self.name}")
        return ProcessPoolExecutor(self.max_workers, mp_context=multiprocessing.get_context("fork"))

    def _run_in_thread(self, job: Job) -> None:
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
        self.report(job, result, None)

    def _process_done(self, job: Job, future: Future, payload: transfer.Payload) -> None:
        transfer.discard(payload)  # read by the worker, unless it died first
        try:
            status, body, job.cpu_seconds = future.result()
            result = transfer.unpack(body) if status == "ok" else None
        except BaseException as exc:  # the worker died (e.g. killed, out of memory)
            self.report(job, None, failure_from_exception(exc, job))
            return
        if status == "ok":
            self.report(job, result, None)
        else:
            error, text = pickle.loads(body)
            self.report(job, None, JobFailure(error, text, job))


def _run_pickled(payload: transfer.Payload) -> tuple[str, Any, float]:
    """Worker side: run the function; return ('ok', result payload) or ('error', (exc,
    traceback)), with the CPU seconds it took."""
    import traceback

    func, args, kwargs = transfer.unpack(payload)
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
