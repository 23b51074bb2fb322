"""The submission ledger: which AWS Batch jobs a scratch prefix has in flight, so that a
restarted scheduler re-attaches to them instead of submitting them twice.

    {s3_scratch}/ledger/{job_name_prefix}/{round_id}
        one line per submission: "JOB_ID single EVAL_HASH QUEUE" or "JOB_ID array ARRAY_ID
        QUEUE"; JOB_ID is "-" while the round is being submitted

The executor writes one entry per submission round, however many jobs and arrays the round
holds: once before its SubmitJob calls (the intent, job ids "-") and once after (the ids), and
deletes it once every job of the round has ended. A scheduler starting on the prefix lists the
ledger (one ListObjectsV2), reads the entries, describes their jobs (one DescribeJobs per 100)
and re-attaches to those still in flight; a job known only by intent (its scheduler was killed
while submitting) is looked up by its name, ``{job_name_prefix}-{EVAL_HASH}`` or
``{job_name_prefix}-array-{ARRAY_ID}``, with ListJobs. Entries whose jobs have all ended are
deleted then. This replaces paging through the whole queue with ListJobs, which on a shared
queue lists everyone's jobs.

Owns the entry format and those reads and writes; does not own submitting or watching jobs.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from remit.files import get_filesystem
from remit.progress import log_line
from remit.remote import scratch

IN_FLIGHT = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
_DESCRIBE_CHUNK = 100


@dataclass(frozen=True)
class Submission:
    """One SubmitJob: a single job (``key`` is its eval hash) or an array (its array id)."""

    job_id: str  # "-": not known yet
    kind: str  # "single" or "array"
    key: str
    queue: str

    def line(self) -> str:
        """The entry's text line for this submission."""
        return f"{self.job_id} {self.kind} {self.key} {self.queue}\n"

    def job_name(self, job_name_prefix: str) -> str:
        """The Batch job name remit gives this submission."""
        middle = "-array-" if self.kind == "array" else "-"
        return f"{job_name_prefix}{middle}{self.key}"


def ledger_dir(s3_scratch: str, job_name_prefix: str) -> str:
    """Where the entries of one job name prefix live."""
    return scratch.join(s3_scratch, "ledger", job_name_prefix)


def parse_entry(text: str) -> list[Submission]:
    """The submissions of an entry (malformed lines are skipped)."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[1] in ("single", "array"):
            found.append(Submission(*fields))
    return found


class Ledger:
    """The entries of one executor: a reference count per entry, deleted at zero."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs: Counter[str] = Counter()

    def open_round(self, s3_scratch: str, job_name_prefix: str) -> str:
        """A new entry's path, held open (not deletable) until ``write`` releases it."""
        path = scratch.join(ledger_dir(s3_scratch, job_name_prefix), uuid.uuid4().hex)
        with self._lock:
            self._refs[path] += 1
        return path

    def hold(self, path: str) -> None:
        """One more job in flight recorded in the entry at ``path``."""
        with self._lock:
            self._refs[path] += 1

    def write(self, path: str, submissions: list[Submission], final: bool = True) -> None:
        """Write the round's entry; ``final``: then release the round's hold (an entry that
        ends up without submissions is deleted)."""
        if submissions:
            try:
                scratch.write_bytes(path, "".join(s.line() for s in submissions).encode())
            except Exception as exc:  # re-attaching is best effort: the jobs run regardless
                log_line(f"AWSBatchExecutor: could not record submissions in {path}: {exc}")
        if final:
            self.release(path)

    def release(self, path: str) -> None:
        """A job of the entry ended; delete the entry when none is left."""
        with self._lock:
            self._refs[path] -= 1
            if self._refs[path] > 0:
                return
            del self._refs[path]
        _remove(path)


def in_flight(batch: Any, s3_scratch: str, job_name_prefix: str) -> dict[str, str]:
    """eval hash -> AWS Batch job id (``ID:INDEX`` for array children) of jobs in flight.

    Entries none of whose jobs are in flight any more are deleted.
    """
    directory = ledger_dir(s3_scratch, job_name_prefix)
    fs = get_filesystem(directory)
    entries: dict[str, list[Submission]] = {}
    for name in fs.iter_names(directory):
        path = scratch.join(directory, name)
        try:
            entries[path] = parse_entry(fs.read_bytes(path).decode())
        except Exception:  # deleted meanwhile by the scheduler that wrote it
            continue
    if not entries:
        return {}
    for path, subs in entries.items():
        entries[path] = [_resolve(batch, s, job_name_prefix) for s in subs]
    ids = sorted({s.job_id for subs in entries.values() for s in subs if s.job_id != "-"})
    status: dict[str, str] = {}
    for start in range(0, len(ids), _DESCRIBE_CHUNK):
        for job in batch.describe_jobs(jobs=ids[start:start + _DESCRIBE_CHUNK])["jobs"]:
            status[job["jobId"]] = job["status"]
    found: dict[str, str] = {}
    for path, subs in entries.items():
        live = [s for s in subs if status.get(s.job_id) in IN_FLIGHT]
        if not live:
            _remove(path)
        for sub in live:
            if sub.kind == "single":
                found.setdefault(sub.key, sub.job_id)
                continue
            try:
                hashes = scratch.read_hashes(scratch.array_path(s3_scratch, sub.key))
            except Exception:
                continue
            for index, eval_hash in enumerate(hashes):
                found.setdefault(eval_hash, f"{sub.job_id}:{index}")
    return found


def _resolve(batch: Any, sub: Submission, job_name_prefix: str) -> Submission:
    """A submission known only by intent, with its job id if AWS Batch has the job."""
    if sub.job_id != "-":
        return sub
    name = sub.job_name(job_name_prefix)
    try:
        pages = batch.get_paginator("list_jobs").paginate(
            jobQueue=sub.queue, filters=[{"name": "JOB_NAME", "values": [name]}])
        for page in pages:
            for summary in page["jobSummaryList"]:
                if summary["jobName"] == name and summary["status"] in IN_FLIGHT:
                    return dataclasses.replace(sub, job_id=summary["jobId"])
    except Exception as exc:  # the job will be submitted again: say why
        log_line(f"AWSBatchExecutor: could not look up AWS Batch job {name}: {exc}")
    return sub


def _remove(path: str) -> None:
    try:
        get_filesystem(path).remove(path)
    except Exception as exc:  # a stale entry costs a read at the next start, nothing more
        log_line(f"AWSBatchExecutor: could not delete ledger entry {path}: {exc}")
