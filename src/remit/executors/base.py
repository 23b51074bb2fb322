"""The executor contract: start, submit, stop, and report each job through a callback.

An executor runs jobs somewhere (threads, processes, AWS Batch, a container) and reports each
one exactly once through the ``report`` callback it was started with, from any thread. It
never decides caching and never imports the scheduler.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from remit.jobs import Job, JobFailure

Report = Callable[[Job, Any, "JobFailure | None"], None]


class Executor:
    """Base class: subclasses implement ``submit`` and may override ``start``/``stop``."""

    type_name = ""

    def __init__(
        self, name: str, options: dict[str, str] | None = None, config_dir: Path | None = None
    ) -> None:
        self.name = name
        self.options = options if options is not None else {}
        self.config_dir = config_dir if config_dir is not None else Path.cwd() / ".remit"
        self.use_cache = True  # False under --no-cache: remote jobs must not reuse old outputs
        self._report: Report | None = None

    @classmethod
    def validate(cls, name: str, options: dict[str, str], where: str) -> None:
        """Check an ``[executors.NAME]`` section up front; raise ConfigError naming the option."""

    def check_task_options(self, options: dict[str, Any], where: str) -> None:
        """Check a task's options for this executor up front; raise ConfigError naming one."""

    def start(self, report: Report) -> None:
        """Prepare to run jobs; ``report(job, result, failure)`` announces each finished job."""
        self._report = report

    def submit(self, job: Job) -> None:
        """Start running a job; must not block on the job's completion."""
        raise NotImplementedError

    def stop(self) -> None:
        """Release resources; jobs still running may be abandoned."""

    def report(self, job: Job, result: Any = None, failure: JobFailure | None = None) -> None:
        """Announce a finished job to the scheduler (thread-safe)."""
        assert self._report is not None, "executor used before start()"
        self._report(job, result, failure)


def failure_from_exception(error: BaseException, job: Job | None) -> JobFailure:
    """Wrap the exception being handled, with its formatted traceback, as a JobFailure."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return JobFailure(error, text, job)


def failure_from_message(error: BaseException, job: Job | None) -> JobFailure:
    """A JobFailure shown as one line, ``Type: message``: for errors that say it all."""
    return JobFailure(error, f"{type(error).__name__}: {error}\n", job)
