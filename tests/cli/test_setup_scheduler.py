"""``[scheduler] setup_scheduler`` and ``remit --setup KEY=VALUE``, as in redun."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

WORKFLOW = '''
from remit import Scheduler, task


@task(executor="fast")
def work(x: int) -> str:
    import threading
    return f"{x * 3} on {threading.current_thread().name.split('_')[0]}"


@task()
def main(x: int = 2) -> str:
    return work(x)


def setup_scheduler(config, profile: str = "prod") -> Scheduler:
    scheduler = Scheduler(config=config)
    mode = "thread" if profile == "dev" else "process"
    scheduler.add_executor("fast", {"type": "local", "mode": mode})
    return scheduler
'''


def _project(tmp_path: Path, setting: str) -> Path:
    (tmp_path / "wf.py").write_text(WORKFLOW)
    (tmp_path / ".remit").mkdir()
    (tmp_path / ".remit" / "remit.ini").write_text(f"[scheduler]\nsetup_scheduler = {setting}\n")
    return tmp_path


def test_the_setup_function_builds_the_scheduler_and_the_run_is_recorded(
        tmp_path: Path) -> None:
    project = _project(tmp_path, "../wf.py::setup_scheduler")
    dev = run_cli("--setup", "profile=dev", "run", "wf.py", "main", "--x", "4", cwd=project)
    assert dev.returncode == 0, dev.stderr
    assert dev.stdout.strip().splitlines()[-1] == "'12 on remit-fast'"  # thread mode: dev
    assert "remit run wf.py main --x 4" in dev.stderr  # the command line as recorded
    log = run_cli("log", cwd=project)
    assert "DONE" in log.stdout and "wf.py main --x 4" in log.stdout
    again = run_cli("--setup", "profile=dev", "run", "wf.py", "main", "--x", "4", cwd=project)
    assert "Cached Job" in again.stderr and "Run    Job" not in again.stderr


def test_setup_errors_name_the_fix(tmp_path: Path) -> None:
    project = _project(tmp_path, "../wf.py::setup_scheduler")
    unknown = run_cli("--setup", "profil=dev", "run", "wf.py", "main", cwd=project)
    assert unknown.returncode != 0
    assert "--setup profil: not a parameter of setup_scheduler() (its parameters: profile)" \
        in unknown.stderr
    malformed = run_cli("--setup", "dev", "run", "wf.py", "main", cwd=project)
    assert malformed.returncode == 2 and "expected KEY=VALUE" in malformed.stderr
    (tmp_path / "other").mkdir()
    missing = _project(tmp_path / "other", "../wf.py::no_such_function")
    gone = run_cli("run", "wf.py", "main", cwd=missing)
    assert gone.returncode != 0 and "has no function 'no_such_function'" in gone.stderr
