"""The value store: where recorded values' pickles live, and proof that they are intact.

Owns: serializing a value for the provenance store as a stream (the pickle is kept in memory
while it is smaller than the inline limit and spilled to a temporary file beyond it, hashed on
the way, never held whole), where large pickles live (a local directory, ``.remit/values/``
by default, or an ``s3://`` prefix a team shares), their atomic publication (local: a
temporary file in ``.tmp/`` renamed into place; S3: one upload of the finished file),
verification on read (the bytes must hash to the recorded ``data_hash``, checked *before*
anything is unpickled), cleanup of the temporary files a crashed writer left, and listing and
removing stored values (``remit gc``).

Does not own: which values are recorded (db/recorder.py) nor their rows (db/backend.py).
S3 goes through ``remit.files``, imported only for an ``s3://`` store.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from remit.errors import DBError, SerializationError
from remit.pickling import DIGEST_SIZE, SpillFile, dump, stale_temporaries

_CHUNK = 1024 * 1024
_SCALARS = (int, float, bool, type(None))
_STRINGS = (str, bytes)
TMP_DIRNAME = ".tmp"


@dataclass
class Serialized:
    """How a value is kept: ``storage`` is inline (``data``), store (in the value store) or
    none (not picklable: preview only); ``data_hash`` hashes the pickle bytes."""

    storage: str
    data: bytes | None
    size: int
    data_hash: str | None


class UnusableValue(Exception):
    """A stored value that must not be served; the message says why, in a few words."""


class ValueStore:
    """Large pickles by value hash: ``ROOT/<hash[:2]>/<hash>``; ROOT is a directory or s3://."""

    def __init__(self, root: str | Path, min_size: int) -> None:
        self.root = str(root).rstrip("/")
        self.min_size = min_size
        self.is_s3 = self.root.startswith("s3://")
        self._cleaned = False

    def location(self, value_hash: str) -> str:
        """The path or URL of a stored value."""
        return f"{self.root}/{value_hash[:2]}/{value_hash}"

    @property
    def _tmp_dir(self) -> str | None:
        # Local: beside the values, so the final rename stays on one filesystem.
        return None if self.is_s3 else os.path.join(self.root, TMP_DIRNAME)

    # -- writing --------------------------------------------------------------------------

    def serialize(self, value_hash: str, value: Any) -> Serialized:
        """Pickle ``value`` inline or into the store; OSError (disk full) is a DBError."""
        kind = type(value)
        if kind in _SCALARS or (kind in _STRINGS and len(value) * 4 < self.min_size):
            data = pickle.dumps(value, protocol=5)  # small but for huge ints: no streaming
            if len(data) < self.min_size:
                return Serialized("inline", data, len(data), _digest(data))
        if not self._cleaned:
            self.cleanup_temporaries()
        sink = SpillFile(self.min_size - 1, self._tmp_dir)
        try:
            dump(value, sink, "a value")
            sink.close()
        except SerializationError:
            return Serialized("none", None, 0, None)
        except OSError as exc:
            raise self._write_error(value_hash, exc) from exc
        if not sink.spilled:
            return Serialized("inline", sink.getvalue(), sink.size, sink.hexdigest())
        try:
            self._publish(str(sink.path), value_hash)
        except OSError as exc:
            raise self._write_error(value_hash, exc) from exc
        finally:
            sink.discard()
        return Serialized("store", None, sink.size, sink.hexdigest())

    def _publish(self, tmp: str, value_hash: str) -> None:
        target = self.location(value_hash)
        if self.is_s3:
            from remit.files import get_filesystem

            get_filesystem(target).put(tmp, target)
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(tmp, target)

    def _write_error(self, value_hash: str, exc: BaseException) -> DBError:
        return DBError(
            f"cannot write a value to the value store {self.root} ({value_hash[:8]}): {exc}. "
            "Free space there or point [backend] value_store_path elsewhere; finished jobs "
            "are recorded, run again to resume"
        )

    def cleanup_temporaries(self) -> list[Path]:
        """Delete temporary files left by writers that are gone; return what was deleted."""
        self._cleaned = True
        if self._tmp_dir is None:
            return []
        removed = []
        for path in stale_temporaries(self._tmp_dir):
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                pass
        return removed

    # -- reading --------------------------------------------------------------------------

    def load(self, value_hash: str, storage: str, data: bytes | None,
             data_hash: str | None) -> Any:
        """The value, after checking its bytes; UnusableValue says why it cannot be served."""
        if storage == "inline" and data is not None:
            if data_hash is None:
                raise UnusableValue("recorded before values were verified")
            if _digest(data) != data_hash:
                raise UnusableValue("its bytes do not match the recorded hash")
            return _unpickle(lambda: pickle.loads(data))
        if storage != "store":
            raise UnusableValue("not stored (not picklable)")
        if data_hash is None:
            raise UnusableValue("recorded before values were verified")
        if self.is_s3:
            return self._load_s3(value_hash, data_hash)
        try:
            file = open(self.location(value_hash), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise UnusableValue(f"missing from the value store ({self.location(value_hash)})") \
                from None
        except OSError as exc:
            raise UnusableValue(f"unreadable: {exc}") from exc
        with file:
            return self._verified_load(file, value_hash, data_hash)

    def _load_s3(self, value_hash: str, data_hash: str) -> Any:
        from remit.errors import FileError
        from remit.files import get_filesystem

        url = self.location(value_hash)
        fd, tmp = tempfile.mkstemp(prefix="remit-value-")
        os.close(fd)
        try:
            try:
                get_filesystem(url).get(url, tmp)
            except FileError as exc:
                raise UnusableValue(f"unreadable: {exc}") from exc
            with open(tmp, "rb") as file:
                return self._verified_load(file, value_hash, data_hash)
        finally:
            os.unlink(tmp)

    def _verified_load(self, file: IO[bytes], value_hash: str, data_hash: str) -> Any:
        digest = hashlib.blake2b(digest_size=DIGEST_SIZE)
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        while True:
            n = file.readinto(buffer)  # type: ignore[attr-defined]
            if not n:
                break
            digest.update(view[:n])
        if digest.hexdigest() != data_hash:
            raise UnusableValue(f"its bytes do not match the recorded hash "
                                f"({self.location(value_hash)} was changed)")
        file.seek(0)
        return _unpickle(lambda: pickle.load(file))

    # -- raw bytes (copying between stores) -----------------------------------------------

    def read_bytes(self, value_hash: str) -> bytes:
        """A stored value's pickle bytes as they are (OSError or FileError when gone)."""
        if not self.is_s3:
            with open(self.location(value_hash), "rb") as file:
                return file.read()
        from remit.files import get_filesystem

        url = self.location(value_hash)
        return get_filesystem(url).read_bytes(url)

    def write_bytes(self, value_hash: str, data: bytes) -> None:
        """Store pickle bytes as they are (write-then-rename; a full disk is a DBError)."""
        sink = SpillFile(-1, self._tmp_dir)
        try:
            sink.write(data)
            sink.close()
            self._publish(str(sink.path), value_hash)
        except OSError as exc:
            raise self._write_error(value_hash, exc) from exc
        finally:
            sink.discard()

    # -- listing (remit gc) ---------------------------------------------------------------

    def list_values(self) -> list[tuple[str, float]]:
        """Every stored value: (value hash, last modified as a Unix time)."""
        from remit.files import get_filesystem

        entries = get_filesystem(self.root).list_modified(self.root)
        return [(rel.rsplit("/", 1)[-1], mtime) for rel, mtime in entries
                if not rel.startswith(TMP_DIRNAME + "/") and "/" in rel]

    def remove(self, value_hash: str) -> None:
        """Delete a stored value (a missing one is not an error)."""
        from remit.files import get_filesystem

        url = self.location(value_hash)
        get_filesystem(url).remove(url)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE).hexdigest()


def _unpickle(load: Any) -> Any:
    try:
        return load()
    except Exception as exc:  # its class is gone, or the pickle is damaged
        raise UnusableValue(f"cannot be unpickled ({type(exc).__name__}: {exc})") from exc
