"""Context: configure a tool deep inside a workflow without threading parameters through it.

    remit run --context-file context.json context_workflow.py main
    remit run --context-file context.json --context my_tool.param=10 context_workflow.py main

Written as a redun user writes it (``redun`` renamed to ``remit``). The second command re-runs
only ``my_tool``: ``main`` and ``process_values`` do not read the context and come from the
cache.
"""

from remit import get_context, task

remit_namespace = "redun_style.context"


@task(
    executor=get_context("my_tool.executor", "default"),
    memory=get_context("my_tool.memory", 1),
)
def my_tool(
    value: int,
    flag: bool = get_context("my_tool.flag", False),
    param: int = get_context("my_tool.param"),
) -> str:
    return f"my_tool({value}) with flag={flag} param={param}"


@task
def process_values(values: list) -> list:
    return [my_tool(value) for value in values]


@task
def main(size: int = 4) -> dict:
    values = list(range(size))
    return {"values": process_values(values)}
