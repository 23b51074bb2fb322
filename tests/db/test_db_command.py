"""`remit db` on every backend (SQLite and a real PostgreSQL): a database made by migration
0001 alone is upgraded to the current schema with its rows kept; info shows the version."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from remit.db.schema import HEAD_REVISION, current_revision, upgrade
from tests.conftest import invoke_cli


def test_db_upgrade_info_and_downgrade(db_uri: str, tmp_path: Path) -> None:
    if db_uri.startswith("sqlite:///"):
        Path(db_uri[len("sqlite:///"):]).touch()  # an empty database file
    engine = create_engine(db_uri)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO execution (id, argv, start_time, status) VALUES "
                          "('old-exec', '[]', 1.0, 'DONE')"))
    info = invoke_cli("db", "info", "--db", db_uri, cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "Schema:   0001" in info.stdout and "execution   1" in info.stdout

    proc = invoke_cli("db", "upgrade", "--db", db_uri, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM execution")).scalar() == "old-exec"
    assert f"Schema:   {HEAD_REVISION} (this remit: {HEAD_REVISION}; current)" in invoke_cli(
        "db", "info", "--db", db_uri, cwd=tmp_path).stdout

    down = invoke_cli("db", "downgrade", "base", "--db", db_uri, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert current_revision(engine) is None
    again = invoke_cli("db", "upgrade", "--db", db_uri, cwd=tmp_path)
    assert again.returncode == 0 and current_revision(engine) == HEAD_REVISION
    engine.dispose()
    assert not (tmp_path / ".remit").exists()


def test_db_upgrade_never_creates_a_sqlite_database(tmp_path: Path) -> None:
    proc = invoke_cli("db", "upgrade", cwd=tmp_path)
    assert proc.returncode == 1 and "no remit database at" in proc.stderr
    assert not (tmp_path / ".remit").exists()
