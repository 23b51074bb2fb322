"""`remit run --rerun EXEC_ID`: what a recorded execution ran, to run it again.

Reads the execution's command line (workflow, task, task options) and, when its root call
finished, the argument values it was called with from the store (loaded once the workflow is
imported), so the rerun's call has the
same hashes and is served from the cache where nothing changed. Reads only; runs nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy import select

from remit.cli.store import remit_errors


@dataclass
class RecordedRun:
    """A recorded execution's command line and, when stored, its root call's arguments."""

    execution_id: str
    argv: list[str]
    workflow: str
    task_name: str
    task_args: tuple[str, ...]
    argument_hashes: dict[str, str]
    options: dict[str, Any]  # the recorded command line's remit options (context, tags)

    def load_kwargs(self, config: Any) -> dict[str, Any] | None:
        """The root call's argument values from the store (load after importing the workflow,
        so its classes unpickle), or None when some are not stored: reparse ``task_args``."""
        from remit.db.backend import Backend

        if not self.argument_hashes or any(n.startswith("*") for n in self.argument_hashes):
            return None
        with remit_errors():
            backend = Backend.for_config_dir(config.config_dir, config.backend, read_only=True)
            try:
                values = backend.load_values(list(self.argument_hashes.values()))
            finally:
                backend.close()
        if not all(h in values for h in self.argument_hashes.values()):
            return None
        return {name: values[h] for name, h in self.argument_hashes.items()}


def recorded_run(config: Any, prefix: str, command: click.Command) -> RecordedRun:
    """Look up execution ``prefix`` (an id or unique prefix; ``-`` is the last one)."""
    from remit.db import models as m
    from remit.db.backend import Backend

    with remit_errors():
        backend = Backend.for_config_dir(config.config_dir, config.backend, read_only=True)
        try:
            with backend.engine.connect() as conn:
                row = _find_execution(conn, prefix)
                root = conn.execute(select(m.job.c.call_hash)
                                    .where(m.job.c.id == row["root_job_id"])).first()
                args = []
                if root is not None and root.call_hash:
                    args = list(conn.execute(select(m.argument.c.name, m.argument.c.value_hash)
                                             .where(m.argument.c.call_hash == root.call_hash)))
            argv = json.loads(row["argv"])
        finally:
            backend.close()
    with command.make_context("run", list(argv[2:]), resilient_parsing=True) as ctx:
        params = ctx.params
    if not params.get("workflow") or not params.get("task_name"):
        raise click.ClickException(f"execution {row['id'][:8]} was not a `remit run FILE TASK` "
                                   f"({' '.join(argv)}); it cannot be rerun")
    return RecordedRun(row["id"], argv, params["workflow"], params["task_name"],
                       tuple(params.get("task_args") or ()),
                       {a.name: a.value_hash for a in args}, dict(params))


def _find_execution(conn: Any, prefix: str) -> Any:
    from remit.db import models as m

    query = select(m.execution)
    if prefix == "-":
        query = query.order_by(m.execution.c.start_time.desc()).limit(1)
    else:
        query = query.where(m.execution.c.id.startswith(prefix, autoescape=True)).limit(2)
    rows = list(conn.execute(query).mappings())
    if not rows:
        raise click.ClickException(f"no execution matches {prefix!r}; `remit log` lists them")
    if len(rows) > 1:
        raise click.ClickException(f"execution id {prefix!r} is ambiguous; give more characters")
    return rows[0]
