"""remit: a Python workflow engine with lazy tasks, memoization and provenance.

The public API only; the logic lives in the modules named in ``__all__``'s comments.
"""

from remit.__about__ import __version__
from remit.expression import catch, cond, quote
from remit.scheduler import Scheduler
from remit.task import Task, get_task, task

__all__ = [
    "__version__",
    "Scheduler",
    "Task",
    "catch",
    "cond",
    "get_task",
    "quote",
    "task",
]
