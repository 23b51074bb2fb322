"""`remit why JOB_ID|FILE`: why a recorded job ran instead of being served from the cache.

    remit why 1a2b3c4d           a job, by id prefix
    remit why out/counts.tsv     the job that produced a File (local path or s3:// URL)

It prints the reason recorded when the job ran (the one its ``Run`` line showed) and the
closest earlier call of the same task it was compared with (``explain.py``); a job served
from the cache names the job that computed the value. Read-only: it never creates a store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from remit.cli.store import config_option, open_store, remit_errors
from remit.display import format_time


@click.command()
@click.argument("target")
@config_option
def why(target: str, config_dir: str | None) -> None:
    """Say why a job ran instead of coming from the cache (TARGET: job id or File path).

    \b
    Examples:
      remit why 1a2b3c4d             a job, by id prefix
      remit why results/counts.tsv   the job that produced this File
    """
    backend = open_store(config_dir)  # read-only: never creates or migrates a store
    try:
        with remit_errors(), backend.engine.connect() as conn:
            _Why(conn).explain(target)
    finally:
        backend.close()


class _Why:
    """Finds the job and renders its explanation."""

    def __init__(self, conn: Any) -> None:
        from remit.db.query import Query

        self.conn = conn
        self.q = Query(conn)

    def explain(self, target: str) -> None:
        job = self._producer(target) if _looks_like_path(target) else self._job(target)
        click.echo(f"Job {job['id'][:8]}  {job['call']}  on {job['executor']}, execution "
                   f"{job['execution_id'][:8]}, {format_time(job['start_time'])}")
        if job["cached"]:
            self._cached(job)
            return
        found = self._compare(job)
        reason = job["reason"] or (found.reason if found else "not recorded")
        click.echo(f"Ran because: {reason}")
        if found is not None and found.earlier_job is not None:
            earlier = self.q.job(found.earlier_job[0])
            if earlier is not None:
                click.echo(f"Compared with: Job {earlier['id'][:8]}  {earlier['call']}, "
                           f"execution {earlier['execution_id'][:8]}, "
                           f"{format_time(earlier['start_time'])}")
        if job["status"] == "FAILED":
            click.echo("It failed, so nothing was cached: `remit log "
                       f"{job['id'][:8]}` shows the error.")

    def _job(self, prefix: str) -> Any:
        from sqlalchemy import select

        from remit.db import models as m

        rows = self.conn.execute(
            select(m.job).where(m.job.c.id.startswith(prefix, autoescape=True)).limit(2)
        ).mappings().all()
        if not rows:
            raise click.ClickException(
                f"no job with id starting {prefix!r}; `remit log` lists executions and jobs")
        if len(rows) > 1:
            raise click.ClickException(f"job id prefix {prefix!r} is ambiguous; give more of it")
        return rows[0]

    def _producer(self, target: str) -> Any:
        path = target if "://" in target else str(Path(target).resolve())
        versions = self.q.files(path)
        for version in versions:
            producer = self.q.producer(version["value_hash"])
            if producer is not None:
                return producer
        if versions:
            raise click.ClickException(f"{path} was never produced by a recorded job "
                                       "(it is an input to the workflow)")
        raise click.ClickException(
            f"no File recorded at {path}; `remit log --file` lists the recorded ones")

    def _cached(self, job: Any) -> None:
        from sqlalchemy import select

        from remit.db import models as m

        first = self.conn.execute(
            select(m.job).where(m.job.c.eval_hash == job["eval_hash"], m.job.c.cached.is_(False),
                               m.job.c.start_time <= job["start_time"])
            .order_by(m.job.c.start_time.desc()).limit(1)
        ).mappings().first()
        click.echo(f"It did not run: served from the cache (eval_hash {job['eval_hash'][:8]}).")
        if first is not None:
            click.echo(f"The value was computed by Job {first['id'][:8]}, execution "
                       f"{first['execution_id'][:8]}, {format_time(first['start_time'])}; "
                       f"`remit why {first['id'][:8]}` says why that one ran.")

    def _compare(self, job: Any) -> Any:
        """The explanation from comparing the job's call with the calls of its task recorded
        before the job's execution started (as the run's own ``Run`` line did)."""
        from sqlalchemy import select

        from remit.db import history
        from remit.db import models as m
        from remit.explain import CallFacts, explain_calls

        task = self.q.task(job["task_hash"])
        node = self.q.call_node(job["call_hash"]) if job["call_hash"] else None
        if task is None or node is None:
            return None
        args = history.argument_hashes(self.conn, [node["call_hash"]]).get(node["call_hash"], {})
        paths = history.file_paths(self.conn, list(args.values()))
        files = {name: paths[h] for name, h in args.items() if h in paths}
        execution = self.conn.execute(
            select(m.execution.c.start_time).where(m.execution.c.id == job["execution_id"])
        ).scalar()
        facts = CallFacts(task["fullname"], task["hash"], node["args_hash"], job["eval_hash"],
                          json.loads(task["deps"]) if task["deps"] else {}, args, files,
                          before=execution if execution is not None else job["start_time"])
        return explain_calls(self.conn, [facts], with_jobs=True)[0]


def _looks_like_path(target: str) -> bool:
    return "://" in target or "/" in target or os.path.exists(target)
