"""Imports workflow code: a file (``workflow.py``) or a module name, plus extra import paths.

A file is imported under its module name with its directory first on ``sys.path``, so its
tasks pickle by reference and its sibling packages (``task_lib/utils.py``) import normally.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from remit.errors import TaskError
from remit.task import Task, registered_tasks


def load_workflow(target: str, import_paths: Sequence[str] = ()) -> ModuleType:
    """Import ``target`` (a .py file or a dotted module name) and return the module."""
    for extra in reversed(import_paths):
        resolved = str(Path(extra).resolve())
        if resolved not in sys.path:
            sys.path.insert(0, resolved)
    path = Path(target)
    if target.endswith(".py"):
        if not path.exists():
            raise TaskError(f"workflow file {target} does not exist")
        folder = str(path.resolve().parent)
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
        module_name = path.stem
    else:
        module_name = target
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == module_name or module_name.startswith(missing + "."):
            hint = "pass a .py file, or a module importable from here (check the spelling)"
            raise TaskError(f"cannot import workflow {target!r}: {exc}; {hint}") from None
        raise


def find_task(module: ModuleType, name: str) -> Task:
    """Find a task by attribute name in the module, or by full or short name in the registry."""
    candidate = getattr(module, name, None)
    if isinstance(candidate, Task):
        return candidate
    tasks = registered_tasks()
    if name in tasks:
        return tasks[name]
    matches = [t for t in tasks.values() if t.name == name]
    if len(matches) == 1:
        return matches[0]
    in_module = sorted(
        t.name for t in vars(module).values() if isinstance(t, Task)
    )
    raise TaskError(
        f"no task named {name!r} in {module.__name__}; tasks there: "
        f"{', '.join(in_module) or 'none'}"
    )
