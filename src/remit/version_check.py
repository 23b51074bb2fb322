"""Check remit's version against a specifier such as '>=0.1,<2' (used by `--check-version`)."""

from __future__ import annotations

import operator
import re

_OPS = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*([0-9]+(?:\.[0-9]+)*)\s*$")


def _parts(version: str) -> tuple[int, ...]:
    nums = tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3])
    return nums + (0,) * (3 - len(nums))


def check_version(version: str, spec: str) -> str | None:
    """Return None when version satisfies spec, else a message saying why not."""
    for clause in spec.split(","):
        match = _CLAUSE.match(clause)
        if not match:
            return f"invalid version specifier {clause.strip()!r} in {spec!r}; use e.g. '>=0.1'"
        op, wanted = match.groups()
        if not _OPS[op](_parts(version), _parts(wanted)):
            return f"remit {version} does not satisfy the required version {spec!r}"
    return None
