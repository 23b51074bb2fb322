"""`remit run FILE TASK [--param value ...]`: evaluate a task with caching and provenance.

The task's parameters become command-line options (``output_path`` -> ``--output-path``),
typed by their annotations, with their defaults; ``remit run FILE TASK --help`` lists them.
"""

from __future__ import annotations

import inspect
import os
import pprint
import sys
import typing
from typing import Any

import click

from remit.__about__ import __version__
from remit.errors import RemitError
from remit.progress import log_line


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                      "help_option_names": []},
)
@click.option("--no-cache", is_flag=True, help="Run every task again (results still recorded).")
@click.option("-c", "--config", "config_dir", metavar="DIR",
              help="Config directory (default: nearest .remit/, or $REMIT_CONFIG).")
@click.option("--context", "context_items", multiple=True, metavar="KEY.PATH=VALUE",
              help="Set a context variable (value: JSON or text); repeatable.")
@click.option("--context-file", "context_files", multiple=True, metavar="FILE",
              help="Merge a JSON context file; repeatable.")
@click.option("-t", "--tag", "tag_items", multiple=True, metavar="KEY=VALUE",
              help="Tag the execution; repeatable.")
@click.option("-h", "--help", "show_help", is_flag=True, help="Show this message and exit.")
@click.argument("workflow", required=False)
@click.argument("task_name", required=False)
@click.argument("task_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(
    ctx: click.Context,
    no_cache: bool,
    config_dir: str | None,
    context_items: tuple[str, ...],
    context_files: tuple[str, ...],
    tag_items: tuple[str, ...],
    show_help: bool,
    workflow: str | None,
    task_name: str | None,
    task_args: tuple[str, ...],
) -> None:
    """Run TASK from WORKFLOW (a .py file or module); task options follow TASK."""
    if show_help or not workflow or not task_name:
        click.echo(ctx.get_help())
        ctx.exit(0 if show_help else 2)
    from remit.config import load_config
    from remit.context import extra_context
    from remit.loader import find_task, load_workflow
    from remit.tags import parse_tag_option

    try:
        config = load_config(config_dir)
        context = extra_context(context_files, context_items)
        tags = [parse_tag_option(item) for item in tag_items]
        module = load_workflow(workflow)
        task = find_task(module, task_name)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
    kwargs = _parse_task_args(task, task_args, f"remit run {workflow} {task_name}")
    argv = ["remit", "run", *sys.argv[2:]] if sys.argv[1:2] == ["run"] else ["remit", "run"]
    sys.exit(_execute(config, task(**kwargs), argv, use_cache=not no_cache,
                      context=context, tags=tags))


def _execute(config: Any, expr: Any, argv: list[str], use_cache: bool,
             context: dict[str, Any] | None = None, tags: list[Any] | None = None) -> int:
    """Run the expression with the recorder and the run log; return the exit code."""
    from remit.db.backend import Backend
    from remit.db.recorder import ProvenanceRecorder
    from remit.progress import RunLog
    from remit.scheduler import ExecutionFailed, Scheduler

    log_line(f"remit :: version {__version__}")
    log_line(f"config dir: {config.config_dir}")
    try:
        backend = Backend.for_config_dir(config.config_dir, config.backend)
        interval = config.get_float("scheduler", "job_status_interval", 20.0)
        flush = config.get_float("scheduler", "flush_interval", 1.0)
        listeners = [ProvenanceRecorder(backend, flush), RunLog(sys.stderr, interval)]
        scheduler = Scheduler(config, backend, use_cache=use_cache, listeners=listeners)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        result = scheduler.execute(expr, argv, check_tasks=True, context=context,
                                   tags=tags or ())
    except ExecutionFailed as failed:
        _print_failure(failed)
        return 1
    except KeyboardInterrupt:
        backend.close()
        log_line("Interrupted: finished jobs are recorded; run again to resume from the cache.")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)  # do not wait for task threads still running: their results are dropped
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        backend.close()
    sys.stderr.flush()
    click.echo(pprint.pformat(result))
    return 0


def _print_failure(failed: Any) -> None:
    failure, execution = failed.failure, failed.execution
    job = failure.job
    log_line("*** Execution failed. Traceback (most recent task last):")
    chain = []
    while job is not None:
        chain.append(job)
        job = job.parent
    path = " > ".join(f"Job {j.short_id} {j.task.name}" for j in reversed(chain))
    log_line(f"  Exec {execution.id[:8]} > {path}" if path else f"  Exec {execution.id[:8]}")
    if chain:
        failing = chain[0]
        log_line(f"  Job {failing.short_id}: {failing.describe_call()} on {failing.executor}")
    text = failure.traceback_text or f"{type(failure.error).__name__}: {failure.error}\n"
    for line in text.rstrip().splitlines():
        sys.stderr.write("    " + line + "\n")
    sys.stderr.flush()


# -- task parameters as options -------------------------------------------------------------

_SCALARS: dict[Any, click.ParamType] = {
    int: click.INT, float: click.FLOAT, str: click.STRING, bool: click.BOOL,
}


def _param_type(annotation: Any) -> tuple[click.ParamType, bool]:
    """The click type for an annotation and whether the option repeats (list[X])."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        inner = (typing.get_args(annotation) or (str,))[0]
        return _param_type(inner)[0], True
    if origin is typing.Union or origin is getattr(__import__("types"), "UnionType", None):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _param_type(options[0]) if len(options) == 1 else (click.STRING, False)
    if annotation in _SCALARS:
        return _SCALARS[annotation], False
    if isinstance(annotation, type) and annotation not in (object, typing.Any):
        return _ConvertedType(annotation), False
    return click.STRING, False


class _ConvertedType(click.ParamType):
    """Builds a value of the annotated class from the option's text, e.g. File(path), or
    with the class's ``parse_arg`` (remit.value)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = cls.__name__

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from remit.value import parse_arg

        if isinstance(value, self.cls):
            return value
        try:
            return parse_arg(self.cls, value)
        except Exception as exc:
            self.fail(f"{value!r} is not a valid {self.name}: {exc}", param, ctx)


def _parse_task_args(task: Any, args: tuple[str, ...], prog: str) -> dict[str, Any]:
    """Parse TASK's options from the command line into keyword arguments."""
    signature = inspect.signature(task.func)
    try:
        hints = typing.get_type_hints(task.func)
    except Exception:
        hints = {}
    params: list[click.Parameter] = []
    for name, parameter in signature.parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(name, parameter.annotation)
        if annotation is inspect.Parameter.empty and parameter.default is not parameter.empty \
                and parameter.default is not None:
            annotation = type(parameter.default)
        ptype, multiple = _param_type(annotation)
        option = "--" + name.replace("_", "-")
        required = parameter.default is parameter.empty
        default = None if required else parameter.default
        if ptype is click.BOOL and not multiple:
            params.append(click.Option([f"{option}/--no-{option[2:]}", name], default=default,
                                       required=required, show_default=True))
            continue
        params.append(click.Option([option, name], type=ptype, multiple=multiple,
                                   default=default, required=required, show_default=True))
    parsed: dict[str, Any] = {}
    command = click.Command(
        task.fullname, params=params, callback=lambda **kw: parsed.update(kw),
        help=inspect.getdoc(task.func) or f"Run task {task.fullname}.",
    )
    code = command.main(list(args), prog_name=prog, standalone_mode=False)
    if code is not None:  # --help was shown: the callback did not run
        sys.exit(code)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in parsed.items()
            if not (v is None and signature.parameters[k].default is inspect.Parameter.empty)}

