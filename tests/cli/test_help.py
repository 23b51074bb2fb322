"""Every `remit` command and subcommand has --help with an example, through click's runner."""

from __future__ import annotations

import click
from click.testing import CliRunner

from remit.cli import _SUBCOMMANDS, main


def _commands() -> list[list[str]]:
    found: list[list[str]] = []
    ctx = click.Context(main)
    for name in _SUBCOMMANDS:
        command = main.get_command(ctx, name)
        found.append([name])
        if isinstance(command, click.Group):
            found.extend([name, sub] for sub in command.list_commands(ctx))
    return found


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    commands = _commands()
    assert ["tag", "add"] in commands and ["db", "upgrade"] in commands
    for path in commands:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Example" in result.output, f"remit {' '.join(path)} --help has no example"


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["nonsense"])
    assert result.exit_code == 2 and "No such command 'nonsense'" in result.output
