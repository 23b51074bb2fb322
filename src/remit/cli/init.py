"""`remit init [DIR]`: create ``DIR/.remit/remit.ini`` listing every option remit knows,
commented out at its default, so a project starts from a file that documents itself.

Executor sections are generated from the executors' own option definitions (the aws_batch
options from ``BatchOptions``), so the file cannot drift from what remit accepts. It never
opens or creates a database.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from remit.config import CONFIG_DIRNAME, CONFIG_FILENAME

_HEADER = """\
; remit configuration. Every option is shown commented out at its default: uncomment to change.
; Values may read the environment: ${VAR} or ${VAR:-default}.
"""

_BACKEND = """\
[backend]
; Where provenance is recorded: any SQLAlchemy URL (SQLite or PostgreSQL).
; db_uri = sqlite:///{config_dir}/remit.db
; Pickled values at least this large (bytes) go to the value store instead of the database.
; value_store_min_size = 65536
; value_store_path = {config_dir}/values
; SQLite: once a run has written this many rows, it appends them to index-free staging
; tables and merges them in bulk (every 30 s, 1,000,000 rows, and at the end): far faster
; for big runs, but their newest rows show in `remit log` only after a merge. 0: always.
; stage_after = 100000
"""

_SCHEDULER = """\
[scheduler]
; Seconds between JOB STATUS tables when not on a terminal.
; job_status_interval = 20
; Seconds between provenance writes while jobs run.
; flush_interval = 1
; Context for get_context(...): a JSON tree, and/or a JSON file (see also [context]).
; context = {"my_tool": {"flag": true}}
; context_file = context.json
"""

_CONTEXT = """\
; Context variables for get_context("path.to.value"), one dotted path per line (JSON or text).
; [context]
; my_tool.flag = true
"""

_LIMITS = """\
; Resource limits: at most this many units held by running jobs of @task(limits=["db"]).
; [limits]
; db = 4
"""

_REPORT = """\
; Cost estimates of `remit report` for AWS Batch jobs.
; [report]
; family = m5               ; instance family for CPU jobs (default: c5, m5 or r5 by shape)
; gpu_family = g4dn
; prices = {"m5": {"vcpus": 2, "memory": 8, "gpus": 0, "usd_per_hour": 0.096}}
"""

_LOCAL = """\
; A local executor: a thread pool (the implicit "default" executor) or a process pool.
; [executors.procs]
; type = local
; mode = process          ; thread | process
; max_workers = 4         ; default: 20 threads, or one process per core
"""

_DOCKER = """\
; Tasks run in a local container of an image (Docker, or podman via DOCKER_HOST).
; [executors.container]
; type = docker
; image = YOUR_IMAGE
; s3_scratch = s3://YOUR_BUCKET/remit/   ; or debug_scratch = a local directory
; (the aws_batch options above apply too: vcpus, memory, code_includes, ...)
"""


def _batch_section() -> str:
    from remit.executors.aws_batch.failures import DEFAULT_RETRY_ON
    from remit.executors.aws_batch.options import REQUIRED, BatchOptions

    as_written = {"retry_on": DEFAULT_RETRY_ON}  # defaults kept parsed, written as text here

    lines = ["; AWS Batch: each task call runs as a Batch job.", "; [executors.batch]",
             "; type = aws_batch"]
    examples = {"image": "YOUR_ACCOUNT_ID.dkr.ecr.us-west-2.amazonaws.com/YOUR_IMAGE",
                "queue": "YOUR_QUEUE", "s3_scratch": "s3://YOUR_BUCKET/remit/"}
    for item in dataclasses.fields(BatchOptions):
        if item.name in REQUIRED:
            lines.append(f"; {item.name} = {examples.get(item.name, '')}   ; (required)")
            continue
        default = as_written.get(item.name, _default(item))
        text = _ini_value(default) if default not in (None, "", ()) else "   ; (not set)"
        lines.append(f"; {item.name} = {text}")
    return "\n".join(lines) + "\n"


def _default(item: dataclasses.Field[Any]) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return None


def _ini_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, tuple) and all(isinstance(v, tuple) for v in value):  # retry_on
        from remit.executors.aws_batch.failures import DEFAULT_RETRY_ON

        return DEFAULT_RETRY_ON
    if isinstance(value, tuple):
        return " ".join(value)
    return str(value)


def default_ini(config_dir: Path) -> str:
    """The text of a new remit.ini for ``config_dir``."""
    return "\n".join([
        _HEADER, _BACKEND.format(config_dir=config_dir), _SCHEDULER, _CONTEXT, _LIMITS,
        _REPORT, _LOCAL, _batch_section(), _DOCKER,
    ])


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create DIRECTORY/.remit/remit.ini with every option commented at its default.

    \b
    Example:
      remit init            # in the project's root
    """
    config_dir = Path(directory).resolve() / CONFIG_DIRNAME
    path = config_dir / CONFIG_FILENAME
    if path.exists():
        raise click.ClickException(f"{path} already exists; edit it, or remove it to start over")
    try:
        config_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(default_ini(config_dir), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot create {path}: {exc.strerror}") from None
    click.echo(f"Created {path}")
