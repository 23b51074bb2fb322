"""Builds throwaway remit projects (workflow, library package, config) for Batch tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

BATCH_SECTION = """
[executors.batch]
type = aws_batch
image = {image}
queue = remit-queue
s3_scratch = s3://remit-test/{scratch}/
job_name_prefix = {prefix}
batch_tags = {{"project": "acme", "user": "tester"}}
job_monitor_interval = 1
{extra}
"""

# n trivial batch tasks summed on the scheduler: `remit run workflow.py main --n N`.
FANOUT = '''
from remit import task

@task(executor="batch")
def double(i: int) -> int:
    return 2 * i

@task()
def total(values: list) -> int:
    return sum(values)

@task()
def main(n: int = 10) -> int:
    return total([double(i) for i in range(n)])
'''


def make_project(root: Path, workflow: str, scratch: str = "remit", prefix: str = "remit-test",
                 extra: str = "", lib: str | None = None,
                 image: str = "remit-test:latest") -> Path:
    """Write workflow.py, .remit/remit.ini and optionally task_lib/utils.py under root."""
    (root / ".remit").mkdir(parents=True, exist_ok=True)
    (root / ".remit" / "remit.ini").write_text(
        BATCH_SECTION.format(scratch=scratch, prefix=prefix, extra=textwrap.dedent(extra),
                             image=image)
    )
    (root / "workflow.py").write_text(textwrap.dedent(workflow))
    if lib is not None:
        (root / "task_lib").mkdir(exist_ok=True)
        (root / "task_lib" / "__init__.py").write_text("")
        (root / "task_lib" / "utils.py").write_text(textwrap.dedent(lib))
    return root
