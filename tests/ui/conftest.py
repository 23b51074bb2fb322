"""A provenance store filled by real runs, and the browser served over real HTTP."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.ui.serving import serving

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
    with serving(project / ".remit") as url:
        yield url
