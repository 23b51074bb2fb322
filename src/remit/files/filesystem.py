"""The filesystem interface behind File and Dir, and the choice of implementation by URL scheme.

Owns: the ``FileSystem`` contract every storage implements, ``get_filesystem`` (no scheme or
``file://`` is local, ``s3://`` is S3; implementations load lazily from ``FILESYSTEMS`` so S3
code and boto3 are imported only when an s3:// path is used), ``copy_file`` across
filesystems, and ``CommitOnClose``, the write-to-temp-then-publish file object that writers
share. Does not own hashing of values (``remit.hashing``) or the File/Dir values (``file.py``).
"""

from __future__ import annotations

import builtins
import importlib
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import IO, Any, NamedTuple, cast

from remit.errors import FileError

#: URL scheme -> "module:Class" of its FileSystem, imported on first use.
FILESYSTEMS: dict[str, str] = {
    "file": "remit.files.local:LocalFileSystem",
    "s3": "remit.files.s3:S3FileSystem",
}

READ_MODES = ("r", "rb")
WRITE_MODES = ("w", "wb")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_instances: dict[str, FileSystem] = {}
_lock = threading.Lock()


class Entry(NamedTuple):
    """One file found by ``FileSystem.list``: its path relative to the listed dir, '/'-separated,
    and its cheap content identity (the same string ``hash_info`` gives)."""

    rel_path: str
    hash_info: str


class FileSystem(ABC):
    """Storage for Files: every path argument is a full path or URL of this filesystem."""

    #: Short identity that goes into every File hash ("local", "s3").
    name: str

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Whether a file exists at ``path``."""

    @abstractmethod
    def hash_info(self, path: str, content: bool = False) -> str | None:
        """A cheap identity of the file's content (None when missing).

        ``content=True`` asks for a hash of the bytes where identity is otherwise metadata.
        """

    @abstractmethod
    def size(self, path: str) -> int:
        """Size of the file in bytes."""

    @abstractmethod
    def open(self, path: str, mode: str = "r") -> IO[Any]:
        """Open for reading ("r", "rb") or writing ("w", "wb"; published on close)."""

    @abstractmethod
    def read_bytes(self, path: str) -> bytes:
        """The whole content of the file."""

    @abstractmethod
    def write_bytes(self, path: str, data: bytes) -> None:
        """Replace the file's content; a reader never sees a half-written file."""

    @abstractmethod
    def copy(self, src: str, dest: str) -> None:
        """Copy a file within this filesystem."""

    @abstractmethod
    def put(self, local_path: str, path: str) -> None:
        """Copy a local file to ``path``."""

    @abstractmethod
    def get(self, path: str, local_path: str) -> None:
        """Copy the file at ``path`` to a local file (parent directories are created)."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Delete the file; a missing file is not an error."""

    @abstractmethod
    def list(self, path: str) -> list[Entry]:
        """Every file under the directory/prefix ``path``, recursively, sorted by rel_path."""

    @abstractmethod
    def list_modified(self, path: str) -> builtins.list[tuple[str, float]]:
        """Every file under ``path`` as (rel_path, last modified Unix time), sorted."""

    @abstractmethod
    def dir_exists(self, path: str) -> bool:
        """Whether ``path`` is a directory (or, in object stores, a non-empty prefix)."""

    @abstractmethod
    def mkdirs(self, path: str) -> None:
        """Create the directory ``path`` and its parents (a no-op in object stores)."""

    def iter_names(self, path: str, start_after: str = "") -> Iterator[str]:
        """The rel_paths of ``list(path)`` greater than ``start_after``, in order, lazily.

        Object stores fetch them a page at a time, so a caller may stop early and pay only for
        the pages it read.
        """
        for entry in self.list(path):
            if entry.rel_path > start_after:
                yield entry.rel_path

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """``length`` bytes of the file from ``offset`` (object stores: one ranged read)."""
        with self.open(path, "rb") as file:
            file.seek(offset)
            return cast(bytes, file.read(length))


def get_scheme(path: str) -> str:
    """The URL scheme of ``path``: "file" for plain local paths."""
    match = _SCHEME.match(path)
    return match.group(1).lower() if match else "file"


def to_local_path(path: str) -> str:
    """Strip a ``file://`` prefix from a local path."""
    return path[len("file://") :] if path[:7].lower() == "file://" else path


def get_filesystem(path: str) -> FileSystem:
    """The FileSystem that stores ``path``, chosen by its URL scheme (one instance per scheme)."""
    scheme = get_scheme(path)
    fs = _instances.get(scheme)
    if fs is not None:
        return fs
    target = FILESYSTEMS.get(scheme)
    if target is None:
        known = ", ".join(sorted(FILESYSTEMS))
        raise FileError(f"no filesystem for scheme {scheme!r} in {path!r} (known: {known})")
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    with _lock:
        return _instances.setdefault(scheme, cls())


def glob_file(pattern: str) -> list[str]:
    """The paths of the files matching a glob pattern, sorted: ``*`` and ``?`` within one
    path component, ``**`` across any number of them; local paths or ``s3://`` URLs."""
    if get_scheme(pattern) == "file":
        import glob

        local = to_local_path(pattern)
        return sorted(p for p in glob.glob(local, recursive=True) if os.path.isfile(p))
    wild = re.search(r"[*?\[]", pattern)
    base = (pattern[:wild.start()] if wild else pattern).rsplit("/", 1)[0]
    matcher = re.compile(_glob_regex(pattern))
    paths = (f"{base}/{entry.rel_path}" for entry in get_filesystem(base).list(base))
    return sorted(path for path in paths if matcher.fullmatch(path))


def _glob_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            out.append("[^" + re.escape(body[1:]) + "]" if body.startswith("!")
                       else "[" + re.escape(body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def copy_file(src: str, dest: str) -> None:
    """Copy one file between any two paths: server-side within a filesystem, else via local."""
    src_fs, dest_fs = get_filesystem(src), get_filesystem(dest)
    if src_fs is dest_fs:
        src_fs.copy(src, dest)
    elif get_scheme(dest) == "file":
        src_fs.get(src, to_local_path(dest))
    elif get_scheme(src) == "file":
        dest_fs.put(to_local_path(src), dest)
    else:
        raise FileError(f"cannot copy {src} to {dest}: copy through a local file")


class CommitOnClose:
    """A file object that writes to a temporary file and publishes it when closed.

    ``commit`` runs after a clean close (rename into place, upload); ``discard`` runs instead
    when the ``with`` block raised, so a failed write leaves no partial output behind.
    """

    def __init__(
        self, file: IO[Any], commit: Callable[[], None], discard: Callable[[], None]
    ) -> None:
        self._file = file
        self._commit = commit
        self._discard = discard
        self._done = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> CommitOnClose:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self._finish(self._discard)

    def __iter__(self) -> Any:
        return iter(self._file)

    def close(self) -> None:
        """Close the temporary file and publish it."""
        self._finish(self._commit)

    def _finish(self, action: Callable[[], None]) -> None:
        if self._done:
            return
        self._done = True
        self._file.close()
        action()
