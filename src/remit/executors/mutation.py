"""Detects a task body that changed its argument objects in place (thread executor).

On a thread pool a task receives the very objects other calls produced and may share, so a
body that appends to a list argument changes another call's result behind the cache's back:
a fresh run and a cached re-run would then disagree. After the body returns, each argument
is hashed again and compared with the hash the call was keyed by. Process and remote
executors work on copies and need no check. A File or Dir argument the task writes to is not
a change of the object (its content counts through File validity, as on every executor).
This module only compares; the executor decides.
"""

from __future__ import annotations

from remit.errors import ArgumentMutatedError, RemitError
from remit.hashing import hash_value
from remit.jobs import Job

_IMMUTABLE = (str, bytes, int, float, bool, type(None))


def mutated_arguments(job: Job) -> list[str]:
    """Names of the arguments whose hash differs from the one the call was keyed by."""
    positions = [i for i, (value, before) in enumerate(zip(job.args, job.arg_hashes, strict=True))
                 if _changed(value, before)]
    changed = [name for name, value in job.kwargs.items()
               if _changed(value, job.kwarg_hashes.get(name))]
    if positions:
        from remit.display import bind_arguments

        names = [name for name, _ in bind_arguments(job.task, job.args, {})]
        changed[:0] = [names[i] if i < len(names) else f"arg{i}" for i in positions]
    return changed


def mutation_error(job: Job, names: list[str]) -> ArgumentMutatedError:
    """The error a call fails with when it changed its arguments in place."""
    which = ", ".join(repr(n) for n in names)
    plural = "s" if len(names) > 1 else ""
    return ArgumentMutatedError(
        f"task {job.task.fullname} changed its argument{plural} {which} in place; its result "
        "would not match a cached re-run. Copy the argument before changing it "
        "(e.g. items = list(items)), or run the task on a process executor."
    )


def _changed(value: object, before: str | None) -> bool:
    if type(value) in _IMMUTABLE or hasattr(value, "__remit_file_record__"):
        return False  # a File's content is checked by its validity, not as the object's state
    try:
        return hash_value(value) != before
    except RemitError:
        return True
