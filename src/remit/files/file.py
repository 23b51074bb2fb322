"""File and Dir: values that name stored data and carry a hash of its content identity.

Owns: File, Dir and their staging pairs (StagingFile, StagingDir); the hash of a File (its
path plus the filesystem's cheap identity of the content, or a distinct "missing" hash), the
hash of a Dir (its files' paths and hashes), the lazy caching of those hashes on the object,
their validity (stored hash == current hash), pickling (path and hash, no I/O once the hash is
known), and their registration with ``remit.hashing``. Storage itself is delegated to a
``FileSystem`` chosen by the path's URL scheme; shell rendering of staging copies belongs to
scripting, not here.
"""

from __future__ import annotations

import os
import posixpath
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, Generic, Literal, TypeVar, overload

from remit.errors import FileError
from remit.files.filesystem import (
    FileSystem,
    copy_file,
    get_filesystem,
    get_scheme,
    to_local_path,
)
from remit.hashing import hash_struct, is_valid, normalize, refresh

#: The special path of a script's standard output: hashed by its path only, never stored.
STDOUT = "-"
#: How many files a Dir copies at once.
COPY_WORKERS = 16


def path_text(path: str) -> str:
    """A path as storable text: a name that is not UTF-8 (held as surrogate escapes) gets its
    undecodable bytes written ``\\xNN``, so it is recorded and looked up the same way."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        try:
            return os.fsencode(path).decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # lone surrogates that are not escaped bytes
            return path.encode("utf-8", "backslashreplace").decode("utf-8")


class PathPart(str):
    """A part of a path: a plain ``str`` that may also be called, since redun's File has
    ``basename()`` and ``dirname()`` methods where remit has properties."""

    __slots__ = ()

    def __call__(self) -> str:
        return str(self)


class _Stored(ABC):
    """What File and Dir share: a path, a lazily computed hash, validity, equality, pickling."""

    __slots__ = ("path", "_hash")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path: str = os.fspath(path)
        self._hash: str | None = None

    @abstractmethod
    def _compute_hash(self) -> str:
        """Compute the hash from the stored data (I/O)."""

    @property
    def hash(self) -> str:
        """The content identity hash (computed on first use, then cached on the object)."""
        if self._hash is None:
            self._hash = self._compute_hash()
        return self._hash

    def update_hash(self) -> str:
        """Recompute the hash from the stored data now and return it."""
        self._hash = self._compute_hash()
        return self._hash

    def is_valid(self) -> bool:
        """Whether the stored data still has the recorded hash (False once changed or deleted)."""
        if self._hash is None:
            self.update_hash()
            return True
        return self._compute_hash() == self._hash

    @property
    def filesystem(self) -> FileSystem:
        """The FileSystem holding this path."""
        return get_filesystem(self.path)

    @property
    def basename(self) -> PathPart:
        """The last component of the path (``f.basename``, or ``f.basename()`` as in redun)."""
        return PathPart(posixpath.basename(self.path.rstrip("/")))

    @property
    def dirname(self) -> PathPart:
        """The path without its last component (also callable, as in redun)."""
        return PathPart(posixpath.dirname(self.path.rstrip("/")))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path}, hash={self.hash[:8]})"

    def __remit_file_record__(self) -> tuple[str, str]:
        """(path, content hash) for the provenance store (local paths made absolute)."""
        path = self.path
        if "://" not in path and path != STDOUT:
            path = os.path.abspath(path)
        return path_text(path), self.hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Stored)
            and type(other) is type(self)
            and self.path == other.path
            and self.hash == other.hash
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path, self.hash))

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.path, self.hash)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.path, self._hash = state


class File(_Stored):
    """A file at a local path or URL (``s3://bucket/key``), identified by path and content.

    ``content_hash=True`` hashes a local file's bytes instead of its size, mtime and inode.
    ``File("-")`` stands for a script's standard output: hashed by its path, never touched.
    """

    __slots__ = ("content_hash",)

    def __init__(self, path: str | os.PathLike[str], content_hash: bool = False) -> None:
        super().__init__(path)
        self.content_hash = content_hash

    def _compute_hash(self) -> str:
        if self.path == STDOUT:
            return hash_struct("File", STDOUT)
        fs = self.filesystem
        return _file_hash(fs, self.path, fs.hash_info(self.path, content=self.content_hash))

    @property
    def filesystem(self) -> FileSystem:
        """The FileSystem holding this path (File("-") has none)."""
        if self.path == STDOUT:
            raise FileError("File('-') stands for a script's stdout and has no storage")
        return get_filesystem(self.path)

    def exists(self) -> bool:
        """Whether the file exists."""
        return self.filesystem.exists(self.path)

    def size(self) -> int:
        """Size of the file in bytes."""
        return self.filesystem.size(self.path)

    @overload
    def read(self, mode: Literal["r"] = "r") -> str: ...
    @overload
    def read(self, mode: Literal["rb"]) -> bytes: ...

    def read(self, mode: str = "r") -> str | bytes:
        """The whole content: text (UTF-8) with mode "r", bytes with "rb"."""
        if mode not in ("r", "rb"):
            raise FileError(f"cannot read {self.path} in mode {mode!r}: use 'r' or 'rb'")
        data = self.filesystem.read_bytes(self.path)
        return data if mode == "rb" else data.decode("utf-8")

    def readlines(self, mode: str = "r") -> list[Any]:
        """The content as a list of lines, each with its line ending (as redun's)."""
        content = self.read(mode)  # type: ignore[call-overload]
        return content.splitlines(keepends=True)

    def isfile(self) -> bool:
        """Whether a file exists at the path (as redun's; the same as ``exists``)."""
        return self.exists()

    def isdir(self) -> bool:
        """Whether the path is a directory (a prefix with objects under it, on S3)."""
        return self.filesystem.dir_exists(self.path)

    def touch(self) -> None:
        """Create the file empty if it is missing; a local file's modification time is set to
        now (S3 objects keep theirs). The hash is refreshed."""
        if not self.exists():
            self.write(b"")
            return
        if get_scheme(self.path) == "file":
            os.utime(to_local_path(self.path))
        self.update_hash()

    def write(self, data: str | bytes) -> None:
        """Replace the content (str is written as UTF-8) atomically and refresh the hash."""
        self.filesystem.write_bytes(self.path, data.encode() if isinstance(data, str) else data)
        self.update_hash()

    def open(self, mode: str = "r") -> IO[Any]:
        """Open for reading ("r", "rb") or writing ("w", "wb"; published when closed).

        Opening for writing forgets the cached hash; it is recomputed on next use.
        """
        file = self.filesystem.open(self.path, mode)
        if mode not in ("r", "rb"):
            self._hash = None
        return file

    def copy_to(self, dest: File | str) -> File:
        """Copy to another path (on any filesystem); return the copy with a fresh hash."""
        target = (
            File(dest.path, content_hash=dest.content_hash)
            if isinstance(dest, File)
            else File(dest)
        )
        copy_file(self.path, target.path)
        target.update_hash()
        return target

    def remove(self) -> None:
        """Delete the file (a missing file is fine); the hash becomes the missing hash."""
        self.filesystem.remove(self.path)
        self._hash = None

    def stage(self, local_path: str | None = None) -> StagingFile:
        """Pair this (remote) file with a local path, by default its basename."""
        return StagingFile(File(local_path or self.basename), self)

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.path, self.hash, self.content_hash)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.path, self._hash, self.content_hash = state


def _file_hash(fs: FileSystem, path: str, info: str | None) -> str:
    if info is None:
        return hash_struct("File", "missing", path)
    return hash_struct("File", fs.name, path, info)


class Dir(_Stored):
    """A directory or S3 prefix, identified by the paths and hashes of every file below it."""

    __slots__ = ()

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(os.fspath(path).rstrip("/") or "/")

    def _compute_hash(self) -> str:
        return hash_struct("Dir", self.path, tuple((f.path, f.hash) for f in self.files()))

    def file(self, rel_path: str) -> File:
        """The File at ``rel_path`` below this directory."""
        return File(f"{self.path.rstrip('/')}/{rel_path.lstrip('/')}")

    def files(self) -> list[File]:
        """Every file below, recursively, sorted by path, each with its hash already known.

        One listing: no per-file request, even on S3.
        """
        fs = self.filesystem
        files = []
        for entry in fs.list(self.path):
            file = self.file(entry.rel_path)
            file._hash = _file_hash(fs, file.path, entry.hash_info)
            files.append(file)
        return files

    def exists(self) -> bool:
        """Whether the directory exists (on S3: whether any object lies below the prefix)."""
        return self.filesystem.dir_exists(self.path)

    def copy_to(self, dest: Dir | str) -> Dir:
        """Copy every file below to the same relative path under ``dest``; return it rehashed.

        Files already under ``dest`` and absent here are left alone.
        """
        target = Dir(dest.path if isinstance(dest, Dir) else dest)
        prefix = len(self.path.rstrip("/")) + 1
        with ThreadPoolExecutor(max_workers=COPY_WORKERS) as pool:
            copies = [
                pool.submit(copy_file, file.path, target.file(file.path[prefix:]).path)
                for file in self.files()
            ]
            for copy in copies:
                copy.result()
        target.update_hash()
        return target

    def stage(self, local_path: str | None = None) -> StagingDir:
        """Pair this (remote) directory with a local one, by default its basename."""
        return StagingDir(Dir(local_path or self.basename), self)


T = TypeVar("T", File, Dir)


@dataclass(frozen=True, repr=False)
class _Staging(Generic[T]):
    local: T
    remote: T

    def __repr__(self) -> str:
        return f"{type(self).__name__}(local={self.local.path}, remote={self.remote!r})"

    def stage(self) -> T:
        """Copy remote to local (before a script runs); return the local value, rehashed."""
        return self.remote.copy_to(self.local)

    def unstage(self) -> T:
        """Copy local to remote (after a script ran); return the remote value, rehashed."""
        return self.local.copy_to(self.remote)


@dataclass(frozen=True, repr=False)
class StagingFile(_Staging[File]):
    """A remote File and the local File a script reads or writes in its place.

    A frozen dataclass: ``remit.hashing`` normalizes it and checks its validity field by field.
    """


@dataclass(frozen=True, repr=False)
class StagingDir(_Staging[Dir]):
    """A remote Dir and the local Dir a script reads or writes in its place."""


@normalize.register(File)
@normalize.register(Dir)
def _normalize_stored(value: File | Dir) -> tuple[str, str, str]:
    return (type(value).__name__, value.path, value.hash)


@refresh.register(File)
@refresh.register(Dir)
def _refresh_stored(value: File | Dir) -> None:
    value.update_hash()


@is_valid.register(File)
@is_valid.register(Dir)
def _is_valid_stored(value: File | Dir) -> bool:
    return value.is_valid()
