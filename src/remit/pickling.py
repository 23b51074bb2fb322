"""Pickling for values that leave the process (job arguments, results, stored values):
the standard pickle first, cloudpickle for what it cannot handle (lambdas, local functions).
"""

from __future__ import annotations

import pickle
import sys
import threading
from typing import Any

from remit.errors import SerializationError


def dumps(value: Any, what: str = "a value") -> bytes:
    """Pickle ``value``; a SerializationError names ``what`` could not be pickled, and why."""
    try:
        return pickle.dumps(value, protocol=5)
    except RecursionError:
        return _dumps_deep(value, what)
    except Exception:
        import cloudpickle

        try:
            return cloudpickle.dumps(value, protocol=5)
        except Exception as exc:
            raise SerializationError(
                f"cannot pickle {what}: {exc}. Arguments and results of tasks that run in "
                "another process or machine, and values recorded in the cache, must be picklable"
            ) from exc


_DEEP_LIMIT = 20_000
_limit_lock = threading.Lock()


def _dumps_deep(value: Any, what: str) -> bytes:
    """Pickle a value nested deeper than the recursion limit, with the limit raised meanwhile."""
    with _limit_lock:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, _DEEP_LIMIT))
        try:
            return pickle.dumps(value, protocol=5)
        except RecursionError:
            raise SerializationError(
                f"cannot pickle {what}: nested more than {_DEEP_LIMIT} levels deep"
            ) from None
        finally:
            sys.setrecursionlimit(old)
