"""Local stand-ins for cloud services, for development and tests (``remit emulate``).

``AWSStandIn`` serves S3, Batch, IAM, CloudWatch Logs and STS on 127.0.0.1 through moto and
really runs each Batch job's command as a local subprocess.
"""

from remit.emulate.aws import AWSStandIn

__all__ = ["AWSStandIn"]
