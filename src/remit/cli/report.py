"""`remit report`: where an execution's time and money went."""

from __future__ import annotations

from pathlib import Path

import click

from remit.cli.ui_common import open_store


@click.command()
@click.argument("execution_id", required=False, default="-")
@click.option("-o", "--output", metavar="FILE.html",
              help="Write the report as an HTML page instead of printing it.")
@click.option("-c", "--config", "config_dir", metavar="DIR", help="Config directory.")
def report(execution_id: str, output: str | None, config_dir: str | None) -> None:
    """Wall time and CPU by task, critical path, cached vs ran, slowest jobs, and AWS Batch
    vCPU/memory/GPU hours with an estimated cost ([report] prices in remit.ini).

    \b
    Example:
      remit report -                  # the newest execution, as text
      remit report 3f2a9c1b -o report.html
    """
    from remit.errors import RemitError
    from remit.ui.queries import UIQuery
    from remit.ui.report import build_report, format_text

    config, engine = open_store(config_dir)
    try:
        with engine.connect() as conn:
            if execution_id == "-":
                latest = UIQuery(conn).latest_execution()
                if latest is None:
                    raise RemitError("no executions recorded yet")
                execution_id = latest["id"]
            result = build_report(conn, execution_id, config.report, config.where("report"))
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
    if output is None:
        click.echo(format_text(result), nl=False)
        return
    from remit.cli.ui_common import require_ui

    require_ui()
    from remit.ui.pages import render_report_page

    Path(output).write_text(render_report_page(result))
    click.echo(f"[remit] wrote {output}")
