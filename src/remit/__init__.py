"""remit: a Python workflow engine with lazy tasks, memoization and provenance.

The public API only; the logic lives in the submodules.
"""

from remit import functools as _functools  # noqa: F401 - registers remit's helper tasks
from remit.__about__ import __version__
from remit.expression import catch, cond, quote, throw
from remit.files import Dir, File, StagingDir, StagingFile
from remit.scheduler import Scheduler
from remit.scripting import script
from remit.task import PartialTask, Task, get_task, task

__all__ = [
    "__version__",
    "Dir",
    "File",
    "PartialTask",
    "Scheduler",
    "StagingDir",
    "StagingFile",
    "Task",
    "catch",
    "cond",
    "get_task",
    "quote",
    "script",
    "task",
    "throw",
]
