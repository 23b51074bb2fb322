"""Runs jobs in local containers through the Docker Engine API (Docker, or podman's socket).

``type = docker`` sections use it directly; an ``aws_batch`` executor in debug mode
(``debug = True``, or the task option ``debug=True``) hands it its jobs, so they run the very
same ``remit oneshot`` command, in the same image, against the same scratch. The container
uses the host network (services on 127.0.0.1 stay reachable) and gets the AWS environment.
With ``debug_scratch`` the scratch is a local directory mounted into the container.
With ``interactive = True`` and a terminal, the container gets a TTY attached to the user's
terminal, so ``pdb.set_trace()`` in a task works.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from remit import childguard
from remit.errors import ContainerEngineError, JobLostError
from remit.executors.aws_batch.executor import log_submit
from remit.executors.aws_batch.options import BatchOptions
from remit.executors.base import Executor, Report, failure_from_exception
from remit.jobs import Job, JobFailure
from remit.remote import scratch

CONTAINER_SCRATCH = "/remit-scratch"
LOG_TAIL_LINES = 50
_AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE")


def connect_engine() -> Any:
    """A docker SDK client that answered a ping, or ContainerEngineError saying how to get one."""
    host = os.environ.get("DOCKER_HOST", "the default socket (unix:///var/run/docker.sock)")
    try:
        import docker
    except ImportError:
        raise ContainerEngineError(
            "debug mode and docker executors need the docker SDK: pip install 'remit[docker]'"
        ) from None
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:
        raise ContainerEngineError(
            f"no container engine reachable at DOCKER_HOST={host} ({exc}). Start Docker, or "
            "serve podman's Docker-compatible API: `podman system service --time=0 "
            "unix:///tmp/podman.sock &` and `export DOCKER_HOST=unix:///tmp/podman.sock`; "
            "or set debug = false to run on AWS Batch"
        ) from None
    return client


class DockerExecutor(Executor):
    """Runs each job as a local container of the executor's image."""

    type_name = "docker"

    def __init__(self, name: str, options: dict[str, str], config_dir: Path,
                 batch: Any = None) -> None:
        super().__init__(name, options, config_dir)
        if batch is None:  # a section of its own: the aws_batch option names apply
            from remit.executors.aws_batch.executor import AWSBatchExecutor

            batch_options = {**options, "type": "aws_batch", "queue": options.get("queue", "-"),
                             "s3_scratch": options.get("s3_scratch", "s3://-/"), "debug": "true"}
            batch = AWSBatchExecutor(name, batch_options, config_dir)
        self.batch = batch
        self._client: Any = None
        self._running: dict[str, Any] = {}

    @classmethod
    def validate(cls, name: str, options: dict[str, str], where: str) -> None:
        """A docker section needs an image and a scratch (s3_scratch or debug_scratch)."""
        from remit.errors import ConfigError

        if not options.get("image"):
            raise ConfigError(f"{where} image: required option is missing")
        if not options.get("s3_scratch") and not options.get("debug_scratch"):
            raise ConfigError(f"{where} s3_scratch: set s3_scratch or debug_scratch")

    @classmethod
    def for_batch(cls, batch: Any, opts: BatchOptions) -> DockerExecutor:
        """The debug-mode stand-in for an aws_batch executor (same image and scratch)."""
        return cls(f"{batch.name}-debug", batch.options, batch.config_dir, batch=batch)

    def start(self, report: Report) -> None:
        """Connect to the engine now, so a missing one fails before any job starts."""
        super().start(report)
        self._client = connect_engine()

    def stop(self) -> None:
        """Remove containers still running (an interrupted run): nothing would collect them."""
        for container in list(self._running.values()):
            try:
                container.remove(force=True)
            except Exception:  # already gone
                pass
        self._running.clear()

    def submit(self, job: Job) -> None:
        """Write the job's input to scratch and start its container."""
        opts = self.batch.opts.for_task(job.task.options, f"task {job.task.fullname}")
        opts = self._local_scratch(opts)
        threading.Thread(target=self._run, args=(job, opts), daemon=True,
                         name=f"remit-docker-{job.short_id}").start()

    def _local_scratch(self, opts: BatchOptions) -> BatchOptions:
        if not opts.debug_scratch:
            return opts
        import dataclasses

        local = Path(opts.debug_scratch)
        if not local.is_absolute():
            local = self.config_dir / local
        local.mkdir(parents=True, exist_ok=True)
        return dataclasses.replace(opts, s3_scratch=str(local))

    def _run(self, job: Job, opts: BatchOptions) -> None:
        try:
            self._run_container(job, opts)
        except BaseException as exc:  # noqa: BLE001 - reported, never lost
            self.report(job, None, failure_from_exception(exc, job))

    def _run_container(self, job: Job, opts: BatchOptions) -> None:
        head = self.batch._command_head(job, opts)
        local_root = opts.s3_scratch if "://" not in opts.s3_scratch else None
        inside = CONTAINER_SCRATCH if local_root else opts.s3_scratch
        scratch.write_pickle(scratch.job_path(opts.s3_scratch, job.eval_hash, "input"),
                             (job.args, job.kwargs), f"the arguments of {job.task.fullname}")
        command = [*head, "--input", scratch.job_path(inside, job.eval_hash, "input"),
                   "--output", scratch.job_path(inside, job.eval_hash, "output"),
                   "--error", scratch.job_path(inside, job.eval_hash, "error"),
                   job.task.fullname]
        if local_root and "--code" in command:
            at = command.index("--code") + 1
            command[at] = command[at].replace(local_root, CONTAINER_SCRATCH, 1)
        interactive = opts.interactive and sys.stdin.isatty()
        if opts.interactive and not interactive:
            raise ContainerEngineError(
                f"task {job.task.fullname} is interactive but remit run has no terminal; run it "
                "from a terminal, or set interactive = false"
            )
        childguard.ensure_guard()  # removes the container if remit dies before it does
        container = self._client.containers.create(
            opts.image, command, detach=True, tty=interactive, stdin_open=interactive,
            environment={k: os.environ[k] for k in _AWS_ENV if k in os.environ},
            network_mode="host", working_dir="/remit-job",
            volumes={local_root: {"bind": CONTAINER_SCRATCH, "mode": "rw"}} if local_root else None,
            **_resources(opts),
        )
        childguard.watch_container(
            os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock", container.id)
        job.tags["docker_container"] = container.id
        self._running[container.id] = container
        log_submit(job, f"Docker container {container.id}", container.id, None,
                   scratch.job_dir(opts.s3_scratch, job.eval_hash), None, True)
        if interactive:
            from remit.executors.terminal import attach_terminal

            attach_terminal(container)
        else:
            container.start()
        status = container.wait()
        logs = container.logs().decode(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        container.remove(force=True)
        childguard.release_container(container.id)
        self._running.pop(container.id, None)
        code = status.get("StatusCode", 1)
        if code == 0 and not interactive:  # debugging: show what the job printed
            sys.stderr.write("".join(line + "\n" for line in logs))
        self._finish(job, opts, code, logs, container.id)

    def _finish(self, job: Job, opts: BatchOptions, code: int, logs: list[str],
                container_id: str) -> None:
        if code == 0:
            try:
                result = scratch.read_pickle(scratch.job_path(opts.s3_scratch, job.eval_hash,
                                                              "output"))
            except Exception as exc:
                error = JobLostError(f"container {container_id[:12]} exited 0 but left no "
                                     f"readable output: {exc}")
                self.report(job, None, JobFailure(error, str(error) + "\n", job))
                return
            self.report(job, result, None)
            return
        try:
            error, remote_tb = scratch.read_pickle(
                scratch.job_path(opts.s3_scratch, job.eval_hash, "error"))
        except Exception:
            error = JobLostError(f"container {container_id[:12]} exited with code {code} "
                                 "without a remit error file")
            remote_tb = ""
        lines = [remote_tb.rstrip() or f"{type(error).__name__}: {error}",
                 f"Docker container {container_id[:12]} exited with code {code}"]
        if logs:
            lines.append(f"Last {len(logs)} lines of the container's log:")
            lines.extend("  " + line for line in logs)
        self.report(job, None, JobFailure(error, "\n".join(lines) + "\n", job))


def _resources(opts: BatchOptions) -> dict[str, Any]:
    resources: dict[str, Any] = {"mem_limit": f"{int(opts.memory * 1024)}m",
                                 "nano_cpus": int(opts.vcpus * 1e9)}
    if opts.shared_memory:
        resources["shm_size"] = f"{int(opts.shared_memory * 1024)}m"
    if opts.gpus:
        import docker

        resources["device_requests"] = [
            docker.types.DeviceRequest(count=opts.gpus, capabilities=[["gpu"]])
        ]
    return resources
