"""`remit info FILE TASK`: a task's full name, hash, options, parameters and source; and the
task list that `remit run FILE help` prints. Imports the workflow; runs and records nothing.
"""

from __future__ import annotations

import inspect
import textwrap
from types import ModuleType
from typing import Any

import click

from remit.cli.store import remit_errors


@click.command()
@click.argument("workflow")
@click.argument("task_name")
def info(workflow: str, task_name: str) -> None:
    """Show TASK of WORKFLOW: full name, hash, executor and options, parameters, source.

    \b
    Example:
      remit info workflow.py main
    """
    from remit.loader import find_task, load_workflow

    with remit_errors():
        task = find_task(load_workflow(workflow), task_name)
    click.echo(f"Task {task.fullname}")
    version = f"  (version {task.version})" if task.version else ""
    click.echo(f"  Hash:      {task.hash}{version}")
    click.echo(f"  Namespace: {task.namespace or '(none)'}")
    click.echo(f"  Executor:  {task.executor}")
    options = {k: v for k, v in task.options.items() if k != "executor"}
    click.echo("  Options:   " + (", ".join(f"{k}={v!r}" for k, v in sorted(options.items()))
                                 or "(none)"))
    if task.version is not None:
        click.echo(f"  Hash covers: its name and version {task.version!r} only")
    else:  # codedeps.py labels: function/class/constant MODULE:NAME, library DIST (version)
        deps = [label for label in task.code_deps if not label.startswith("task ")]
        click.echo("  Hash covers: its source" + (", and:" if deps else " only"))
        for label in deps:
            version = task.code_deps[label] if label.startswith("library ") else ""
            click.echo(f"    {label} {version}".rstrip())
    click.echo("  Parameters:")
    for line in parameter_lines(task) or ["(none)"]:
        click.echo("    " + line)
    doc = inspect.getdoc(task.func)
    if doc:
        click.echo("\n" + textwrap.indent(doc, "  "))
    click.echo("\n  Source:\n")
    click.echo(textwrap.indent(task.source.rstrip() or "(not available)", "    "))


def parameter_lines(task: Any) -> list[str]:
    """``name: type = default`` for each parameter of a task, as its options take them."""
    from remit.cli.params import describe_annotation

    try:
        import typing

        hints = typing.get_type_hints(task.func)
    except Exception:
        hints = {}
    lines = []
    for name, parameter in inspect.signature(task.func).parameters.items():
        annotation = describe_annotation(hints.get(name, parameter.annotation))
        text = f"--{name.replace('_', '-')}" + (f": {annotation}" if annotation else "")
        if parameter.default is parameter.empty:
            text += "  (required)"
        else:
            text += f" = {parameter.default!r}"
        lines.append(text)
    return lines


def list_tasks(module: ModuleType, workflow: str) -> None:
    """Print the tasks a workflow module defines, with the first line of each docstring."""
    from remit.task import Task

    tasks = sorted({id(t): t for t in vars(module).values() if isinstance(t, Task)}.values(),
                   key=lambda t: t.fullname)
    if not tasks:
        raise click.ClickException(f"{workflow} defines no tasks; decorate functions with @task")
    click.echo(f"Tasks in {workflow}:\n")
    width = max(len(t.name) for t in tasks)
    for task in tasks:
        summary = (inspect.getdoc(task.func) or "").split("\n", 1)[0]
        click.echo(f"  {task.name.ljust(width)}  {summary}".rstrip())
    click.echo(f"\nremit run {workflow} TASK --help shows a task's parameters.")
