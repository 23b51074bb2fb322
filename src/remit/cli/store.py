"""How subcommands reach the configured provenance store, and report remit's errors.

Owns the shared ``--config DIR`` option, opening the store (read-only for commands that only
read: they never create ``.remit/`` or a database), and turning a RemitError into click's
one-line ``Error: ...`` with exit status 1. It does not query or render anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from remit.config import Config
    from remit.db.backend import Backend

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    """The ``-c/--config DIR`` option every store command takes."""
    return click.option(
        "-c", "--config", "config_dir", metavar="DIR",
        help="Config directory (default: nearest .remit/, or $REMIT_CONFIG).",
    )(func)


@contextmanager
def remit_errors() -> Iterator[None]:
    """Turn a RemitError (or a database error) raised inside into a one-line click error
    (exit status 1)."""
    from sqlalchemy.exc import SQLAlchemyError

    from remit.errors import RemitError

    try:
        yield
    except RemitError as exc:
        raise click.ClickException(one_line(str(exc))) from None
    except SQLAlchemyError as exc:  # e.g. writing to a read-only store
        message = one_line(str(getattr(exc, "orig", None) or exc))
        raise click.ClickException(f"the provenance store refused: {message}") from None


def one_line(message: str) -> str:
    """A message on one line, without SQLAlchemy's statement and documentation-link lines."""
    noise = ("(Background on this error", "[SQL:", "[parameters:")
    lines = [line.strip() for line in message.splitlines()]
    return " ".join(line for line in lines if line and not line.startswith(noise))


def load(config_dir: str | None) -> Config:
    """The configuration (``--config DIR``, ``$REMIT_CONFIG`` or the nearest ``.remit/``)."""
    from remit.config import load_config

    with remit_errors():
        return load_config(config_dir)


def open_store(config_dir: str | None, read_only: bool = True) -> Backend:
    """The configured store; ``read_only`` never creates or migrates anything."""
    from remit.db.backend import Backend

    config = load(config_dir)
    with remit_errors():
        backend = Backend.for_config_dir(config.config_dir, config.backend, read_only=read_only)
        backend.engine  # noqa: B018 - open now, so a missing database is reported here
    return backend


def store_for_uri(where: str, read_only: bool = True) -> Backend:
    """A store named on the command line: a database URL, a ``.db`` file (e.g. an export) or
    a config directory. Stores named by URL or file keep every value inline (they have no
    value-store directory of their own); a config directory's store is used as configured.
    """
    import sys
    from pathlib import Path

    from remit.db.backend import Backend

    if "://" in where or where.endswith(".db"):
        uri = where if "://" in where else f"sqlite:///{Path(where).resolve()}"
        backend = Backend(uri, Path(os.devnull), min_store_size=sys.maxsize, read_only=read_only)
    else:
        if not Path(where).is_dir():
            raise click.ClickException(f"{where} is neither a database URL, a .db file nor a "
                                       "config directory")
        return open_store(where, read_only)
    with remit_errors():
        backend.engine  # noqa: B018
    return backend
