"""`remit viz`: draw an execution's call graph or a File's lineage with Graphviz."""

from __future__ import annotations

from pathlib import Path

import click

from remit.cli.ui_common import open_store


@click.command()
@click.argument("target", required=False, default="-")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="Where to write the picture: .svg, .png or .dot.")
@click.option("-c", "--config", "config_dir", metavar="DIR", help="Config directory.")
def viz(target: str, output: str, config_dir: str | None) -> None:
    """Draw the call graph of an execution (id prefix, or - for the newest) or the lineage
    of a File (a path or s3:// URL).

    \b
    Example:
      remit viz - -o run.svg
      remit viz 3f2a9c1b -o run.png
      remit viz s3://bucket/out/color-counts.tsv -o lineage.svg
    """
    from remit.errors import RemitError
    from remit.ui import viz as pictures
    from remit.ui.queries import UIQuery

    fmt = Path(output).suffix.lstrip(".").lower()
    if fmt not in pictures.FORMATS:
        raise click.BadParameter(f"{output!r}: name a .svg, .png or .dot file",
                                 param_hint="-o")
    _config, engine = open_store(config_dir)
    try:
        with engine.connect() as conn:
            if "/" in target or "://" in target or Path(target).exists():
                path = target if "://" in target else str(Path(target).resolve())
                graph = pictures.file_graph(conn, path)
            else:
                if target == "-":
                    latest = UIQuery(conn).latest_execution()
                    if latest is None:
                        raise RemitError("no executions recorded yet")
                    target = latest["id"]
                graph = pictures.execution_graph(conn, target)
        data = pictures.render(pictures.to_dot(graph), fmt)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
    Path(output).write_bytes(data)
    click.echo(f"[remit] wrote {output} ({len(graph.nodes)} nodes, {len(graph.edges)} edges)")
