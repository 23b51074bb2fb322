"""Runs one task from scratch inside a job (a Batch container, a local container or process).

It imports the workflow module (after unpacking the code tarball), reads the arguments,
calls the task's function once and writes what it returned, which may still hold lazy
expressions for the scheduler to evaluate, or the error with its traceback. It never runs
a scheduler and never touches the provenance database.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

from remit.errors import FileError
from remit.files import File
from remit.remote import scratch
from remit.remote.packaging import extract_tarball


@dataclass
class OneshotRequest:
    """Where one job's code, arguments, result and error live."""

    module: str
    task_name: str
    input: str
    output: str
    error: str
    code: str | None = None
    import_paths: Sequence[str] = field(default_factory=list)
    no_cache: bool = False
    array_job: bool = False
    array_inputs: str | None = None  # an array's combined inputs (else jobs/HASH/input)
    input_range: tuple[int, int] | None = None  # (offset, length) of the input within ``input``


def resolve_array_slot(request: OneshotRequest) -> OneshotRequest:
    """For an array child: the input/output/error of the job at AWS_BATCH_JOB_ARRAY_INDEX."""
    index = int(os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX", "0"))
    slot = scratch.array_slot(request.input, index, request.array_inputs)
    return dataclasses.replace(
        request, input=slot.input, input_range=slot.input_range,
        output=scratch.job_path(slot.root, slot.eval_hash, "output"),
        error=scratch.job_path(slot.root, slot.eval_hash, "error"), array_job=False,
    )


def run_oneshot(request: OneshotRequest) -> int:
    """Run the task; return 0 when its result was written, 1 when its error was."""
    if request.array_job:
        request = resolve_array_slot(request)
    try:
        _remove_stale(request.error)
        output = File(request.output)
        if not request.no_cache and output.exists():
            print(f"[remit] oneshot: output already in scratch, not run again: {request.output}")
            return 0
        if request.code:
            extract_tarball(File(request.code).read("rb"), os.getcwd())
        from remit.loader import load_workflow
        from remit.task import get_task

        load_workflow(request.module, request.import_paths or ["."])
        task = get_task(request.task_name)
        args, kwargs = scratch.read_pickle(request.input, request.input_range)
        _collect_garbage_from_here()
        result = task.func(*args, **kwargs)
        scratch.write_pickle(request.output, result, f"the result of {request.task_name}")
        return 0
    except BaseException as exc:  # noqa: BLE001 - every failure is written back
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        print(text, end="", flush=True)
        _write_error(request.error, exc, text)
        return 1


def _collect_garbage_from_here() -> None:
    """Turn the collector (off during start-up: ``remit oneshot``) on for the task's own code,
    with everything loaded so far frozen, so that its collections skip the AWS models."""
    gc.freeze()
    gc.enable()


def _remove_stale(path: str) -> None:
    """Delete an error left by an earlier attempt (absent is fine)."""
    try:
        File(path).remove()
    except (FileError, OSError):
        pass


def _write_error(path: str, exc: BaseException, text: str) -> None:
    try:
        scratch.write_pickle(path, (exc, text), "the error")
    except Exception:  # an exception that cannot be pickled travels as its repr
        scratch.write_pickle(path, (RuntimeError(f"{type(exc).__name__}: {exc}"), text))
