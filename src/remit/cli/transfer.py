"""`remit export|import|push|pull`: move executions (with their jobs, calls, values, Files
and tags) between provenance stores. The copying itself is ``db/transfer.py``.

    remit export runs.db [EXEC_ID...]     executions into one portable SQLite file
    remit import runs.db                  an export into this project's store
    remit push postgresql+psycopg://host/remit [EXEC_ID...]   to another store
    remit pull postgresql+psycopg://host/remit [EXEC_ID...]   from another store

Only what the other side lacks is copied, so running any of them twice copies nothing new.
A store is a database URL, a ``.db`` file or a config directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from remit.cli.store import config_option, open_store, remit_errors, store_for_uri

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from remit.db.backend import Backend


def _transfer(src: Backend, dst: Backend, prefixes: tuple[str, ...], verb: str,
              where: str) -> None:
    from remit.db import transfer

    try:
        with remit_errors():
            with src.engine.connect() as conn:
                ids = _resolve(conn, prefixes) if prefixes else transfer.all_execution_ids(conn)
            if not ids:
                raise click.ClickException("no executions to copy; `remit log` lists them")
            report = transfer.copy_executions(src, dst, ids)
    finally:
        src.close()
        dst.close()
    click.echo(f"{verb} {len(ids)} execution(s) {where}: {report.summary()}")


def _resolve(conn: Connection, prefixes: tuple[str, ...]) -> list[str]:
    from sqlalchemy import select

    from remit.db import models as m

    ids: list[str] = []
    for prefix in prefixes:
        query = select(m.execution.c.id)
        if prefix == "-":
            query = query.order_by(m.execution.c.start_time.desc()).limit(1)
        else:
            query = query.where(m.execution.c.id.startswith(prefix, autoescape=True)).limit(2)
        found = list(conn.execute(query).scalars())
        if len(found) != 1:
            problem = "matches no execution" if not found else "is ambiguous"
            raise click.ClickException(f"{prefix!r} {problem}; `remit log` lists executions")
        ids.append(found[0])
    return ids


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.argument("executions", nargs=-1)
@config_option
def export(path: str, executions: tuple[str, ...], config_dir: str | None) -> None:
    """Export executions (default: all) into PATH, one portable SQLite file.

    Values are kept inline, so the file is all another machine needs; exporting into an
    existing export adds what it lacks.

    \b
    Examples:
      remit export runs.db
      remit export last.db -          the last execution only
    """
    if not path.endswith(".db"):
        raise click.UsageError(f"export file {path!r} must end in .db (it is a SQLite file)")
    src = open_store(config_dir)
    _transfer(src, store_for_uri(path, read_only=False), executions, "Exported", f"to {path}")


@click.command(name="import")
@click.argument("path", type=click.Path(dir_okay=False))
@config_option
def import_(path: str, config_dir: str | None) -> None:
    """Import the executions of an export file into this project's store.

    \b
    Example:
      remit import runs.db
    """
    if not Path(path).is_file():
        raise click.ClickException(f"no export file at {path}; `remit export FILE.db` makes one")
    src = store_for_uri(path if path.endswith(".db") else f"sqlite:///{Path(path).resolve()}")
    _transfer(src, open_store(config_dir, read_only=False), (), "Imported", f"from {path}")


@click.command()
@click.argument("destination")
@click.argument("executions", nargs=-1)
@config_option
def push(destination: str, executions: tuple[str, ...], config_dir: str | None) -> None:
    """Copy executions (default: all) to DESTINATION, only what it lacks.

    DESTINATION is a database URL, a .db file or another project's config directory.

    \b
    Example:
      remit push postgresql+psycopg://me@db.example.com/remit
    """
    src = open_store(config_dir)
    _transfer(src, store_for_uri(destination, read_only=False), executions, "Pushed",
              f"to {_masked(destination)}")


@click.command()
@click.argument("source")
@click.argument("executions", nargs=-1)
@config_option
def pull(source: str, executions: tuple[str, ...], config_dir: str | None) -> None:
    """Copy executions (default: all) from SOURCE into this project's store, only what it lacks.

    \b
    Example:
      remit pull postgresql+psycopg://me@db.example.com/remit
    """
    src = store_for_uri(source)
    _transfer(src, open_store(config_dir, read_only=False), executions, "Pulled",
              f"from {_masked(source)}")


def _masked(where: str) -> str:
    if "://" not in where:
        return where
    from sqlalchemy.engine import make_url

    try:
        return make_url(where).render_as_string(hide_password=True)
    except Exception:
        return where
