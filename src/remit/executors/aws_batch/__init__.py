"""The AWS Batch executor (``type = aws_batch``): options, job definitions, submission and
monitoring. boto3 is imported only when a job is submitted.
"""

from remit.executors.aws_batch.executor import AWSBatchExecutor

__all__ = ["AWSBatchExecutor"]
