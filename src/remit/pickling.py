"""Pickling for values that leave the process (job arguments, results, stored values):
the standard pickle first, cloudpickle for what it cannot handle (lambdas, local functions).

``dumps`` returns bytes; ``dump`` streams into a file-like sink instead, so that a big value
is never held twice in memory. ``SpillFile`` is such a sink: it keeps a small pickle in
memory, spills a large one to a temporary file, and hashes the bytes on the way (BLAKE2b,
40 hex digits, as ``remit.hashing.hash_bytes``). Temporary files are named
``HOST-PID-*.tmp`` so that a later cleanup can tell a crashed writer's leftovers
(``stale_temporaries``). This module knows nothing of where values are stored.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from remit.errors import SerializationError

DIGEST_SIZE = 20  # 40 hex digits, as remit.hashing.HASH_LEN
TEMP_SUFFIX = ".tmp"


def _cannot_pickle(what: str, exc: Exception) -> SerializationError:
    return SerializationError(
        f"cannot pickle {what}: {exc}. Arguments and results of tasks that run in "
        "another process or machine, and values recorded in the cache, must be picklable"
    )


_DEEP_LIMIT = 20_000
_limit_lock = threading.Lock()


@contextmanager
def _deep_recursion(what: str) -> Iterator[None]:
    """Pickle a value nested deeper than the recursion limit, with the limit raised meanwhile."""
    with _limit_lock:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, _DEEP_LIMIT))
        try:
            yield
        except RecursionError:
            raise SerializationError(
                f"cannot pickle {what}: nested more than {_DEEP_LIMIT} levels deep"
            ) from None
        finally:
            sys.setrecursionlimit(old)


def dumps(value: Any, what: str = "a value") -> bytes:
    """Pickle ``value``; a SerializationError names ``what`` could not be pickled, and why."""
    try:
        return pickle.dumps(value, protocol=5)
    except RecursionError:
        with _deep_recursion(what):
            return pickle.dumps(value, protocol=5)
    except Exception:
        import cloudpickle

        try:
            return cloudpickle.dumps(value, protocol=5)
        except Exception as exc:
            raise _cannot_pickle(what, exc) from exc


def dump(value: Any, sink: SpillFile, what: str = "a value") -> None:
    """Pickle ``value`` into ``sink`` as it is produced (cloudpickle if pickle cannot).

    OSError (a full disk) propagates with the sink already discarded.
    """
    try:
        pickle.Pickler(sink, protocol=5).dump(value)
        return
    except OSError:
        sink.discard()
        raise
    except RecursionError:
        sink.reset()
        try:
            with _deep_recursion(what):
                pickle.Pickler(sink, protocol=5).dump(value)
        except BaseException:
            sink.discard()
            raise
        return
    except Exception:
        sink.reset()
    import cloudpickle

    try:
        cloudpickle.CloudPickler(sink, protocol=5).dump(value)
    except OSError:
        sink.discard()
        raise
    except Exception as exc:
        sink.discard()
        raise _cannot_pickle(what, exc) from exc


def temp_prefix() -> str:
    """``HOST-PID-``: the start of every temporary file this process writes."""
    return f"{socket.gethostname()}-{os.getpid()}-"


class SpillFile:
    """A write-only sink: in memory up to ``limit`` bytes, then a temporary file in ``tmp_dir``.

    Every byte written is hashed; ``hexdigest()`` is the hash of the whole stream. With
    ``hash_only`` nothing past the limit is kept anywhere: only the hash and size remain.
    """

    def __init__(self, limit: int, tmp_dir: str | Path | None = None,
                 hash_only: bool = False) -> None:
        self.limit = limit
        self.tmp_dir = tmp_dir
        self.hash_only = hash_only
        self.over_limit = False
        self.path: str | None = None
        self.size = 0
        self._buffer = bytearray()
        self._file: Any = None
        self._hash = hashlib.blake2b(digest_size=DIGEST_SIZE)

    @property
    def spilled(self) -> bool:
        """Whether the stream outgrew the limit (and went to the temporary file ``path``)."""
        return self.over_limit

    def write(self, data: Any) -> int:
        """Append ``data`` (bytes or a buffer); spill to the temporary file past the limit."""
        size = len(data) if isinstance(data, bytes) else memoryview(data).nbytes
        self._hash.update(data)
        self.size += size
        if self._file is None and self.size <= self.limit:
            self._buffer += data
            return size
        self.over_limit = True
        if self.hash_only:
            self._buffer = bytearray()
            return size
        try:
            if self._file is None:
                self._open()
            self._file.write(data)
        except OSError:
            self.discard()
            raise
        return size

    def _open(self) -> None:
        if self.tmp_dir is not None:
            os.makedirs(self.tmp_dir, exist_ok=True)
        fd, self.path = tempfile.mkstemp(prefix=temp_prefix(), suffix=TEMP_SUFFIX,
                                         dir=self.tmp_dir)
        self._file = os.fdopen(fd, "wb")
        self._file.write(self._buffer)
        self._buffer = bytearray()

    def hexdigest(self) -> str:
        """The hash of every byte written so far."""
        return self._hash.hexdigest()

    def getvalue(self) -> bytes:
        """The bytes written, when they stayed in memory."""
        return bytes(self._buffer)

    def close(self) -> None:
        """Finish the temporary file (if any); it stays at ``path`` for the caller to move."""
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError:
                self._file = None
                self.discard()
                raise

    def reset(self) -> None:
        """Forget everything written (to start the stream again)."""
        self.discard()
        self.size = 0
        self.over_limit = False
        self._hash = hashlib.blake2b(digest_size=DIGEST_SIZE)

    def discard(self) -> None:
        """Drop the buffer and delete the temporary file."""
        self._buffer = bytearray()
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError:
                pass
        if self.path is not None:
            path, self.path = self.path, None
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def stale_temporaries(directory: str | Path, max_age: float = 86400.0) -> list[Path]:
    """Temporary files in ``directory`` whose writer is gone: same host and a dead process,
    or older than ``max_age`` seconds whoever wrote them."""
    import time

    from remit.childguard import pid_alive

    host = socket.gethostname()
    stale = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    now = time.time()
    for entry in entries:
        if not entry.name.endswith(TEMP_SUFFIX) or not entry.is_file():
            continue
        writer_host, _, rest = entry.name.rpartition("-")[0].rpartition("-")
        pid = int(rest) if rest.isdigit() else None
        try:
            age = now - entry.stat().st_mtime
        except FileNotFoundError:
            continue
        if age > max_age or (writer_host == host and pid is not None and not pid_alive(pid)):
            stale.append(Path(entry.path))
    return stale

