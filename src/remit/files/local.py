"""The local filesystem: plain paths and ``file://`` URLs.

Owns: the cheap identity of a local file (size, mtime in ns, inode; or BLAKE2b of the bytes when
content hashing is asked for), and atomic writes: every write goes to a temporary file in the
destination's directory and is renamed into place with ``os.replace``, so a crash never leaves a
half-written output under the real name. OS errors become FileError naming the path.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from typing import IO, Any, cast

from remit.errors import FileError
from remit.files.filesystem import (
    READ_MODES,
    WRITE_MODES,
    CommitOnClose,
    Entry,
    FileSystem,
    to_local_path,
)
from remit.hashing import HASH_LEN


@contextlib.contextmanager
def _os_errors(action: str, path: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise FileError(f"cannot {action} {path}: {exc.strerror or exc}") from exc


def _stat_info(st: os.stat_result) -> str:
    return f"stat:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


class LocalFileSystem(FileSystem):
    """Files on this machine's disk."""

    name = "local"

    def exists(self, path: str) -> bool:
        """Whether a regular file exists at ``path``."""
        return os.path.isfile(to_local_path(path))

    def hash_info(self, path: str, content: bool = False) -> str | None:
        """``stat:size:mtime_ns:inode``, or ``blake2b:<digest>`` of the bytes if ``content``."""
        local = to_local_path(path)
        try:
            if not content:
                return _stat_info(os.stat(local))
            with open(local, "rb") as file:
                digest = hashlib.file_digest(
                    file, lambda: hashlib.blake2b(digest_size=HASH_LEN // 2)
                )
            return f"blake2b:{digest.hexdigest()}"
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise FileError(f"cannot hash {path}: {exc.strerror or exc}") from exc

    def size(self, path: str) -> int:
        """Size of the file in bytes."""
        with _os_errors("stat", path):
            return os.path.getsize(to_local_path(path))

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        """Open for reading, or for an atomic write published when the file is closed."""
        local = to_local_path(path)
        encoding = None if "b" in mode else "utf-8"
        if mode in READ_MODES:
            with _os_errors("open", path):
                return open(local, mode, encoding=encoding)
        if mode not in WRITE_MODES:
            raise FileError(f"cannot open {path} in mode {mode!r}: use r, rb, w or wb")
        tmp = self._temp_path(local)
        with _os_errors("write", path):
            file = open(tmp, mode.replace("w", "x"), encoding=encoding)
        writer = CommitOnClose(
            file, commit=lambda: self._publish(tmp, local), discard=lambda: _unlink(tmp)
        )
        return cast(IO[Any], writer)

    def read_bytes(self, path: str) -> bytes:
        """The whole content of the file."""
        with _os_errors("read", path), open(to_local_path(path), "rb") as file:
            return file.read()

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
        with self.open(path, "wb") as file:
            file.write(data)

    def copy(self, src: str, dest: str) -> None:
        """Copy content and permission bits; ``dest`` appears atomically."""
        src_local, dest_local = to_local_path(src), to_local_path(dest)
        tmp = self._temp_path(dest_local)
        try:
            with _os_errors("copy", f"{src} to {dest}"):
                shutil.copyfile(src_local, tmp)
                shutil.copymode(src_local, tmp)
                self._publish(tmp, dest_local)
        finally:
            _unlink(tmp)

    def put(self, local_path: str, path: str) -> None:
        """Copy a local file to ``path`` (the same as ``copy`` here)."""
        self.copy(local_path, path)

    def get(self, path: str, local_path: str) -> None:
        """Copy ``path`` to a local file (the same as ``copy`` here)."""
        self.copy(path, local_path)

    def remove(self, path: str) -> None:
        """Delete the file if it exists."""
        with _os_errors("remove", path):
            _unlink(to_local_path(path))

    def list(self, path: str) -> list[Entry]:
        """Every regular file below the directory ``path`` with its stat identity.

        A missing directory lists as empty, as a missing prefix does in an object store.
        """
        return sorted(Entry(rel, _stat_info(st)) for rel, st in _regular_files(path))

    def list_modified(self, path: str) -> builtins.list[tuple[str, float]]:
        """Every regular file below the directory ``path`` with its modification time."""
        return sorted((rel, st.st_mtime) for rel, st in _regular_files(path))

    def dir_exists(self, path: str) -> bool:
        """Whether ``path`` is a directory."""
        return os.path.isdir(to_local_path(path))

    def mkdirs(self, path: str) -> None:
        """Create the directory and its parents."""
        with _os_errors("create directory", path):
            os.makedirs(to_local_path(path), exist_ok=True)

    def _temp_path(self, local: str) -> str:
        """A fresh hidden name beside ``local`` (creating its directory)."""
        directory, name = os.path.split(os.path.abspath(local))
        self.mkdirs(directory)
        return os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")

    @staticmethod
    def _publish(tmp: str, local: str) -> None:
        with _os_errors("write", local):
            os.replace(tmp, local)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _raise_unless_missing(exc: OSError) -> None:
    if not isinstance(exc, FileNotFoundError):
        raise exc


def _regular_files(path: str) -> builtins.list[tuple[str, os.stat_result]]:
    """``('/'-separated path relative to path, stat)`` of every regular file below ``path``
    (none when it does not exist)."""
    root = to_local_path(path)
    found = []
    with _os_errors("list", path):
        for dirpath, _, names in os.walk(root, onerror=_raise_unless_missing):
            for name in names:
                full = os.path.join(dirpath, name)
                try:
                    st = os.stat(full)
                except FileNotFoundError:  # removed meanwhile, or a dangling symlink
                    continue
                if stat.S_ISREG(st.st_mode):
                    found.append((os.path.relpath(full, root).replace(os.sep, "/"), st))
    return found
