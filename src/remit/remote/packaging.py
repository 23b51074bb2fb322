"""Reproducible code tarballs: the same files give the same bytes, hence the same hash,
on any machine (sorted entries, zero mtimes and owners, normalized modes, no gzip header time).
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import tarfile
from collections.abc import Iterable, Sequence

from remit.hashing import hash_bytes

DEFAULT_INCLUDES = ("**/*.py",)
_SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".remit", "node_modules", ".tox"}


def find_code_files(root: str, includes: Sequence[str], excludes: Sequence[str] = ()) -> list[str]:
    """Relative paths under ``root`` matching any include glob and no exclude glob."""
    found: set[str] = set()
    for pattern in includes:
        for path in glob.glob(pattern, root_dir=root, recursive=True):
            parts = path.split(os.sep)
            if any(part in _SKIP_DIRS for part in parts[:-1]):
                continue
            if os.path.isfile(os.path.join(root, path)):
                found.add(path)
    excluded: set[str] = set()
    for pattern in excludes:
        excluded.update(glob.glob(pattern, root_dir=root, recursive=True))
    return sorted(found - excluded)


def build_tarball(root: str, files: Iterable[str]) -> bytes:
    """A gzipped tar of ``files`` (relative to root) that depends only on names and contents."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(files):
            with open(os.path.join(root, rel), "rb") as handle:
                data = handle.read()
            info = tarfile.TarInfo(rel.replace(os.sep, "/"))
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o755 if os.access(os.path.join(root, rel), os.X_OK) else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def package_code(
    root: str, includes: Sequence[str] = DEFAULT_INCLUDES, excludes: Sequence[str] = ()
) -> tuple[str, bytes]:
    """(hash, tarball bytes) of the code under root."""
    data = build_tarball(root, find_code_files(root, includes, excludes))
    return hash_bytes(data), data


def extract_tarball(data: bytes, dest: str) -> list[str]:
    """Unpack a code tarball into dest (refusing paths that escape it); return the names."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
            tar.extractall(dest, filter="data")
        else:  # older 3.11 (e.g. Debian bookworm's): check each member ourselves
            root = os.path.realpath(dest)
            for member in tar.getmembers():
                target = os.path.realpath(os.path.join(root, member.name))
                if not member.isfile() or os.path.commonpath([root, target]) != root:
                    raise ValueError(f"refusing to extract {member.name!r} from a code package")
            tar.extractall(dest)
        return tar.getnames()
