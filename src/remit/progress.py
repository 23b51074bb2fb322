"""What a run prints: `[remit]` log lines per job and the JOB STATUS table (a hook listener).

Lines go to a text stream (stderr by default). The table is printed every
``job_status_interval`` seconds while jobs run, and once at the end.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from typing import Any, TextIO

from remit.display import status_table_lines
from remit.jobs import Execution, Job, JobFailure

PREFIX = "[remit] "


def log_line(text: str, stream: TextIO | None = None) -> None:
    """Write one ``[remit]``-prefixed line."""
    (stream or sys.stderr).write((PREFIX + text).rstrip() + "\n")


class RunLog:
    """Hook listener that logs job transitions and keeps per-task status counts."""

    def __init__(self, stream: TextIO | None = None, status_interval: float = 20.0) -> None:
        self.stream = stream or sys.stderr
        self.status_interval = status_interval
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._state: dict[str, str] = {}
        self._last_table = time.monotonic()

    def _write(self, text: str) -> None:
        self.stream.write((PREFIX + text).rstrip() + "\n")

    def _move(self, job: Job, state: str) -> None:
        counts = self.counts[job.task.fullname]
        old = self._state.get(job.id)
        if old is not None:
            counts[old] -= 1
        else:
            counts["TOTAL"] += 1
        counts[state] += 1
        self._state[job.id] = state

    def on_execution_start(self, execution: Execution) -> None:
        """Announce the execution and its command line."""
        self._write(f"Start Execution {execution.id}:  {' '.join(execution.argv)}")

    def on_job_created(self, job: Job) -> None:
        """Count the job as PENDING."""
        self._move(job, "PENDING")

    def on_job_submit(self, job: Job) -> None:
        """``Run    Job <id>:  task(args) on <executor>``."""
        self._move(job, "RUNNING")
        self._write(f"Run    Job {job.short_id}:  {job.describe_call()} on {job.executor}")

    def on_cache_hit(self, job: Job, result: Any) -> None:
        """``Cached Job <id>:  task(args) (eval_hash=...)``."""
        self._write(
            f"Cached Job {job.short_id}:  {job.describe_call()} (eval_hash={job.eval_hash[:8]})"
        )

    def on_job_done(self, job: Job, value: Any) -> None:
        """Count the job as DONE or CACHED."""
        self._move(job, "CACHED" if job.cached else "DONE")

    def on_job_failed(self, job: Job, failure: JobFailure) -> None:
        """Count the job as FAILED and say so once, where the failure began."""
        self._move(job, "FAILED")
        if failure.job is job:
            self._write(f"*** Reject Job {job.short_id}:  {job.describe_call()}: {failure}")

    def on_tick(self) -> None:
        """Print the table now and then while jobs run."""
        now = time.monotonic()
        if now - self._last_table >= self.status_interval:
            self._last_table = now
            self.print_table()
        self.stream.flush()

    def on_execution_end(self, execution: Execution) -> None:
        """Print the final table."""
        self.print_table()
        self.stream.flush()

    def print_table(self) -> None:
        """Print the JOB STATUS table as ``[remit] |`` lines."""
        for line in status_table_lines(self.counts):
            self._write(line)
