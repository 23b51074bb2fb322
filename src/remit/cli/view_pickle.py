"""`remit view-pickle [FILE|-]`: pretty-print a scratch pickle (input, output or error)."""

from __future__ import annotations

import pickle
import pprint
import sys

import click


@click.command(name="view-pickle")
@click.argument("path", default="-")
def view_pickle(path: str) -> None:
    """Show a pickled scratch file (a path, an s3:// URL, or - for standard input).

    \b
    Example:
      remit view-pickle s3://my-bucket/remit/jobs/3f2a9c1b.../input
    """
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        from remit.errors import RemitError
        from remit.files import File

        try:
            data = File(path).read("rb")
        except (RemitError, OSError) as exc:
            raise click.ClickException(f"cannot read {path}: {exc}") from None
    try:
        value = pickle.loads(data)
    except Exception as exc:
        raise click.ClickException(f"{path} is not a readable pickle: {exc}") from None
    click.echo(pprint.pformat(value))
