"""`remit fs cp` between local paths and the stand-in's S3, files and directories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import STANDIN_BUCKET, invoke_cli

pytestmark = pytest.mark.aws


def test_cp_local_s3_local_and_directories(aws_standin: Any, tmp_path: Path) -> None:
    s3 = boto3.client("s3", endpoint_url=aws_standin.endpoint_url)
    (tmp_path / "data.tsv").write_text("a\tb\n")
    up = invoke_cli("fs", "cp", "data.tsv", f"s3://{STANDIN_BUCKET}/cli/in/", cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    body = s3.get_object(Bucket=STANDIN_BUCKET, Key="cli/in/data.tsv")["Body"].read()
    assert body == b"a\tb\n"
    within = invoke_cli("fs", "cp", f"s3://{STANDIN_BUCKET}/cli/in/data.tsv",
                     f"s3://{STANDIN_BUCKET}/cli/copy/data.tsv", cwd=tmp_path)
    assert within.returncode == 0, within.stderr
    (tmp_path / "back").mkdir()
    down = invoke_cli("fs", "cp", f"s3://{STANDIN_BUCKET}/cli/copy/data.tsv", "back",
                   cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back" / "data.tsv").read_text() == "a\tb\n"

    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "one.txt").write_text("1")
    (tmp_path / "tree" / "sub" / "two.txt").write_text("2")
    tree = invoke_cli("fs", "cp", "-r", "tree", f"s3://{STANDIN_BUCKET}/cli/tree", cwd=tmp_path)
    assert tree.returncode == 0 and "Copied 2 file(s)" in tree.stdout
    back = invoke_cli("fs", "cp", "-r", f"s3://{STANDIN_BUCKET}/cli/tree/", "tree2", cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    assert (tmp_path / "tree2" / "sub" / "two.txt").read_text() == "2"

    missing = invoke_cli("fs", "cp", f"s3://{STANDIN_BUCKET}/cli/nope.txt", "x", cwd=tmp_path)
    assert missing.returncode == 1 and "nope.txt does not exist" in missing.stderr
    folder = invoke_cli("fs", "cp", "tree", "s3://x/y", cwd=tmp_path)
    assert folder.returncode == 1 and "(a directory? add -r)" in folder.stderr
