"""`remit aws list-jobs|kill-jobs|logs`: an execution's AWS Batch jobs, from the command line.

remit tags every Batch job with ``remit_execution_id`` (and ``remit_job_id``,
``remit_task_name``); these commands find an execution's jobs by that tag on the queues of
the configured ``aws_batch`` executors (or ``--queue``), plus the Batch job ids recorded in
the store for it. ``kill-jobs`` terminates every one still in flight; ``logs`` prints a job's
CloudWatch log stream. The store is only read (it may be absent: an id prefix then matches
the tag directly). Every AWS call goes through ``remit.aws``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from remit.batch_logs import LOG_GROUP
from remit.cli.store import config_option, load, one_line

F = TypeVar("F", bound=Callable[..., Any])

IN_FLIGHT = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
FINISHED = ("SUCCEEDED", "FAILED")


def _queue_option(func: F) -> F:
    return click.option(
        "-q", "--queue", "queues", multiple=True, metavar="QUEUE",
        help="Job queue to search (default: every aws_batch executor's queue).")(func)


@click.group()
def aws() -> None:
    """Inspect, stop and read the logs of an execution's AWS Batch jobs.

    \b
    Examples:
      remit aws list-jobs 3f2a9c1b
      remit aws kill-jobs 3f2a9c1b
      remit aws logs 9e8d7c6b
    """


def _client(service: str) -> Any:
    from remit import aws as remit_aws
    from remit.errors import RemitError

    try:
        return remit_aws.client(service)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None


def _queues(config_dir: str | None, given: tuple[str, ...]) -> list[str]:
    if given:
        return list(given)
    config = load(config_dir)
    queues = sorted({opts["queue"] for opts in config.executors.values()
                     if opts.get("type") == "aws_batch" and opts.get("queue")})
    if not queues:
        raise click.UsageError("no job queue to search: pass --queue NAME or configure an "
                               "[executors.NAME] section with type = aws_batch and a queue")
    return queues


def _recorded(config_dir: str | None, prefix: str) -> tuple[str, list[str]]:
    """The full execution id and the Batch job ids the store recorded for it, when it can."""
    from sqlalchemy import select

    from remit.cli.store import open_store
    from remit.db import models as m

    try:
        backend = open_store(config_dir)
    except click.ClickException:  # no store here: match the tag by prefix
        if prefix == "-":
            raise
        return prefix, []
    try:
        with backend.engine.connect() as conn:
            query = select(m.execution.c.id)
            if prefix == "-":
                query = query.order_by(m.execution.c.start_time.desc())
            else:
                query = query.where(m.execution.c.id.startswith(prefix, autoescape=True))
            found = list(conn.execute(query.limit(2)).scalars())
            if prefix == "-":
                found = found[:1]
            if len(found) != 1:
                if found:
                    raise click.ClickException(f"execution id {prefix!r} is ambiguous")
                if prefix == "-":
                    raise click.ClickException("no executions recorded yet; `remit log` lists "
                                               "them")
                return prefix, []
            batch_ids = list(conn.execute(
                select(m.tag.c.value).join(m.job, m.job.c.id == m.tag.c.entity_id)
                .where(m.job.c.execution_id == found[0], m.tag.c.key == "aws_batch_job")
            ).scalars())
    finally:
        backend.close()
    return found[0], batch_ids


def _describe(batch: Any, job_ids: list[str]) -> Iterator[dict[str, Any]]:
    for start in range(0, len(job_ids), 100):
        yield from batch.describe_jobs(jobs=job_ids[start:start + 100])["jobs"]


def execution_jobs(config_dir: str | None, prefix: str, queues: tuple[str, ...],
                   statuses: tuple[str, ...]) -> tuple[str, list[dict[str, Any]]]:
    """The full execution id and descriptions of its Batch jobs in these statuses."""
    execution_id, recorded = _recorded(config_dir, prefix)
    batch = _client("batch")
    candidates: set[str] = set(recorded)
    try:
        for queue in _queues(config_dir, queues):
            paginator = batch.get_paginator("list_jobs")
            for status in statuses:
                for page in paginator.paginate(jobQueue=queue, jobStatus=status):
                    candidates.update(s["jobId"] for s in page["jobSummaryList"])
        jobs = [job for job in _describe(batch, sorted(candidates))
                if job.get("tags", {}).get("remit_execution_id", "").startswith(execution_id)
                and job["status"] in statuses]
    except Exception as exc:
        if isinstance(exc, click.ClickException):
            raise
        raise click.ClickException(f"AWS Batch: {one_line(str(exc))}") from None
    jobs.sort(key=lambda j: (j.get("createdAt", 0), j["jobId"]))
    return execution_id, jobs


@aws.command(name="list-jobs")
@click.argument("execution")
@click.option("--in-flight", is_flag=True, help="Only jobs not finished yet.")
@_queue_option
@config_option
def list_jobs(execution: str, in_flight: bool, queues: tuple[str, ...],
              config_dir: str | None) -> None:
    """List the AWS Batch jobs of EXECUTION (an id prefix, or - for the last one).

    \b
    Example:
      remit aws list-jobs 3f2a9c1b --queue my-queue
    """
    statuses = IN_FLIGHT if in_flight else IN_FLIGHT + FINISHED
    execution_id, jobs = execution_jobs(config_dir, execution, queues, statuses)
    if not jobs:
        click.echo(f"No AWS Batch jobs found for execution {execution_id[:8]}.")
        return
    click.echo(f"{'BATCH JOB ID':<38} {'STATUS':<10} {'REMIT JOB':<9} TASK")
    for job in jobs:
        tags = job.get("tags", {})
        click.echo(f"{job['jobId']:<38} {job['status']:<10} "
                   f"{tags.get('remit_job_id', tags.get('remit_array_id', ''))[:8]:<9} "
                   f"{tags.get('remit_task_name', job.get('jobName', ''))}")


@aws.command(name="kill-jobs")
@click.argument("execution")
@click.option("--reason", default="stopped by remit aws kill-jobs", show_default=True)
@_queue_option
@config_option
def kill_jobs(execution: str, reason: str, queues: tuple[str, ...],
              config_dir: str | None) -> None:
    """Cancel or terminate every AWS Batch job of EXECUTION still in flight.

    \b
    Example:
      remit aws kill-jobs 3f2a9c1b
    """
    execution_id, jobs = execution_jobs(config_dir, execution, queues, IN_FLIGHT)
    batch = _client("batch")
    for job in jobs:
        try:
            batch.terminate_job(jobId=job["jobId"], reason=reason)
        except Exception as exc:
            raise click.ClickException(f"cannot terminate AWS Batch job {job['jobId']}: "
                                       f"{one_line(str(exc))}") from None
        click.echo(f"Terminated {job['jobId']} ({job['status']}) "
                   f"{job.get('tags', {}).get('remit_task_name', '')}")
    click.echo(f"{len(jobs)} job(s) of execution {execution_id[:8]} terminated.")


@aws.command()
@click.argument("job")
@click.option("--log-group", default=LOG_GROUP, show_default=True)
@config_option
def logs(job: str, log_group: str, config_dir: str | None) -> None:
    """Print the CloudWatch log of a job: an AWS Batch job id or a remit job id prefix.

    \b
    Example:
      remit aws logs 9e8d7c6b-1234-4c1e-9a55-1c1f0e2d3b4a
    """
    from remit.batch_logs import log_lines, log_stream
    from remit.errors import RemitError

    batch_id = _batch_id_of(config_dir, job)
    try:
        for line in log_lines(_client("logs"), log_stream(_client("batch"), batch_id),
                              log_group):
            click.echo(line)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None


def _batch_id_of(config_dir: str | None, job: str) -> str:
    """A remit job id prefix becomes the Batch job id recorded for it; else it is one."""
    from sqlalchemy import select

    from remit.cli.store import open_store
    from remit.db import models as m

    try:
        backend = open_store(config_dir)
    except click.ClickException:
        return job
    try:
        with backend.engine.connect() as conn:
            rows = list(conn.execute(
                select(m.tag.c.value).where(m.tag.c.key == "aws_batch_job",
                                            m.tag.c.entity_id.startswith(job, autoescape=True))
                .limit(2)).scalars())
    finally:
        backend.close()
    return rows[0] if len(rows) == 1 else job


