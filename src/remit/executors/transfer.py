"""How a job's call and result travel between the scheduler and a local worker process.

A small pickle travels as bytes through the pool's pipe: ``("bytes", data)``. A large one
(``INLINE_LIMIT`` bytes or more) is streamed to a temporary file and only its path travels:
``("file", path)``. The pipe would otherwise hold a big value two or three times over in each
process (the pickle, the pool's own pickle of it, the value). A result's file is deleted by
its reader; a call's file by the scheduler once the job is over (``discard``), so a job
resubmitted after its worker pool broke can read it again. ``clean_stale`` removes files that
a killed process left. This module knows nothing of jobs or pools.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from typing import Any

from remit.pickling import SpillFile, dump, stale_temporaries

INLINE_LIMIT = 1024 * 1024

Payload = tuple[str, Any]


def transfer_dir() -> str:
    """Where large pickles between the scheduler and its workers go."""
    return os.path.join(tempfile.gettempdir(), "remit-transfer")


def pack(value: Any, what: str) -> Payload:
    """Pickle ``value`` for another process (SerializationError or OSError if it cannot)."""
    sink = SpillFile(INLINE_LIMIT, transfer_dir())
    dump(value, sink, what)
    sink.close()
    return ("file", sink.path) if sink.spilled else ("bytes", sink.getvalue())


def unpack(payload: Payload, delete: bool = True) -> Any:
    """The value of a payload (deleting its file, unless the sender will)."""
    kind, body = payload
    if kind == "bytes":
        return pickle.loads(body)
    try:
        with open(body, "rb") as file:
            return pickle.load(file)
    finally:
        if delete:
            discard(payload)


def discard(payload: Payload) -> None:
    """Delete a payload's file, if it has one and it is still there."""
    kind, body = payload
    if kind == "file":
        try:
            os.unlink(body)
        except FileNotFoundError:
            pass


def clean_stale() -> None:
    """Delete transfer files whose writing process is gone."""
    for path in stale_temporaries(transfer_dir()):
        path.unlink(missing_ok=True)
