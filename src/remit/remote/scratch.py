"""The job scratch layout, a stable protocol shared with running and future jobs:

    {scratch}/jobs/{eval_hash}/input      pickle of (args, kwargs)
    {scratch}/jobs/{eval_hash}/output     pickle of the result (may hold expressions)
    {scratch}/jobs/{eval_hash}/error      pickle of (exception, traceback text)
    {scratch}/array_jobs/{array_id}/eval_hashes   one eval hash per line, by array index
    {scratch}/code/{hash}.tar.gz          code tarball

Scratch may be an ``s3://`` prefix or a local directory (both through remit.files).
``AREAS`` names every top-level prefix remit writes, and ``scratch_objects`` lists them for
`remit gc` (with the eval hash a job's objects belong to): a new area goes there too.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

from remit.files import get_filesystem
from remit.pickling import dumps


def join(root: str, *parts: str) -> str:
    """Join scratch path parts with single slashes."""
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def job_path(scratch: str, eval_hash: str, name: str) -> str:
    """Path of a job's ``input``, ``output`` or ``error`` file."""
    return join(scratch, "jobs", eval_hash, name)


def job_dir(scratch: str, eval_hash: str) -> str:
    """A job's scratch directory."""
    return join(scratch, "jobs", eval_hash)


def array_path(scratch: str, array_id: str) -> str:
    """The eval-hash list of an array job."""
    return join(scratch, "array_jobs", array_id, "eval_hashes")


def scratch_of_array(array_file: str) -> str:
    """The scratch root an array job's eval-hash list lives under."""
    root, sep, _ = array_file.rpartition("/array_jobs/")
    if not sep:
        raise ValueError(f"not an array job list: {array_file}")
    return root


def code_path(scratch: str, code_hash: str) -> str:
    """Where a code tarball with this hash is stored."""
    return join(scratch, "code", f"{code_hash}.tar.gz")


def write_pickle(path: str, value: Any, what: str = "a value") -> None:
    """Pickle ``value`` to a scratch path."""
    get_filesystem(path).write_bytes(path, dumps(value, what))  # no hash needed: one PUT


def read_pickle(path: str) -> Any:
    """Unpickle a scratch file."""
    return pickle.loads(get_filesystem(path).read_bytes(path))


#: Every top-level area of scratch remit writes (what `remit gc` looks at).
AREAS = ("jobs", "code", "array_jobs")


@dataclass(frozen=True)
class ScratchObject:
    """One object in scratch: its URL, area, the eval hash of the job it belongs to (objects
    under ``jobs/``; None elsewhere) and when it was last written (Unix time)."""

    url: str
    area: str
    eval_hash: str | None
    modified: float


def scratch_objects(scratch: str) -> list[ScratchObject]:
    """Every object remit wrote under ``scratch``, area by area."""
    found = []
    for area in AREAS:
        root = join(scratch, area)
        fs = get_filesystem(root)
        for rel, modified in fs.list_modified(root):
            owner = rel.split("/", 1)[0] if area == "jobs" else None
            found.append(ScratchObject(join(root, rel), area, owner, modified))
    return found
