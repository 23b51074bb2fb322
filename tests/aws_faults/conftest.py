"""Fixtures of the AWS fault tests: a fault-injecting proxy in front of the session's stand-in."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from remit.emulate import AWSStandIn
from tests.aws_faults.proxy import FaultPlan, FaultProxy


@pytest.fixture
def fault_proxy(aws_standin: AWSStandIn) -> Iterator[Callable[[FaultPlan], FaultProxy]]:
    """Start proxies in front of the stand-in (stopped after the test): ``fault_proxy(plan)``."""
    started: list[FaultProxy] = []

    def start(plan: FaultPlan) -> FaultProxy:
        proxy = FaultProxy(aws_standin.endpoint_url, plan).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


def through(proxy: FaultProxy, **extra: str) -> dict[str, str]:
    """The environment of a `remit` process whose AWS calls go through ``proxy``."""
    return {**os.environ, "AWS_ENDPOINT_URL": proxy.endpoint_url, **extra}
