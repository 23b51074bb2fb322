"""A library task that runs on AWS Batch, imported by the example workflow."""

import subprocess

from remit import task

remit_namespace = "examples.aws_batch.task_lib.utils"


@task(executor="batch")
def lib_task_on_batch(x: int) -> list:
    """Report where it ran; it lives in a subpackage, so the code package must carry it."""
    return ["lib_task_on_batch", subprocess.check_output(["uname", "-a"]), x]
