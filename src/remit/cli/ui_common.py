"""What `remit server`, `remit viz` and `remit report` share: the ``ui`` extra check and
read-only access to the configured store."""

from __future__ import annotations

from typing import Any

import click


def require_ui() -> None:
    """Fail with the install command when the ``ui`` extra is missing."""
    try:
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise click.ClickException(
            f"this command needs the ui extra ({exc.name} is missing): "
            "pip install 'remit[ui]'"
        ) from None


def open_store(config_dir: str | None) -> tuple[Any, Any]:
    """The loaded config and a read-only engine on its store (ClickException on error)."""
    from remit.config import load_config
    from remit.errors import RemitError
    from remit.ui.store import readonly_engine

    try:
        config = load_config(config_dir)
        return config, readonly_engine(config)
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None
