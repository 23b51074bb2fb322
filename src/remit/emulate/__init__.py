"""Local stand-ins for cloud services, for development and tests (``remit emulate``).

``AWSStandIn`` serves S3, Batch, IAM, CloudWatch Logs and STS on 127.0.0.1 through moto and
really runs each Batch job: as a local process (``remit`` commands forked warm by a zygote) or
in a container of its image. It is imported on first use, so that neither the zygote
(``remit.emulate.zygote``, in this package) nor ``remit --help`` imports moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remit.emulate.aws import AWSStandIn

__all__ = ["AWSStandIn", "DEFAULT_MAX_JOBS"]

DEFAULT_MAX_JOBS = 3
"""Batch jobs running at once unless told otherwise (others wait in RUNNABLE).

Three, measured on 2 cores: warm jobs spend part of their time waiting on HTTP round trips
to the stand-in's (single, GIL-bound) process, which a third job fills; 1,000 trivial array
children took 50 s on average with 3 (57 s with 2, no gain with 4)."""


def __getattr__(name: str) -> Any:
    if name == "AWSStandIn":
        from remit.emulate.aws import AWSStandIn

        return AWSStandIn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
