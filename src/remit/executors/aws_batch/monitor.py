"""Watches submitted AWS Batch jobs and reports each remit job once it ends.

One DescribeJobs call covers 100 jobs in flight (single jobs and array parents, all arrays
sharing it); an array's finished children are listed with ListJobs only when its status
summary moved enough to pay for the pages, and not at all for the successes once it ended. Polling
starts fast and backs off (x1.5) up to ``job_monitor_interval`` while nothing changes; with
many jobs in flight the shortest interval grows so that polls stay near 4 calls a second.
Results are read from scratch in a thread pool; failures carry the remote traceback, the
job's status reason and the tail of its CloudWatch log stream.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from remit.errors import (
    AWSUnavailableError,
    JobLostError,
    JobTimeoutError,
    RemitError,
    RemoteJobError,
)
from remit.executors.aws_batch.failures import Classified, advice, classify
from remit.executors.aws_batch.options import BatchOptions
from remit.executors.base import failure_from_message
from remit.jobs import Job, JobFailure
from remit.progress import log_line
from remit.remote import scratch

if TYPE_CHECKING:
    from remit.executors.aws_batch.executor import AWSBatchExecutor

MIN_INTERVAL = 0.25
LOG_TAIL_LINES = 50
LOG_GROUP = "/aws/batch/job"
_DESCRIBE_CHUNK = 100
_LIST_PAGE = 100  # ListJobs returns at most 100 jobs a page
_NEW_PER_PAGE = 4  # list an array's successes once 4 new ones per page: <= 1 call per 4 jobs


@dataclass
class Tracked:
    """A Batch job in flight: one remit job, or an array parent and its remit jobs by index."""

    batch_id: str
    jobs: list[Job]
    opts: BatchOptions
    array: bool = False
    done: set[int] = field(default_factory=set)
    ledger: str | None = None  # the submission ledger entry that records it
    failed: int = 0  # children known FAILED (arrays)


class BatchMonitor:
    """The polling loop of one AWSBatchExecutor."""

    def __init__(self, executor: AWSBatchExecutor) -> None:
        self.executor = executor
        self._tracked: dict[str, Tracked] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed: AWSUnavailableError | None = None

    def track(self, tracked: Tracked) -> None:
        """Watch a submitted (or re-attached) Batch job (after ``close``: fail its jobs)."""
        with self._lock:
            closed = self._closed
            if closed is None:
                self._tracked[tracked.batch_id] = tracked
        if closed is not None:
            for job in tracked.jobs:
                self.executor.report(job, None, failure_from_message(closed, job))
        self._wake.set()

    def close(self, error: AWSUnavailableError) -> list[Job]:
        """Stop watching (AWS is unreachable): return the jobs not finished yet."""
        with self._lock:
            self._closed = error
            tracked, self._tracked = list(self._tracked.values()), {}
        return [job for t in tracked for i, job in enumerate(t.jobs)
                if not (t.array and i in t.done)]

    def wake(self) -> None:
        """Poll now (also used to notice stop)."""
        self._wake.set()

    def run(self) -> None:
        """The monitor thread's loop."""
        stop = self.executor._stop
        interval = MIN_INTERVAL
        last_poll = 0.0
        while not stop.is_set():
            with self._lock:
                idle = not self._tracked
            self._wake.wait(None if idle else interval)
            self._wake.clear()
            # A wake (new jobs) never polls sooner than the pace allows.
            if stop.wait(max(0.0, last_poll + self._floor() - time.monotonic())):
                return
            last_poll = time.monotonic()
            try:  # AWS errors are retried with backoff, one log line per step
                changed = self.executor.call(self._poll, "polling AWS Batch jobs",
                                             retry_all=True)
            except AWSUnavailableError as exc:
                self.executor.give_up(exc)
                changed = False
            except Exception:  # stopping while backing off
                changed = False
            floor = self._floor()
            ceiling = max(floor, self.executor.opts.job_monitor_interval)
            interval = floor if changed else min(interval * 1.5, ceiling)

    def _floor(self) -> float:
        """The shortest poll interval: about 4 calls a second, one per 100 jobs in flight."""
        with self._lock:
            pending = sum(len(t.jobs) - len(t.done) for t in self._tracked.values())
        return MIN_INTERVAL * max(1, -(-pending // _DESCRIBE_CHUNK))

    def _poll(self) -> bool:
        with self._lock:
            snapshot = list(self._tracked.values())
        if not snapshot:
            return False
        batch = self.executor.client("batch")
        described: dict[str, dict[str, Any]] = {}
        ids = [t.batch_id for t in snapshot]
        for start in range(0, len(ids), _DESCRIBE_CHUNK):
            for job in batch.describe_jobs(jobs=ids[start:start + _DESCRIBE_CHUNK])["jobs"]:
                described[job["jobId"]] = job
        changed = False
        for tracked in snapshot:
            description = described.get(tracked.batch_id)
            if description is None:
                self._forget(tracked)
                for job in tracked.jobs:
                    error = JobLostError(f"AWS Batch no longer knows job {tracked.batch_id}")
                    self.executor.report(job, None, JobFailure(error, str(error) + "\n", job))
                changed = True
            elif tracked.array:
                changed |= self._poll_array(tracked, description)
            elif description["status"] in ("SUCCEEDED", "FAILED"):
                self._forget(tracked)
                self._finish(tracked.jobs[0], description, tracked.opts)
                changed = True
        return changed

    def _poll_array(self, tracked: Tracked, parent: dict[str, Any]) -> bool:
        """Report an array's newly finished children; the fewer ListJobs pages, the better.

        Failed children are listed when the summary shows new ones. Succeeded children are
        listed (100 a page) while the array runs only once there are ``_NEW_PER_PAGE`` new
        ones per page to read, so listing costs at most a call per four children; once the
        parent has ended, every child not known to have failed succeeded.
        """
        summary = parent.get("arrayProperties", {}).get("statusSummary") or {}
        ended = parent["status"] in ("SUCCEEDED", "FAILED")
        new_failed = summary.get("FAILED", 0) > tracked.failed or (
            parent["status"] == "FAILED" and "FAILED" not in summary)
        succeeded = summary.get("SUCCEEDED", 0)
        new_succeeded = succeeded - (len(tracked.done) - tracked.failed)
        pages = -(-succeeded // _LIST_PAGE)
        if not (ended or new_failed or new_succeeded >= max(1, _NEW_PER_PAGE * pages)):
            return False
        if new_failed:
            self._finish_failed_children(tracked)
        if ended:
            for index in range(len(tracked.jobs)):
                if index not in tracked.done:
                    tracked.done.add(index)
                    self._finish(tracked.jobs[index], {"status": "SUCCEEDED"}, tracked.opts)
        elif new_succeeded > 0:
            for child in self._children(tracked, "SUCCEEDED"):
                index = int(child["jobId"].rsplit(":", 1)[1])
                if index not in tracked.done:
                    tracked.done.add(index)
                    self._finish(tracked.jobs[index], {"status": "SUCCEEDED"}, tracked.opts)
        if len(tracked.done) >= len(tracked.jobs):
            self._forget(tracked)
        return True

    def _children(self, tracked: Tracked, status: str) -> list[dict[str, Any]]:
        pages = self.executor.client("batch").get_paginator("list_jobs").paginate(
            arrayJobId=tracked.batch_id, jobStatus=status)
        return [child for page in pages for child in page["jobSummaryList"]]

    def _finish_failed_children(self, tracked: Tracked) -> None:
        """Describe the array's newly failed children (their reasons) and report them."""
        new = [c["jobId"] for c in self._children(tracked, "FAILED")
               if int(c["jobId"].rsplit(":", 1)[1]) not in tracked.done]
        batch = self.executor.client("batch")
        for start in range(0, len(new), _DESCRIBE_CHUNK):
            for child in batch.describe_jobs(jobs=new[start:start + _DESCRIBE_CHUNK])["jobs"]:
                index = int(child["jobId"].rsplit(":", 1)[1])
                if index not in tracked.done:
                    tracked.done.add(index)
                    tracked.failed += 1
                    self._finish(tracked.jobs[index], child, tracked.opts)

    def _forget(self, tracked: Tracked) -> None:
        with self._lock:
            gone = self._tracked.pop(tracked.batch_id, None)
        if gone is not None:
            self.executor.tracked_ended(gone)

    def _finish(self, job: Job, description: dict[str, Any], opts: BatchOptions) -> None:
        if description["status"] == "SUCCEEDED":
            self.executor._io.submit(self._read_output, job, opts)
        else:
            self.executor._io.submit(self._read_error, job, description, opts)

    def finish_from_scratch(self, job: Job, opts: BatchOptions) -> None:
        """Report a job whose output an earlier run's Batch job already left in scratch."""
        log_line(f"AWSBatchExecutor: remit job {job.id} found its output in scratch "
                 f"({scratch.job_dir(opts.s3_scratch, job.eval_hash)}); not submitted again")
        self._read_output(job, opts)

    def _read_output(self, job: Job, opts: BatchOptions) -> None:
        path = scratch.job_path(opts.s3_scratch, job.eval_hash, "output")
        try:
            result = self.executor.call(lambda: scratch.read_pickle(path), f"reading {path}")
        except AWSUnavailableError as exc:
            self.executor.give_up(exc)
            self.executor.report(job, None, failure_from_message(exc, job))
            return
        except Exception as exc:
            error = JobLostError(f"AWS Batch job {job.tags.get('aws_batch_job')} succeeded "
                                 f"but its output could not be read from {path}: {exc}")
            self.executor.report(job, None, JobFailure(error, str(error) + "\n", job))
            return
        self.executor.report(job, result, None)

    def _read_error(self, job: Job, description: dict[str, Any], opts: BatchOptions) -> None:
        batch_id = description["jobId"]
        container = description.get("container") or {}
        attempts = description.get("attempts") or []
        if not container.get("logStreamName") and attempts:
            container = {**attempts[-1].get("container", {}), **container}
        failure = classify(description)
        job.tags["aws_batch_failure"] = failure.kind
        job.tags["aws_batch_attempts"] = str(failure.attempts)
        reason = failure.status_reason
        error, remote_tb = None, ""
        if failure.kind in ("task", "other"):  # the others never let the task write an error
            path = scratch.job_path(opts.s3_scratch, job.eval_hash, "error")
            try:
                error, remote_tb = self.executor.call(lambda: scratch.read_pickle(path),
                                                      f"reading {path}")
            except Exception:
                pass
        if error is None:
            error = self._infrastructure_error(batch_id, failure, opts)
        lines = [remote_tb.rstrip()] if remote_tb else [f"{type(error).__name__}: {error}"]
        plural = "s" if failure.attempts != 1 else ""
        detail = (f"AWS Batch job {batch_id} FAILED ({failure.label}, {failure.attempts} "
                  f"attempt{plural}): {reason or '-'}")
        if failure.reason:
            detail += f" (container: {failure.reason})"
        if failure.exit_code is not None:
            detail += f", exit code {failure.exit_code}"
        lines.append(detail)
        hint = advice(failure, opts.memory, self.executor.where)
        if hint:
            lines.append(hint)
        stream = container.get("logStreamName")
        tail = self._log_tail(stream) if stream else []
        if tail:
            lines.append(f"Last {len(tail)} lines of CloudWatch log stream {LOG_GROUP}/{stream}:")
            lines.extend("  " + line for line in tail)
        self.executor.report(job, None, JobFailure(error, "\n".join(lines) + "\n", job))

    @staticmethod
    def _infrastructure_error(batch_id: str, failure: Classified, opts: BatchOptions
                              ) -> RemitError:
        """The error of a job that left no remit error file, by its failure class."""
        if failure.kind == "timeout":
            return JobTimeoutError(f"AWS Batch job {batch_id} ran longer than its timeout of "
                                   f"{opts.timeout} s: {failure.status_reason}")
        if failure.kind == "oom":
            return RemoteJobError(f"AWS Batch job {batch_id} ran out of memory (memory = "
                                  f"{opts.memory:g} GiB) and was killed")
        return RemoteJobError(f"AWS Batch job {batch_id} failed ({failure.label}) without a "
                              f"remit error file: {failure.status_reason or 'no reason given'}")

    def _log_tail(self, stream: str) -> list[str]:
        try:
            events = self.executor.client("logs").get_log_events(
                logGroupName=LOG_GROUP, logStreamName=stream, limit=LOG_TAIL_LINES,
                startFromHead=False,
            )["events"]
        except Exception:
            return []
        return [event["message"].rstrip("\n") for event in events]
