"""Runs jobs on this machine: a thread pool (``mode = thread``, the default executor) or a
process pool (``mode = process``). Options: ``mode``, ``max_workers``.

Between processes, a job's call and its result travel as pickles streamed to a temporary
file when they are large (``TRANSFER_INLINE`` bytes or more) instead of through the pool's
pipe, which would hold them two or three times over in each process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import tempfile
from concurrent.futures import Executor as PoolExecutor
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from remit.config import parse_int
from remit.errors import ConfigError, SerializationError
from remit.executors.base import Executor, Report, failure_from_exception
from remit.jobs import Job, JobFailure
from remit.pickling import SpillFile, dump, stale_temporaries

_MODES = ("thread", "process")


class LocalExecutor(Executor):
    """Thread or process pool on the local machine."""

    type_name = "local"

    def __init__(self, name: str, options: dict[str, str], config_dir: Any) -> None:
        super().__init__(name, options, config_dir)
        self.mode = options.get("mode", "thread")
        default_workers = 20 if self.mode == "thread" else (os.cpu_count() or 2)
        self.max_workers = int(options.get("max_workers", default_workers))
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
        sink = SpillFile(TRANSFER_INLINE, _transfer_dir())
        try:
            dump((job.task.func, job.args, job.kwargs), sink,
                 f"the arguments of {job.task.fullname}")
            sink.close()
        except (SerializationError, OSError) as exc:
            self.report(job, None, JobFailure(exc, f"{type(exc).__name__}: {exc}\n", job))
            return
        payload = ("file", sink.path) if sink.spilled else ("bytes", sink.getvalue())
        future = self._pool.submit(_run_pickled, payload)
        future.add_done_callback(lambda fut: self._process_done(job, fut, sink))

    def stop(self) -> None:
        """Shut the pool down without waiting for abandoned jobs."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _make_pool(self) -> PoolExecutor:
        if self.mode == "process":
            for stale in stale_temporaries(_transfer_dir()):
                stale.unlink(missing_ok=True)
        if self.mode == "thread":
            return ThreadPoolExecutor(self.max_workers, thread_name_prefix=f"remit-{self.name}")
        return ProcessPoolExecutor(self.max_workers, mp_context=multiprocessing.get_context("fork"))

    def _run_in_thread(self, job: Job) -> None:
        try:
            result = job.task.func(*job.args, **job.kwargs)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, none lost
            self.report(job, None, failure_from_exception(exc, job))
            return
        self.report(job, result, None)

    def _process_done(self, job: Job, future: Future, sink: SpillFile) -> None:
        sink.discard()  # the call's pickle, if it went through a file
        try:
            status, body = future.result()
            if status == "ok":
                result = _load(body)
        except BaseException as exc:  # the worker died (e.g. killed, out of memory)
            self.report(job, None, failure_from_exception(exc, job))
            return
        if status == "ok":
            self.report(job, result, None)
        else:
            error, text = pickle.loads(body)
            self.report(job, None, JobFailure(error, text, job))


TRANSFER_INLINE = 1024 * 1024


def _transfer_dir() -> str:
    """Where large pickles between the scheduler and its pool workers go."""
    return os.path.join(tempfile.gettempdir(), "remit-transfer")


def _load(payload: tuple[str, Any]) -> Any:
    """Unpickle a ``("bytes", data)`` or ``("file", path)`` payload (deleting the file)."""
    kind, body = payload
    if kind == "bytes":
        return pickle.loads(body)
    try:
        with open(body, "rb") as file:
            return pickle.load(file)
    finally:
        os.unlink(body)


def _run_pickled(payload: tuple[str, Any]) -> tuple[str, Any]:
    """Worker side: run the function, return ('ok', payload) or ('error', (exc, traceback))."""
    import traceback

    kind, body = payload
    if kind == "bytes":
        func, args, kwargs = pickle.loads(body)
    else:
        with open(body, "rb") as file:
            func, args, kwargs = pickle.load(file)
    del payload, body
    try:
        result = func(*args, **kwargs)
        del args, kwargs
        sink = SpillFile(TRANSFER_INLINE, _transfer_dir())
        dump(result, sink, "the result")
        sink.close()
        return "ok", ("file", sink.path) if sink.spilled else ("bytes", sink.getvalue())
    except BaseException as exc:  # noqa: BLE001
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            return "error", pickle.dumps((exc, text), protocol=5)
        except Exception:
            return "error", pickle.dumps((RuntimeError(repr(exc)), text), protocol=5)
