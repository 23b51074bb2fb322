"""Riding out AWS outages: which errors are transient, backoff between attempts, giving up.

Owns: classifying an exception as transient (throttling, a 5xx answer, a connection error;
also when remit wrapped it, e.g. a FileError raised from a botocore error), and ``Outage``,
the clock that all threads of one client (an executor) share: exponential backoff with
jitter between attempts, one log line per backoff step (not per attempt, and one for all
threads), and ``AWSUnavailableError`` once calls have failed for ``api_timeout`` seconds
without a single success in between.

botocore's own retries (configured in ``remit.aws``) absorb short blips inside one call;
this is the loop around them for long outages. Does not own what happens to jobs when it
gives up (the executor decides) nor any service's calls.
"""

from __future__ import annotations

import random
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from remit.errors import AWSUnavailableError
from remit.progress import log_line

T = TypeVar("T")

FIRST_DELAY = 1.0
"""Seconds before the second attempt; each further step doubles it (with jitter)."""
MAX_DELAY = 60.0
"""The longest wait between two attempts."""

THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", "LimitExceededException",
})
TRANSIENT_CODES = frozenset({
    "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
    "ServiceUnavailable", "ServerException",
})
_ENDPOINT_URL = re.compile(r'endpoint URL: "[^"]*"')
"""botocore names the URL in connection errors; the outage message names the endpoint once."""


def transient_cause(error: BaseException) -> BaseException | None:
    """The throttling, 5xx or connection error behind ``error`` (itself or a cause), or None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_transient(current):
            return current
        current = current.__cause__ or current.__context__
    return None


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, ConnectionError):  # the builtin: reset, refused, aborted
        return True
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None:  # botocore never loaded: no AWS call could have failed
        return False
    if isinstance(error, (exceptions.ConnectionError, exceptions.HTTPClientError)):
        return True
    if isinstance(error, exceptions.ClientError):
        response = error.response or {}
        code = response.get("Error", {}).get("Code", "")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or status == 429 or code in THROTTLING_CODES | TRANSIENT_CODES
    return False


def describe_failure(error: BaseException) -> str:
    """A one-line reason: the AWS error code and message, or the connection error."""
    cause = transient_cause(error) or error
    response = getattr(cause, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        details = response["Error"]
        operation = getattr(cause, "operation_name", "")
        text = f"{details.get('Code', '?')} (HTTP {status})"
        if details.get("Message"):
            text += f": {details['Message']}"
        return f"{operation} {text}" if operation else text
    text = _ENDPOINT_URL.sub("endpoint", str(cause).splitlines()[0] if str(cause) else "")
    return f"{type(cause).__name__}: {text.rstrip('.')}"


class Outage:
    """Whether one client's AWS calls are failing, since when, and when to give up."""

    def __init__(self, api_timeout: float, label: str, where: Callable[[], str],
                 hint: str = "") -> None:
        """``label`` starts each log line; ``where()`` names the endpoint and region;
        ``hint`` ends the final error (what the user can do)."""
        self.api_timeout = api_timeout
        self.label = label
        self.where = where
        self.hint = hint
        self.error: AWSUnavailableError | None = None
        """Set once the outage lasted longer than ``api_timeout``: every later call fails."""
        self._lock = threading.Lock()
        self._since: float | None = None
        self._logged_step = 0
        self._random = random.Random()

    def call(self, func: Callable[[], T], what: str,
             stop: threading.Event | None = None, retry_all: bool = False) -> T:
        """Run ``func()``; while it fails transiently, back off and run it again.

        Other errors propagate at once (with ``retry_all`` they are retried too: a poll
        loop must not give up on its first AWS error). Raises AWSUnavailableError once the
        outage is older than ``api_timeout``, and the last error if ``stop`` is set while
        waiting.
        """
        attempt = 0
        while True:
            if self.error is not None:
                raise self.error
            started = time.monotonic()
            try:
                result = func()
            except Exception as exc:
                if not retry_all and transient_cause(exc) is None:
                    raise
                attempt += 1
                delay = self.failed(exc, what, started, attempt)
                if stop is not None and stop.wait(delay):
                    raise
                if stop is None:
                    time.sleep(delay)
                continue
            self.succeeded()
            return result

    def succeeded(self) -> None:
        """A call got an answer: the outage, if any, is over."""
        if self._since is None:  # the usual case, without taking the lock
            return
        with self._lock:
            if self._since is not None and self.error is None:
                log_line(f"{self.label}: AWS answers again after "
                         f"{time.monotonic() - self._since:.0f} s of failed calls")
            self._since = None
            self._logged_step = 0

    def failed(self, error: BaseException, what: str, started: float, attempt: int) -> float:
        """Record a transient failure of a call begun at ``started`` (monotonic), the
        caller's ``attempt``-th in a row; return the seconds to wait before the next one.

        Raises AWSUnavailableError (and keeps it in ``error``) once calls have failed for
        ``api_timeout`` seconds.
        """
        with self._lock:
            if self.error is not None:
                raise self.error
            now = time.monotonic()
            if self._since is None:
                self._since = started
            elapsed = now - self._since
            reason = describe_failure(error)
            if elapsed >= self.api_timeout:
                self.error = AWSUnavailableError(
                    f"AWS calls failed for {elapsed:.0f} s, longer than api_timeout = "
                    f"{self.api_timeout:g} s ({self.where()}); last: {what}: {reason}"
                    + (f". {self.hint}" if self.hint else "")
                )
                raise self.error
            step = min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt - 1))
            delay = min(step * (0.5 + self._random.random() / 2),
                        self._since + self.api_timeout - now)
            if attempt > self._logged_step:
                self._logged_step = attempt
                log_line(f"{self.label}: AWS calls failing for {elapsed:.0f} s ({what}: "
                         f"{reason}); backoff step {attempt}: next try in {delay:.1f} s, "
                         f"giving up after api_timeout = {self.api_timeout:g} s")
            return max(0.0, delay)
