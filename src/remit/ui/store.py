"""Opening the provenance store for the pages, pictures and report: read-only, through
``remit.db.readonly`` (nothing is created, a missing or outdated store is one clear error),
with connections any of the web server's threads may use."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from remit.config import Config
from remit.db.readonly import connect_read_only


def readonly_engine(config: Config) -> Engine:
    """An engine on the configured store that cannot modify it."""
    db_uri = config.backend.get("db_uri") or f"sqlite:///{config.config_dir / 'remit.db'}"
    return connect_read_only(db_uri, threads=True)
