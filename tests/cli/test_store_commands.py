"""Store commands through the real CLI: read-only commands create nothing and work on a
read-only `.remit/`; `remit log -`; init; tags; `db` migrations; export/import."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import invoke_cli, run_cli, status_row

WORKFLOW = '''
from remit import File, task

remit_namespace = "store"


@task()
def write(path: str, text: str) -> File:
    out = File(path)
    out.write(text)
    return out


@task()
def big(n: int) -> bytes:
    return bytes(n)


@task()
def main(text: str = "hello", n: int = 100_000) -> list:
    return [write("out.txt", text), big(n)]
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with one recorded execution (a File result and a value-store value)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    proc = run_cli("run", "workflow.py", "main", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root


def executions(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT id, status FROM execution").fetchall())


@pytest.mark.parametrize("args", [
    ["log"], ["log", "-"], ["log", "zzzz"], ["tag", "list"], ["db", "info"],
    ["export", "x.db"], ["run", "--rerun", "-"],
])
def test_read_only_commands_create_nothing_and_fail_clearly(tmp_path: Path,
                                                            args: list[str]) -> None:
    proc = invoke_cli(*args, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout
    assert "no remit database at" in proc.stderr and "remit run FILE TASK" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / ".remit").exists() and not (tmp_path / "x.db").exists()


def _lock(paths: list[Path], locked: bool) -> None:
    """chmod away write permission (and, as root, whom chmod does not stop: chattr +i)."""
    for path in paths:
        mode = path.stat().st_mode
        if locked:
            path.chmod(mode & ~0o222)
        if os.geteuid() == 0:
            flag = "+i" if locked else "-i"
            if subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode:
                pytest.skip("running as root without chattr: cannot make a read-only directory")
        if not locked:
            path.chmod(mode | stat.S_IWUSR)


@pytest.mark.parametrize("args", [["report", "-"], ["viz", "-", "-o", "x.dot"],
                                  ["aws", "list-jobs", "-", "--queue", "q"]])
def test_other_readers_create_nothing_either(tmp_path: Path, args: list[str]) -> None:
    pytest.importorskip("starlette")
    proc = invoke_cli(*args, cwd=tmp_path)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "remit run FILE TASK" in proc.stderr
    assert not (tmp_path / ".remit").exists() and not (tmp_path / "x.dot").exists()


@pytest.fixture
def read_only_project(project: Path) -> Iterator[Path]:
    """The project with its `.remit/` (database and value store) made read-only."""
    remit_dir = project / ".remit"
    paths = [remit_dir, *remit_dir.rglob("*")]
    _lock(paths, True)
    try:
        yield project
    finally:
        _lock(list(reversed(paths)), False)


def test_readers_work_on_a_read_only_store(read_only_project: Path) -> None:
    remit_dir = read_only_project / ".remit"
    with pytest.raises(OSError):
        (remit_dir / "probe").write_text("")
    before = sorted(p.name for p in remit_dir.iterdir())
    for args in (["log"], ["log", "-"], ["tag", "list"], ["db", "info"], ["db", "versions"],
                 ["log", "out.txt"], ["export", str(read_only_project.parent / "o.db")],
                 ["why", "out.txt"]):
        proc = invoke_cli(*args, cwd=read_only_project)
        assert proc.returncode == 0, (args, proc.stderr)
    assert "run workflow.py main" in invoke_cli("log", "-", cwd=read_only_project).stdout
    assert sorted(p.name for p in remit_dir.iterdir()) == before
    # a writer says what is wrong in one line
    exec_id = invoke_cli("log", "-", cwd=read_only_project).stdout.split()[1]
    tag = invoke_cli("tag", "add", exec_id, "a=b", cwd=read_only_project)
    assert tag.returncode == 1
    assert tag.stderr == f"Error: {read_only_project / '.remit'} is read-only, so nothing can " \
        "be recorded there; make it writable or pass --config DIR of a writable store\n"


def test_log_dash_is_the_last_execution_and_unknown_ids_fail(project: Path) -> None:
    assert run_cli("run", "workflow.py", "main", "--text", "again", cwd=project).returncode == 0
    last = invoke_cli("log", "-", cwd=project)
    assert last.returncode == 0
    assert "main --text again" in last.stdout.splitlines()[0]
    unknown = invoke_cli("log", "zzzz", cwd=project)
    assert unknown.returncode == 1 and "nothing recorded matches 'zzzz'" in unknown.stderr


def test_init_writes_every_option_commented(tmp_path: Path) -> None:
    from remit.config import load_config

    proc = invoke_cli("init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ini = tmp_path / ".remit" / "remit.ini"
    text = ini.read_text()
    for option in ("db_uri", "value_store_min_size", "job_status_interval", "flush_interval",
                   "context_file", "gpu_family", "max_workers", "job_name_prefix",
                   "code_includes", "min_array_size", "debug_scratch"):
        assert f"; {option} = " in text, option
    assert load_config(ini.parent).executors == {}  # all commented out: the defaults
    # Uncommented, every section and option is one remit accepts, at its default value.
    ini.write_text("\n".join(
        line[2:] if line.startswith("; ") and ("=" in line or line.startswith("; ["))
        and "(not set)" not in line else line
        for line in text.splitlines()))
    config = load_config(ini.parent)
    assert config.get_float("scheduler", "flush_interval", 0) == 1.0
    assert config.executors["procs"]["mode"] == "process"
    assert config.context["my_tool.flag"] == "true"
    from remit.executors.aws_batch.options import BatchOptions

    batch = BatchOptions.parse(config.executors["batch"], "[executors.batch]")
    assert batch == BatchOptions(image=batch.image, queue="YOUR_QUEUE",
                                 s3_scratch="s3://YOUR_BUCKET/remit/")
    again = invoke_cli("init", cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_tags_on_executions_jobs_and_files(project: Path) -> None:
    db = project / ".remit" / "remit.db"
    with sqlite3.connect(db) as conn:
        exec_id = conn.execute("SELECT id FROM execution").fetchone()[0]
        file_hash = conn.execute("SELECT value_hash FROM file").fetchone()[0]
    assert invoke_cli("tag", "add", exec_id[:8], "project=acme", "stage=dev",
                   cwd=project).returncode == 0
    assert invoke_cli("tag", "add", file_hash[:10], "project=acme", cwd=project).returncode == 0
    listing = invoke_cli("tag", "list", exec_id[:8], cwd=project)
    assert listing.stdout.splitlines() == [f"Execution {exec_id}", "  project=acme",
                                           "  stage=dev"]
    found = invoke_cli("tag", "list", "project=acme", cwd=project).stdout
    assert f"execution {exec_id[:12]}  project=acme" in found
    assert f"file      {file_hash[:12]}  project=acme" in found
    assert "stage=dev" in invoke_cli("tag", "list", "stage=*", cwd=project).stdout
    assert invoke_cli("tag", "rm", exec_id[:8], "stage", cwd=project).returncode == 0
    assert "stage" not in invoke_cli("tag", "list", exec_id[:8], cwd=project).stdout
    missing = invoke_cli("tag", "rm", exec_id[:8], "stage", cwd=project)
    assert missing.returncode == 1 and "has no tag stage" in missing.stderr
    bad = invoke_cli("tag", "add", exec_id[:8], "novalue", cwd=project)
    assert bad.returncode == 2 and "write novalue=VALUE" in bad.stderr
    unknown = invoke_cli("tag", "add", "zzzz", "a=b", cwd=project)
    assert unknown.returncode == 1
    assert "no execution, job, task, value or File matches" in unknown.stderr


def test_db_upgrade_from_schema_0001(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from remit.db.schema import HEAD_REVISION, upgrade

    db = tmp_path / ".remit" / "remit.db"
    db.parent.mkdir()
    engine = create_engine(f"sqlite:///{db}")
    upgrade(engine, "0001")  # the database as the first release made it
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO execution (id, argv, start_time, status) VALUES "
                             "('e0000001-old', '[\"remit\", \"run\", \"old.py\", \"main\"]', "
                             "1.0, 'DONE')")
    engine.dispose()
    info = invoke_cli("db", "info", cwd=tmp_path)
    assert info.returncode == 0 and "Schema:   0001" in info.stdout
    proc = invoke_cli("db", "upgrade", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (f"-> {HEAD_REVISION}" in proc.stdout or "already at 0001" in proc.stdout)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] \
            == HEAD_REVISION
    assert "run old.py main" in invoke_cli("log", "-", cwd=tmp_path).stdout
    versions = invoke_cli("db", "versions", cwd=tmp_path)
    assert f"* {HEAD_REVISION}" in versions.stdout and "0001" in versions.stdout
    down = invoke_cli("db", "downgrade", "base", cwd=tmp_path)
    assert down.returncode == 0 and "-> (none)" in down.stdout
    assert "Schema:   (none)" in invoke_cli("db", "info", cwd=tmp_path).stdout
    bad = invoke_cli("db", "downgrade", "zz", cwd=tmp_path)
    assert bad.returncode == 1 and "remit db versions" in bad.stderr


def test_export_import_round_trip_with_value_store_files(project: Path, tmp_path: Path) -> None:
    export = tmp_path / "runs.db"
    proc = invoke_cli("export", str(export), cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "Exported 1 execution(s)" in proc.stdout
    other = tmp_path / "other"
    other.mkdir()
    (other / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    imported = invoke_cli("import", str(export), cwd=other)
    assert imported.returncode == 0, imported.stderr
    assert executions(other / ".remit" / "remit.db") == executions(project / ".remit" / "remit.db")
    # the 100 kB value went through the export inline and landed in the value store again
    assert list((other / ".remit" / "values").rglob("*"))
    assert "nothing" in invoke_cli("import", str(export), cwd=other).stdout
    log = invoke_cli("log", "-", cwd=other)
    assert "store.write" in log.stdout and "store.big" in log.stdout
    # the imported cache serves the same run; only the File (not copied here) is made again
    rerun = run_cli("run", "workflow.py", "main", cwd=other)
    assert rerun.returncode == 0, rerun.stderr
    assert status_row(rerun.stderr, "store.big") == [0, 0, 0, 1, 0, 1]
    assert status_row(rerun.stderr, "store.main") == [0, 0, 0, 1, 0, 1]
    assert status_row(rerun.stderr, "store.write") == [0, 0, 0, 0, 1, 1]
    last = invoke_cli("export", str(tmp_path / "last.db"), "-", cwd=project)
    assert last.returncode == 0 and "Exported 1 execution(s)" in last.stdout
    bad = invoke_cli("import", str(tmp_path / "nope.db"), cwd=other)
    assert bad.returncode == 1 and "no export file at" in bad.stderr
