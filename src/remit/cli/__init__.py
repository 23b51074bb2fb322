"""The `remit` command line: a click group whose subcommands load lazily.

Each subcommand lives in its own module (``run.py``, ``log.py``, ``oneshot.py``, ...) and is
imported only when invoked, so ``remit run`` does not pay for boto3, moto or docker.
"""

from __future__ import annotations

import importlib
import sys

import click

from remit.__about__ import __version__

_SUBCOMMANDS = {
    "run": "remit.cli.run:run",
    "info": "remit.cli.info:info",
    "log": "remit.cli.log:log",
    "init": "remit.cli.init:init",
    "tag": "remit.cli.tag:tag",
    "db": "remit.cli.db:db",
    "export": "remit.cli.transfer:export",
    "import": "remit.cli.transfer:import_",
    "push": "remit.cli.transfer:push",
    "pull": "remit.cli.transfer:pull",
    "aws": "remit.cli.aws:aws",
    "fs": "remit.cli.fs:fs",
    "oneshot": "remit.cli.oneshot:oneshot",
    "view-pickle": "remit.cli.view_pickle:view_pickle",
    "emulate": "remit.cli.emulate:emulate",
    "server": "remit.cli.server:server",
    "viz": "remit.cli.viz:viz",
    "report": "remit.cli.report:report",
    "why": "remit.cli.why:why",
    "gc": "remit.cli.gc:gc",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


def _check_version(ctx: click.Context, param: click.Parameter, spec: str | None) -> None:
    if spec is None:
        return
    from remit.version_check import check_version

    error = check_version(__version__, spec)
    if error:
        raise click.UsageError(error)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="remit")
@click.option(
    "--check-version",
    metavar="SPEC",
    callback=_check_version,
    expose_value=False,
    is_eager=True,
    help="Fail unless this remit's version satisfies SPEC, e.g. '>=0.1'.",
)
@click.option("--setup", "setup_items", multiple=True, metavar="KEY=VALUE",
              help="An argument of the [scheduler] setup_scheduler function (repeatable).")
@click.pass_context
def main(ctx: click.Context, setup_items: tuple[str, ...]) -> None:
    """remit: lazy Python workflows with memoization and provenance, locally or on AWS Batch."""
    from remit.cli.setup_scheduler import parse_setup
    from remit.errors import RemitError

    try:
        ctx.obj = {"setup": parse_setup(setup_items)}
    except RemitError as exc:
        raise click.UsageError(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
