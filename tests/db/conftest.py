"""Database backends for the conformance suite: SQLite, and a real throwaway PostgreSQL.

The PostgreSQL server is Debian's (installed by .ci/run): a cluster is created in a temp
directory and started on 127.0.0.1 for this test session, then stopped and deleted. Outside
CI a missing PostgreSQL skips those tests; with CI=true it fails them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{message} [CI=true: .ci/run must install PostgreSQL]", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start a PostgreSQL cluster on 127.0.0.1; yield its admin URL; stop it afterwards."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        _unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    bindir = Path(found[-1]).parent
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        _unavailable("no 'postgres' system user to run the server as")
    base = Path(tempfile.mkdtemp(prefix="remit-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    shutil.chown(base, "postgres")
    shutil.chown(sockets, "postgres")
    port = _free_port()

    def as_postgres(*cmd: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True,
                       capture_output=True, cwd=base)

    as_postgres(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                "--no-sync")
    as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "start",
                "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def db_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'remit.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    from sqlalchemy import create_engine, text

    name = f"remit_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
