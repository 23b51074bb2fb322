"""The job scratch layout, a stable protocol shared with running and future jobs:

    {scratch}/jobs/{eval_hash}/input      pickle of (args, kwargs)
    {scratch}/jobs/{eval_hash}/output     pickle of the result (may hold expressions)
    {scratch}/jobs/{eval_hash}/error      pickle of (exception, traceback text)
    {scratch}/array_jobs/{array_id}/eval_hashes   one eval hash per line, by array index
    {scratch}/code/{hash}.tar.gz          code tarball

Scratch may be an ``s3://`` prefix or a local directory (both through remit.files).
"""

from __future__ import annotations

import pickle
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
