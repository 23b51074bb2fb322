"""The AWS Batch executor: packages code, writes inputs to S3 scratch, submits jobs (grouping
identical tasks into array jobs), watches them with batched DescribeJobs, and reports results.

Two threads of its own: the *submitter* takes queued jobs after a short grouping window,
learns which of them already have an output in scratch (a listing, not a lookup per job),
writes the others' inputs (one object per array) and submits them, recording each round in
the submission ledger (``ledger.py``); the *monitor* polls every job in flight in batches of
100, backing off while nothing changes. A restarted scheduler first reads the ledger and
re-attaches to the jobs still in flight that it would otherwise submit again.
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
from remit.executors.aws_batch import ledger
from remit.executors.aws_batch.failures import retry_strategy
from remit.executors.aws_batch.jobdefs import get_or_create_job_def
from remit.executors.aws_batch.ledger import Submission
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
from remit.pickling import dumps
from remit.progress import log_line
from remit.remote import scratch
from remit.remote.packaging import package_code

GROUPING_WINDOW = 0.05  # seconds to wait for more jobs of a burst before submitting
GROUPING_MAX_WAIT = 0.5
_IO_THREADS = 16
T = TypeVar("T")


@dataclass
class _Queued:
    job: Job
    opts: BatchOptions
    command_head: list[str] = field(default_factory=list)


_Input = tuple[_Queued, bytes]  # a queued job and its pickled (args, kwargs)


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
        self._inflight: dict[tuple[str, str], dict[str, str]] = {}
        self.ledger = ledger.Ledger()
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
        """A botocore client for this executor's region (``max_attempts``: see aws.client)."""
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

    def _fail(self, job: Job, error: BaseException) -> None:
        """Report a job failed (and every held job, when AWS stayed unreachable)."""
        if isinstance(error, AWSUnavailableError):
            self.give_up(error)
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
        """Submit a burst of jobs, one round per scratch prefix and job name prefix."""
        places: dict[tuple[str, str], list[_Queued]] = defaultdict(list)
        for queued in batch:
            if not self._resources_exist(queued):
                continue
            try:
                queued.command_head = self.call(
                    lambda q=queued: self._command_head(q.job, q.opts),  # type: ignore[misc]
                    "uploading the code package")
            except BaseException as exc:  # noqa: BLE001 - this job fails alone
                self._fail(queued.job, exc)
                continue
            places[(queued.opts.s3_scratch, queued.opts.job_name_prefix)].append(queued)
        for (root, prefix), members in places.items():
            self._submit_round(root, prefix, members)

    def _resources_exist(self, queued: _Queued) -> bool:
        """Whether the queue, bucket and job definition exist (else the job fails)."""
        problem = self.preflight.problem(queued.opts)
        if problem is not None:
            self.report(queued.job, None, clear_failure(problem, queued.job))
        return problem is None

    def _submit_round(self, root: str, prefix: str, members: list[_Queued]) -> None:
        """Re-attach, reuse outputs already in scratch, then submit the rest and record them.

        API calls: the ledger once per executor, one listing for the outputs (a lookup each
        when there are few), one PUT per single job or two per array, one SubmitJob each,
        two PUTs for the round's ledger entry (before and after submitting).
        """
        inflight = self.call(lambda: self._inflight_jobs(root, prefix), "reading the ledger")
        fresh: list[_Queued] = []
        for queued in members:
            existing = inflight.get(queued.job.eval_hash)
            if existing is None:
                fresh.append(queued)
                continue
            log_line(f"AWSBatchExecutor: re-attach remit job {queued.job.id} to AWS Batch job "
                     f"{existing} (still in flight)")
            queued.job.tags["aws_batch_job"] = existing
            self.monitor.track(Tracked(existing, [queued.job], queued.opts))
        reusable = [q.job.eval_hash for q in fresh if self._may_reuse(q.job)]
        present = self.call(lambda: scratch.outputs_present(root, reusable),
                            "listing outputs in scratch") if reusable else set()
        groups: dict[tuple, list[_Queued]] = defaultdict(list)
        for queued in fresh:
            if queued.job.eval_hash in present and self._may_reuse(queued.job):
                self._io.submit(self.monitor.finish_from_scratch, queued.job, queued.opts)
            else:
                groups[self._group_key(queued)].append(queued)
        plan: list[tuple[str, list[_Input], str]] = []  # (kind, members, eval hash/array id)
        for group in groups.values():
            inputs = [(q, data) for q in group if (data := self._pickled_input(q))]
            opts = group[0].opts
            chunks = [inputs[i:i + opts.max_array_size]
                      for i in range(0, len(inputs), opts.max_array_size)]
            for chunk in chunks:  # AWS arrays have at least two children
                if len(inputs) >= max(opts.min_array_size, 2) and len(chunk) >= 2:
                    plan.append(("array", chunk, uuid.uuid4().hex))
                else:
                    plan += [("single", [item], item[0].job.eval_hash) for item in chunk]
        if plan:
            self._submit_plan(root, prefix, plan)

    def _submit_plan(self, root: str, prefix: str, plan: list[tuple[str, list[_Input], str]]
                     ) -> None:
        """Record the round's intent in the ledger, write inputs, submit, record the ids."""
        entry = self.ledger.open_round(root, prefix)
        intent = [Submission("-", kind, key, members[0][0].opts.queue)
                  for kind, members, key in plan]
        self.call(lambda: self.ledger.write(entry, intent, final=False), "writing the ledger")
        singles = [members[0] for kind, members, _ in plan if kind == "single"]
        written = {id(item) for item, ok in zip(singles, self._io.map(self._write_input, singles),
                                                 strict=True) if ok}
        submitted: list[Submission] = []
        try:
            for kind, members, key in plan:
                if kind == "array":
                    submitted += self._fail_on_error(members, self._submit_array, entry, key)
                elif id(members[0]) in written:
                    submitted += self._fail_on_error(members, self._submit_single, entry, key)
        finally:
            self.call(lambda: self.ledger.write(entry, submitted), "writing the ledger")

    def _may_reuse(self, job: Job) -> bool:
        """Whether an output an earlier job left in scratch may stand for this job's."""
        return self.use_cache and job.task.cache

    def _fail_on_error(self, members: list[_Input], submit: Any, entry: str, key: str
                       ) -> list[Submission]:
        """``submit(members, entry, key)``; if it raises, the members fail (not the others)."""
        try:
            return [submit(members, entry, key)]
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, AWSUnavailableError):
                self.give_up(exc)
            for queued, _ in members:
                if not queued.job.tags.get("aws_batch_job"):
                    self.report(queued.job, None, clear_failure(exc, queued.job))
            return []

    def _pickled_input(self, queued: _Queued) -> bytes | None:
        """The job's pickled (args, kwargs); None (and the job failed) if they cannot be."""
        job = queued.job
        try:
            return dumps((job.args, job.kwargs), f"the arguments of {job.task.fullname}")
        except BaseException as exc:  # noqa: BLE001
            self.report(job, None, failure_from_exception(exc, job))
            return None

    def _write_input(self, item: _Input) -> bool:
        """Write a single job's input; a job whose input cannot be written fails alone."""
        queued, data = item
        path = scratch.job_path(queued.opts.s3_scratch, queued.job.eval_hash, "input")
        try:
            self.call(lambda: scratch.write_bytes(path, data), f"writing {path}")
            return True
        except BaseException as exc:  # noqa: BLE001
            self._fail(queued.job, exc)
            return False

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
            "retryStrategy": retry_strategy(opts.retry_on, opts.retries),
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

    def _submit_single(self, members: list[_Input], entry: str, eval_hash: str) -> Submission:
        ((queued, _),) = members
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
        self.ledger.hold(entry)
        self.monitor.track(Tracked(batch_id, [job], opts, ledger=entry))
        return Submission(batch_id, "single", eval_hash, opts.queue)

    def _submit_array(self, inputs: list[_Input], entry: str, array_id: str) -> Submission:
        """One array job: the members' inputs in one object, their hashes in another."""
        members = [queued for queued, _ in inputs]
        opts = members[0].opts
        hashes_path = self.call(
            lambda: scratch.write_array(opts.s3_scratch, array_id,
                                        [(q.job.eval_hash, data) for q, data in inputs]),
            f"writing the inputs of array {array_id}")
        first = members[0].job
        # --array-inputs also makes a remit too old to read combined inputs fail at once
        # ("No such option"), not on a missing jobs/HASH/input.
        command = [*members[0].command_head, "--array-job", "--array-inputs",
                   scratch.array_inputs_path(opts.s3_scratch, array_id), "--input", hashes_path,
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
        self.ledger.hold(entry)
        self.monitor.track(Tracked(batch_id, [q.job for q in members], opts, array=True,
                                   ledger=entry))
        return Submission(batch_id, "array", array_id, opts.queue)

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

    def _inflight_jobs(self, root: str, prefix: str) -> dict[str, str]:
        """eval hash -> AWS Batch job id of this prefix's jobs in flight (read once)."""
        found = self._inflight.get((root, prefix))
        if found is None:
            found = self._inflight[(root, prefix)] = ledger.in_flight(self.client("batch"), root,
                                                                       prefix)
        return found

    def tracked_ended(self, tracked: Tracked) -> None:
        """The monitor stopped watching ``tracked``: release its ledger entry."""
        if tracked.ledger is not None:
            self.ledger.release(tracked.ledger)


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
    if isinstance(error, (AWSResourceError, AWSUnavailableError)):
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
