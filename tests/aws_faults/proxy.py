"""A loopback HTTP proxy in front of the AWS stand-in that injects faults into AWS calls.

Point a client's ``AWS_ENDPOINT_URL`` at ``FaultProxy.endpoint_url``: each request is either
forwarded to the stand-in unchanged or, for a seeded share of S3 and Batch calls (bounded in
count and in time), answered with a fault *before* it reaches the stand-in:

* ``throttle``: the service's own throttling error (S3: 503 ``SlowDown`` XML; Batch: 429
  ``TooManyRequestsException`` JSON; CloudWatch Logs: 400 ``ThrottlingException``), so that
  botocore classifies it as AWS would;
* ``500`` / ``503``: an internal error / service unavailable in the service's format;
* ``reset``: the TCP connection is reset without an answer;
* ``lost``: the call reaches the stand-in, but the connection is reset instead of answering
  (the client cannot know whether it was done);
* ``latency``: the call is delayed by ``FaultPlan.latency`` seconds, then forwarded.

``outage = True`` resets every connection until set back to False (the endpoint is down).
Counters tell what was injected and which operations reached the stand-in. Job processes
of the stand-in talk to it directly, so only the client's calls (the scheduler's) pass here.
"""

from __future__ import annotations

import http.client
import io
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from remit.emulate.aws import operation_name

FAILURES = ("throttle", "500", "503", "reset")
_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass(frozen=True)
class FaultPlan:
    """Which calls get a fault: a seeded share of them (of ``services``, and of
    ``operations`` if given), at most ``max_faults``, and only within ``duration`` seconds of
    the proxy's start."""

    rate: float = 0.0
    kinds: tuple[str, ...] = (*FAILURES, "latency")
    services: tuple[str, ...] = ("s3", "batch")
    operations: tuple[str, ...] = ()
    max_faults: int = 200
    duration: float = 120.0
    latency: float = 0.3
    seed: int = 0


class FaultProxy:
    """The proxy: ``start()``/``stop()`` or a context manager."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.plan = plan or FaultPlan()
        self.outage = False
        self.injected: Counter[tuple[str, str]] = Counter()
        """(service, kind) -> faults injected."""
        self.forwarded: Counter[str] = Counter()
        """Operation name -> calls that reached the stand-in."""
        self._lock = threading.Lock()
        self._random = random.Random(self.plan.seed)
        self._started = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the proxy."""
        assert self._server is not None, "the proxy is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        """Listen on a free port of 127.0.0.1 and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fault-proxy")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def failures(self) -> int:
        """Calls answered with a failure (not counting latency)."""
        with self._lock:
            return sum(n for (_, kind), n in self.injected.items() if kind != "latency")

    def choose(self, service: str | None, operation: str) -> str | None:
        """The fault for the next call, or None to forward it as it is."""
        plan = self.plan
        with self._lock:
            if self.outage:
                self.injected[(service or "?", "outage")] += 1
                return "reset"
            if (service not in plan.services
                    or (plan.operations and operation not in plan.operations)
                    or sum(self.injected.values()) >= plan.max_faults
                    or time.monotonic() - self._started > plan.duration
                    or self._random.random() >= plan.rate):
                return None
            kind = self._random.choice(plan.kinds)
            self.injected[(service, kind)] += 1
            return kind

    def count(self, operation: str) -> None:
        """Note an operation forwarded to the stand-in."""
        with self._lock:
            self.forwarded[operation] += 1


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Quiet: the test reads the counters instead."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._proxy()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_GET  # noqa: N815

    def _proxy(self) -> None:
        body = self._read_body()
        environ = self._environ(body)
        scope = _SCOPE.search(self.headers.get("Authorization", ""))
        service = scope.group(1) if scope else None
        operation = operation_name(environ)
        fault = self.proxy.choose(service, operation)
        if fault == "reset":
            self._reset()
            return
        if fault == "latency":
            time.sleep(self.proxy.plan.latency)
        elif fault not in (None, "lost"):
            self._answer(*_error(service or "s3", fault))
            return
        self.proxy.count(operation)
        self._forward(body, lost=fault == "lost")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(chunk)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _environ(self, body: bytes) -> dict[str, Any]:
        """Enough of a WSGI environ for the stand-in's operation naming."""
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "PATH_INFO": path, "RAW_URI": self.path,
            "QUERY_STRING": query, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        }
        for key, value in self.headers.items():
            environ["HTTP_" + key.upper().replace("-", "_")] = value
        return environ

    def _forward(self, body: bytes, lost: bool = False) -> None:
        upstream = http.client.HTTPConnection(*self.proxy.upstream, timeout=60)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True,
                                skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                    upstream.putheader(key, value)
            upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body)
            response = upstream.getresponse()
            data = response.read()
            if lost:
                self._reset()
                return
            headers = [(k, v) for k, v in response.getheaders()
                       if k.lower() not in ("transfer-encoding", "connection", "content-length")]
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self._answer(response.status, headers, data, length)
        finally:
            upstream.close()

    def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes,
                length: str | None = None) -> None:
        self.send_response_only(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, answering nothing."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:  # the connection was reset on purpose
            pass


def _error(service: str, fault: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of an AWS error of this kind, in the service's format."""
    request_id = f"fault-{random.getrandbits(32):08x}"
    if service == "s3":
        code, status, message = {
            "throttle": ("SlowDown", 503, "Please reduce your request rate."),
            "500": ("InternalError", 500, "We encountered an internal error. Please try again."),
            "503": ("ServiceUnavailable", 503, "Please reduce your request rate."),
        }[fault]
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>")
        return status, [("Content-Type", "application/xml"),
                        ("x-amz-request-id", request_id)], body.encode()
    if service == "batch":
        code, status, message = {
            "throttle": ("TooManyRequestsException", 429, "Too Many Requests"),
            "500": ("ServerException", 500, "An internal server error occurred"),
            "503": ("ServerException", 503, "Service unavailable"),
        }[fault]
        content_type = "application/json"
    else:  # the JSON 1.1 protocol of CloudWatch Logs and friends
        code, status, message = {
            "throttle": ("ThrottlingException", 400, "Rate exceeded"),
            "500": ("ServiceUnavailableException", 500, "Internal failure"),
            "503": ("ServiceUnavailableException", 503, "Service unavailable"),
        }[fault]
        content_type = "application/x-amz-json-1.1"
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, [("Content-Type", content_type), ("x-amzn-ErrorType", code),
                    ("x-amzn-RequestId", request_id)], body
