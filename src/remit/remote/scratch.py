"""The job scratch layout, a stable protocol shared with running and future jobs:

    {scratch}/jobs/{eval_hash}/input      pickle of (args, kwargs) of a single job
    {scratch}/jobs/{eval_hash}/output     pickle of the result (may hold expressions)
    {scratch}/jobs/{eval_hash}/error      pickle of (exception, traceback text)
    {scratch}/array_jobs/{array_id}/eval_hashes   one line per array index:
                                          "EVAL_HASH OFFSET LENGTH" (older: "EVAL_HASH")
    {scratch}/array_jobs/{array_id}/inputs        the children's (args, kwargs) pickles, one
                                          after the other; a child's is bytes OFFSET to
                                          OFFSET+LENGTH (older arrays: jobs/{eval_hash}/input)
    {scratch}/code/{hash}.tar.gz          code tarball
    {scratch}/ledger/...                  AWS Batch submissions in flight (executors.aws_batch)

Array children, like single jobs, write jobs/{eval_hash}/output or error, so a later run finds
an output whichever way it was made. Owns the paths, pickles in and out, the array files, and
finding which outputs exist with listings instead of one lookup per job. Scratch may be an
``s3://`` prefix or a local directory (both through remit.files).
``AREAS`` names every top-level prefix `remit gc` cleans, and ``scratch_objects`` lists them
(with the eval hash a job's objects belong to): a new area goes there too, unless, like
``ledger/`` (entries of jobs in flight, removed by the Batch executor itself), gc must not.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from remit.files import get_filesystem
from remit.pickling import dumps

_LOOKUP_AT_MOST = 8  # jobs whose outputs are looked up one by one rather than listed
_KEYS_PER_PAGE = 1000  # keys per ListObjectsV2 page
_HASHES_PER_PAGE = 2  # a listing may read a page per this many jobs before giving up


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


def array_inputs_path(scratch: str, array_id: str) -> str:
    """The concatenated input pickles of an array job's children."""
    return join(scratch, "array_jobs", array_id, "inputs")


def write_array(scratch: str, array_id: str, inputs: Sequence[tuple[str, bytes]]) -> str:
    """Write an array's inputs, then its eval-hash list (what children read first); two PUTs.

    ``inputs`` holds (eval hash, pickled (args, kwargs)) by array index; returns the list's path.
    """
    lines, offset = [], 0
    for eval_hash, data in inputs:
        lines.append(f"{eval_hash} {offset} {len(data)}\n")
        offset += len(data)
    write_bytes(array_inputs_path(scratch, array_id), b"".join(data for _, data in inputs))
    path = array_path(scratch, array_id)
    write_bytes(path, "".join(lines).encode())
    return path


@dataclass(frozen=True)
class ArraySlot:
    """What an array child at one index runs: its eval hash and where its input is."""

    root: str
    eval_hash: str
    input: str
    input_range: tuple[int, int] | None  # (offset, length) within ``input``; None: all of it


def array_slot(array_file: str, index: int, inputs: str | None = None) -> ArraySlot:
    """Read an array's eval-hash list and locate the input of the child at ``index``: a slice
    of ``inputs`` (by default the list's sibling ``inputs``), or, for arrays written before
    inputs were combined, ``jobs/{eval_hash}/input``."""
    root = scratch_of_array(array_file)
    fields = get_filesystem(array_file).read_bytes(array_file).decode().splitlines()[index].split()
    if len(fields) == 3:
        inputs = inputs or join(array_file.rpartition("/")[0], "inputs")
        return ArraySlot(root, fields[0], inputs, (int(fields[1]), int(fields[2])))
    return ArraySlot(root, fields[0], job_path(root, fields[0], "input"), None)


def read_hashes(array_file: str) -> list[str]:
    """The eval hashes of an array job, by index."""
    text = get_filesystem(array_file).read_bytes(array_file).decode()
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def outputs_present(scratch: str, eval_hashes: Iterable[str]) -> set[str]:
    """Which of these jobs already have an output in scratch.

    Few jobs: one lookup each. Many: one listing of ``jobs/`` from the smallest hash on (a
    request per 1,000 keys), stopped at the largest hash or once it has read a page per
    ``_HASHES_PER_PAGE`` jobs, whichever comes first; hashes past where it stopped are looked
    up one by one. So a large scratch never costs more than the lookups would.
    """
    wanted = sorted(set(eval_hashes))
    if not wanted:
        return set()
    fs = get_filesystem(scratch)
    if len(wanted) <= _LOOKUP_AT_MOST:
        return {h for h in wanted if fs.exists(job_path(scratch, h, "output"))}
    wanted_set, found = set(wanted), set[str]()
    budget = _KEYS_PER_PAGE * max(1, len(wanted) // _HASHES_PER_PAGE)
    last = ""
    for count, name in enumerate(fs.iter_names(join(scratch, "jobs"), wanted[0])):
        eval_hash, _, leaf = name.partition("/")
        if eval_hash > wanted[-1]:
            return found
        if count >= budget:
            break
        last = eval_hash
        if leaf == "output" and eval_hash in wanted_set:
            found.add(eval_hash)
    else:
        return found
    rest = [h for h in wanted if h >= last]
    return found | {h for h in rest if fs.exists(job_path(scratch, h, "output"))}


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
    write_bytes(path, dumps(value, what))  # no hash needed: one PUT


def write_bytes(path: str, data: bytes) -> None:
    """Write a scratch file."""
    get_filesystem(path).write_bytes(path, data)


def read_pickle(path: str, byte_range: tuple[int, int] | None = None) -> Any:
    """Unpickle a scratch file, or the (offset, length) ``byte_range`` of one."""
    fs = get_filesystem(path)
    data = fs.read_bytes(path) if byte_range is None else fs.read_range(path, *byte_range)
    return pickle.loads(data)


#: Every top-level area of scratch `remit gc` looks at (all remit writes but ledger/).
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
