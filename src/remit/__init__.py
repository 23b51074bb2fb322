"""remit: a Python workflow engine with lazy tasks, memoization and provenance.

The public API only; the logic lives in the submodules.
"""

from remit import functools as _functools  # noqa: F401 - registers remit's helper tasks
from remit.__about__ import __version__
from remit.cache_options import CacheCheckValid, CacheScope
from remit.context import get_context
from remit.current import get_current_scheduler, set_current_scheduler
from remit.expression import catch, cond, quote, throw
from remit.files import Dir, File, StagingDir, StagingFile
from remit.jobs import JobInfo
from remit.prov import no_prov
from remit.scheduler import Scheduler
from remit.scripting import script
from remit.tags import apply_tags
from remit.task import (
    PartialTask,
    Task,
    get_current_namespace,
    get_task,
    get_task_registry,
    namespace,
    task,
)

__all__ = [
    "__version__",
    "CacheCheckValid",
    "CacheScope",
    "Dir",
    "File",
    "JobInfo",
    "PartialTask",
    "Scheduler",
    "StagingDir",
    "StagingFile",
    "Task",
    "apply_tags",
    "catch",
    "cond",
    "get_context",
    "get_current_scheduler",
    "get_current_namespace",
    "get_task",
    "get_task_registry",
    "namespace",
    "no_prov",
    "quote",
    "script",
    "set_current_scheduler",
    "task",
    "throw",
]
