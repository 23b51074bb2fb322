"""What a run prints: `[remit]` log lines per job and the JOB STATUS table (a hook listener).

Lines go to a text stream (stderr by default). On a terminal the table stays live at the
bottom of the screen while jobs run (rich); elsewhere it is printed every
``job_status_interval`` seconds. Either way it is printed once more at the end.
Each task's first ``FULL_LINES`` `Run` (and `Cached`) lines are printed in full; beyond that,
one summary line per task says how many more ran, every status interval (``verbose``, which
is `remit run -v`, prints them all). The status counters move by hook, never by recount.
``terminal_handoff()`` pauses live tables while something else (an interactive debug
container) owns the terminal.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from remit.display import status_table_lines
from remit.jobs import Execution, Job, JobFailure

PREFIX = "[remit] "
FULL_LINES = 20  # job lines printed in full per task and kind; more are summarized


def log_line(text: str, stream: TextIO | None = None) -> None:
    """Write one ``[remit]``-prefixed line."""
    (stream or sys.stderr).write((PREFIX + text).rstrip() + "\n")


_SUMMARY_REASONS = 3  # reasons named in a summary line; the rest are counted together


def _reasons_text(reasons: Counter[str], count: int) -> str:
    """``: 120 new task: ...; 10 argument i changed`` (nothing when no job gave a reason)."""
    if not any(reasons):
        return ""
    top = [(reason or "no reason given", n) for reason, n in
           reasons.most_common(_SUMMARY_REASONS)]
    rest = count - sum(n for _, n in top)
    words = "; ".join(f"{n:,} {reason}" for reason, n in top)
    return f": {words}" + (f"; {rest:,} for other reasons" if rest else "")


_live_tables: list[Any] = []


@contextmanager
def terminal_handoff() -> Iterator[None]:
    """Pause live status tables while another party owns the terminal."""
    paused = [live for live in _live_tables if live.is_started]
    for live in paused:
        live.stop()
    try:
        yield
    finally:
        for live in paused:
            live.start()


class RunLog:
    """Hook listener that logs job transitions and keeps per-task status counts."""

    def __init__(self, stream: TextIO | None = None, status_interval: float = 20.0,
                 live: bool | None = None, verbose: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.status_interval = status_interval
        self.verbose = verbose
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._running: set[str] = set()  # ids of submitted jobs not yet finished
        self._lines: dict[tuple[str, str], int] = defaultdict(int)  # (kind, task) -> printed
        # (kind, task, where) -> how many lines were not shown, by the reason they gave
        self._unshown: dict[tuple[str, str, str], Counter[str]] = {}
        self._last_table = time.monotonic()
        if live is None:
            live = self.stream.isatty()
        self._live: Any = self._make_live() if live else None
        self._pending: list[str] = []

    def _make_live(self) -> Any:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        def render() -> Text:
            snapshot = {task: dict(counts) for task, counts in list(self.counts.items())}
            return Text("\n".join(PREFIX + line for line in status_table_lines(snapshot)[1:]))

        return Live(console=Console(file=self.stream), get_renderable=render,
                    refresh_per_second=4, transient=True, redirect_stdout=False)

    def _write(self, text: str) -> None:
        line = (PREFIX + text).rstrip()
        if self._live is not None and self._live.is_started:
            self._pending.append(line)  # printed above the live table on the next tick
        else:
            self.stream.write(line + "\n")

    def _flush_live(self) -> None:
        if self._pending:
            text, self._pending = "\n".join(self._pending), []
            self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def _settle(self, job: Job, state: str) -> None:
        """Move a job from PENDING or RUNNING to its final column (counters only)."""
        counts = self.counts[job.task.fullname]
        if job.id in self._running:
            self._running.discard(job.id)
            counts["RUNNING"] -= 1
        else:
            counts["PENDING"] -= 1
        counts[state] += 1

    def _job_line(self, kind: str, job: Job, text: str, where: str = "",
                  reason: str = "") -> None:
        """Print a job's line, or, past ``FULL_LINES`` of a kind for a task (and unless
        verbose), count it, by its reason, for the next summary line."""
        key = (kind, job.task.fullname)
        if self.verbose or self._lines[key] < FULL_LINES:
            self._lines[key] += 1
            self._write(text)
            return
        quiet = (kind, job.task.fullname, where)
        reasons = self._unshown.get(quiet)
        if reasons is None:
            reasons = self._unshown[quiet] = Counter()
        reasons[reason] += 1

    def _summarize(self) -> None:
        """One line per task for the job lines not printed since the last summary, with the
        commonest reasons they ran for."""
        unshown, self._unshown = self._unshown, {}
        for (kind, task, where), reasons in unshown.items():
            count = sum(reasons.values())
            self._write(f"{kind:<6} {count:,} more job{'s' if count > 1 else ''} of {task}"
                        f"{where}{_reasons_text(reasons, count)} (remit run -v prints each)")

    def on_execution_start(self, execution: Execution) -> None:
        """Announce the execution and its command line; start the live table on a terminal."""
        self._write(f"Start Execution {execution.id}:  {' '.join(execution.argv)}")
        if self._live is not None:
            self._live.start()
            _live_tables.append(self._live)

    def on_job_created(self, job: Job) -> None:
        """Count the job as PENDING."""
        counts = self.counts[job.task.fullname]
        counts["TOTAL"] += 1
        counts["PENDING"] += 1

    def on_job_submit(self, job: Job) -> None:
        """``Run    Job <id>:  task(args) on <executor>  (why it was not cached)``."""
        counts = self.counts[job.task.fullname]
        counts["PENDING"] -= 1
        counts["RUNNING"] += 1
        self._running.add(job.id)
        why = f"  ({job.reason})" if job.reason else ""
        self._job_line("Run", job, f"Run    Job {job.short_id}:  {job.describe_call()} on "
                                   f"{job.executor}{why}", f" on {job.executor}", job.reason)

    def on_cache_hit(self, job: Job, result: Any) -> None:
        """``Cached Job <id>:  task(args) (eval_hash=...)``."""
        self._job_line("Cached", job, f"Cached Job {job.short_id}:  {job.describe_call()} "
                                      f"(eval_hash={job.eval_hash[:8]})")

    def on_job_done(self, job: Job, value: Any) -> None:
        """Count the job as DONE or CACHED."""
        self._settle(job, "CACHED" if job.cached else "DONE")

    def on_job_failed(self, job: Job, failure: JobFailure) -> None:
        """Count the job as FAILED and say so once, where the failure began."""
        self._settle(job, "FAILED")
        if failure.job is job:
            self._write(f"*** Reject Job {job.short_id}:  {job.describe_call()}: {failure}")

    def on_tick(self) -> None:
        """Print the table now and then while jobs run (unless it is live)."""
        now = time.monotonic()
        due = now - self._last_table >= self.status_interval
        if due:
            self._last_table = now
            self._summarize()
        if self._live is not None:
            self._flush_live()
            return
        if due:
            self.print_table()
        self.stream.flush()

    def on_execution_end(self, execution: Execution) -> None:
        """Stop the live table and print the final one."""
        self._summarize()
        if self._live is not None:
            self._flush_live()
            self._live.stop()
            _live_tables.remove(self._live)
        self.print_table()
        self.stream.flush()

    def print_table(self) -> None:
        """Print the JOB STATUS table as ``[remit] |`` lines."""
        for line in status_table_lines(self.counts):
            self._write(line)
