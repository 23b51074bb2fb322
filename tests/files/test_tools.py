"""redun's file helpers under their redun import paths: ``remit.file`` and ``remit.tools``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from remit.file import Dir, File, glob_file
from remit.scheduler import Scheduler
from remit.tools import copy_dir, copy_file, render_template


def _tree(root: Path) -> None:
    (root / "reads" / "lane1").mkdir(parents=True)
    (root / "reads" / "a.fastq").write_text("A\n")
    (root / "reads" / "lane1" / "b.fastq").write_text("B\n")
    (root / "reads" / "notes.txt").write_text("n\n")


def test_glob_file_on_local_paths(tmp_path: Path) -> None:
    _tree(tmp_path)
    reads = tmp_path / "reads"
    assert glob_file(f"{reads}/*.fastq") == [f"{reads}/a.fastq"]
    assert glob_file(f"{reads}/**/*.fastq") == [f"{reads}/a.fastq", f"{reads}/lane1/b.fastq"]
    assert glob_file(f"{reads}/*.bam") == []


@pytest.mark.aws
def test_glob_file_on_s3(bucket: str) -> None:
    for key in ("reads/a.fastq", "reads/lane1/b.fastq", "reads/notes.txt", "other/c.fastq"):
        File(f"s3://{bucket}/{key}").write("x")
    assert glob_file(f"s3://{bucket}/reads/*.fastq") == [f"s3://{bucket}/reads/a.fastq"]
    assert glob_file(f"s3://{bucket}/**/*.fastq") == [
        f"s3://{bucket}/other/c.fastq", f"s3://{bucket}/reads/a.fastq",
        f"s3://{bucket}/reads/lane1/b.fastq"]
    assert glob_file(f"s3://{bucket}/reads/?otes.t[xy]t") == [f"s3://{bucket}/reads/notes.txt"]


def test_basename_and_dirname_are_also_callable_as_in_redun(tmp_path: Path) -> None:
    file = File(str(tmp_path / "x" / "a.fastq"))
    assert file.basename == "a.fastq" and file.basename() == "a.fastq"
    assert file.dirname() == str(tmp_path / "x")


def test_copy_file_and_copy_dir(make_scheduler: Callable[..., Scheduler],
                                tmp_path: Path) -> None:
    _tree(tmp_path)
    scheduler = make_scheduler()
    out = tmp_path / "out"
    copied = scheduler.run(copy_file(File(str(tmp_path / "reads" / "a.fastq")), f"{out}/"))
    assert copied.path == f"{out}/a.fastq" and copied.read() == "A\n"
    (out / "a.fastq").write_text("changed\n")
    kept = make_scheduler().run(copy_file(File(str(tmp_path / "reads" / "a.fastq")),
                                          f"{out}/", skip_if_exists=True))
    assert kept.read() == "changed\n"  # the copy there was kept (and the old result not served)
    tree = scheduler.run(copy_dir(Dir(str(tmp_path / "reads")), str(tmp_path / "copy")))
    assert isinstance(tree, Dir) and tree.path == str(tmp_path / "copy")
    assert sorted(f.path[len(tree.path) + 1:] for f in tree.files()) == \
        ["a.fastq", "lane1/b.fastq", "notes.txt"]
    assert (tmp_path / "copy" / "lane1" / "b.fastq").read_text() == "B\n"


def test_render_template(make_scheduler: Callable[..., Scheduler], tmp_path: Path) -> None:
    template = tmp_path / "report.txt.j2"
    template.write_text("{{ sample }}: {{ reads | length }} reads\n")
    out = make_scheduler().run(render_template(str(tmp_path / "report.txt"),
                                               File(str(template)),
                                               {"sample": "s1", "reads": [1, 2, 3]}))
    assert out.read() == "s1: 3 reads"  # jinja2 drops the final newline, as under redun
