"""`remit emulate`: local stand-ins for cloud services; `remit emulate aws` runs the AWS one."""

from __future__ import annotations

import os
import shlex
import signal
import threading
from pathlib import Path
from types import FrameType

import click


@click.group()
def emulate() -> None:
    """Run local stand-ins for cloud services, for development and tests."""


@emulate.command(short_help="Serve a local AWS: S3, Batch (jobs run locally), Logs, IAM, STS.")
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
    "--max-jobs",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Batch jobs running at once; the others wait in RUNNABLE.",
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
    max_jobs: int,
    env_file: Path | None,
) -> None:
    """Serve a local AWS (S3, Batch, IAM, CloudWatch Logs, STS) until SIGINT or SIGTERM.

    Batch jobs run as local subprocesses. Prints `export VAR=value` lines for the client on
    stdout, then `[remit] AWS stand-in ready on URL` on stderr once it accepts connections.
    """
    from botocore.exceptions import ClientError

    from remit.emulate import AWSStandIn

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    standin = AWSStandIn(
        port=port, buckets=buckets, queues=queues or ("remit-queue",), max_jobs=max_jobs
    )
    try:
        standin.start()
    except (OSError, ClientError) as err:  # port in use, invalid bucket or queue name
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
        click.echo(f"[remit] AWS stand-in ready on {standin.endpoint_url}", err=True)
        stop.wait()
    finally:
        standin.stop()
    click.echo("[remit] AWS stand-in stopped", err=True)
