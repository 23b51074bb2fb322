"""Runtime records of a run: `Execution`, `Job`, `JobState` and the error a job fails with.

Plain data shared by the scheduler, executors, hooks and the provenance recorder. Nothing
here evaluates, schedules or stores anything.
"""

from __future__ import annotations

import enum
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from remit.hashing import normalize

if TYPE_CHECKING:
    from remit.task import Task


class JobState(enum.Enum):
    """Where a job stands; the JOB STATUS table's columns."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    FAILED = "FAILED"
    CACHED = "CACHED"
    DONE = "DONE"


@dataclass(eq=False, slots=True)
class Job:
    """One evaluation of a task call within an execution."""

    task: Task
    args: tuple
    kwargs: dict[str, Any]
    execution_id: str
    parent: Job | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    task_hash: str = ""
    args_hash: str = ""
    eval_hash: str = ""
    call_hash: str = ""
    result_hash: str = ""
    executor: str = "default"
    state: JobState = JobState.PENDING
    cached: bool = False
    start_time: float = field(default_factory=time.time)
    end_time: float | None = None
    children: list[Job] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    error: JobFailure | None = None
    arg_hashes: list[str] = field(default_factory=list)
    kwarg_hashes: dict[str, str] = field(default_factory=dict)
    sources: dict[str, Job] = field(default_factory=dict)  # argument -> job that produced it
    promise: Any = None
    call_text: str = ""
    cpu_seconds: float | None = None  # CPU time of the body, where the executor measures it
    context: dict[str, Any] | None = None  # context variables seen by this call (None: empty)
    context_hash: str = ""  # hash of ``context`` when it is not empty
    prov: bool = True  # False: not recorded in the store (task option prov=False, no_prov)
    subtree: frozenset[str] | None = None  # task hashes below a call served by shallow caching
    reason: str = ""  # why it ran instead of coming from the cache (explain.py)
    held: dict[str, int] | None = None  # resource units held while the body runs (limits.py)


    @property
    def short_id(self) -> str:
        """The first 8 characters of the job id, as shown in logs."""
        return self.id[:8]

    def describe_call(self) -> str:
        """``fullname(arg=value, ...)`` with values shortened, as in log lines (computed once)."""
        if not self.call_text:
            from remit.display import format_call

            self.call_text = format_call(self.task, self.args, self.kwargs)
        return self.call_text


@dataclass
class Execution:
    """One `remit run`: an id, the command line and its root job."""

    argv: list[str]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    start_time: float = field(default_factory=time.time)
    end_time: float | None = None
    root_job: Job | None = None
    status: str = "RUNNING"
    tags: list[tuple[str, Any]] = field(default_factory=list)  # remit run --tag k=v


class JobFailure(Exception):
    """Why a job failed: the original exception, its traceback text and the failing job.

    Parent jobs fail with the same JobFailure, so ``job`` always names where it began.
    """

    def __init__(self, error: BaseException, traceback_text: str, job: Job | None) -> None:
        super().__init__(error, traceback_text)
        self.error = error
        self.traceback_text = traceback_text
        self.job = job

    def __str__(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


class JobInfo:
    """A call's own job, for tasks that ask for it with a ``job: JobInfo = JobInfo()`` default.

    The scheduler replaces the placeholder with the running job's ``job_id``, ``execution_id``,
    ``eval_hash``, ``args_hash`` and ``options``; the parameter is not part of the cache key.
    """

    def __init__(self, execution_id: str = "", job_id: str = "", eval_hash: str = "",
                 args_hash: str = "", options: dict[str, Any] | None = None) -> None:
        self.execution_id = execution_id
        self.job_id = job_id
        self.eval_hash = eval_hash
        self.args_hash = args_hash
        self.options = dict(options or {})

    @classmethod
    def from_job(cls, job: Job) -> JobInfo:
        """The info of a running job."""
        options = {k: v for k, v in job.task.options.items() if not k.startswith("_")}
        return cls(job.execution_id, job.id, job.eval_hash, job.args_hash, options)

    def __repr__(self) -> str:
        return f"JobInfo(job_id={self.job_id[:8]!r})" if self.job_id else "JobInfo()"


@normalize.register(JobInfo)
def _normalize_job_info(info: JobInfo) -> str:
    # Not part of the cache key (the scheduler keys the parameter as "JobInfo"): the same
    # token, so re-hashing a call's arguments after it ran does not see a change.
    return "JobInfo"
