"""`remit db info|versions|upgrade|downgrade`: the store's schema version, by hand.

Alembic does the migrations (``db/migrations``). ``info`` and ``versions`` only read;
``upgrade``/``downgrade`` never create a database that is not there (``remit run`` does).
The store is the configured one, or ``--db URL`` (any SQLAlchemy URL: SQLite, PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from remit.cli.store import config_option, load, remit_errors

F = TypeVar("F", bound=Callable[..., Any])


def _db_option(func: F) -> F:
    return click.option("--db", "db_uri", metavar="URL",
                        help="Database URL (default: the config's [backend] db_uri).")(func)


def _uri(config_dir: str | None, db_uri: str | None) -> str:
    if db_uri:
        return db_uri
    from remit.db.backend import Backend

    config = load(config_dir)
    return Backend.for_config_dir(config.config_dir, config.backend).db_uri


def _engine(uri: str) -> Any:
    """An engine on an existing database (a missing SQLite file is an error, not created)."""
    from sqlalchemy import create_engine

    from remit.db.readonly import sqlite_path
    from remit.errors import DBError, NoDatabaseError

    path = sqlite_path(uri)
    if path is not None and not path.is_file():
        raise NoDatabaseError(f"no remit database at {path}; `remit run FILE TASK` creates one")
    try:
        return create_engine(uri)
    except Exception as exc:
        raise DBError(f"cannot open database {uri!r}: {exc}") from exc


def _masked(uri: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(uri).render_as_string(hide_password=True)
    except Exception:
        return uri


@click.group()
def db() -> None:
    """Inspect and migrate the provenance database's schema.

    \b
    Examples:
      remit db info
      remit db upgrade
      remit db upgrade --db postgresql+psycopg://user@host/remit
    """


@db.command()
@config_option
@_db_option
def info(config_dir: str | None, db_uri: str | None) -> None:
    """Show the database, its schema version and how many rows each table holds.

    \b
    Example:
      remit db info
    """
    from sqlalchemy import func, inspect, select

    from remit.db import models
    from remit.db.schema import HEAD_REVISION, current_revision

    uri = _uri(config_dir, db_uri)
    with remit_errors():
        engine = _readonly_engine(uri)
        try:
            revision = current_revision(engine)
            click.echo(f"Database: {_masked(uri)}")
            state = "current" if revision == HEAD_REVISION else "run `remit db upgrade`"
            click.echo(f"Schema:   {revision or '(none)'} (this remit: {HEAD_REVISION}; {state})")
            with engine.connect() as conn:
                present = set(inspect(conn).get_table_names())
                for table in models.record_tables:
                    if table.name in present:
                        count = conn.execute(select(func.count()).select_from(table)).scalar()
                        click.echo(f"  {table.name:<11} {count}")
                staged = sum(conn.execute(select(func.count()).select_from(t)).scalar() or 0
                             for t in models.staging.values() if t.name in present)
                if staged:
                    click.echo(f"  {staged} staged rows wait for a merge (a big run is going, "
                               "or died; the next command that writes merges them)")
        finally:
            engine.dispose()


def _readonly_engine(uri: str) -> Any:
    """A read-only engine for ``info``/``versions``, whatever the schema version."""
    from sqlalchemy import create_engine

    from remit.db.readonly import sqlite_path, sqlite_read_only_url

    path = sqlite_path(uri)
    if path is None:
        return _engine(uri)
    _engine(uri).dispose()  # existence check
    return create_engine(sqlite_read_only_url(path))


@db.command()
@config_option
@_db_option
def versions(config_dir: str | None, db_uri: str | None) -> None:
    """List the schema versions (migrations) this remit knows; * marks the database's.

    \b
    Example:
      remit db versions
    """
    from alembic.script import ScriptDirectory

    from remit.db.schema import MIGRATIONS_DIR, current_revision

    uri = _uri(config_dir, db_uri)
    current = None
    try:
        engine = _readonly_engine(uri)
        current = current_revision(engine)
        engine.dispose()
    except Exception:  # no database yet: still list the versions this remit knows
        current = None
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    for rev in script.walk_revisions():
        mark = "*" if rev.revision == current else " "
        click.echo(f"{mark} {rev.revision:<12} {(rev.doc or '').strip()}")


@db.command()
@click.argument("revision", default="head")
@config_option
@_db_option
def upgrade(revision: str, config_dir: str | None, db_uri: str | None) -> None:
    """Migrate the database up to REVISION (default: the newest).

    \b
    Example:
      remit db upgrade
    """
    _migrate("upgrade", revision, _uri(config_dir, db_uri))


@db.command()
@click.argument("revision")
@config_option
@_db_option
def downgrade(revision: str, config_dir: str | None, db_uri: str | None) -> None:
    """Migrate the database down to REVISION (``base`` removes every remit table).

    \b
    Example:
      remit db downgrade 0001
    """
    _migrate("downgrade", revision, _uri(config_dir, db_uri))


def _migrate(direction: str, revision: str, uri: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    from remit.db.schema import alembic_config, current_revision

    with remit_errors():
        engine = _engine(uri)
    try:
        before = current_revision(engine)
        if before is None and direction == "upgrade":
            from sqlalchemy import inspect

            with engine.connect() as conn:
                if set(inspect(conn).get_table_names()) - {"alembic_version"}:
                    raise click.ClickException(
                        f"{_masked(uri)} has tables but no remit schema version; "
                        "point --db at a remit database")
        getattr(command, direction)(alembic_config(engine), revision)
        after = current_revision(engine)
    except CommandError as exc:
        raise click.ClickException(f"cannot {direction} to {revision!r}: {exc}; "
                                   "`remit db versions` lists the versions") from None
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"Database already at {after or '(none)'}; nothing to do.")
    else:
        click.echo(f"Migrated {_masked(uri)}: {before or '(none)'} -> {after or '(none)'}")
