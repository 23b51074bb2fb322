"""`remit view-pickle [FILE|-]`: show a pickle (a scratch input, output or error, or a stored
value) without running it; ``--unsafe`` loads it for real.

Loading a pickle can run any code it names, so by default the pickle is only replayed inertly
(``remit.pickle_inspect``): plain data prints as Python, anything else as the globals it would
import and its structure as recorded. ``--disassemble`` adds pickletools' opcode listing.
"""

from __future__ import annotations

import pickle
import pprint
import sys

import click


@click.command(name="view-pickle")
@click.argument("path", default="-")
@click.option("--unsafe", is_flag=True,
              help="Load the pickle for real (runs any code it names: only for trusted files).")
@click.option("-d", "--disassemble", is_flag=True, help="Also print the pickle's opcodes.")
def view_pickle(path: str, unsafe: bool, disassemble: bool) -> None:
    """Show a pickled file (a path, an s3:// URL, or - for standard input) without running it.

    \b
    Example:
      remit view-pickle s3://my-bucket/remit/jobs/3f2a9c1b.../input
    """
    data = _read(path)
    if unsafe:
        try:
            value = pickle.loads(data)
        except Exception as exc:
            raise click.ClickException(f"{path} is not a readable pickle: {exc}") from None
        click.echo(pprint.pformat(value))
        return
    from remit.pickle_inspect import disassemble as dis
    from remit.pickle_inspect import inspect_pickle

    report = inspect_pickle(data)
    if disassemble:
        click.echo(dis(data))
    if report.plain:
        click.echo(pprint.pformat(report.value))
        return
    if report.error is not None and not report.imports and report.value is None:
        raise click.ClickException(f"{path} is not a readable pickle: {report.error}")
    shown = path if path != "-" else "standard input"
    if report.imports:
        click.echo(f"# Not loaded: {shown} would import and may call these globals:")
        for name in report.imports:
            click.echo(f"#   {name}")
    if report.error is not None:
        click.echo(f"# Replay stopped early: {report.error}")
    click.echo("# Its contents as recorded (nothing was imported or run):")
    click.echo(pprint.pformat(report.value))
    click.echo("# Loading a pickle runs the code it names. If you trust whoever wrote it: "
               f"remit view-pickle --unsafe {path}", err=True)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    from remit.errors import RemitError
    from remit.files import File

    try:
        return File(path).read("rb")
    except (RemitError, OSError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
