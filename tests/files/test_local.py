"""File and Dir on the local filesystem: hashing, atomic writes, validity, pickling, staging."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from remit.errors import FileError
from remit.files import Dir, File, StagingDir, StagingFile, get_filesystem
from remit.hashing import hash_arguments, hash_struct, hash_value, is_valid


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_hash_changes_on_edit_and_not_on_reread(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    file = File(str(path))
    first = file.hash
    assert file.read() == "one"
    assert File(str(path)).hash == first
    file.write("two")
    assert file.hash != first
    assert File(str(path)).hash == file.hash


def test_hash_is_cached_until_update(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    file = File(str(path))
    first = file.hash
    path.write_text("other content")
    assert file.hash == first
    assert file.update_hash() != first
    assert file.hash == File(str(path)).hash


def test_content_hash_ignores_metadata_but_not_content(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("same")
    by_content, by_stat = File(str(path), content_hash=True), File(str(path))
    before_content, before_stat = by_content.hash, by_stat.hash
    os.utime(path, ns=(1, 1))
    assert by_content.update_hash() == before_content
    assert by_stat.update_hash() != before_stat
    path.write_text("different")
    assert by_content.update_hash() != before_content


def test_missing_file_has_a_distinct_hash(tmp_path: Path) -> None:
    missing = File(str(tmp_path / "nope"))
    assert not missing.exists()
    assert missing.hash == hash_struct("File", "missing", missing.path)
    assert missing.hash != File(str(tmp_path / "other")).hash
    (tmp_path / "nope").write_text("")
    assert File(missing.path).hash != missing.hash


def test_read_of_missing_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="nope"):
        File(str(tmp_path / "nope")).read()


def test_write_then_rename_leaves_no_temp_files(tmp_path: Path) -> None:
    file = File(str(tmp_path / "sub" / "out.txt"))
    file.write(b"\x00bytes")
    file.write("text")
    assert _listing(tmp_path / "sub") == ["out.txt"]
    assert file.read() == "text"
    assert file.read("rb") == b"text"


def test_open_for_write_publishes_only_on_close(tmp_path: Path) -> None:
    file = File(str(tmp_path / "out.txt"))
    file.write("old")
    with file.open("w") as out:
        out.write("new")
        assert (tmp_path / "out.txt").read_text() == "old"
    assert file.read() == "new"
    assert _listing(tmp_path) == ["out.txt"]


def test_failed_write_keeps_old_content_and_no_temp_file(tmp_path: Path) -> None:
    file = File(str(tmp_path / "out.txt"))
    file.write("old")
    with pytest.raises(RuntimeError), file.open("wb") as out:
        out.write(b"half")
        raise RuntimeError("crash")
    assert file.read() == "old"
    assert _listing(tmp_path) == ["out.txt"]


def test_is_valid_after_change_and_delete(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    file = File(str(path))
    assert is_valid([file, {"k": file}])
    path.write_text("changed!")
    assert not file.is_valid()
    assert not is_valid([1, {"k": file}])


def test_remove(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    file = File(str(path))
    assert file.hash != hash_struct("File", "missing", str(path))
    file.remove()
    file.remove()
    assert not path.exists()
    assert file.hash == hash_struct("File", "missing", str(path))


def test_deleted_file_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    file = File(str(path))
    assert file.hash
    path.unlink()
    assert not is_valid(file)


def test_arguments_hash_includes_content_identity(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    before = hash_arguments((File(str(path)),), {})
    assert hash_value(File(str(path))) == hash_value(File(str(path)))
    path.write_text("two!")
    assert hash_arguments((File(str(path)),), {}) != before


def test_pickle_keeps_hash_without_io(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    file = File(str(path), content_hash=True)
    sent = file.hash
    path.unlink()  # the sender's view is what travels, not the disk's
    received = pickle.loads(pickle.dumps(file))
    assert (received.path, received.hash, received.content_hash) == (file.path, sent, True)
    assert received == file
    assert not received.is_valid()


def test_pickle_computes_an_unknown_hash_first(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    received = pickle.loads(pickle.dumps(File(str(path))))
    path.write_text("changed!")
    assert received.hash != File(str(path)).hash


def test_repr_equality_and_set_membership(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    file = File(str(path))
    assert re.fullmatch(rf"File\(path={re.escape(str(path))}, hash=[0-9a-f]{{8}}\)", repr(file))
    assert repr(file) == f"File(path={path}, hash={file.hash[:8]})"
    assert File(str(path)) == file
    assert len({file, File(str(path))}) == 1
    assert File(str(tmp_path / "b.txt")) != file


def test_stdout_file_never_touches_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stdout = File("-")
    assert stdout.hash == hash_struct("File", "-")
    assert stdout.is_valid()
    assert pickle.loads(pickle.dumps(stdout)) == stdout
    with pytest.raises(FileError, match="stdout"):
        stdout.read()
    assert _listing(tmp_path) == []


def test_file_url_and_path_properties(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    file = File(f"file://{tmp_path}/a.txt")
    assert file.exists() and file.size() == 1
    assert (file.basename, file.dirname) == ("a.txt", f"file://{tmp_path}")


def test_unknown_scheme_is_a_file_error() -> None:
    with pytest.raises(FileError, match="gs"):
        get_filesystem("gs://bucket/key")


def test_copy_to_preserves_content_and_mode(tmp_path: Path) -> None:
    src = tmp_path / "run.sh"
    src.write_text("echo hi")
    src.chmod(0o755)
    copy = File(str(src)).copy_to(str(tmp_path / "out" / "run.sh"))
    assert copy.read() == "echo hi"
    assert os.stat(copy.path).st_mode & 0o777 == 0o755
    assert copy.hash == File(copy.path).hash


def _make_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "b.txt").write_text("b")
    (root / "a.txt").write_text("a")
    (root / "sub" / "deeper" / "c.txt").write_text("c")


def test_dir_files_sorted_recursive_with_hashes(tmp_path: Path) -> None:
    _make_tree(tmp_path / "d")
    directory = Dir(str(tmp_path / "d") + "/")
    files = directory.files()
    assert [f.path for f in files] == [
        str(tmp_path / "d" / name) for name in ("a.txt", "b.txt", "sub/deeper/c.txt")
    ]
    assert [f.hash for f in files] == [File(f.path).hash for f in files]
    assert directory.exists() and directory.file("a.txt") == files[0]


def test_dir_hash_tracks_its_files(tmp_path: Path) -> None:
    _make_tree(tmp_path / "d")
    directory = Dir(str(tmp_path / "d"))
    first = directory.hash
    assert Dir(directory.path).hash == first and directory.is_valid()
    (tmp_path / "d" / "new.txt").write_text("new")
    assert not is_valid(directory)
    assert directory.update_hash() != first


def test_missing_dir_lists_empty(tmp_path: Path) -> None:
    missing = Dir(str(tmp_path / "none"))
    assert not missing.exists()
    assert missing.files() == []


def test_staging_round_trip_and_pickle(tmp_path: Path) -> None:
    remote = File(str(tmp_path / "remote" / "in.txt"))
    remote.write("input")
    staging = remote.stage(str(tmp_path / "work" / "in.txt"))
    assert isinstance(staging, StagingFile)
    local = staging.stage()
    assert local.read() == "input" and local.path == staging.local.path
    local.write("output")
    published = staging.unstage()
    assert published.read() == "output"
    assert published.hash == File(remote.path).hash != remote.hash
    assert pickle.loads(pickle.dumps(staging)) == staging
    assert hash(pickle.loads(pickle.dumps(staging))) == hash(staging)
    assert not is_valid(staging)  # the remote file changed since the pair was made


def test_stage_defaults_to_basename(tmp_path: Path) -> None:
    assert File(str(tmp_path / "x" / "in.txt")).stage().local.path == "in.txt"
    assert Dir(str(tmp_path / "x" / "dir")).stage().local.path == "dir"


def test_dir_staging_round_trip(tmp_path: Path) -> None:
    _make_tree(tmp_path / "remote")
    staging = Dir(str(tmp_path / "remote")).stage(str(tmp_path / "work"))
    assert isinstance(staging, StagingDir)
    local = staging.stage()
    assert [f.read() for f in local.files()] == ["a", "b", "c"]
    local.file("added.txt").write("added")
    published = staging.unstage()
    assert len(published.files()) == 4
    assert published == Dir(str(tmp_path / "remote"))


def test_import_does_not_import_boto3(tmp_path: Path) -> None:
    code = (
        "import sys, remit, remit.files\n"
        f"remit.files.File({str(tmp_path / 'x')!r}).hash\n"
        "loaded = [m for m in ('boto3', 'botocore', 'remit.files.s3') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_readlines_isfile_isdir_and_touch_as_in_redun(tmp_path: Path) -> None:
    file = File(str(tmp_path / "notes.txt"))
    assert not file.isfile() and not File(str(tmp_path / "sub")).isdir()
    file.touch()
    assert file.isfile() and file.read() == ""
    file.write("a\nb\n")
    assert file.readlines() == ["a\n", "b\n"] and file.readlines("rb") == [b"a\n", b"b\n"]
    os.utime(file.path, (1_000_000, 1_000_000))
    before = file.hash
    file.touch()  # content kept, modification time now: the (metadata) hash moves
    assert file.read() == "a\nb\n" and os.stat(file.path).st_mtime > 1_000_000
    assert file.hash != before
    (tmp_path / "sub").mkdir()
    assert File(str(tmp_path / "sub")).isdir() and not file.isdir()
