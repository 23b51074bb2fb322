"""``fork_thread(expr)`` / ``join_thread(thread)``: background evaluation within a run.

A job normally finishes only once everything it returned is evaluated. ``fork_thread(expr)``
starts evaluating ``expr`` (as part of the calling job) and at once gives back a ``Thread``
value, which may be returned, passed to other tasks and joined later with
``join_thread(thread)``: the join waits for the forked evaluation, or evaluates ``expr`` again
if the thread was forked in an earlier run (a cached Thread). Useful for stateful sequences
where one step hands on work still in progress. A Thread's hash is that of its expression.
"""

from __future__ import annotations

import uuid
from typing import Any

from remit.hashing import hash_struct, hash_value, normalize
from remit.jobs import JobFailure
from remit.scheduler_tasks import scheduler_task


class Thread:
    """A handle on an expression being evaluated in the background of a run."""

    def __init__(self, thread_id: str, expr: Any, expr_hash: str) -> None:
        self.thread_id = thread_id
        self.expr = expr
        self.expr_hash = expr_hash

    def __repr__(self) -> str:
        return f"Thread({self.expr!r})"


@normalize.register(Thread)
def _normalize_thread(thread: Thread) -> tuple:
    return ("Thread", thread.expr_hash)


def _running(scheduler: Any) -> dict[str, Any]:
    """The scheduler's forked evaluations by thread id (kept on the scheduler for one run)."""
    threads = scheduler.__dict__.get("_remit_threads")
    if threads is None or threads[0] is not scheduler.execution:
        threads = scheduler.__dict__["_remit_threads"] = (scheduler.execution, {})
    return threads[1]


@scheduler_task(namespace="remit")
def fork_thread(scheduler: Any, parent: Any, promise: Any, inner: Any) -> None:
    """Start evaluating ``expr`` in the background; evaluates to a ``Thread`` at once."""
    thread = Thread(str(uuid.uuid4()), inner, hash_struct("ThreadExpr", hash_value(inner)))
    _running(scheduler)[thread.thread_id] = scheduler.evaluate(inner, parent)
    promise.resolve(thread)


@scheduler_task(namespace="remit")
def join_thread(scheduler: Any, parent: Any, promise: Any, thread: Any) -> None:
    """The value of a forked ``Thread``'s expression, once it is evaluated."""

    def join(thread: Any) -> None:
        if not isinstance(thread, Thread):
            error = TypeError(f"join_thread() needs a Thread from fork_thread(), got {thread!r}")
            promise.reject(JobFailure(error, f"TypeError: {error}\n", parent))
            return
        forked = _running(scheduler).pop(thread.thread_id, None)
        if forked is None:  # forked in an earlier run (a cached Thread): evaluate it here
            forked = scheduler.evaluate(thread.expr, parent)
        forked.then(promise.resolve, promise.reject)

    scheduler.evaluate(thread, parent).then(join, promise.reject)


__all__ = ["Thread", "fork_thread", "join_thread"]
