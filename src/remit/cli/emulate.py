"""`remit emulate`: local stand-ins for cloud services; `remit emulate aws` runs the AWS one.

Owns the command line of the stand-in (options, export lines, ready line, signals); the
stand-in itself is ``remit.emulate.AWSStandIn``.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from remit.emulate import DEFAULT_MAX_JOBS


@click.group()
def emulate() -> None:
    """Run local stand-ins for cloud services, for development and tests.

    \b
    Example:
      remit emulate aws --port 0 --bucket my-bucket
    """


@emulate.command(short_help="Serve a local AWS: S3, Batch (jobs really run), Logs, IAM, STS.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=4566,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one (the ready line tells which).",
)
@click.option("--bucket", "buckets", multiple=True, metavar="NAME", help="Create this S3 bucket.")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    metavar="NAME",
    help="Create this Batch job queue (default: remit-queue).",
)
@click.option(
    "--region",
    metavar="NAME",
    help="The region of the buckets and job queue, and the one exported to clients "
    "(default: AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1).",
)
@click.option(
    "--max-jobs",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_JOBS,
    show_default=True,
    help="Batch jobs running at once; the others wait in RUNNABLE.",
)
@click.option(
    "--cold",
    is_flag=True,
    help="Start every job as a fresh process (default: `remit` jobs are forked, already "
    "imported, by a warm zygote process: same code and environment, much faster).",
)
@click.option(
    "--containers",
    is_flag=True,
    help="Run each job in a container of its job definition's image, through the engine "
    "DOCKER_HOST names (host network, so jobs reach this stand-in).",
)
@click.option(
    "--fallback-local",
    is_flag=True,
    help="With --containers: if no engine answers, run jobs as local processes instead of "
    "failing.",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the export lines to this file (before the ready line).",
)
def aws(
    port: int,
    buckets: tuple[str, ...],
    queues: tuple[str, ...],
    region: str | None,
    max_jobs: int,
    cold: bool,
    containers: bool,
    fallback_local: bool,
    env_file: Path | None,
) -> None:
    """Serve a local AWS (S3, Batch, IAM, CloudWatch Logs, STS) until SIGINT or SIGTERM.

    Batch jobs really run: as local processes (warm unless --cold), or with --containers in
    containers of their images. Resources live in --region, else AWS_REGION, else
    AWS_DEFAULT_REGION, else us-east-1. Prints `export VAR=value` lines for the client on
    stdout, then `[remit] AWS stand-in ready on URL (region NAME)` on stderr once it accepts
    connections.

    \b
    Example:
      remit emulate aws --bucket my-bucket > aws.env &   # then: source aws.env
    """
    from botocore.exceptions import ClientError

    from remit.emulate import AWSStandIn

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    if fallback_local and not containers:
        raise click.UsageError("--fallback-local goes with --containers")
    region = (region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
              or "us-east-1").strip()
    standin = AWSStandIn(
        port=port,
        buckets=buckets,
        queues=queues or ("remit-queue",),
        region=region,
        max_jobs=max_jobs,
        warm=not cold,
        containers=containers,
        container_fallback=fallback_local,
    )
    try:
        standin.start()
    except (OSError, ClientError, RuntimeError) as err:  # port in use, bad name, no engine
        raise click.ClickException(f"cannot start the AWS stand-in: {err}") from err
    try:
        exports = "".join(
            f"export {key}={shlex.quote(value)}\n" for key, value in standin.env.items()
        )
        if env_file is not None:
            partial = env_file.with_name(env_file.name + ".partial")
            partial.write_text(exports)
            os.replace(partial, env_file)
        click.echo(exports, nl=False)
        click.echo(f"[remit] AWS stand-in ready on {standin.endpoint_url} (region {region})",
                   err=True)
        stop.wait()
    finally:
        standin.stop()
    click.echo("[remit] AWS stand-in stopped", err=True)
