"""Serve a project's store with `remit server`'s app on a free 127.0.0.1 port, for tests."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(config_dir: Path) -> Iterator[str]:
    """Yield the app's base URL; stop the server on exit."""
    import uvicorn

    from remit.config import load_config
    from remit.ui.server import create_app
    from remit.ui.store import readonly_engine

    engine = readonly_engine(load_config(config_dir))
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()


def get(url: str) -> tuple[int, str]:
    """Status and text of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
