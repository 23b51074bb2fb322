"""A process pool that outlives its workers' crashes and never outlives remit.

Wraps ``concurrent.futures.ProcessPoolExecutor`` (fork) with what a workflow needs:

- Workers die with remit: every pool is forked from one long-lived *spawner* thread, and
  each worker asks the kernel to SIGKILL it when that thread (so remit) ends
  (``childguard.die_with_parent``); workers ignore SIGINT, which remit handles.
- Each worker reports which job it starts (job token, pid, start time) on a pipe, so a job
  can be killed (``kill``) and a crashed worker's job is known.
- When a worker dies (``os._exit``, a segfault, a kill), only its job fails ("worker process
  died: exit code N" / "signal S"); the pool is replaced and the other jobs that were in
  flight are submitted again to the new pool.

Callers get ``on_done(outcome, value)`` per job from a pool thread: ``("done", what the
function returned)``, or ``("died", message)``. It knows nothing
of tasks, caching or the scheduler.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from remit import childguard

Done = Callable[[str, Any], None]


class WorkerPool:
    """Runs ``func(payload)`` in worker processes; survives and reports worker deaths."""

    def __init__(self, max_workers: int, func: Callable[[Any], Any],
                 name: str = "remit") -> None:
        self.max_workers = max_workers
        self.func = func
        self.name = name
        self._lock = threading.RLock()  # a done callback may run inside submit()
        self._pool: ProcessPoolExecutor | None = None
        self._processes: dict[int, Any] = {}
        self._every_process: list[Any] = []
        self._generation = 0
        self._jobs: dict[int, tuple[Any, Done]] = {}  # token -> (payload, on_done)
        self._waiting: list[int] = []  # tokens to submit once a pool is up
        self._spawning = False
        self._stopped = False
        self._next_token = 0
        self._started: dict[int, tuple[int, float]] = {}  # token -> (pid, start time)
        self._killed: set[int] = set()
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        self._buffer = b""
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._spawner = threading.Thread(target=self._spawn_loop, daemon=True,
                                         name=f"{name}-spawner")
        self._spawner.start()

    # -- public -----------------------------------------------------------------------------

    def submit(self, payload: Any, on_done: Done) -> int:
        """Queue a job; returns its token (for ``started`` and ``kill``)."""
        with self._lock:
            token = self._next_token
            self._next_token += 1
            self._jobs[token] = (payload, on_done)
            self._submit_locked(token)
        return token

    def pending(self, token: int) -> bool:
        """Whether the job is still queued or running (not reported, not killed)."""
        with self._lock:
            return token in self._jobs

    def started(self, token: int) -> float | None:
        """When the job began running in a worker (None: not yet)."""
        with self._lock:
            self._drain_locked()
            entry = self._started.get(token)
        return entry[1] if entry else None

    def kill(self, token: int) -> None:
        """Stop a job: kill its worker if it runs, else drop it; ``on_done`` is not called."""
        with self._lock:
            self._drain_locked()
            self._jobs.pop(token, None)
            if token in self._waiting:
                self._waiting.remove(token)
            entry = self._started.get(token)
            if entry is None:
                return
            self._killed.add(token)
        try:
            os.kill(entry[0], signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Shut down: workers still running a job are killed."""
        with self._lock:
            self._stopped = True
            pool, processes = self._pool, list(self._every_process)
            self._pool = None
            self._jobs.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # of this pool and of broken ones
            if process.is_alive():
                process.kill()
        self._requests.put(None)
        for fd in (self._read_fd, self._write_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- submitting -------------------------------------------------------------------------

    def _submit_locked(self, token: int) -> None:
        if self._pool is None:
            self._waiting.append(token)
            if not self._spawning and not self._stopped:
                self._spawning = True
                self._requests.put(True)
            return
        generation = self._generation
        try:
            future = self._pool.submit(_run_in_worker, self.func, token, self._write_fd,
                                       self._jobs[token][0])
        except (BrokenProcessPool, RuntimeError):  # broken, being replaced
            self._replace_locked(generation)
            self._waiting.append(token)
            return
        future.add_done_callback(lambda fut: self._finished(token, generation, fut))

    def _spawn_loop(self) -> None:
        """The thread every worker is forked from: it lives as long as the pool."""
        while self._requests.get() is not None:
            with self._lock:
                if self._stopped:
                    return
            with childguard.FORK_LOCK:  # never in the middle of another thread's Popen
                pool = ProcessPoolExecutor(
                    self.max_workers, mp_context=multiprocessing.get_context("fork"),
                    initializer=_worker_start, initargs=(os.getpid(), self._read_fd),
                )
                pool.submit(os.getpid).result()  # fork the workers now, from this thread
            with self._lock:
                if self._stopped:
                    pool.shutdown(wait=False, cancel_futures=True)
                    return
                self._pool, self._processes = pool, dict(pool._processes)  # noqa: SLF001
                self._every_process.extend(self._processes.values())
                self._generation += 1
                self._spawning = False
                waiting, self._waiting = self._waiting, []
                for token in waiting:
                    if token in self._jobs:
                        self._submit_locked(token)

    def _replace_locked(self, generation: int) -> None:
        if generation != self._generation or self._pool is None:
            return  # already replaced
        old, self._pool = self._pool, None
        old.shutdown(wait=False, cancel_futures=False)
        if not self._spawning and not self._stopped:
            self._spawning = True
            self._requests.put(True)

    # -- results ----------------------------------------------------------------------------

    def _finished(self, token: int, generation: int, future: Future) -> None:
        error = future.exception() if not future.cancelled() else None
        if future.cancelled():
            return
        if error is None:
            with self._lock:
                job = self._jobs.pop(token, None)
                self._started.pop(token, None)
            if job is not None:
                job[1]("done", future.result())
            return
        if not isinstance(error, BrokenProcessPool):
            with self._lock:
                job = self._jobs.pop(token, None)
            if job is not None:
                job[1]("died", f"worker process failed: {type(error).__name__}: {error}")
            return
        self._worker_lost(token, generation)

    def _worker_lost(self, token: int, generation: int) -> None:
        """The pool broke: fail the job whose worker died, run the others again."""
        with self._lock:
            self._drain_locked()
            entry = self._started.pop(token, None)
            process = self._processes.get(entry[0]) if entry else None
            exitcode = process.exitcode if process is not None else None
            killed = token in self._killed
            self._killed.discard(token)
            job = self._jobs.get(token)
            self._replace_locked(generation)
            if job is None or killed:
                self._jobs.pop(token, None)
                return
            if exitcode is None or self._stopped:  # an innocent bystander: run it again
                if not self._stopped:
                    self._submit_locked(token)
                return
            del self._jobs[token]
        job[1]("died", _death_message(exitcode))

    def _drain_locked(self) -> None:
        """Read the workers' "started" lines (non-blocking)."""
        while True:
            try:
                chunk = os.read(self._read_fd, 65536)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            token, pid, started = line.split()
            self._started[int(token)] = (int(pid), float(started))


def _death_message(exitcode: int) -> str:
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown"
        return f"worker process died: signal {-exitcode} ({name})"
    return f"worker process died: exit code {exitcode}"


def _worker_start(parent_pid: int, read_fd: int) -> None:
    """In each new worker: die with remit, leave Ctrl-C to remit, and let SIGTERM (how the
    pool stops a worker) kill, whatever handler remit installed before the fork."""
    childguard.die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    os.close(read_fd)


def _run_in_worker(func: Callable[[Any], Any], token: int, write_fd: int,
                   payload: Any) -> Any:
    """Announce the job (token, pid, start time), then run it."""
    os.write(write_fd, f"{token} {os.getpid()} {time.time()}\n".encode())
    return func(payload)
