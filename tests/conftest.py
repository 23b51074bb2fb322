"""Fixtures shared by the whole suite: a scheduler with a fresh store, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from remit.config import load_config
from remit.db.backend import Backend
from remit.db.recorder import ProvenanceRecorder
from remit.progress import RunLog
from remit.scheduler import Scheduler


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """An empty `.remit` directory for one test."""
    path = tmp_path / ".remit"
    path.mkdir()
    return path


@pytest.fixture
def make_scheduler(config_dir: Path) -> Callable[..., Scheduler]:
    """Build schedulers that record into the test's own SQLite store."""
    backends: list[Backend] = []

    def make(use_cache: bool = True, ini: str | None = None) -> Scheduler:
        if ini is not None:
            (config_dir / "remit.ini").write_text(ini)
        config = load_config(config_dir)
        backend = Backend.for_config_dir(config_dir, config.backend)
        backends.append(backend)
        log = RunLog(open(os.devnull, "w"))
        scheduler = Scheduler(
            config, backend, use_cache=use_cache, listeners=[ProvenanceRecorder(backend), log]
        )
        scheduler.run_log = log  # type: ignore[attr-defined]
        return scheduler

    yield make
    for backend in backends:
        backend.close()


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the `remit` command line in a child process and capture its output."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("REMIT_CONFIG", None) if env is None or "REMIT_CONFIG" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "remit", *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The `run_cli` helper as a fixture."""
    return run_cli


STANDIN_BUCKET = "remit-test"
STANDIN_QUEUE = "remit-queue"


@pytest.fixture(scope="session")
def aws_standin():
    """The local AWS stand-in (moto + local Batch compute) for this test process.

    Its environment (endpoint, fake credentials, region) is exported while it runs, so
    boto3 in the tests and in `remit` child processes reaches it. One per xdist worker.
    """
    from remit import aws
    from remit.emulate import AWSStandIn

    with AWSStandIn(port=0, buckets=[STANDIN_BUCKET], queues=[STANDIN_QUEUE]) as standin:
        saved = {key: os.environ.get(key) for key in (*standin.env, "AWS_PROFILE")}
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(standin.env)
        aws.reset_clients()
        try:
            yield standin
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            aws.reset_clients()


def status_row(output: str, task: str) -> list[int]:
    """The final JOB STATUS table's counts for a task: PENDING RUNNING FAILED CACHED DONE TOTAL."""
    rows = [line for line in output.splitlines()
            if line.startswith("[remit] | ") and line.split()[2] == task]
    if not rows:
        raise AssertionError(f"no status row for {task} in:\n{output}")
    return [int(n) for n in rows[-1].split()[3:]]


def invoke_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a `remit` command in this process with click's runner (much cheaper than a child
    process; not for `remit run`, which imports workflow modules), from directory ``cwd``."""
    from click.testing import CliRunner

    from remit.cli import main

    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), env={"REMIT_CONFIG": None},
                                    prog_name="remit")
    finally:
        os.chdir(previous)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["remit", *args], result.exit_code, result.stdout,
                                       result.stderr)
