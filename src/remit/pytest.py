"""pytest plugin: a ``scheduler`` fixture for testing workflows, as redun's ``redun.pytest``.

Installed with remit (a ``pytest11`` entry point), so a test only names the fixture::

    def test_main(scheduler):
        assert scheduler.run(main(2)) == 9

Each test gets a Scheduler that records into its own SQLite store under the test's
``tmp_path`` (so a second ``run`` in the same test is served from the cache, as under
``remit run``) and runs tasks on the implicit executors (``default``: threads, ``process``).
``scheduler.add_executor(LocalExecutor("batch"))`` stands in for other executors. The store
and its reader come from ``remit.db``, imported only when the fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from remit.config import Config
from remit.scheduler import Scheduler


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[Scheduler]:
    """A Scheduler with a fresh SQLite store in the test's temporary directory."""
    from remit.db.backend import Backend
    from remit.db.recorder import ProvenanceRecorder

    config_dir = tmp_path / ".remit"
    config_dir.mkdir(exist_ok=True)
    backend = Backend.for_config_dir(config_dir, {})
    made = Scheduler(Config(config_dir=config_dir), backend,
                     listeners=[ProvenanceRecorder(backend)])
    try:
        yield made
    finally:
        backend.close()


__all__ = ["Scheduler", "scheduler"]
