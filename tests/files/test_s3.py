"""File and Dir on S3, against moto's server over real HTTP; and the boto3 client factory."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from remit import aws
from remit.errors import FileError
from remit.files import Dir, File, get_filesystem
from remit.files.s3 import MiB, S3FileSystem
from remit.hashing import hash_struct, is_valid

pytestmark = pytest.mark.aws


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def test_write_read_exists_size(bucket: str) -> None:
    file = File(f"s3://{bucket}/dir/a.txt")
    assert not file.exists()
    file.write("hello\nworld\n")
    assert file.exists() and file.size() == 12
    assert file.read() == "hello\nworld\n"
    assert file.read("rb") == b"hello\nworld\n"
    with file.open() as text:
        assert list(text) == ["hello\n", "world\n"]
    with file.open("rb") as body:
        assert body.read() == b"hello\nworld\n"


def test_hash_is_etag_and_size(bucket: str) -> None:
    file = File(f"s3://{bucket}/a.bin")
    file.write(b"data")
    assert file.hash == hash_struct("File", "s3", file.path, f"etag:{_etag(b'data')}:4")
    assert File(file.path, content_hash=True).hash == file.hash
    assert File(f"s3://{bucket}/missing").hash == hash_struct(
        "File", "missing", f"s3://{bucket}/missing"
    )


def test_open_for_write_uploads_on_close_only(bucket: str) -> None:
    file = File(f"s3://{bucket}/out.txt")
    with file.open("w") as out:
        out.write("streamed")
        assert not File(file.path).exists()
    assert file.read() == "streamed"
    with pytest.raises(RuntimeError), file.open("wb") as out:
        out.write(b"half")
        raise RuntimeError("crash")
    assert file.read() == "streamed"


def test_is_valid_after_change_and_remove(bucket: str) -> None:
    file = File(f"s3://{bucket}/a.txt")
    file.write("one")
    recorded = File(file.path)
    assert is_valid([recorded]) and recorded.hash == file.hash
    File(file.path).write("two")
    assert not is_valid(recorded)
    current = File(file.path)
    assert current.is_valid()
    current.remove()
    assert not current.exists()
    assert current.hash == hash_struct("File", "missing", file.path)
    assert not is_valid({"out": recorded})


def test_deleted_object_is_invalid(bucket: str) -> None:
    file = File(f"s3://{bucket}/a.txt")
    file.write("one")
    aws.client("s3").delete_object(Bucket=bucket, Key="a.txt")
    assert not file.is_valid()


def test_multipart_upload_above_threshold(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(S3FileSystem, "multipart_threshold", 5 * MiB)
    monkeypatch.setattr(S3FileSystem, "multipart_chunksize", 5 * MiB)
    data = os.urandom(11 * MiB)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    uploaded = File(str(local)).copy_to(f"s3://{bucket}/big.bin")
    etag = aws.client("s3").head_object(Bucket=bucket, Key="big.bin")["ETag"]
    assert etag.endswith('-3"')
    assert uploaded.size() == len(data)
    assert uploaded.copy_to(str(tmp_path / "back.bin")).read("rb") == data
    small = File(f"s3://{bucket}/small.bin")
    small.write(b"x" * MiB)
    assert get_filesystem(small.path).hash_info(small.path) == f"etag:{_etag(b'x' * MiB)}:{MiB}"


def test_copy_local_to_s3_to_local_and_s3_to_s3(bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "in.txt"
    local.write_text("payload")
    remote = File(str(local)).copy_to(File(f"s3://{bucket}/in.txt"))
    assert remote.read() == "payload" and remote.hash == File(remote.path).hash
    copied = remote.copy_to(f"s3://{bucket}/copy/in.txt")
    assert copied.read() == "payload"
    assert copied.hash != remote.hash  # same ETag, different path
    back = copied.copy_to(str(tmp_path / "out" / "in.txt"))
    assert Path(back.path).read_text() == "payload"
    assert back.hash == File(back.path).hash


def test_dir_files_from_one_listing(bucket: str) -> None:
    s3 = aws.client("s3")
    for key in ("d/b.txt", "d/a.txt", "d/sub/c.txt", "d/marker/", "other/x.txt", "dd/y.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    directory = Dir(f"s3://{bucket}/d/")
    files = directory.files()
    assert [f.path for f in files] == [
        f"s3://{bucket}/d/{name}" for name in ("a.txt", "b.txt", "sub/c.txt")
    ]
    assert [f.hash for f in files] == [File(f.path).hash for f in files]
    assert directory.exists() and not Dir(f"s3://{bucket}/none").exists()
    first = directory.hash
    directory.file("sub/new.txt").write("new")
    assert not directory.is_valid()
    assert directory.update_hash() != first


def test_dir_copy_and_staging_round_trip(bucket: str, tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "a.txt").write_text("a")
    (tmp_path / "src" / "sub" / "b.txt").write_text("b")
    remote = Dir(str(tmp_path / "src")).copy_to(f"s3://{bucket}/data")
    assert [f.path for f in remote.files()] == [
        f"s3://{bucket}/data/a.txt",
        f"s3://{bucket}/data/sub/b.txt",
    ]
    assert Dir(f"s3://{bucket}/data").copy_to(f"s3://{bucket}/copy").hash != remote.hash
    staging = remote.stage(str(tmp_path / "work"))
    local = staging.stage()
    assert [f.read() for f in local.files()] == ["a", "b"]
    local.file("sub/b.txt").write("B")
    published = staging.unstage()
    assert File(f"s3://{bucket}/data/sub/b.txt").read() == "B"
    assert published == Dir(remote.path) and published.hash != remote.hash
    assert not is_valid(remote)


def test_file_staging_round_trip(bucket: str, tmp_path: Path) -> None:
    remote = File(f"s3://{bucket}/in.txt")
    remote.write("input")
    staging = remote.stage(str(tmp_path / "in.txt"))
    assert staging.stage().read() == "input"
    staging.local.write("result")
    published = staging.unstage()
    assert published.read() == "result" and published.hash == File(remote.path).hash
    assert pickle.loads(pickle.dumps(staging)) == staging


def test_pickle_keeps_hash_without_io(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    file = File(f"s3://{bucket}/a.txt")
    file.write("one")
    sent = file.hash
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    aws.reset_clients()
    data = pickle.dumps([file])
    monkeypatch.undo()
    aws.reset_clients()
    (received,) = pickle.loads(data)
    assert received.hash == sent and received == file
    assert repr(received) == f"File(path=s3://{bucket}/a.txt, hash={sent[:8]})"


def test_missing_bucket_is_a_clear_file_error() -> None:
    missing = "s3://remit-no-such-bucket/k.txt"
    with pytest.raises(FileError, match=r"s3://remit-no-such-bucket/k\.txt.*NoSuchBucket"):
        File(missing).read()
    with pytest.raises(FileError, match=r"'remit-no-such-bucket' does not exist"):
        File(missing).write("x")
    assert not File(missing).exists()


def test_missing_key_is_a_clear_file_error(bucket: str, tmp_path: Path) -> None:
    with pytest.raises(FileError, match=rf"s3://{bucket}/nope.*no such object"):
        File(f"s3://{bucket}/nope").copy_to(str(tmp_path / "x"))
    with pytest.raises(FileError, match="names a bucket or prefix"):
        File(f"s3://{bucket}/").read()


def test_client_is_cached_per_region_and_endpoint(s3_endpoint: str) -> None:
    s3 = aws.client("s3")
    assert aws.client("s3") is s3
    assert s3.meta.endpoint_url == s3_endpoint
    assert aws.client("s3", region="eu-west-1") is not s3
    assert aws.client("s3", region="eu-west-1").meta.region_name == "eu-west-1"
    explicit = aws.client("s3", endpoint_url="http://127.0.0.1:9")
    assert explicit.meta.endpoint_url == "http://127.0.0.1:9"
    assert s3.meta.config.retries["mode"] == aws.RETRY_MODE == "standard"
    assert s3.meta.config.retries["total_max_attempts"] == aws.MAX_ATTEMPTS
    assert s3.meta.config.max_pool_connections == aws.MAX_POOL_CONNECTIONS


def test_region_defaults_to_us_east_1(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    aws.reset_clients()
    assert aws.client("s3").meta.region_name == "us-east-1"
    aws.reset_clients()


def test_missing_boto3_says_how_to_install(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['boto3'] = None\n"
        "from remit import aws\n"
        "from remit.errors import RemitError\n"
        "try:\n"
        "    aws.client('s3')\n"
        "except RemitError as exc:\n"
        "    assert \"pip install 'remit[aws]'\" in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('no error')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_readlines_isfile_isdir_and_touch_on_s3(bucket: str) -> None:
    file = File(f"s3://{bucket}/touch/t.txt")
    assert not file.isfile()
    file.touch()
    assert file.isfile() and file.read() == ""
    file.write("x\ny\n")
    file.touch()  # an existing object is left as it is
    assert file.readlines() == ["x\n", "y\n"]
    assert File(f"s3://{bucket}/touch").isdir() and not file.isdir()
