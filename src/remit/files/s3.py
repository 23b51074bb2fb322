"""Amazon S3 as a FileSystem: ``s3://bucket/key`` URLs.

Owns: the identity of an object (ETag and size from HeadObject or a listing), reads (streaming),
writes (buffered to a local temporary file and uploaded on close, so an object appears whole or
not at all), boto3's managed transfers for files and large objects (multipart above
``multipart_threshold``; single requests below it), server-side
copies, listings with the ListObjectsV2 paginator, and the translation of AWS errors into
FileError messages naming the URL and the cause. Clients come from ``remit.aws``; boto3 is
imported only once an s3:// path is used.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import IO, Any, cast

from remit import aws
from remit.errors import FileError
from remit.files.filesystem import READ_MODES, WRITE_MODES, CommitOnClose, Entry, FileSystem

MiB = 1024 * 1024


def split_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into (bucket, key); the key may be empty."""
    bucket, _, key = url.split("://", 1)[1].partition("/")
    if not bucket:
        raise FileError(f"{url!r} names no bucket: expected s3://BUCKET/KEY")
    return bucket, key


def _object(url: str) -> tuple[str, str]:
    bucket, key = split_url(url)
    if not key or key.endswith("/"):
        raise FileError(f"{url!r} names a bucket or prefix, not an object")
    return bucket, key


def _status(exc: Any) -> int | None:
    return cast(int | None, exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))


def _reason(exc: Any, url: str) -> str:
    """Say in words why an AWS request about ``url`` failed."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code == "NoSuchBucket":
        bucket = error.get("BucketName") or split_url(url)[0]
        return f"bucket {bucket!r} does not exist (NoSuchBucket)"
    if code in ("NoSuchKey", "404") or _status(exc) == 404:
        return "no such object (NoSuchKey)"
    if code in ("AccessDenied", "403", "Forbidden") or _status(exc) == 403:
        return (
            "access denied (AccessDenied): check the credentials, AWS_PROFILE and the bucket "
            "policy; without s3:ListBucket a missing object also reads as denied"
        )
    return f"{code}: {error.get('Message', exc)}"


@contextlib.contextmanager
def _s3_errors(action: str, url: str, detail: str = "") -> Iterator[None]:
    """Turn AWS errors raised while doing ``action`` on ``url`` into FileError."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        raise FileError(f"cannot {action} {url}{detail}: {_reason(exc, url)}") from exc
    except Exception as exc:
        if not isinstance(exc, (BotoCoreError, *_boto3_errors())):
            raise
        cause = exc.__context__  # boto3's S3UploadFailedError wraps a ClientError
        reason = _reason(cause, url) if isinstance(cause, ClientError) else str(exc)
        raise FileError(f"cannot {action} {url}{detail}: {reason}") from exc


def _managed(name: str) -> Any:
    """boto3's managed transfer ``name`` (upload_file, copy, ...) for a plain botocore client.

    boto3 (and s3transfer, with its thread pools) is imported only here: small reads and
    writes are single requests, so a job process that moves only pickles never loads it.
    """
    from boto3.s3 import inject

    return getattr(inject, name)


def _boto3_errors() -> tuple[type[Exception], ...]:
    """boto3's own error class, if boto3 was imported (managed transfers); none otherwise."""
    module = sys.modules.get("boto3.exceptions")
    return (module.Boto3Error,) if module is not None else ()


def _etag_info(etag: str, size: int) -> str:
    return f"etag:{etag}:{size}"


class S3FileSystem(FileSystem):
    """Objects in S3 (or anything speaking its API at ``AWS_ENDPOINT_URL``)."""

    name = "s3"
    #: Uploads and copies above this size use multipart transfers.
    multipart_threshold: int = 64 * MiB
    #: Part size of multipart transfers (S3 needs at least 5 MiB).
    multipart_chunksize: int = 16 * MiB

    def exists(self, path: str) -> bool:
        """Whether the object exists (one HeadObject)."""
        return self.hash_info(path) is not None

    def hash_info(self, path: str, content: bool = False) -> str | None:
        """``etag:<ETag>:<size>`` from HeadObject, None when missing (``content`` is moot:
        the ETag already derives from the bytes)."""
        head = self._head(path)
        return None if head is None else _etag_info(head["ETag"], head["ContentLength"])

    def size(self, path: str) -> int:
        """Size of the object in bytes."""
        head = self._head(path)
        if head is None:
            raise FileError(f"cannot get the size of {path}: no such object (NoSuchKey)")
        return int(head["ContentLength"])

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        """Read as a stream, or write to a temporary file that is uploaded on close."""
        if mode in READ_MODES:
            bucket, key = _object(path)
            client = aws.client("s3")
            with _s3_errors("read", path):
                body = client.get_object(Bucket=bucket, Key=key)["Body"]
            return cast(IO[Any], body if mode == "rb" else io.TextIOWrapper(body, "utf-8"))
        if mode not in WRITE_MODES:
            raise FileError(f"cannot open {path} in mode {mode!r}: use r, rb, w or wb")
        _object(path)
        fd, tmp = tempfile.mkstemp(prefix="remit-s3-")
        file = os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8")

        def commit() -> None:
            try:
                self.put(tmp, path)
            finally:
                os.unlink(tmp)

        return cast(IO[Any], CommitOnClose(file, commit, discard=lambda: os.unlink(tmp)))

    def read_bytes(self, path: str) -> bytes:
        """The whole content of the object."""
        with self.open(path, "rb") as body, _s3_errors("read", path):
            return cast(bytes, body.read())

    def write_bytes(self, path: str, data: bytes) -> None:
        """Upload ``data`` as the object's content."""
        bucket, key = _object(path)
        client = aws.client("s3")
        with _s3_errors("write", path):
            if len(data) < self.multipart_threshold:  # one PutObject, no transfer threads
                client.put_object(Bucket=bucket, Key=key, Body=data)
            else:
                _managed("upload_fileobj")(client, io.BytesIO(data), bucket, key,
                                           Config=self._transfer_config())

    def copy(self, src: str, dest: str) -> None:
        """Server-side copy (multipart for large objects); no bytes pass through here."""
        src_bucket, src_key = _object(src)
        bucket, key = _object(dest)
        client = aws.client("s3")
        with _s3_errors("copy", src, f" to {dest}"):
            _managed("copy")(client, {"Bucket": src_bucket, "Key": src_key}, bucket, key,
                             Config=self._transfer_config())

    def put(self, local_path: str, path: str) -> None:
        """Upload a local file (multipart above ``multipart_threshold``)."""
        bucket, key = _object(path)
        client = aws.client("s3")
        with _s3_errors("upload", path, f" from {local_path}"):
            _managed("upload_file")(client, local_path, bucket, key,
                                    Config=self._transfer_config())

    def get(self, path: str, local_path: str) -> None:
        """Download to a local file; boto3 writes a temporary file and renames it into place."""
        bucket, key = _object(path)
        client = aws.client("s3")
        os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
        with _s3_errors("download", path):
            _managed("download_file")(client, bucket, key, local_path,
                                      Config=self._transfer_config())

    def remove(self, path: str) -> None:
        """Delete the object (deleting a missing object succeeds)."""
        bucket, key = _object(path)
        client = aws.client("s3")
        with _s3_errors("remove", path):
            client.delete_object(Bucket=bucket, Key=key)

    def list(self, path: str) -> list[Entry]:
        """Every object under the prefix ``path/`` with its ETag identity (no HeadObject)."""
        return sorted(Entry(rel, _etag_info(obj["ETag"], obj["Size"]))
                      for rel, obj in self._objects(path))

    def iter_names(self, path: str, start_after: str = "") -> Iterator[str]:
        """Keys under the prefix ``path/`` after ``start_after``, one ListObjectsV2 per 1,000."""
        return (rel for rel, _ in self._objects(path, start_after))

    def _objects(self, path: str, start_after: str = "") -> Iterator[tuple[str, dict]]:
        """``(key relative to path/, ListObjectsV2 entry)`` of every object under the prefix
        (after ``start_after``), "folder" marker objects skipped."""
        bucket, prefix = self._prefix(path)
        client = aws.client("s3")
        extra = {"StartAfter": prefix + start_after} if start_after else {}
        with _s3_errors("list", path):
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, **extra
            ):
                for obj in page.get("Contents", []):
                    if not obj["Key"].endswith("/"):
                        yield obj["Key"][len(prefix) :], obj

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """One ranged GetObject."""
        bucket, key = _object(path)
        client = aws.client("s3")
        byte_range = f"bytes={offset}-{offset + length - 1}"
        with _s3_errors("read", path):
            return cast(bytes, client.get_object(Bucket=bucket, Key=key, Range=byte_range)[
                "Body"].read())

    def list_modified(self, path: str) -> builtins.list[tuple[str, float]]:
        """Every object under the prefix ``path/`` with its LastModified time."""
        return sorted((rel, obj["LastModified"].timestamp()) for rel, obj in self._objects(path))

    def dir_exists(self, path: str) -> bool:
        """Whether any object lies under the prefix ``path/``."""
        bucket, prefix = self._prefix(path)
        client = aws.client("s3")
        with _s3_errors("list", path):
            return bool(client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)["KeyCount"])

    def mkdirs(self, path: str) -> None:
        """Nothing to do: S3 has no directories."""

    def _head(self, path: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        bucket, key = _object(path)
        client = aws.client("s3")
        with _s3_errors("look up", path):
            try:
                return cast(dict[str, Any], client.head_object(Bucket=bucket, Key=key))
            except ClientError as exc:
                if _status(exc) == 404:  # a HEAD has no body: missing key or bucket alike
                    return None
                raise

    @staticmethod
    def _prefix(path: str) -> tuple[str, str]:
        bucket, key = split_url(path)
        return bucket, (key.rstrip("/") + "/" if key.strip("/") else "")

    def _transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=self.multipart_chunksize,
        )
