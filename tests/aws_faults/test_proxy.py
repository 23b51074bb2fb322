"""The fault-injection proxy itself: botocore sees its faults as AWS's own, and retries them."""

from __future__ import annotations

from collections.abc import Callable

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from remit.aws_retry import transient_cause
from tests.aws_faults.proxy import FaultPlan, FaultProxy
from tests.conftest import STANDIN_BUCKET, STANDIN_QUEUE

pytestmark = pytest.mark.aws

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
PATIENT = Config(retries={"mode": "standard", "total_max_attempts": 10})


@pytest.mark.parametrize("kind", ["throttle", "500", "503", "reset"])
def test_each_fault_is_transient_to_botocore_and_retried(
    fault_proxy: Callable[[FaultPlan], FaultProxy], kind: str
) -> None:
    proxy = fault_proxy(FaultPlan(rate=1.0, kinds=(kind,), max_faults=2))
    s3 = boto3.client("s3", endpoint_url=proxy.endpoint_url, config=NO_RETRY)
    batch = boto3.client("batch", endpoint_url=proxy.endpoint_url)
    with pytest.raises((ClientError, ConnectionClosedError)) as raised:
        s3.list_objects_v2(Bucket=STANDIN_BUCKET, MaxKeys=1)
    assert transient_cause(raised.value) is raised.value
    if kind == "throttle":
        assert raised.value.response["Error"]["Code"] == "SlowDown"  # type: ignore[union-attr]
    # botocore's standard retries take the next fault and then reach the stand-in.
    answer = batch.describe_job_queues(jobQueues=[STANDIN_QUEUE])
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert answer["jobQueues"][0]["jobQueueName"] == STANDIN_QUEUE
    assert proxy.injected == {("s3", kind): 1, ("batch", kind): 1}
    assert proxy.forwarded == {"DescribeJobQueues": 1}


def test_faults_are_bounded_and_outage_resets_everything(
    fault_proxy: Callable[[FaultPlan], FaultProxy]
) -> None:
    proxy = fault_proxy(FaultPlan(rate=0.5, max_faults=5, seed=7, kinds=("500",)))
    s3 = boto3.client("s3", endpoint_url=proxy.endpoint_url, config=PATIENT)
    for i in range(30):
        s3.put_object(Bucket=STANDIN_BUCKET, Key=f"proxy/{i}", Body=b"x" * i)
    assert proxy.failures() == 5 and proxy.forwarded["PutObject"] == 30
    listed = s3.list_objects_v2(Bucket=STANDIN_BUCKET, Prefix="proxy/")
    assert listed["KeyCount"] == 30
    proxy.outage = True
    with pytest.raises(ConnectionClosedError):
        boto3.client("s3", endpoint_url=proxy.endpoint_url, config=NO_RETRY).head_bucket(
            Bucket=STANDIN_BUCKET)
    proxy.outage = False
    assert s3.get_object(Bucket=STANDIN_BUCKET, Key="proxy/3")["Body"].read() == b"xxx"
