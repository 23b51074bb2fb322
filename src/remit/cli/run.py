"""`remit run FILE TASK [--param value ...]`: evaluate a task with caching and provenance.

The task's parameters become command-line options (``output_path`` -> ``--output-path``),
typed by their annotations (``cli/params.py``); ``remit run FILE TASK --help`` lists them and
``remit run FILE help`` lists the tasks. ``--rerun`` takes the recorded arguments of an
execution (``cli/rerun.py``); ``--pdb`` opens the debugger on the failing task's frame.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import click

from remit.__about__ import __version__
from remit.display import format_result
from remit.errors import RemitError
from remit.progress import log_line


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                      "help_option_names": []},
)
@click.option("--no-cache", is_flag=True, help="Run every task again (results still recorded).")
@click.option("--dry-run", is_flag=True,
              help="List the calls that would run (and why) or come from the cache; run and "
                   "record nothing.")
@click.option("-v", "--verbose", is_flag=True,
              help="Print every job's Run/Cached line (by default, past 20 per task, a summary).")
@click.option("-c", "--config", "config_dir", metavar="DIR",
              help="Config directory (default: nearest .remit/, or $REMIT_CONFIG).")
@click.option("--pdb", "use_pdb", is_flag=True,
              help="On failure, open the Python debugger where the (local) task failed.")
@click.option("--rerun", "rerun_id", metavar="EXEC_ID",
              help="Run an execution again with its recorded workflow, task and arguments.")
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
    dry_run: bool,
    verbose: bool,
    config_dir: str | None,
    use_pdb: bool,
    rerun_id: str | None,
    context_items: tuple[str, ...],
    context_files: tuple[str, ...],
    tag_items: tuple[str, ...],
    show_help: bool,
    workflow: str | None,
    task_name: str | None,
    task_args: tuple[str, ...],
) -> None:
    """Run TASK from WORKFLOW (a .py file or module); task options follow TASK.

    remit's own options come before WORKFLOW (or end them with --).

    \b
    Examples:
      remit run workflow.py main --n 10      run a task
      remit run workflow.py help             list the tasks in workflow.py
      remit run workflow.py main --help      a task's parameters, types and defaults
      remit run --pdb workflow.py main       debug the failing task
      remit run --rerun 3f2a9c1b             run an execution again with its arguments
    """
    if workflow and workflow.startswith("-") and workflow != "-":
        raise click.UsageError(f"no such option: {workflow} (remit's own options come before "
                               "WORKFLOW; see remit run --help)")
    from remit.config import load_config

    try:
        config = load_config(config_dir)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
    # What followed "run" (after any top-level option such as --setup), as --rerun parses it.
    after = sys.argv.index("run", 1) + 1 if "run" in sys.argv[1:] else len(sys.argv)
    argv = ["remit", "run", *sys.argv[after:]]
    recorded = None
    if rerun_id:
        if workflow or task_name:
            raise click.UsageError("--rerun takes no WORKFLOW or TASK: they are recorded")
        from remit.cli.rerun import recorded_run

        recorded = recorded_run(config, rerun_id, run)
        workflow, task_name, task_args = recorded.workflow, recorded.task_name, recorded.task_args
        argv = recorded.argv
        context_items = context_items or recorded.options.get("context_items", ())
        context_files = context_files or recorded.options.get("context_files", ())
        tag_items = tag_items or recorded.options.get("tag_items", ())
        log_line(f"Rerun of Exec {recorded.execution_id[:8]}: {' '.join(argv[1:])}")
    if show_help or not workflow or not task_name:
        click.echo(ctx.get_help())
        ctx.exit(0 if show_help else 2)
    from remit.context import extra_context
    from remit.tags import parse_tag_option

    try:
        context = extra_context(context_files, context_items)
        tags = [parse_tag_option(item) for item in tag_items]
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
    task = _load_task(workflow, task_name)
    if task is None:  # `remit run FILE help`
        return
    kwargs = recorded.load_kwargs(config) if recorded is not None else None
    if kwargs is None:
        from remit.cli.params import parse_task_args

        if task_args[:1] == ("--",):  # `remit run FILE TASK -- --x 1`: remit's options ended
            task_args = task_args[1:]
        _misplaced_run_option(ctx, task, task_args)
        kwargs = parse_task_args(task, task_args, f"remit run {workflow} {task_name}")
    if dry_run:
        from remit.dryrun import dry_run as plan

        sys.exit(plan(config, task(**kwargs), argv, use_cache=not no_cache, context=context))
    code = _execute(config, task(**kwargs), argv, use_cache=not no_cache, use_pdb=use_pdb,
                    context=context, tags=tags, verbose=verbose)
    if any(not t.daemon and t.is_alive() for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.stdout.flush()  # a task thread abandoned after its timeout: do not wait for it
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _misplaced_run_option(ctx: click.Context, task: Any, task_args: tuple[str, ...]) -> None:
    """`remit run FILE TASK --no-cache`: say where remit's own options go."""
    from remit.cli.params import task_options

    own = {opt for param in ctx.command.params for opt in getattr(param, "opts", ())
           if opt not in ("-h", "--help")}
    theirs = {opt for param in task_options(task) for opt in param.opts}
    for arg in task_args:
        name = arg.split("=", 1)[0]
        if name in own and name not in theirs:
            raise click.UsageError(f"{name} is an option of remit run, not of the task: put it "
                                   f"before WORKFLOW (remit run {name} ... FILE TASK)")


def _load_task(workflow: str, task_name: str) -> Any:
    """Import the workflow and find the task; ``help`` lists the tasks and returns None."""
    from remit.loader import find_task, load_workflow

    try:
        module = load_workflow(workflow)
        if task_name == "help":
            from remit.cli.info import list_tasks

            list_tasks(module, workflow)
            return None
        return find_task(module, task_name)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None


def _scheduler(config: Any, backend: Any, use_cache: bool, listeners: list[Any]) -> Any:
    """remit's Scheduler, or the one ``[scheduler] setup_scheduler`` builds, given the store,
    the cache setting and the listeners."""
    from remit.cli.setup_scheduler import user_scheduler
    from remit.scheduler import Scheduler

    setup = (click.get_current_context().find_root().obj or {}).get("setup", {})
    scheduler = user_scheduler(config, setup)
    if scheduler is None:
        return Scheduler(config, backend, use_cache=use_cache, listeners=listeners)
    scheduler.backend, scheduler.use_cache = backend, use_cache
    for listener in listeners:
        scheduler.hooks.add(listener)
    return scheduler


def _execute(config: Any, expr: Any, argv: list[str], use_cache: bool, use_pdb: bool = False,
             context: dict[str, Any] | None = None, tags: list[Any] | None = None,
             verbose: bool = False) -> int:
    """Run the expression with the recorder and the run log; return the exit code."""
    from remit.db.backend import Backend
    from remit.db.recorder import ProvenanceRecorder
    from remit.progress import RunLog
    from remit.scheduler import ExecutionFailed

    log_line(f"remit :: version {__version__}")
    log_line(f"config dir: {config.config_dir}")
    try:
        backend = Backend.for_config_dir(config.config_dir, config.backend)
        interval = config.get_float("scheduler", "job_status_interval", 20.0)
        flush = config.get_float("scheduler", "flush_interval", 1.0)
        listeners = [ProvenanceRecorder(backend, flush),
                     RunLog(sys.stderr, interval, verbose=verbose)]
        scheduler = _scheduler(config, backend, use_cache, listeners)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
    _terminate_like_interrupt()
    try:
        result = scheduler.execute(expr, argv, check_tasks=True, context=context,
                                   tags=tags or ())
    except ExecutionFailed as failed:
        _print_failure(failed)
        if use_pdb:
            _post_mortem(failed.failure.error)
        return 1
    except KeyboardInterrupt as stop:
        backend.close()
        log_line("Interrupted: finished jobs are recorded; run again to resume from the cache.")
        sys.stdout.flush()
        sys.stderr.flush()
        # Do not wait for task threads still running: their results are dropped. Worker
        # processes, scripts and debug containers die with this process (remit.childguard).
        os._exit(128 + stop.signum if isinstance(stop, Terminated) else 130)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        backend.close()
    sys.stderr.flush()
    click.echo(format_result(result))
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop the run exactly as Ctrl-C does (exit 128 + the signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def _terminate_like_interrupt() -> None:
    """Make SIGTERM and SIGHUP interrupt the run the way SIGINT does."""

    def handler(signum: int, _frame: Any) -> None:
        raise Terminated(signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


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


def _post_mortem(error: BaseException) -> None:
    """Open pdb on the frame where the task raised (only a task run in this process has one)."""
    tb = error.__traceback__
    if tb is None:
        log_line("--pdb: the task failed in another process or machine, so there is no frame "
                 "to debug here; run it on a thread executor to debug it")
        return
    import pdb

    log_line("--pdb: post-mortem debugger on the failing task (q to quit)")
    pdb.post_mortem(tb)

