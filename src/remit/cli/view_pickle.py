"""`remit view-pickle [FILE|-]`: pretty-print a scratch pickle (input, output or error), or
each of the pickles of an array's ``inputs``, numbered by array index."""

from __future__ import annotations

import io
import pickle
import pprint
import sys

import click


@click.command(name="view-pickle")
@click.argument("path", default="-")
def view_pickle(path: str) -> None:
    """Show a pickled scratch file (a path, an s3:// URL, or - for standard input).

    An array job's inputs file holds one pickle per child; each is shown as [INDEX] VALUE.

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
    stream = io.BytesIO(data)
    values = []
    try:
        while stream.tell() < len(data):  # an array's inputs: one pickle per child
            values.append(pickle.load(stream))
    except Exception as exc:
        raise click.ClickException(f"{path} is not a readable pickle: {exc}") from None
    for index, value in enumerate(values):
        prefix = f"[{index}] " if len(values) > 1 else ""
        click.echo(prefix + pprint.pformat(value))
