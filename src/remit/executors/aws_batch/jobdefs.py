"""AWS Batch job definitions: reuse an equivalent ACTIVE revision, or register one.

Resources (vCPUs, memory, GPUs) are not part of the definition: they are set per job at
submission, so one definition serves every task that shares an image and container settings.
"""

from __future__ import annotations

import re
from typing import Any

from remit.errors import AWSResourceError
from remit.executors.aws_batch.options import BatchOptions
from remit.executors.aws_batch.preflight import location


def default_job_def_name(image: str) -> str:
    """A definition name derived from the image: registry and tag dropped, sanitized."""
    name = image.rsplit("/", 1)[-1].split("@")[0].split(":")[0]
    return (re.sub(r"[^A-Za-z0-9_-]", "-", name) or "image")[:100] + "-remit-jd"


def desired_container(opts: BatchOptions) -> dict[str, Any]:
    """The containerProperties remit needs for these options."""
    container: dict[str, Any] = {
        "image": opts.image,
        "command": ["remit", "--version"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                 {"type": "MEMORY", "value": "1024"}],
        "privileged": opts.privileged,
    }
    if opts.role:
        container["jobRoleArn"] = opts.role
    if opts.shared_memory:
        container["linuxParameters"] = {"sharedMemorySize": int(opts.shared_memory * 1024)}
    container.update(opts.job_def_extra.get("containerProperties", {}))
    return container


def _equivalent(desired: dict[str, Any], existing: dict[str, Any]) -> bool:
    """Whether an existing definition's container has every setting remit asks for."""
    for key, value in desired.items():
        if key in ("resourceRequirements", "command"):
            continue
        if key == "privileged" and not value and not existing.get(key):
            continue
        if existing.get(key) != value:
            return False
    return True


def get_or_create_job_def(batch: Any, opts: BatchOptions) -> str:
    """ARN of an ACTIVE job definition fitting ``opts`` (registering one if allowed)."""
    name = opts.job_def_name or default_job_def_name(opts.image)
    revisions: list[dict[str, Any]] = []
    paginator = batch.get_paginator("describe_job_definitions")
    for page in paginator.paginate(jobDefinitionName=name, status="ACTIVE"):
        revisions.extend(page["jobDefinitions"])
    revisions.sort(key=lambda d: d["revision"], reverse=True)
    desired = desired_container(opts)
    if not opts.autocreate_job_def:
        if not revisions:
            raise AWSResourceError(
                f"no ACTIVE AWS Batch job definition named {name!r} ({location(batch)}): "
                "register it there, or set autocreate_job_def = true"
            )
        return revisions[0]["jobDefinitionArn"]
    for revision in revisions:
        if _equivalent(desired, revision.get("containerProperties", {})):
            return revision["jobDefinitionArn"]
    extra = {k: v for k, v in opts.job_def_extra.items() if k != "containerProperties"}
    response = batch.register_job_definition(
        jobDefinitionName=name, type="container", containerProperties=desired, **extra
    )
    return response["jobDefinitionArn"]
