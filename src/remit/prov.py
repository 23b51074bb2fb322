"""``no_prov(expr)``: evaluate an expression without recording the calls it makes.

``no_prov`` is a call of the recorded task ``remit.no_prov`` (``check_valid="shallow"``, so a
re-run with unchanged code is served from its final result at once) whose only child,
``remit.no_prov_helper`` (``prov=False``), evaluates ``expr``: nothing below it is recorded in
the store, and nothing below it is reused from the cache. The task option ``prov=False`` does the
same for every call of one task.
"""

from __future__ import annotations

from typing import Any, TypeVar

from remit.expression import quote
from remit.task import task

T = TypeVar("T")


@task(name="no_prov_helper", namespace="remit", version="1", prov=False)
def _no_prov_helper(expr: Any) -> Any:
    """Return the quoted expression, which the scheduler then evaluates unrecorded."""
    return expr


@task(name="no_prov", namespace="remit", version="1", check_valid="shallow")
def _no_prov(expr: Any) -> Any:
    """Evaluate ``expr`` below an unrecorded helper call."""
    return _no_prov_helper(quote(expr))


_no_prov_helper.internal = _no_prov.internal = True  # remit's own helpers


def no_prov(expr: T) -> T:
    """Evaluate ``expr`` without recording the calls inside it (the outer call is recorded)."""
    return _no_prov(quote(expr))  # type: ignore[return-value]


__all__ = ["no_prov"]
