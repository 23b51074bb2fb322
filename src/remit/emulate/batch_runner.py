"""The stand-in's compute environment: moto's AWS Batch jobs really run, through a launcher.

The ONLY module of remit coupled to moto's internals (Batch models and responses, the logs
backend, the threaded server, the global reset); it supports moto >=5.2,<5.3 and refuses to
import with any other. ``install()`` replaces ``Job.run`` (each moto job is a thread) with a
runner that caps concurrent jobs at ``max_jobs``, runs each attempt through the given launcher
(``remit.emulate.processes``: warm or plain local processes; ``remit.emulate.containers``:
containers) in a fresh directory with its output in CloudWatch Logs, and honours dependsOn,
retries (``evaluateOnExit`` rules too), timeouts, memory limits (an OOM kill of local
processes), termination and array jobs, and can fail jobs as AWS does (a lost host, an image
that cannot be pulled). It also patches where moto differs from AWS in
ways that break a client re-attaching to jobs: ListJobs scope and default status,
``arrayProperties`` in summaries, ``container.exitCode`` and duplicate AWS_BATCH_JOB_ID in
DescribeJobs, array parents that never finish and SubmitJob's ignored ``retryStrategy``;
where moto's server is not thread-safe: DescribeJobs iterating the job table while SubmitJob
inserts into it (both now hold ``_jobs_lock``); and where it is needlessly slow: listing its
own package directory on every request, under a global lock."""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import moto

from remit.emulate.processes import JobHandle, JobSpec, Launcher, LaunchError
from remit.version_check import check_version

SUPPORTED_MOTO = ">=5.2,<5.3"
if check_version(moto.__version__, SUPPORTED_MOTO):
    raise RuntimeError(
        f"remit's AWS stand-in supports moto{SUPPORTED_MOTO}, but moto {moto.__version__} "
        "is installed; install remit[emulate] to get a supported moto"
    )

from moto import backends as moto_backends  # noqa: E402
from moto.batch.models import BatchBackend, Job, datetime2int_milliseconds  # noqa: E402
from moto.batch.responses import BatchResponse  # noqa: E402
from moto.batch.utils import JobStatus  # noqa: E402
from moto.moto_api._internal.models import moto_api_backend  # noqa: E402
from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: E402

logger = logging.getLogger(__name__)

WORKER_EXEC_ENV = "remit-standin-job"
"""AWS_EXECUTION_ENV of job processes; botocore puts ``exec-env/<it>`` in their User-Agent."""
LOG_GROUP = "/aws/batch/job"
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
EXITED_REASON = "Essential container in task exited"
STOPPED_REASON = "AWS stand-in stopped"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
OOM_EXIT_CODE = 137
HOST_REASON = "Host EC2 (instance {instance}) terminated."
PULL_REASON = ("CannotPullContainerError: pull image manifest has been retried 5 time(s): "
               "failed to resolve ref {image}: not found")
MEMORY_CHECK_INTERVAL = 0.05  # seconds between looks at a job's resident memory
_NEVER = datetime(1970, 1, 1)  # moto's "not started yet"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


class MotoServer(ThreadedMotoServer):
    """moto's threaded server on 127.0.0.1 with ``middleware`` wrapped around its WSGI app.

    Unlike its base class, ``start()`` raises when the port cannot be bound (instead of
    hanging) and ``stop()`` closes the listening socket so the port can be reused at once.
    The per-request access log of werkzeug is silenced unless its logger level was set.
    """

    def __init__(self, port: int, middleware: Callable[[WSGIApp], WSGIApp]) -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self._middleware = middleware
        self._error: Exception | None = None

    def _server_entry(self) -> None:
        try:
            super()._server_entry()
        except BaseException as err:  # werkzeug calls sys.exit() when it cannot bind
            self._error = OSError(f"cannot listen on 127.0.0.1:{self._port}: {err!r}")
            self._server_ready_event.set()

    def start(self) -> None:
        """Bind and serve in a daemon thread; return once the socket is listening."""
        werkzeug_log = logging.getLogger("werkzeug")
        if werkzeug_log.level == logging.NOTSET:
            werkzeug_log.setLevel(logging.WARNING)
        if self._port:  # fail with the real reason (e.g. EADDRINUSE) before werkzeug tries
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(("127.0.0.1", self._port))
        super().start()
        if self._error is not None:
            raise self._error
        assert self._server is not None
        self._server.app = self._middleware(self._server.app)

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        super().stop()
        if self._server is not None:
            self._server.server_close()


def reset_moto() -> None:
    """Empty every moto backend (they are global to the process)."""
    moto_api_backend.reset()


class _Outcome(NamedTuple):
    exit_code: int | None
    reason: str  # the attempt's statusReason
    retryable: bool  # False: never retried (terminated, stand-in stopped)
    container_reason: str = ""  # the attempt's container.reason


class _Runner:
    """A compute environment: ``max_jobs`` slots, a launcher and the handles of running jobs."""

    def __init__(
        self, max_jobs: int, job_root: str, env: Mapping[str, str], launcher: Launcher
    ) -> None:
        self.max_jobs = max_jobs
        self.job_root = job_root
        self.env = dict(env)
        self.launcher = launcher
        self.lock = threading.Lock()  # guards everything below and every job's end
        self.slot_freed = threading.Condition(self.lock)  # one waiter per freed slot
        self.job_ended = threading.Condition(self.lock)  # a job finished or was terminated
        self.running = 0
        self.closed = False
        self.jobs: set[Job] = set()
        self.handles: dict[str, JobHandle] = {}
        self.missing_images: set[str] = set()  # images whose pull fails
        self.host_lost: dict[str, str] = {}  # job id -> statusReason of its lost host

    def run(self, job: Job) -> None:
        """Run a job (in its moto thread) from SUBMITTED to SUCCEEDED or FAILED."""
        with self.lock:
            self.jobs.add(job)
        try:
            if job.job_definition.container_properties is None:
                self._finish(job, _Outcome(None, "The stand-in runs container jobs only", False))
                return
            job.status = JobStatus.PENDING
            blocked = self._blocked(job)
            if blocked is not None:
                self._finish(job, _Outcome(None, blocked, False))
                return
            outcome = _Outcome(None, job.job_stopped_reason or STOPPED_REASON, False)
            strategy = getattr(job, "retry_strategy", None) or {}  # set by _submitjob below
            for attempt in range(1, int(strategy.get("attempts", 1)) + 1):
                if not self._acquire(job):
                    outcome = outcome._replace(reason=job.job_stopped_reason or STOPPED_REASON)
                    break
                try:
                    outcome = self._attempt(job, attempt)
                finally:
                    self._release()
                if not _retried(strategy, outcome):
                    break
            self._finish(job, outcome)
        except Exception as err:  # a bug here must fail the job, not leave it hanging
            logger.exception("AWS stand-in: job %s", job.job_id)
            self._finish(job, _Outcome(None, f"AWS stand-in error: {err!r}", False))
        finally:
            with self.lock:
                self.jobs.discard(job)

    def _blocked(self, job: Job) -> str | None:
        """Wait in PENDING for the job's dependencies; return why it cannot run, or None."""
        with self.lock:
            deps = [job.backend.get_job_by_id(d.get("jobId", "")) for d in job.depends_on or []]
            self.job_ended.wait_for(
                lambda: job.stop or self.closed or all(d is None or d.job_stopped for d in deps)
            )
            if job.stop or self.closed:
                return job.job_stopped_reason or STOPPED_REASON
            if not all(d is not None and d.status == "SUCCEEDED" for d in deps):
                return "Dependent Job failed"
            return None

    def _acquire(self, job: Job) -> bool:
        """Wait in RUNNABLE for a free slot; False when the job was stopped meanwhile."""
        with self.lock:
            job.status = JobStatus.RUNNABLE
            parent = _parent(job)
            if parent is not None and not parent.job_stopped:
                parent.status = JobStatus.PENDING
            self.slot_freed.wait_for(
                lambda: job.stop or self.closed or self.running < self.max_jobs
            )
            if job.stop or self.closed:
                self.slot_freed.notify()  # pass on a wake-up this job will not use
                return False
            self.running += 1
            return True

    def _release(self) -> None:
        with self.lock:
            self.running -= 1
            self.slot_freed.notify()

    def _attempt(self, job: Job, attempt: int) -> _Outcome:
        """Run one attempt in a fresh directory and record it in ``job.attempts``."""
        job.status = JobStatus.STARTING
        job.log_stream_name = stream = f"{job.job_definition.name}/default/{uuid.uuid4().hex}"
        with self.lock:
            job.backend.logs_backend.ensure_log_group(LOG_GROUP)
            job.backend.logs_backend.ensure_log_stream(LOG_GROUP, stream)
        started = datetime.now()
        prefix = f"{job.job_id.replace(':', '-')}-{attempt}-"
        workdir = tempfile.mkdtemp(prefix=prefix, dir=self.job_root)
        try:
            outcome = self._execute(job, attempt, stream, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        container: dict[str, Any] = {"logStreamName": stream}
        if outcome.exit_code is not None:
            container["exitCode"] = outcome.exit_code
        if outcome.container_reason:
            container["reason"] = outcome.container_reason
        job.attempts.append(
            {
                "container": container,
                "startedAt": datetime2int_milliseconds(started),
                "stoppedAt": datetime2int_milliseconds(datetime.now()),
                "statusReason": outcome.reason,
            }
        )
        return outcome

    def _execute(self, job: Job, attempt: int, stream: str, workdir: str) -> _Outcome:
        logs = job.backend.logs_backend
        spec = self._spec(job, attempt, workdir)
        try:
            if spec.image in self.missing_images:
                raise LaunchError(PULL_REASON.format(image=spec.image))
            handle = self.launcher.launch(spec)
        except LaunchError as err:  # no such executable or image, empty command
            _put_log(logs, stream, str(err))
            reason = str(err).partition(":")[0]
            return _Outcome(None, str(err), True, str(err) if reason.startswith("Cannot") else "")
        with self.lock:
            self.handles[job.job_id] = handle
            if job.stop:  # terminated while starting
                handle.kill()
        job.job_started_at = datetime.now()
        job.status = JobStatus.RUNNING
        pump = threading.Thread(target=_pump, args=(logs, stream, handle.lines()), daemon=True)
        pump.start()
        out_of_memory = threading.Event()
        pid = getattr(handle, "pid", None)  # local processes; a container engine has its own
        if spec.memory_mib and pid:
            threading.Thread(target=_watch_memory, daemon=True,
                             args=(handle, pid, spec.memory_mib, out_of_memory)).start()
        timed_out = False
        try:
            try:
                handle.wait(job._get_attempt_duration())
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                with self.lock:
                    del self.handles[job.job_id]
                handle.kill()  # like a container: nothing outlives the main process
            code = handle.wait()
            pump.join()
        finally:
            handle.close()
        with self.lock:
            lost = self.host_lost.pop(job.job_id, None)
        if lost is not None:
            return _Outcome(None, lost, True)
        if timed_out:
            return _Outcome(code, TIMEOUT_REASON, True)
        if job.stop:
            return _Outcome(code, job.job_stopped_reason or STOPPED_REASON, False)
        if out_of_memory.is_set():
            return _Outcome(OOM_EXIT_CODE, OOM_REASON, True, OOM_REASON)
        return _Outcome(code, EXITED_REASON, True)

    def _spec(self, job: Job, attempt: int, workdir: str) -> JobSpec:
        """The attempt as the launcher sees it: command, the job's own environment, resources."""
        env = {e["name"]: e["value"] for e in job._get_container_property("environment", [])}
        env["AWS_BATCH_JOB_ID"] = job.job_id
        env["AWS_BATCH_JOB_ATTEMPT"] = str(attempt)
        env["AWS_BATCH_JQ_NAME"] = job.job_queue.name
        env["AWS_BATCH_CE_NAME"] = next((ce.name for ce in job.job_queue.environments), "")
        if "index" in job.array_properties:
            env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(job.array_properties["index"])
        env["AWS_EXECUTION_ENV"] = WORKER_EXEC_ENV
        env.update(self.env)
        vcpus, memory = _resources(job)
        return JobSpec(
            job_id=job.job_id,
            attempt=attempt,
            command=job._add_parameters_to_command(job._get_container_property("command", [])),
            env=env,
            workdir=workdir,
            image=job._get_container_property("image", None),
            vcpus=vcpus,
            memory_mib=memory,
        )

    def _finish(self, job: Job, outcome: _Outcome) -> None:
        with self.lock:
            job.exit_code = outcome.exit_code
            job.job_stopped_reason = outcome.reason
            job._mark_stopped(success=outcome.exit_code == 0)
            parent = _parent(job)
            children = (parent._child_jobs or []) if parent is not None else []
            if parent is not None and all(child.job_stopped for child in children):
                starts = [c.job_started_at for c in children if c.job_started_at != _NEVER]
                parent.job_started_at = min(starts, default=_NEVER)
                parent._mark_stopped(success=all(c.status == "SUCCEEDED" for c in children))
            self.job_ended.notify_all()

    def terminate_host(self, job_id: str) -> bool:
        """End a running job's attempt as AWS does when its instance goes away; False if the
        job is not running."""
        with self.lock:
            handle = self.handles.get(job_id)
            if handle is None:
                return False
            instance = "i-" + uuid.uuid4().hex[:17]
            self.host_lost[job_id] = HOST_REASON.format(instance=instance)
            handle.kill()
            return True

    def kill(self, job: Job) -> None:
        """Kill the job, if running, and wake it if it waits for a slot or its dependencies."""
        with self.lock:
            handle = self.handles.get(job.job_id)
            if handle is not None:
                handle.kill()
            self.slot_freed.notify_all()
            self.job_ended.notify_all()

    def shutdown(self, timeout: float) -> None:
        """Terminate every unfinished job and wait up to ``timeout`` s for each job's thread."""
        with self.lock:
            self.closed = True
            jobs = list(self.jobs)
        for job in jobs:
            job.terminate(STOPPED_REASON)
        for job in jobs:
            job.join(timeout)


def _retried(strategy: Mapping[str, Any], outcome: _Outcome) -> bool:
    """Whether AWS Batch would retry after this failed attempt (attempts left aside).

    With ``evaluateOnExit`` rules the first rule whose conditions all match decides, and no
    match means retry (as AWS documents); without rules every failure is retried but a
    timeout (the stand-in's behaviour before rules).
    """
    if outcome.exit_code == 0 or not outcome.retryable:
        return False
    rules = strategy.get("evaluateOnExit") or []
    if not rules:
        return outcome.reason != TIMEOUT_REASON
    code = "" if outcome.exit_code is None else str(outcome.exit_code)
    for rule in rules:
        conditions = ((rule.get("onStatusReason"), outcome.reason),
                      (rule.get("onReason"), outcome.container_reason),
                      (rule.get("onExitCode"), code))
        if all(pattern is None or _glob(pattern, value) for pattern, value in conditions):
            return str(rule.get("action", "")).upper() == "RETRY"
    return True


def _glob(pattern: str, value: str) -> bool:
    """AWS's evaluateOnExit patterns: exact, or a prefix when they end with ``*``."""
    return value.startswith(pattern[:-1]) if pattern.endswith("*") else value == pattern


def _watch_memory(handle: JobHandle, pid: int, limit_mib: int, exceeded: threading.Event
                  ) -> None:
    """Kill the job (as a container's OOM killer would) once its processes' resident memory
    exceeds ``limit_mib``; returns when the job's process ``pid`` is gone."""
    limit = limit_mib * 1024 * 1024
    while True:
        rss = _resident_bytes(pid)
        if rss is None:
            return
        if rss > limit:
            exceeded.set()
            handle.kill()
            return
        time.sleep(MEMORY_CHECK_INTERVAL)


def _resident_bytes(pid: int) -> int | None:
    """Resident memory of a process and its descendants; None once it has exited."""
    total, pending, seen = 0, [pid], set()
    page = os.sysconf("SC_PAGE_SIZE")
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/statm") as statm:
                total += int(statm.read().split()[1]) * page
            with open(f"/proc/{current}/stat") as stat:
                if stat.read().rpartition(")")[2].split()[0] == "Z" and current == pid:
                    return None  # exited, not reaped yet
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            if current == pid:
                return None
    return total


def _parent(job: Job) -> Job | None:
    if "index" not in job.array_properties:
        return None
    return job.backend.get_job_by_id(job.job_id.rpartition(":")[0])


def _resources(job: Job) -> tuple[float | None, int | None]:
    """The job's vCPUs and memory (MiB): resourceRequirements, overrides over the definition."""
    props = job.job_definition.container_properties or {}
    overrides = job.container_overrides
    required = {r["type"]: r["value"] for r in props.get("resourceRequirements", [])}
    required.update({r["type"]: r["value"] for r in overrides.get("resourceRequirements", [])})
    vcpus = required.get("VCPU", overrides.get("vcpus", props.get("vcpus")))
    memory = required.get("MEMORY", overrides.get("memory", props.get("memory")))
    return (
        float(vcpus) if vcpus is not None else None,
        int(memory) if memory is not None else None,
    )


def _put_log(logs: Any, stream: str, message: str) -> None:
    event = {"timestamp": datetime2int_milliseconds(datetime.now()), "message": message}
    logs.put_log_events(LOG_GROUP, stream, [event])


def _pump(logs: Any, stream: str, lines: Iterable[bytes]) -> None:
    """Copy a job's merged stdout/stderr, line by line, to its CloudWatch log stream."""
    try:
        for raw in lines:
            line = raw.decode(errors="replace").rstrip("\r\n")
            if line:
                _put_log(logs, stream, line)
    except Exception:  # the job's end is reported by wait(); a lost stream only loses logs
        logger.exception("AWS stand-in: reading the output of a job")


# --- moto patches -----------------------------------------------------------------------------

_runner: _Runner | None = None
# moto's job table (BatchBackend._jobs, a dict) is shared by the server's request threads:
# SubmitJob inserts under this lock, DescribeJobs and ListJobs select their jobs under it (moto
# iterates the dict unguarded: "dictionary changed size during iteration", an HTTP 500). A new
# job's thread also waits on it, so the job stays SUBMITTED until its SubmitJob has returned.
_jobs_lock = threading.RLock()
_originals: dict[tuple[Any, str], Any] = {}  # (class or module, name) -> moto's own


def _original(cls: Any, name: str) -> Any:
    return _originals[(cls, name)]


def _run(job: Job) -> None:
    with _jobs_lock:  # the job stays SUBMITTED until the SubmitJob call has returned
        runner = _runner
    if runner is not None:
        runner.run(job)


def _terminate(job: Job, reason: str) -> None:
    if job.job_stopped:  # AWS ignores terminating a finished job; moto overwrites its reason
        return
    _original(Job, "terminate")(job, reason)
    for child in job._child_jobs or []:
        _terminate(child, reason)
    if _runner is not None:
        _runner.kill(job)


def _container_property(job: Job, name: str, default: Any) -> Any:
    if name != "environment":
        return _original(Job, "_get_container_property")(job, name, default)
    # moto appends to the override list on every call; build a fresh, deduplicated one
    properties = job.job_definition.container_properties or {}
    env = {e["name"]: e["value"] for e in properties.get(name, [])}
    env.update({e["name"]: e["value"] for e in job.container_overrides.get(name, [])})
    env["AWS_BATCH_JOB_ID"] = job.job_id
    return [{"name": key, "value": value} for key, value in env.items()]


def _describe_short(job: Job) -> dict[str, Any]:
    result = _original(Job, "describe_short")(job)
    if job.job_started_at == _NEVER:
        result.pop("startedAt", None)
    if job._child_jobs:
        result["arrayProperties"] = {"size": len(job._child_jobs)}
    elif "index" in job.array_properties:
        result["arrayProperties"] = {"index": job.array_properties["index"]}
    return result


def _describe(job: Job) -> dict[str, Any]:
    result = _original(Job, "describe")(job)
    if job.exit_code is not None and "container" in result:
        result["container"]["exitCode"] = job.exit_code
    return result


def _describe_jobs(backend: BatchBackend, jobs: list[str] | None) -> list[dict[str, Any]]:
    """DescribeJobs by looking each id or ARN up (moto scans the whole table, unlocked)."""
    with _jobs_lock:
        if jobs is None:
            selected = list(backend._jobs.values())
        else:
            found = (_job_by_id_or_arn(backend, key) for key in jobs)
            selected = list({id(job): job for job in found if job is not None}.values())
    return [job.describe() for job in selected]


def _job_by_id_or_arn(backend: BatchBackend, key: str) -> Job | None:
    job = backend._jobs.get(key)
    if job is None and ":job/" in key:  # arn:aws:batch:REGION:ACCOUNT:job/ID
        job = backend._jobs.get(key.rpartition(":job/")[2])
        if job is not None and job.arn != key:
            return None
    return job


def _list_jobs(backend: BatchBackend, **query: Any) -> list[Job]:
    if query.get("job_status") is None and query.get("filters") is None:
        query["job_status"] = "RUNNING"  # AWS: no status and no filters lists RUNNING jobs
    with _jobs_lock:
        jobs = _original(BatchBackend, "list_jobs")(backend, **query)
    if query.get("array_job_id"):
        return [job for job in jobs if job.job_id.startswith(f"{query['array_job_id']}:")]
    return [job for job in jobs if "index" not in job.array_properties]


def _submitjob(response: BatchResponse) -> str:
    with _jobs_lock:
        body = _original(BatchResponse, "submitjob")(response)
        job = response.batch_backend.get_job_by_id(json.loads(body)["jobId"])
        assert job is not None  # moto just created it
        strategy = response._get_param("retryStrategy") or job.job_definition.retry_strategy
        for each in [job, *(job._child_jobs or [])]:
            each.retry_strategy = strategy or {}  # type: ignore[attr-defined]  # ours, on moto's Job
    return body


@functools.cache
def _moto_modules() -> frozenset[str]:
    """moto's service package names, listed once.

    moto's server asks for them on every request, under its app lock, and lists and stats its
    package directory each time (about 1.5 ms per request, a third of a HeadObject's cost).
    """
    return frozenset(_original(moto_backends, "list_of_moto_modules")())


_PATCHES: dict[tuple[Any, str], Callable[..., Any]] = {
    (moto_backends, "list_of_moto_modules"): _moto_modules,
    (Job, "run"): _run,
    (Job, "terminate"): _terminate,
    (Job, "_get_container_property"): _container_property,
    (Job, "describe_short"): _describe_short,
    (Job, "describe"): _describe,
    (BatchBackend, "describe_jobs"): _describe_jobs,
    (BatchBackend, "list_jobs"): _list_jobs,
    (BatchResponse, "submitjob"): _submitjob,
}


def terminate_host(job_id: str) -> bool:
    """End a running job's attempt as "Host EC2 (instance i-...) terminated."; False if the
    job is not running (see ``AWSStandIn.terminate_host``)."""
    return _runner is not None and _runner.terminate_host(job_id)


def set_image_missing(image: str, missing: bool = True) -> None:
    """Make pulling ``image`` fail (or succeed again) for jobs started from now on."""
    if _runner is None:
        raise RuntimeError("the AWS stand-in's batch runner is not installed")
    with _runner.lock:
        (_runner.missing_images.add if missing else _runner.missing_images.discard)(image)


def installed() -> bool:
    """Whether a stand-in's runner is installed (moto's state is global to the process)."""
    return _runner is not None


def install(
    *, max_jobs: int, job_root: str, env: Mapping[str, str], launcher: Launcher
) -> None:
    """Make moto's Batch run jobs through ``launcher``: at most ``max_jobs`` at once.

    Each attempt gets a fresh directory under ``job_root``; ``env`` (the stand-in's endpoint
    and credentials) is added to every job's environment. The caller owns ``launcher`` and
    closes it after ``uninstall()``.
    """
    global _runner
    if _runner is not None:
        raise RuntimeError("the AWS stand-in's batch runner is already installed")
    for (cls, name), patch in _PATCHES.items():
        _originals[(cls, name)] = cls.__dict__[name]
        setattr(cls, name, patch)
    _runner = _Runner(max_jobs, job_root, env, launcher)


def uninstall(timeout: float = 10.0) -> None:
    """Terminate every unfinished job (killing its process or container); restore moto."""
    global _runner
    if _runner is None:
        return
    _runner.shutdown(timeout)
    for (cls, name), original in _originals.items():
        setattr(cls, name, original)
    _originals.clear()
    _runner = None
