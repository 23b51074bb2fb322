"""`remit gc`: it deletes only what no recent call needs, and nothing with --dry-run."""

from __future__ import annotations

import datetime
import os
import sqlite3
import textwrap
import time
import uuid
from pathlib import Path

from remit import aws
from tests.conftest import run_cli, status_row

WORKFLOW = '''
from remit import task

remit_namespace = "gcdemo"


@task()
def blob(tag: str) -> bytes:
    return tag.encode() * 100_000


@task()
def main(tag: str = "a") -> int:
    return blob(tag)
'''

DAY = 86400.0


def _stored(tmp_path: Path) -> dict[str, Path]:
    return {p.name: p for p in (tmp_path / ".remit" / "values").glob("??/*")}


def _age_everything(tmp_path: Path, days: float) -> None:
    """Make every recorded call and stored value ``days`` older, as if run back then."""
    shift = days * DAY
    with sqlite3.connect(tmp_path / ".remit" / "remit.db") as db:
        db.execute("UPDATE call_node SET timestamp = timestamp - ?", (shift,))
        db.execute("UPDATE job SET start_time = start_time - ?, end_time = end_time - ?",
                   (shift, shift))
    for path in _stored(tmp_path).values():
        stat = path.stat()
        os.utime(path, (stat.st_atime - shift, stat.st_mtime - shift))


def test_gc_removes_only_unreferenced_values(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    assert run_cli("run", "workflow.py", "main", "--tag", "old", cwd=tmp_path).returncode == 0
    _age_everything(tmp_path, 40)
    old = set(_stored(tmp_path))
    assert len(old) == 1
    assert run_cli("run", "workflow.py", "main", "--tag", "new", cwd=tmp_path).returncode == 0
    stored = _stored(tmp_path)
    [new] = set(stored) - old
    [old_hash] = old

    dry = run_cli("gc", "--older-than", "30d", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert f"would remove {stored[old_hash]}" in dry.stderr and new not in dry.stderr
    assert "1 of 2 stored values unreferenced (dry run: nothing deleted)" in dry.stderr
    assert set(_stored(tmp_path)) == {old_hash, new}

    done = run_cli("gc", "--older-than", "30d", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"removed {stored[old_hash]}" in done.stderr
    assert set(_stored(tmp_path)) == {new}
    # Both calls still give the right answer; the collected one runs again, quietly.
    for tag, ran in (("new", 0), ("old", 1)):
        again = run_cli("run", "workflow.py", "main", "--tag", tag, cwd=tmp_path)
        assert again.returncode == 0 and "warning" not in again.stderr, again.stderr
        assert f"b'{tag * 3}" in again.stdout
        assert status_row(again.stderr, "gcdemo.blob")[4] == ran


def test_gc_of_batch_scratch_keeps_what_recent_jobs_need(tmp_path: Path, aws_standin) -> None:
    bucket = f"remit-gc-{uuid.uuid4().hex[:12]}"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    scratch = f"s3://{bucket}/scratch"
    (tmp_path / ".remit").mkdir()
    (tmp_path / ".remit" / "remit.ini").write_text(
        f"[executors.batch]\ntype = aws_batch\nimage = img\nqueue = q\ns3_scratch = {scratch}\n"
    )
    (tmp_path / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    assert run_cli("run", "workflow.py", "blob", "--tag", "x", cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / ".remit" / "remit.db") as db:
        [(recent_eval,)] = db.execute("SELECT eval_hash FROM job").fetchall()
    keys = [f"scratch/jobs/{recent_eval}/input", f"scratch/jobs/{recent_eval}/output",
            "scratch/jobs/0123456789abcdef0123456789abcdef01234567/output",
            "scratch/code/feedface.tar.gz", "scratch/array_jobs/arr-1/eval_hashes"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.put_object(Bucket=bucket, Key="elsewhere/data.tsv", Body=b"not remit's")
    time.sleep(1.1)  # S3 keeps times to the second
    cutoff = time.time()
    time.sleep(0.1)
    # The same call again, after the cutoff: its scratch is needed; the rest was last used
    # before the cutoff.
    rerun = run_cli("run", "--no-cache", "workflow.py", "blob", "--tag", "x", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    age = datetime.datetime.fromtimestamp(cutoff).isoformat()
    doomed = keys[2:]

    dry = run_cli("gc", "--older-than", age, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    for key in doomed:
        assert f"would remove s3://{bucket}/{key}" in dry.stderr
    assert recent_eval not in dry.stderr and "elsewhere" not in dry.stderr
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {*keys, "elsewhere/data.tsv"}

    done = run_cli("gc", "--older-than", age, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {*keys[:2], "elsewhere/data.tsv"}


def test_gc_rejects_a_bad_age(tmp_path: Path) -> None:
    proc = run_cli("gc", "--older-than", "soon", cwd=tmp_path)
    assert proc.returncode == 2 and "expected a duration such as 30d" in proc.stderr
    assert "--older-than" in proc.stderr
