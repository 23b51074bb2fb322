"""Shell scripts as tasks: `script()`, and the built-in tasks that run and finish them.

``script(command, inputs=..., outputs=...)`` is lazy, like a task call. It evaluates as:

- ``remit.script`` (on the default executor) which returns
  ``remit.postprocess_script(remit.script_task(...), outputs)``;
- ``remit.script_task`` (on the executor named in the options) stages the inputs in,
  runs the command with ``bash -euo pipefail``, stages the outputs out and returns
  ``[exit_code, stdout, outputs with fresh hashes]``. It is plain Python, so it runs wherever
  remit runs (a Batch container needs no AWS CLI);
- ``remit.postprocess_script`` replaces ``File("-")`` with the script's stdout.

Outputs are described by paths only (their contents do not exist yet), so a re-run hits the
cache; the produced Files are part of script_task's result, so a deleted or changed output
invalidates it and the script runs again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from typing import Any

from remit import childguard
from remit.errors import ScriptError
from remit.files import Dir, File, StagingDir, StagingFile
from remit.files.file import STDOUT
from remit.hashing import is_valid, map_nested, normalize, refresh
from remit.task import task

_STDERR_TAIL_LINES = 20


@dataclass(frozen=True)
class ScriptOutputs:
    """The outputs a script will write; hashed by their paths, not their (future) contents."""

    value: Any

    def __repr__(self) -> str:
        return repr(map_nested(_describe_output, self.value))


class _Shown:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _describe_output(leaf: Any) -> Any:
    if isinstance(leaf, File | Dir):
        return _Shown(f"{type(leaf).__name__}(path={leaf.path})")
    if isinstance(leaf, StagingFile | StagingDir):
        return _Shown(f"{type(leaf.remote).__name__}(path={leaf.remote.path}) "
                      f"<- {leaf.local.path}")
    return leaf


@normalize.register(ScriptOutputs)
def _normalize_outputs(outputs: ScriptOutputs) -> Any:
    def path_only(leaf: Any) -> Any:
        if isinstance(leaf, File | Dir):
            return (type(leaf).__name__, leaf.path)
        if isinstance(leaf, StagingFile | StagingDir):
            return (type(leaf).__name__, leaf.local.path, leaf.remote.path)
        return normalize(leaf)

    return ("ScriptOutputs", normalize(map_nested(path_only, outputs.value)))


@normalize.register(StagingFile)
@normalize.register(StagingDir)
def _normalize_staging(value: StagingFile | StagingDir) -> tuple:
    # The local copy is scratch: only where it goes and the remote content matter.
    return (type(value).__name__, value.local.path, normalize(value.remote))


@is_valid.register(StagingFile)
@is_valid.register(StagingDir)
def _staging_is_valid(value: StagingFile | StagingDir) -> bool:
    return is_valid(value.remote)


@refresh.register(StagingFile)
@refresh.register(StagingDir)
def _refresh_staging(value: StagingFile | StagingDir) -> None:
    refresh(value.remote)


def script(
    command: str,
    inputs: Any = (),
    outputs: Any = None,
    tempdir: bool = False,
    **task_options: Any,
) -> Any:
    """Run a shell command as a task (lazily); returns what ``outputs`` describes.

    ``inputs``: Files or ``File(remote).stage(local)`` pairs the command reads (their content
    is part of the cache key; staged ones are copied in first). ``outputs``: any nested
    structure of Files, staging pairs (copied out afterwards) and ``File("-")`` (the command's
    stdout, as bytes); the default is stdout. ``tempdir=True`` runs in a fresh directory.
    Other options (``executor``, ``memory``, ...) apply to the job that runs the command.
    """
    if outputs is None:
        outputs = File(STDOUT)
    command = textwrap.dedent(command).strip()
    return _script(command, list(inputs), ScriptOutputs(outputs), tempdir, task_options)


@task(name="script", namespace="remit", version="1")
def _script(command: str, inputs: list, outputs: ScriptOutputs, tempdir: bool,
            task_options: dict) -> Any:
    """Route the command to its executor, then map its outputs."""
    run = script_task.with_options(**task_options) if task_options else script_task
    return postprocess_script(run(command, inputs, outputs, tempdir), outputs)


@task(namespace="remit", version="1")
def script_task(command: str, inputs: list, outputs: ScriptOutputs, tempdir: bool) -> list:
    """Stage inputs in, run ``command`` under ``bash -euo pipefail``, stage outputs out."""
    workdir = tempfile.mkdtemp(prefix="remit-script-") if tempdir else os.getcwd()
    try:
        for item in inputs:
            if isinstance(item, StagingFile | StagingDir):
                _in_dir(item, workdir).stage()
        proc = _run_guarded(["bash", "-euo", "pipefail", "-c", command], workdir)
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").splitlines()[-_STDERR_TAIL_LINES:]
            raise ScriptError(proc.returncode, "\n".join(tail), command)
        produced = map_nested(lambda leaf: _stage_out(leaf, workdir), outputs.value)
    finally:
        if tempdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return [proc.returncode, proc.stdout, produced]


def _run_guarded(argv: list[str], workdir: str) -> subprocess.CompletedProcess[bytes]:
    """Run a command in a process group of its own that dies with this process."""
    childguard.ensure_guard()
    with childguard.FORK_LOCK:
        proc = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    with proc:
        childguard.watch_group(proc.pid)
        try:
            stdout, stderr = proc.communicate()
        finally:
            if proc.poll() is None:
                proc.kill()
            if not childguard.group_alive(proc.pid):  # background leftovers die with remit
                childguard.release_group(proc.pid)
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def _in_dir(item: StagingFile | StagingDir, workdir: str) -> StagingFile | StagingDir:
    """The staging pair with its local path taken relative to the script's directory."""
    local = item.local
    if "://" in local.path or os.path.isabs(local.path):
        return item
    moved = type(local)(os.path.join(workdir, local.path))
    return type(item)(moved, item.remote)  # type: ignore[arg-type]


def _stage_out(leaf: Any, workdir: str) -> Any:
    if isinstance(leaf, StagingFile | StagingDir):
        return _in_dir(leaf, workdir).unstage()
    if isinstance(leaf, File) and leaf.path == STDOUT:
        return leaf
    if isinstance(leaf, File | Dir):
        path = leaf.path
        if "://" not in path and not os.path.isabs(path):
            path = os.path.join(workdir, path)
        return type(leaf)(path)
    return leaf


@task(namespace="remit", version="1")
def postprocess_script(result: list, outputs: ScriptOutputs) -> Any:
    """Replace ``File("-")`` in the produced outputs with the script's stdout bytes."""
    _, stdout, produced = result
    return map_nested(
        lambda leaf: stdout if isinstance(leaf, File) and leaf.path == STDOUT else leaf, produced
    )
