"""`remit view-pickle` never runs a pickle's code unless told to with --unsafe."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_cli


class Evil:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def evil_pickle(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(["data", Evil(marker)]))
    return path, marker


def test_an_evil_pickle_is_shown_not_run(tmp_path: Path) -> None:
    path, marker = evil_pickle(tmp_path)
    proc = run_cli("view-pickle", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists(), "view-pickle ran the pickle's code"
    assert "would import" in proc.stdout and "posix.system" in proc.stdout
    assert f"posix.system('touch {marker}')" in proc.stdout
    assert "--unsafe" in proc.stderr


def test_unsafe_loads_it(tmp_path: Path) -> None:
    path, marker = evil_pickle(tmp_path)
    proc = run_cli("view-pickle", "--unsafe", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert marker.exists()


def test_standard_input_is_not_run_either(tmp_path: Path) -> None:
    path, marker = evil_pickle(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "remit", "view-pickle", "-", "--disassemble"],
                          input=path.read_bytes(), capture_output=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert b"STACK_GLOBAL" in proc.stdout and b"posix.system" in proc.stdout


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_plain_data_is_printed_as_python(tmp_path: Path, protocol: int) -> None:
    value = {"a": [1, 2.5, None, (1,)], "s": {3}, "b": b"x", "f": frozenset({1})}
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps(value, protocol=protocol))
    proc = run_cli("view-pickle", "plain.pkl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "{'a': [1, 2.5, None, (1,)], 'b': b'x', 'f': frozenset({1}), " \
                                  "'s': {3}}"
    assert "would import" not in proc.stdout


def test_not_a_pickle_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(b"\x00\x01junk")
    proc = run_cli("view-pickle", "junk", cwd=tmp_path)
    assert proc.returncode == 1
    assert "junk is not a readable pickle" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.aws
def test_an_s3_pickle_is_not_run(aws_standin, tmp_path: Path) -> None:
    from remit import aws

    path, marker = evil_pickle(tmp_path)
    key = f"evil/{uuid.uuid4().hex}"
    aws.client("s3").put_object(Bucket="remit-test", Key=key, Body=path.read_bytes())
    proc = run_cli("view-pickle", f"s3://remit-test/{key}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists() and "posix.system" in proc.stdout
