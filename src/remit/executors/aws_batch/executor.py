"""The AWS Batch executor: packages code, writes inputs to S3 scratch, submits jobs (grouping
identical tasks into array jobs), watches them with batched DescribeJobs, and reports results.

Two threads of its own: the *submitter* takes queued jobs after a short grouping window,
prepares their scratch files in parallel and submits; the *monitor* polls every job in
flight in batches of 100, backing off while nothing changes. A restarted scheduler first
lists the queue's in-flight jobs and re-attaches to those it would otherwise submit again.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from remit.__about__ import __version__
from remit.aws_retry import Outage
from remit.errors import (
    AWSResourceError,
    AWSUnavailableError,
    ExecutorError,
    JobSubmitError,
    RemitError,
)
from remit.executors.aws_batch.jobdefs import get_or_create_job_def
from remit.executors.aws_batch.monitor import BatchMonitor, Tracked
from remit.executors.aws_batch.options import BatchOptions
from remit.executors.aws_batch.preflight import Preflight, location
from remit.executors.aws_batch.submit_once import submit_once
from remit.executors.base import (
    Executor,
    Report,
    failure_from_exception,
    failure_from_message,
)
from remit.files import File
from remit.jobs import Job, JobFailure
from remit.progress import log_line
from remit.remote import scratch
from remit.remote.packaging import package_code

GROUPING_WINDOW = 0.05  # seconds to wait for more jobs of a burst before submitting
GROUPING_MAX_WAIT = 0.5
_INFLIGHT = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
_IO_THREADS = 16
T = TypeVar("T")


@dataclass
class _Queued:
    job: Job
    opts: BatchOptions
    command_head: list[str] = field(default_factory=list)


class AWSBatchExecutor(Executor):
    """Runs tasks as AWS Batch jobs through `remit oneshot`."""

    type_name = "aws_batch"

    def __init__(self, name: str, options: dict[str, str], config_dir: Path) -> None:
        super().__init__(name, options, config_dir)
        self.where = f"[executors.{name}]"
        self.opts = BatchOptions.parse(options, self.where)
        self._lock = threading.Condition()
        self._queue: list[_Queued] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._code_urls: dict[tuple, str] = {}
        self._job_defs: dict[tuple, str] = {}
        self._inflight: dict[str, str] | None = None
        self._io = ThreadPoolExecutor(_IO_THREADS, thread_name_prefix=f"remit-{name}-io")
        self.monitor = BatchMonitor(self)
        self.outage = Outage(
            self.opts.api_timeout, f"AWSBatchExecutor {name}",
            lambda: location(self.client("batch")),
            "Jobs already submitted keep running in AWS Batch: run again once AWS answers to "
            f"re-attach to them (api_timeout in {self.where} sets how long to wait)",
        )
        self.preflight = Preflight(self)
        self._debug_executor: Executor | None = None

    @classmethod
    def validate(cls, name: str, options: dict[str, str], where: str) -> None:
        """Check the section's options (required ones, JSON, numbers) before anything runs."""
        BatchOptions.parse(options, where)

    # -- clients ----------------------------------------------------------------------------

    def client(self, service: str, max_attempts: int | None = None) -> Any:
        """A boto3 client for this executor's region (``max_attempts``: see aws.client)."""
        from remit import aws

        return aws.client(service, region=self.opts.aws_region, max_attempts=max_attempts)

    def call(self, func: Callable[[], T], what: str, retry_all: bool = False) -> T:
        """Run AWS calls, retried with backoff while AWS fails transiently (or at all, with
        ``retry_all``); AWSUnavailableError once it failed for ``api_timeout`` seconds."""
        return self.outage.call(func, what, self._stop, retry_all)

    def give_up(self, error: AWSUnavailableError) -> None:
        """AWS stayed unreachable past ``api_timeout``: fail every job this executor holds."""
        with self._lock:
            queued, self._queue = self._queue, []
        for job in [q.job for q in queued] + self.monitor.close(error):
            self.report(job, None, clear_failure(error, job))

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, report: Report) -> None:
        """Start the submitter and monitor threads."""
        super().start(report)
        for target, label in ((self._submit_loop, "submit"), (self.monitor.run, "monitor")):
            thread = threading.Thread(target=target, name=f"remit-{self.name}-{label}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop watching; jobs still in Batch keep running and a later run re-attaches."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        self.monitor.wake()
        for thread in self._threads:
            thread.join(timeout=5)
        self._io.shutdown(wait=False, cancel_futures=True)
        if self._debug_executor is not None:
            self._debug_executor.stop()

    def submit(self, job: Job) -> None:
        """Queue the job for the submitter (debug jobs go to a local container instead)."""
        try:
            opts = self.opts.for_task(job.task.options, f"task {job.task.fullname}")
        except RemitError as exc:
            self.report(job, None, JobFailure(exc, f"{type(exc).__name__}: {exc}\n", job))
            return
        if opts.debug:
            self._submit_debug(job, opts)
            return
        if self.outage.error is not None:
            self.report(job, None, clear_failure(self.outage.error, job))
            return
        with self._lock:
            self._queue.append(_Queued(job, opts))
            self._lock.notify()

    def _submit_debug(self, job: Job, opts: BatchOptions) -> None:
        try:
            if self._debug_executor is None:
                from remit.executors.docker import DockerExecutor

                self._debug_executor = DockerExecutor.for_batch(self, opts)
                self._debug_executor.start(self._report)  # type: ignore[arg-type]
            self._debug_executor.submit(job)
        except Exception as exc:
            self.report(job, None, failure_from_exception(exc, job))

    # -- submitting -------------------------------------------------------------------------

    def _submit_loop(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch()
            if batch:
                try:
                    self._submit_batch(batch)
                except BaseException as exc:  # noqa: BLE001 - fail the jobs, keep the loop
                    if isinstance(exc, AWSUnavailableError):
                        self.give_up(exc)
                    for queued in batch:
                        if not queued.job.tags.get("aws_batch_job"):
                            self.report(queued.job, None, clear_failure(exc, queued.job))

    def _take_batch(self) -> list[_Queued]:
        """Wait for jobs, then for the burst to end (briefly), and take them all."""
        with self._lock:
            while not self._queue and not self._stop.is_set():
                self._lock.wait()
            first = time.monotonic()
            size = -1
            while (len(self._queue) != size and not self._stop.is_set()
                   and time.monotonic() - first < GROUPING_MAX_WAIT):
                size = len(self._queue)
                self._lock.wait(GROUPING_WINDOW)
            batch, self._queue = self._queue, []
        return batch

    def _submit_batch(self, batch: list[_Queued]) -> None:
        batch = [queued for queued in batch if self._resources_exist(queued)]
        if not batch:
            return
        inflight = self.call(lambda: self._inflight_jobs(batch[0].opts), "ListJobs (in flight)")
        ready = list(self._io.map(lambda q: self._prepare_or_fail(q, inflight), batch))
        groups: dict[tuple, list[_Queued]] = defaultdict(list)
        for queued in (q for q, go in zip(batch, ready, strict=True) if go):
            groups[self._group_key(queued)].append(queued)
        for members in groups.values():
            opts = members[0].opts
            if len(members) >= max(opts.min_array_size, 2):
                for start in range(0, len(members), opts.max_array_size):
                    self._submit_array(members[start:start + opts.max_array_size])
            else:
                for queued in members:
                    self._submit_single(queued)

    def _resources_exist(self, queued: _Queued) -> bool:
        """Whether the queue, bucket and job definition exist (else the job fails)."""
        problem = self.preflight.problem(queued.opts)
        if problem is not None:
            self.report(queued.job, None, clear_failure(problem, queued.job))
        return problem is None

    def _prepare_or_fail(self, queued: _Queued, inflight: dict[str, str]) -> bool:
        """Prepare one job; a job that cannot be prepared fails alone."""
        try:
            return self.call(lambda: self._prepare(queued, inflight),
                             f"writing the input of remit job {queued.job.id}")
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, AWSUnavailableError):
                self.give_up(exc)
            self.report(queued.job, None, clear_failure(exc, queued.job))
            return False

    def _prepare(self, queued: _Queued, inflight: dict[str, str]) -> bool:
        """Re-attach, reuse an output already in scratch, or write the input. True: submit."""
        job, opts = queued.job, queued.opts
        queued.command_head = self._command_head(job, opts)
        existing = inflight.get(job.eval_hash)
        if existing is not None:
            log_line(f"AWSBatchExecutor: re-attach remit job {job.id} to AWS Batch job "
                     f"{existing} (still in flight)")
            job.tags["aws_batch_job"] = existing
            self.monitor.track(Tracked(existing, [job], opts))
            return False
        if self.use_cache and job.task.cache:
            output = scratch.job_path(opts.s3_scratch, job.eval_hash, "output")
            if File(output).exists():
                self.monitor.finish_from_scratch(job, opts)
                return False
        scratch.write_pickle(scratch.job_path(opts.s3_scratch, job.eval_hash, "input"),
                             (job.args, job.kwargs), f"the arguments of {job.task.fullname}")
        return True

    def _group_key(self, queued: _Queued) -> tuple:
        return (queued.job.task.fullname, repr(queued.opts), tuple(queued.command_head))

    def _command_head(self, job: Job, opts: BatchOptions) -> list[str]:
        """``remit ... oneshot MODULE --import-path P --code URL [--no-cache]``."""
        module, import_path = _module_location(job.task.func)
        head = ["remit", "--check-version", f">={_min_version()}", "oneshot", module,
                "--import-path", import_path]
        if opts.code_package:
            head += ["--code", self._code_url(opts)]
        if not (self.use_cache and job.task.cache):  # never reuse an old output in scratch
            head.append("--no-cache")
        return head

    def _code_url(self, opts: BatchOptions) -> str:
        key = (opts.s3_scratch, opts.code_includes, opts.code_excludes)
        url = self._code_urls.get(key)
        if url is None:
            code_hash, data = package_code(os.getcwd(), opts.code_includes, opts.code_excludes)
            url = scratch.code_path(opts.s3_scratch, code_hash)
            target = File(url)
            if not target.exists():
                target.write(data)
            self._code_urls[key] = url
        return url

    def job_definition(self, opts: BatchOptions) -> str:
        """The job definition ARN for these options (looked up once per setting)."""
        key = (opts.image, opts.role, opts.privileged, opts.shared_memory, opts.job_def_name,
               opts.autocreate_job_def, repr(sorted(opts.job_def_extra.items())))
        arn = self._job_defs.get(key)
        if arn is None:
            arn = self._job_defs[key] = get_or_create_job_def(self.client("batch"), opts)
        return arn

    def _base_request(self, opts: BatchOptions, job_name: str, command: list[str],
                      tags: dict[str, str]) -> dict[str, Any]:
        resources = [{"type": "VCPU", "value": _number(opts.vcpus)},
                     {"type": "MEMORY", "value": str(int(opts.memory * 1024))}]
        if opts.gpus:
            resources.append({"type": "GPU", "value": str(opts.gpus)})
        request: dict[str, Any] = {
            "jobName": job_name,
            "jobQueue": opts.queue,
            "jobDefinition": self.job_definition(opts),
            "containerOverrides": {"command": command, "resourceRequirements": resources},
            "retryStrategy": {"attempts": opts.retries + 1},
            "propagateTags": True,
            "tags": {**opts.batch_tags, **tags},
        }
        if opts.timeout:
            request["timeout"] = {"attemptDurationSeconds": opts.timeout}
        if opts.share_id:
            request["shareIdentifier"] = opts.share_id
        if opts.scheduling_priority is not None:
            request["schedulingPriorityOverride"] = opts.scheduling_priority
        return request

    def _submit_single(self, queued: _Queued) -> None:
        job, opts = queued.job, queued.opts
        paths = {n: scratch.job_path(opts.s3_scratch, job.eval_hash, n)
                 for n in ("input", "output", "error")}
        command = [*queued.command_head, "--input", paths["input"], "--output", paths["output"],
                   "--error", paths["error"], job.task.fullname]
        tags = {"remit_job_id": job.id, "remit_task_name": job.task.fullname[:256],
                "remit_execution_id": job.execution_id, "remit_eval_hash": job.eval_hash}
        request = self._base_request(opts, f"{opts.job_name_prefix}-{job.eval_hash}", command,
                                     tags)
        batch_id = self._submit_request(request)
        job.tags["aws_batch_job"] = batch_id
        job.tags.update(_resource_tags(opts))
        log_submit(job, f"AWS Batch job {batch_id}", batch_id, request["jobName"],
                   scratch.job_dir(opts.s3_scratch, job.eval_hash), opts.retries, opts.debug)
        self.monitor.track(Tracked(batch_id, [job], opts))

    def _submit_array(self, members: list[_Queued]) -> None:
        opts = members[0].opts
        array_id = uuid.uuid4().hex
        hashes_path = scratch.array_path(opts.s3_scratch, array_id)
        hashes = "\n".join(q.job.eval_hash for q in members) + "\n"
        self.call(lambda: File(hashes_path).write(hashes), f"writing {hashes_path}")
        first = members[0].job
        command = [*members[0].command_head, "--array-job", "--input", hashes_path,
                   "--output", "-", "--error", "-", first.task.fullname]
        tags = {"remit_array_id": array_id, "remit_task_name": first.task.fullname[:256],
                "remit_execution_id": first.execution_id}
        request = self._base_request(opts, f"{opts.job_name_prefix}-array-{array_id}",
                                     command, tags)
        request["arrayProperties"] = {"size": len(members)}
        batch_id = self._submit_request(request)
        for index, queued in enumerate(members):
            queued.job.tags["aws_batch_job"] = f"{batch_id}:{index}"
            queued.job.tags.update(_resource_tags(opts))
        log_line(f"AWSBatchExecutor: submit {len(members)} remit jobs of {first.task.fullname} "
                 f"as AWS Batch array job {batch_id}:")
        log_line(f"  job_name        = {request['jobName']}")
        log_line(f"  array_size      = {len(members)}")
        log_line(f"  s3_scratch_path = {scratch.join(opts.s3_scratch, 'array_jobs', array_id)}")
        self.monitor.track(Tracked(batch_id, [q.job for q in members], opts, array=True))

    def _submit_request(self, request: dict[str, Any]) -> str:
        batch = self.client("batch")
        tag = "remit_array_id" if "remit_array_id" in request["tags"] else "remit_job_id"
        try:
            return submit_once(self, request, tag)
        except AWSUnavailableError:
            raise
        except Exception as exc:
            raise JobSubmitError(f"AWS Batch refused job {request['jobName']} on queue "
                                 f"{request['jobQueue']!r} ({location(batch)}): {exc}") from exc

    # -- re-attaching -------------------------------------------------------------------------

    def _inflight_jobs(self, opts: BatchOptions) -> dict[str, str]:
        """eval hash -> AWS Batch job id of this prefix's jobs in flight (listed once)."""
        if self._inflight is not None:
            return self._inflight
        found: dict[str, str] = {}
        batch = self.client("batch")
        prefix = opts.job_name_prefix + "-"
        arrays: list[tuple[str, str, int]] = []
        paginator = batch.get_paginator("list_jobs")
        for status in _INFLIGHT:
            for page in paginator.paginate(jobQueue=opts.queue, jobStatus=status):
                for summary in page["jobSummaryList"]:
                    name = summary["jobName"]
                    if not name.startswith(prefix):
                        continue
                    rest = name[len(prefix):]
                    if rest.startswith("array-"):
                        size = summary.get("arrayProperties", {}).get("size", 0)
                        arrays.append((summary["jobId"], rest[len("array-"):], size))
                    else:
                        found[rest] = summary["jobId"]
        for batch_id, array_id, _size in arrays:
            path = scratch.array_path(opts.s3_scratch, array_id)
            try:
                hashes = File(path).read().split()
            except Exception:
                continue
            for index, eval_hash in enumerate(hashes):
                found.setdefault(eval_hash, f"{batch_id}:{index}")
        self._inflight = found
        return found


def log_submit(job: Job, as_what: str, job_id: str, job_name: str | None, scratch_path: str,
               retries: int | None, debug: bool) -> None:
    """The ``[remit] AWSBatchExecutor: submit remit job ... as ...:`` block of the log."""
    log_line(f"AWSBatchExecutor: submit remit job {job.id} as {as_what}:")
    log_line(f"  job_id          = {job_id}")
    log_line(f"  job_name        = {job_name}")
    log_line(f"  s3_scratch_path = {scratch_path}")
    log_line(f"  retry_attempts  = {retries}")
    log_line(f"  debug           = {debug}")
    sys.stderr.flush()


def clear_failure(error: BaseException, job: Job) -> JobFailure:
    """A failure shown as one line when remit's message says it all, else with traceback."""
    if isinstance(error, (AWSUnavailableError, AWSResourceError)):
        return failure_from_message(error, job)
    return failure_from_exception(error, job)


def _module_location(func: Any) -> tuple[str, str]:
    """The module name and import path (relative to the working directory) of a task."""
    if func.__module__.split(".")[0] == "remit":  # remit's own tasks come with the image
        return func.__module__, "."
    module = sys.modules.get(func.__module__)
    path = getattr(module, "__file__", None)
    if not path:
        raise ExecutorError(f"task module {func.__module__!r} has no file to package")
    depth = func.__module__.count(".") + 1
    base = Path(path).resolve()
    for _ in range(depth):
        base = base.parent
    try:
        rel = os.path.relpath(base, os.getcwd())
    except ValueError:
        rel = str(base)
    if rel.startswith(".."):
        raise ExecutorError(
            f"task module {func.__module__} lives outside the working directory "
            f"({base}); run remit from the project directory so its code is packaged"
        )
    return func.__module__, rel


def _min_version() -> str:
    major, minor = __version__.split(".")[:2]
    return f"{major}.{minor}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _resource_tags(opts: BatchOptions) -> dict[str, str]:
    """What a job asked Batch for, recorded with it for `remit report`'s job-hours and cost."""
    return {"aws_batch_vcpus": _number(opts.vcpus), "aws_batch_memory_gib": _number(opts.memory),
            "aws_batch_gpus": str(opts.gpus)}
