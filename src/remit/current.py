"""The scheduler running in this thread, as redun's ``get_current_scheduler()`` gives it.

``Scheduler.execute`` sets it for the length of a run (and puts back whatever was there
before, so a nested run is fine); tools and tests ask for it. A task body runs in an
executor's thread or process, where no scheduler is running.
"""

from __future__ import annotations

import threading
from typing import Any

from remit.errors import RemitError

_local = threading.local()


class NoCurrentScheduler(RemitError):
    """``get_current_scheduler()`` was called where no scheduler is running."""


def get_current_scheduler(required: bool = True) -> Any:
    """The scheduler running in this thread; None or NoCurrentScheduler when there is none."""
    scheduler = getattr(_local, "scheduler", None)
    if scheduler is None and required:
        raise NoCurrentScheduler("no remit scheduler is running in this thread; call this "
                                 "while Scheduler.run() runs, or pass the scheduler along")
    return scheduler


def set_current_scheduler(scheduler: Any) -> Any:
    """Make ``scheduler`` (or None) this thread's running scheduler; return the previous."""
    previous = getattr(_local, "scheduler", None)
    _local.scheduler = scheduler
    return previous
