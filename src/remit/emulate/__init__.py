"""Local stand-ins for cloud services, for development and tests (``remit emulate``).

``AWSStandIn`` serves S3, Batch, IAM, CloudWatch Logs and STS on 127.0.0.1 through moto and
really runs each Batch job: as a local process (``remit`` commands forked warm by a zygote) or
in a container of its image. It is imported on first use, so that the zygote
(``remit.emulate.zygote``), which lives in this package, does not import moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remit.emulate.aws import AWSStandIn

__all__ = ["AWSStandIn"]


def __getattr__(name: str) -> Any:
    if name == "AWSStandIn":
        from remit.emulate.aws import AWSStandIn

        return AWSStandIn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
