"""`remit view-pickle [FILE|-]`: show a pickle (a scratch input, output or error, or a stored
value) without running it; ``--unsafe`` loads it for real.

Loading a pickle can run any code it names, so by default the pickle is only replayed inertly
(``remit.pickle_inspect``): plain data prints as Python, anything else as the globals it would
import and its structure as recorded. ``--disassemble`` adds pickletools' opcode listing.
An array job's ``inputs`` file holds one pickle per child: each is shown as ``[INDEX] ...``.
"""

from __future__ import annotations

import io
import pickle
import pickletools
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

    An array job's inputs file holds one pickle per child; each is shown as [INDEX] VALUE.

    \b
    Example:
      remit view-pickle s3://my-bucket/remit/jobs/3f2a9c1b.../input
      remit view-pickle --unsafe output.pkl     # load it for real (trusted files only)
    """
    parts = _split(_read(path), path)
    for index, data in enumerate(parts):
        text = _show(data, path, unsafe, disassemble)
        click.echo(f"[{index}] {text}" if len(parts) > 1 else text)
    if not unsafe:
        click.echo("# Loading a pickle runs the code it names. If you trust whoever wrote it: "
                   f"remit view-pickle --unsafe {path}", err=True)


def _show(data: bytes, path: str, unsafe: bool, disassemble: bool) -> str:
    """One pickle as text: loaded (unsafe), or replayed inertly."""
    if unsafe:
        try:
            value = pickle.loads(data)
        except Exception as exc:
            raise click.ClickException(f"{path} is not a readable pickle: {exc}") from None
        return pprint.pformat(value)
    from remit.pickle_inspect import disassemble as dis
    from remit.pickle_inspect import inspect_pickle

    report = inspect_pickle(data)
    lines = [dis(data)] if disassemble else []
    if report.plain:
        return "\n".join([*lines, pprint.pformat(report.value)])
    if report.error is not None and not report.imports and report.value is None:
        raise click.ClickException(f"{path} is not a readable pickle: {report.error}")
    shown = path if path != "-" else "standard input"
    if report.imports:
        lines.append(f"# Not loaded: {shown} would import and may call these globals:")
        lines += [f"#   {name}" for name in report.imports]
    if report.error is not None:
        lines.append(f"# Replay stopped early: {report.error}")
    lines.append("# Its contents as recorded (nothing was imported or run):")
    lines.append(pprint.pformat(report.value))
    return "\n".join(lines)


def _split(data: bytes, path: str) -> list[bytes]:
    """The pickles one after another in ``data``, found by their STOP opcodes (not loaded)."""
    stream, parts, start = io.BytesIO(data), [], 0
    try:
        while stream.tell() < len(data):
            for opcode, _arg, _pos in pickletools.genops(stream):
                if opcode.name == "STOP":
                    break
            parts.append(data[start:stream.tell()])
            start = stream.tell()
    except Exception as exc:
        if not parts:
            raise click.ClickException(f"{path} is not a readable pickle: {exc}") from None
        parts.append(data[start:])  # shown, and its error reported, as the others
    return parts or [data]


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    from remit.errors import RemitError
    from remit.files import File

    try:
        return File(path).read("rb")
    except (RemitError, OSError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
