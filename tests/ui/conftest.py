"""A provenance store filled by real runs, and the browser served over real HTTP."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytest.importorskip("starlette")
WORKFLOW = Path(__file__).with_name("workflow.py")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three executions: a run, a run after editing `square`, and a failing run."""
    root = tmp_path_factory.mktemp("uiproject")
    (root / ".remit").mkdir()
    shutil.copy(WORKFLOW, root / "workflow.py")
    out = str(root / "out.txt")
    first = run_cli("run", "workflow.py", "main", "--path", out, cwd=root)
    assert first.returncode == 0, first.stderr
    source = (root / "workflow.py").read_text()
    (root / "workflow.py").write_text(source.replace("return x * x", "return x ** 2"))
    second = run_cli("run", "workflow.py", "main", "--path", out, cwd=root)
    assert second.returncode == 0, second.stderr
    failing = run_cli("run", "workflow.py", "broken", cwd=root)
    assert failing.returncode == 1
    return root


@pytest.fixture(scope="module")
def server_url(project: Path) -> Iterator[str]:
    """The app on a free 127.0.0.1 port, stopped when the module's tests are done."""
    import uvicorn

    from remit.config import load_config
    from remit.ui.server import create_app
    from remit.ui.store import readonly_engine

    config = load_config(project / ".remit")
    engine = readonly_engine(config)
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    engine.dispose()
