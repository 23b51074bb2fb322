"""Pickling for values that leave the process (job arguments, results, stored values):
the standard pickle first, cloudpickle for what it cannot handle (lambdas, local functions).
"""

from __future__ import annotations

import pickle
from typing import Any

from remit.errors import SerializationError


def dumps(value: Any, what: str = "a value") -> bytes:
    """Pickle ``value``; a SerializationError names ``what`` could not be pickled, and why."""
    try:
        return pickle.dumps(value, protocol=5)
    except Exception:
        import cloudpickle

        try:
            return cloudpickle.dumps(value, protocol=5)
        except Exception as exc:
            raise SerializationError(
                f"cannot pickle {what}: {exc}. Arguments and results of tasks that run in "
                "another process or machine, and values recorded in the cache, must be picklable"
            ) from exc
