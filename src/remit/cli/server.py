"""`remit server`: browse the provenance store in a web browser."""

from __future__ import annotations

import click

from remit.cli.ui_common import open_store, require_ui


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 exposes the store to your network.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on (0: any).")
@click.option("-c", "--config", "config_dir", metavar="DIR", help="Config directory.")
def server(host: str, port: int, config_dir: str | None) -> None:
    """Serve a read-only provenance browser: executions, job trees, files, tasks, reports.

    \b
    Example:
      remit server                    # then open http://127.0.0.1:8000
      remit server --port 9000 -c path/to/.remit

    It listens on 127.0.0.1 only. To share it, put it behind an authenticating reverse proxy
    or an SSH tunnel (ssh -L 8000:127.0.0.1:8000 host); --host 0.0.0.0 exposes every recorded
    argument and result to anyone who can reach the port.
    """
    require_ui()
    import uvicorn

    from remit.ui.server import create_app

    config, engine = open_store(config_dir)
    region = next((o.get("aws_region") for o in config.executors.values()
                   if o.get("type") == "aws_batch" and o.get("aws_region")), None)
    app = create_app(engine, config.report, config.where("report"), region)
    click.echo(f"[remit] provenance browser for {engine.url.render_as_string()} "
               f"at http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
