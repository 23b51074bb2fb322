"""The colors example on the stand-in's S3: script with staged S3 files, caching, `remit log`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import boto3
import pytest

from tests.conftest import run_cli, status_row

pytestmark = pytest.mark.aws

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "colors"



@pytest.fixture
def project(aws_standin, tmp_path: Path, request) -> tuple[Path, str]:
    shutil.copy(EXAMPLE / "workflow.py", tmp_path / "workflow.py")
    prefix = f"colors-{request.node.name[-20:]}"
    boto3.client("s3").upload_file(str(EXAMPLE / "data" / "data.tsv"), "remit-test",
                                   f"{prefix}/data.tsv")
    return tmp_path, prefix


def run_colors(path: Path, prefix: str):
    return run_cli("run", "workflow.py", "main", "--data", f"s3://remit-test/{prefix}/data.tsv",
                   "--output-path", f"s3://remit-test/{prefix}/out/", cwd=path)


def test_counts_colors_caches_and_reruns_on_change(project) -> None:
    path, prefix = project
    proc = run_colors(path, prefix)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(
        r"\{'colors-counts': File\(path=s3://remit-test/\S+/out/color-counts.tsv, "
        r"hash=[0-9a-f]{8}\),\s+'log': File\(path=s3://remit-test/\S+/out/color-counts.log, "
        r"hash=[0-9a-f]{8}\)\}", proc.stdout.strip())
    s3 = boto3.client("s3")
    counts = s3.get_object(Bucket="remit-test", Key=f"{prefix}/out/color-counts.tsv")[
        "Body"].read().decode()
    assert counts.split() == ["3", "green", "2", "purple", "3", "red", "2", "yellow"]
    log = s3.get_object(Bucket="remit-test", Key=f"{prefix}/out/color-counts.log")["Body"].read()
    assert log == b"sorting colors...\ndone.\n"

    again = run_colors(path, prefix)
    assert again.returncode == 0 and status_row(again.stderr, "ALL")[4] == 0  # nothing ran
    assert again.stdout == proc.stdout

    s3.put_object(Bucket="remit-test", Key=f"{prefix}/data.tsv",
                  Body=b"id\tname\tcolor\n1\tsky\tblue\n")
    changed = run_colors(path, prefix)
    assert changed.returncode == 0, changed.stderr
    assert status_row(changed.stderr, "examples.colors.main")[3] == 1  # main stays cached
    assert status_row(changed.stderr, "remit.script_task")[4] == 1  # the script ran again
    counts = s3.get_object(Bucket="remit-test", Key=f"{prefix}/out/color-counts.tsv")[
        "Body"].read().decode()
    assert counts.split() == ["1", "blue"]

    s3.delete_object(Bucket="remit-test", Key=f"{prefix}/out/color-counts.tsv")
    restored = run_colors(path, prefix)
    assert status_row(restored.stderr, "remit.script_task")[4] == 1  # a deleted output re-runs


def test_remit_log_of_an_s3_output(project) -> None:
    path, prefix = project
    assert run_colors(path, prefix).returncode == 0
    url = f"s3://remit-test/{prefix}/out/color-counts.tsv"
    proc = run_cli("log", url, cwd=path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(rf"^File [0-9a-f]{{8}} \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {re.escape(url)}$",
                     out, re.M)
    producer = re.search(r"^Produced by Job ([0-9a-f]{8})$", out, re.M)
    assert producer
    # script_task wrote the file: it is the deepest call that returned it.
    assert re.search(rf"Job {producer.group(1)}\S* \[ DONE \] .*remit\.script_task\(command=",
                     out)
    assert re.search(r"Traceback: Exec [0-9a-f]{8} > \(2 Jobs\) > Job [0-9a-f]{8} script > "
                     r"Job [0-9a-f]{8} script_task", out)
    assert "Duration: " in out and "CallNode " in out and "Args:" in out and "Result:" in out
    assert "def script_task(" in out  # the task's source
    assert "Upstream dataflow:" in out
    assert "result <-- <" in out and "count_colors_by_script(data, output_path)" in out
    assert f"File(path=s3://remit-test/{prefix}/data.tsv, hash=" in out
    # The job view lists the files in and out; a path never seen is a clear message.
    job = run_cli("log", producer.group(1), cwd=path)
    assert "Files out:" in job.stdout and url in job.stdout
    missing = run_cli("log", "s3://remit-test/never/seen.tsv", cwd=path)
    assert missing.returncode == 1 and "no File recorded at s3://remit-test/never/seen.tsv" \
        in missing.stderr
    listing = run_cli("log", "--file", cwd=path)
    assert url in listing.stdout and f"s3://remit-test/{prefix}/data.tsv" in listing.stdout


def test_remit_log_of_a_local_file(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text(
        "from remit import File, task\n\n"
        "@task()\ndef write(text: str) -> File:\n"
        "    out = File('result.txt')\n    out.write(text)\n    return out\n\n"
        "@task()\ndef main() -> File:\n    return write('hello')\n"
    )
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    proc = run_cli("log", "result.txt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Produced by Job" in proc.stdout and "write(text='hello')" in proc.stdout
    # Made again by a later run: the log names the newest execution's job.
    assert run_cli("run", "--no-cache", "workflow.py", "main", cwd=tmp_path).returncode == 0
    newest = re.search(r"Exec ([0-9a-f]{8})", run_cli("log", cwd=tmp_path).stdout).group(1)
    again = run_cli("log", "result.txt", cwd=tmp_path).stdout
    assert f"Traceback: Exec {newest} >" in again
