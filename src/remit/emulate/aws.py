"""The local AWS stand-in: moto's server in this process, with Batch jobs that really run.

Owns the stand-in's lifecycle (server, reset, buckets, job queues, and what runs the jobs: the
launcher, started before and closed after the server), the environment a client exports to
reach it, and the API call counter (a WSGI middleware that names each request's AWS operation
from the botocore service models). Everything coupled to moto's internals is in
``remit.emulate.batch_runner``; local job processes (warm or cold) are
``remit.emulate.processes``, containers ``remit.emulate.containers``.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qs, parse_qsl

import boto3
import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import ServiceModel

from remit.emulate import DEFAULT_MAX_JOBS, batch_runner
from remit.emulate.batch_runner import WSGIApp
from remit.emulate.processes import Launcher, ProcessLauncher

logger = logging.getLogger(__name__)

_WORKER_MARKER = f"exec-env/{batch_runner.WORKER_EXEC_ENV}"
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_SERVICE_ROLE = "remit-standin-batch-service"


class AWSStandIn:
    """A local AWS (S3, Batch, IAM, CloudWatch Logs, STS) on 127.0.0.1 for development and tests.

    Batch jobs really run, at most ``max_jobs`` at once, each attempt afresh:

    * by default as a local process in a fresh directory under ``job_root``; ``remit ...``
      commands are forked ready-to-run by a warm zygote process (started and stopped with the
      stand-in), anything else, or everything with ``warm=False``, is a plain subprocess;
    * with ``containers=True`` in a container of the job definition's image, through the
      engine DOCKER_HOST names. No engine at ``start()`` is an error, unless
      ``container_fallback=True``: then jobs run as local processes, and a warning says so.

    A job whose processes' resident memory exceeds its MEMORY requirement is killed as by
    the OOM killer (exit code 137, "OutOfMemoryError: Container killed due to memory usage"),
    one that outlives its timeout ends with "Job attempt duration exceeded timeout", and
    ``terminate_host`` and ``set_image_missing`` inject the other failures AWS reports; retries
    follow the job's retryStrategy, ``evaluateOnExit`` rules included.

    Use as a context manager or call ``start()``/``stop()``. Only one stand-in may run in a
    process at a time (moto's state is global); each ``start()`` begins with empty backends.
    """

    def __init__(
        self,
        port: int = 0,
        buckets: Sequence[str] = (),
        queues: Sequence[str] = ("remit-queue",),
        max_jobs: int = DEFAULT_MAX_JOBS,
        region: str = "us-east-1",
        job_root: str | None = None,
        warm: bool = True,
        containers: bool = False,
        container_fallback: bool = False,
    ) -> None:
        if max_jobs < 1:
            raise ValueError("max_jobs must be at least 1")
        self.buckets = tuple(buckets)
        self.queues = tuple(queues)
        self.max_jobs = max_jobs
        self.region = region
        self.job_root = job_root
        self.warm = warm
        self.containers = containers
        self.container_fallback = container_fallback
        self.jobs_run_in: str | None = None
        """What runs the Batch jobs once started, e.g. "warm local processes"."""
        self._launcher: Launcher | None = None
        self._requested_port = port
        self._port: int | None = None
        self._server: batch_runner.MotoServer | None = None
        self._own_root: str | None = None
        self._lock = threading.Lock()
        self._calls: defaultdict[str, Counter[str]] = defaultdict(Counter)

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        if self._port is None:
            raise RuntimeError("the AWS stand-in is not running")
        return self._port

    @property
    def endpoint_url(self) -> str:
        """The single endpoint of every service, ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment a client exports so that boto3 talks to the stand-in."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def start(self) -> AWSStandIn:
        """Start serving with empty backends, the buckets and one job queue per queue name."""
        if self._server is not None or batch_runner.installed():
            raise RuntimeError("an AWS stand-in is already running in this process")
        launcher = self._open_launcher()  # first: no engine is an error before anything runs
        try:
            batch_runner.reset_moto()
            server = batch_runner.MotoServer(self._requested_port, self._counting)
            server.start()
        except BaseException:
            launcher.close()
            raise
        self._server = server
        self._launcher = launcher
        try:
            self._port = server.get_host_and_port()[1]
            socket.create_connection(("127.0.0.1", self._port), timeout=5).close()
            if self.job_root is None:
                self._own_root = root = tempfile.mkdtemp(prefix="remit-standin-")
            else:
                root = self.job_root
                os.makedirs(root, exist_ok=True)
            batch_runner.install(
                max_jobs=self.max_jobs, job_root=root, env=self.env, launcher=launcher
            )
            self._create_resources()
            if isinstance(launcher, ProcessLauncher):
                launcher.wait_ready()  # the zygote imported while the server started
        except BaseException:
            self.stop()
            raise
        self.jobs_run_in = launcher.description
        self.reset_calls()
        return self

    def _open_launcher(self) -> Launcher:
        """What will run the jobs: containers, or local processes (warm unless ``warm=False``)."""
        if self.containers:
            from remit.emulate.containers import ContainerEngineError, ContainerLauncher

            try:
                return ContainerLauncher.connect(self.max_jobs)
            except ContainerEngineError as err:
                if not self.container_fallback:
                    raise
                logger.warning(
                    "[remit] AWS stand-in: %s: running Batch jobs as local processes instead",
                    err.reason,
                )
        return ProcessLauncher(warm=self.warm).start()

    def stop(self) -> None:
        """Stop the server and every job still running (killed), then what ran the jobs."""
        if self._server is None:
            return
        self._server.stop()
        batch_runner.uninstall()
        if self._launcher is not None:
            self._launcher.close()
            self._launcher = None
        self._server = None
        self._port = None
        self.jobs_run_in = None
        if self._own_root is not None:
            shutil.rmtree(self._own_root, ignore_errors=True)
            self._own_root = None

    def __enter__(self) -> AWSStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def terminate_host(self, job_id: str) -> bool:
        """Fault injection: end the running job's attempt as AWS does when its instance goes
        away (statusReason "Host EC2 (instance i-...) terminated.", no exit code); the job is
        retried if its retryStrategy says so. False if the job is not running."""
        return batch_runner.terminate_host(job_id)

    def set_image_missing(self, image: str, missing: bool = True) -> None:
        """Fault injection: jobs of ``image`` fail to start with AWS's
        "CannotPullContainerError: ..." (as with ``containers=True`` when the engine lacks it)."""
        batch_runner.set_image_missing(image, missing)

    def calls(self, caller: str | None = "client") -> Counter[str]:
        """API calls per operation name since the last reset, by ``caller``.

        ``caller`` is "client" (anything not in a job), "worker" (job processes) or None for
        both together.
        """
        with self._lock:
            if caller is not None:
                return Counter(self._calls[caller])
            return sum(self._calls.values(), Counter())

    def reset_calls(self) -> None:
        """Forget the calls counted so far."""
        with self._lock:
            self._calls.clear()

    def _counting(self, app: WSGIApp) -> WSGIApp:
        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            caller = "worker" if _WORKER_MARKER in environ.get("HTTP_USER_AGENT", "") else "client"
            operation = operation_name(environ)
            with self._lock:
                self._calls[caller][operation] += 1
            return app(environ, start_response)

        return counted

    def _create_resources(self) -> None:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )
        s3 = session.client("s3", endpoint_url=self.endpoint_url)
        for bucket in self.buckets:
            if self.region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                location = {"LocationConstraint": self.region}
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=location)
        if not self.queues:
            return
        iam = session.client("iam", endpoint_url=self.endpoint_url)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "batch.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = iam.create_role(RoleName=_SERVICE_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
        batch = session.client("batch", endpoint_url=self.endpoint_url)
        for queue in self.queues:
            environment = batch.create_compute_environment(
                computeEnvironmentName=f"{queue}-ce",
                type="UNMANAGED",
                state="ENABLED",
                serviceRole=role["Role"]["Arn"],
            )
            batch.create_job_queue(
                jobQueueName=queue,
                state="ENABLED",
                priority=1,
                computeEnvironmentOrder=[
                    {"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}
                ],
            )


# --- naming a request's AWS operation -----------------------------------------------------------


def operation_name(environ: dict[str, Any]) -> str:
    """The AWS operation a WSGI request calls, e.g. "PutObject"; "METHOD /path" if unknown."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("RAW_URI", environ.get("PATH_INFO", "/")).partition("?")[0]
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:  # json protocol: "Logs_20140328.GetLogEvents"
        return target.rpartition(".")[2]
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    model = _service_model(_signing_service(environ, query))
    if model is None:
        return f"{method} {path}"
    if model.protocol in ("query", "ec2"):
        action = query.get("Action") or _form_field(environ, "Action")
        return action or f"{method} {path}"
    headers = {key[5:].replace("_", "-").lower() for key in environ if key.startswith("HTTP_")}
    best: tuple[int, str] | None = None
    for route in _rest_routes(model.service_name):
        score = route.score(method, path, query, headers)
        if score is not None and (best is None or score > best[0]):
            best = (score, route.name)
    return best[1] if best else f"{method} {path}"


def _signing_service(environ: dict[str, Any], query: dict[str, str]) -> str | None:
    credential = environ.get("HTTP_AUTHORIZATION", "")
    if "X-Amz-Credential" in query:  # presigned URL
        credential = f"Credential={query['X-Amz-Credential']}"
    match = _CREDENTIAL_SCOPE.search(credential)
    if match:
        return match.group(1)
    if "AWSAccessKeyId" in query or credential.startswith("AWS "):
        return "s3"  # signature version 2: only S3 still uses it (presigned URLs)
    return None


def _form_field(environ: dict[str, Any], name: str) -> str | None:
    """A field of a form-encoded body; the body is buffered so the app can read it again."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    values = parse_qs(body.decode(errors="replace")).get(name)
    return values[0] if values else None


@functools.cache
def _botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def _service_model(service: str | None) -> ServiceModel | None:
    if service is None:
        return None
    try:
        return _botocore_session().get_service_model(service)
    except UnknownServiceError:
        return None


class _Route(NamedTuple):
    """A REST operation: method, path pattern, literal query and required query/headers."""

    name: str
    method: str
    path: re.Pattern[str]
    literal: dict[str, str]
    query: frozenset[str]
    headers: frozenset[str]

    def score(self, method: str, path: str, query: dict[str, str], headers: set[str]) -> int | None:
        """How specifically this route matches a request (None: not at all)."""
        if method != self.method or not self.path.fullmatch(path):
            return None
        # "?uploads" needs the key present, "?list-type=2" also its value
        for key, value in self.literal.items():
            if key not in query or (value and query[key] != value):
                return None
        if not (self.query <= query.keys() and self.headers <= headers):
            return None
        return len(self.literal) + len(self.query) + len(self.headers)


@functools.cache
def _rest_routes(service: str) -> tuple[_Route, ...]:
    model = _botocore_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        if operation.deprecated:
            continue
        template, _, literal = operation.http["requestUri"].partition("?")
        shape = operation.input_shape
        required = [shape.members[m].serialization for m in shape.required_members] if shape else []
        located = [(s.get("location"), s.get("name", "")) for s in required]
        routes.append(
            _Route(
                name=name,
                method=operation.http["method"],
                path=_path_pattern(template),
                literal=dict(parse_qsl(literal, keep_blank_values=True)),
                query=frozenset(n for where, n in located if where == "querystring"),
                headers=frozenset(n.lower() for where, n in located if where == "header"),
            )
        )
    return tuple(routes)


def _path_pattern(template: str) -> re.Pattern[str]:
    """A requestUri path as a regex: "{Name}" is one path segment, "{Name+}" the rest."""
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join(
        ("(.+)" if part.endswith("+}") else "([^/]+)") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(pattern.rstrip("/") + "/?")
