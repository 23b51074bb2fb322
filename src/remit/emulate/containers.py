"""Container-backed Batch jobs for the stand-in (``remit emulate aws --containers``).

Owns the docker path: connecting to the engine named by DOCKER_HOST (the docker SDK, imported
only here and only when containers are asked for), the error when no engine answers, and one
container per job attempt: the job definition's image, the job's command and environment (over
the image's own), host networking so the job reaches the stand-in on 127.0.0.1, memory and vCPU
limits from the job's resource requirements, its output as lines, its exit code, kill on
terminate or timeout, and its removal afterwards. Knows nothing of moto: ``batch_runner``
hands it a ``remit.emulate.processes.JobSpec`` like to any launcher.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

from remit.emulate.processes import JobHandle, JobSpec, LaunchError

LABEL = "remit.emulate.job"
"""Label on every container the stand-in starts (value: the Batch job id and attempt)."""
START_ENGINE_HINT = (
    'start one with `eval "$(scripts/container-engine.sh start)"` (in remit\'s source tree: '
    "podman serving the Docker API; it exports DOCKER_HOST), or run the jobs as local "
    "processes instead: `remit emulate aws --containers --fallback-local`, "
    "AWSStandIn(containers=True, container_fallback=True)"
)


class ContainerEngineError(RuntimeError):
    """No container engine answers where DOCKER_HOST (or the default socket) points.

    ``reason`` says what failed in one phrase; the message adds how to get an engine.
    """

    def __init__(self, reason: str, hint: str = START_ENGINE_HINT) -> None:
        super().__init__(f"{reason}: {hint}")
        self.reason = reason


def engine_location() -> str:
    """Where the docker SDK looks for the engine, for messages."""
    host = os.environ.get("DOCKER_HOST")
    return f"DOCKER_HOST={host}" if host else "the default socket (DOCKER_HOST is unset)"


class ContainerLauncher:
    """Runs each job attempt in a container of its job definition's image."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.description = f"containers ({engine_location()})"

    @classmethod
    def connect(cls, max_jobs: int) -> ContainerLauncher:
        """Connect to the engine and ping it; raise ``ContainerEngineError`` if it is not there.

        ``max_jobs`` sizes the connection pool: each running job streams its logs and waits
        on its container, each on a connection of its own.
        """
        try:
            import docker
        except ImportError as err:
            raise ContainerEngineError(
                "container-backed jobs need the docker SDK", "pip install 'remit[docker]'"
            ) from err
        try:
            client = docker.from_env(max_pool_size=max(10, 3 * max_jobs))
            client.ping()
        except Exception as err:  # DockerException, requests' ConnectionError, ...
            raise ContainerEngineError(
                f"no container engine reachable at {engine_location()} ({type(err).__name__})"
            ) from err
        return cls(client)

    def launch(self, spec: JobSpec) -> JobHandle:
        """Create and start the job's container; ``LaunchError`` if the engine refuses."""
        import docker.errors

        if not spec.image:
            raise LaunchError("CannotStartContainerError: the job definition names no image")
        options: dict[str, Any] = {
            "command": spec.command,
            "environment": spec.env,
            "network_mode": "host",
            "labels": {LABEL: f"{spec.job_id}#{spec.attempt}", **spec.labels},
            "detach": True,
        }
        if spec.memory_mib:
            options["mem_limit"] = f"{spec.memory_mib}m"
        if spec.vcpus:
            options["nano_cpus"] = int(spec.vcpus * 1e9)
        try:
            container = self.client.containers.create(spec.image, **options)
        except docker.errors.ImageNotFound as err:
            raise LaunchError(f"CannotPullContainerError: {_explain(err)}") from err
        except docker.errors.APIError as err:
            raise LaunchError(f"CannotCreateContainerError: {_explain(err)}") from err
        try:
            # Attached before it starts, so no output is missed; the stream ends as the
            # container's process does (a followed log would end only when the engine noticed).
            output = container.attach(stdout=True, stderr=True, stream=True, logs=True)
        except docker.errors.APIError as err:
            _remove(container)
            raise LaunchError(f"CannotStartContainerError: {_explain(err)}") from err
        try:
            container.start()
        except docker.errors.APIError as err:
            output.close()
            _remove(container)
            raise LaunchError(f"CannotStartContainerError: {_explain(err)}") from err
        return _Container(container, output)

    def close(self) -> None:
        """Close the SDK client's connections."""
        self.client.close()


class _Container:
    """A ``JobHandle`` for a started container."""

    def __init__(self, container: Any, output: Any) -> None:
        self.container = container
        self.output = output  # the SDK's stream of stdout and stderr chunks, as written

    def lines(self) -> Iterator[bytes]:
        pending = b""
        try:
            for chunk in self.output:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line + b"\n"
        finally:
            self.output.close()
        if pending:
            yield pending

    def wait(self, timeout: float | None = None) -> int:
        import requests.exceptions

        while True:
            try:
                return int(self.container.wait(timeout=timeout)["StatusCode"])
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                # a read timeout (on a unix socket it may surface as a ConnectionError)
                self.container.reload()
                if self.container.status in ("created", "running", "paused", "restarting"):
                    raise subprocess.TimeoutExpired(self.container.id, timeout or 0.0) from None

    def kill(self) -> None:
        import docker.errors

        try:
            self.container.kill()
        except docker.errors.APIError:  # not running any more, or already removed
            pass

    def close(self) -> None:
        _remove(self.container)


def _remove(container: Any) -> None:
    import docker.errors

    try:
        container.remove(force=True)
    except docker.errors.APIError:  # NotFound included
        pass


def _explain(err: Any) -> str:
    return str(getattr(err, "explanation", None) or err)
