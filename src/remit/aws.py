"""The one place that builds AWS clients: region, profile, endpoint, retries, caching.

Owns: choosing the region (argument, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's
region, else ``us-east-1``), the profile (argument or ``AWS_PROFILE``), the endpoint (argument,
``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_ENDPOINT_URL``: how tests and ``remit emulate`` point remit
at a local stand-in), the retry policy, and one cached client per (service, region, profile,
endpoint, process). Does not own any service's logic: callers use the returned client.

Clients are botocore's (what boto3 returns too), made from one botocore Session per process
and profile, so credentials (environment, profile, ECS/Batch container role, ...) are resolved
once per process. botocore is imported only when a client is first asked for, so ``import
remit`` stays light and works without the ``aws`` extra; boto3 itself only by the S3 managed
transfers that need it (``remit.files.s3``), so a job process moving small pickles skips it.

Retries: botocore's "standard" mode, ``MAX_ATTEMPTS`` attempts per call with exponential
backoff and jitter, for throttling, 5xx and connection errors; ``AWS_RETRY_MODE`` and
``AWS_MAX_ATTEMPTS`` override both. That absorbs blips inside one call; riding out a long
outage is the caller's loop (``remit.aws_retry``), which logs and gives up.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any

from remit.errors import ConfigError, RemitError

DEFAULT_REGION = "us-east-1"
MAX_ATTEMPTS = 5
RETRY_MODE = "standard"
MAX_POOL_CONNECTIONS = 50

_lock = threading.Lock()
_sessions: dict[tuple[str | None, int], Any] = {}
_clients: dict[tuple[str, str, str | None, str | None, int, int | None], Any] = {}


def client(
    service: str,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    max_attempts: int | None = None,
) -> Any:
    """Return a cached botocore client for ``service`` (thread-safe; one per process).

    Arguments left as None are read from the environment at each call, so changing
    ``AWS_ENDPOINT_URL`` or ``AWS_REGION`` takes effect without a reset. ``max_attempts``
    overrides the retry policy's attempts per call (1: the caller retries, e.g. a call that
    is not idempotent).
    """
    profile = profile or os.environ.get("AWS_PROFILE") or None
    endpoint_url = endpoint_url or _endpoint_from_env(service)
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    pid = os.getpid()
    if region is not None:
        cached = _clients.get((service, region, profile, endpoint_url, pid, max_attempts))
        if cached is not None:
            return cached
    with _lock:
        session = _session(profile, pid)
        region = region or session.get_config_variable("region") or DEFAULT_REGION
        key = (service, region, profile, endpoint_url, pid, max_attempts)
        if key not in _clients:
            _clients[key] = session.create_client(
                service, region_name=region, endpoint_url=endpoint_url,
                config=_config(max_attempts),
            )
        return _clients[key]


def reset_clients() -> None:
    """Forget every cached session and client (after changing credentials, in tests)."""
    with _lock:
        _clients.clear()
        _sessions.clear()


def _after_fork_in_child() -> None:
    """A forked child must not inherit a lock another thread held, nor the parent's clients."""
    global _lock
    _lock = threading.Lock()
    _clients.clear()
    _sessions.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _endpoint_from_env(service: str) -> str | None:
    specific = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
    return os.environ.get(specific) or os.environ.get("AWS_ENDPOINT_URL") or None


def _session(profile: str | None, pid: int) -> Any:
    """Return this process's botocore Session for ``profile`` (call with ``_lock`` held)."""
    session = _sessions.get((profile, pid))
    if session is None:
        botocore_session = _import_botocore()
        from botocore.exceptions import ProfileNotFound

        try:
            session = botocore_session.Session(profile=profile)
            session.get_scoped_config()  # an unknown profile fails here, not at first use
        except ProfileNotFound as exc:
            raise ConfigError(f"AWS profile {profile!r} is not configured ({exc})") from exc
        _sessions[(profile, pid)] = session
    return session


def _config(max_attempts: int | None) -> Any:
    from botocore.config import Config

    mode = os.environ.get("AWS_RETRY_MODE") or RETRY_MODE
    try:
        attempts = max_attempts or int(os.environ.get("AWS_MAX_ATTEMPTS") or MAX_ATTEMPTS)
    except ValueError:
        raise ConfigError(f"AWS_MAX_ATTEMPTS must be a whole number, got "
                          f"{os.environ['AWS_MAX_ATTEMPTS']!r}") from None
    return Config(
        retries={"mode": mode, "total_max_attempts": attempts},
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )


def _import_botocore() -> Any:
    """botocore's session module, once boto3 (whose transfers remit uses) is known installed."""
    try:
        import botocore.session

        found = importlib.util.find_spec("boto3") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise RemitError("remit needs boto3 to talk to AWS: pip install 'remit[aws]'")
    return botocore.session
