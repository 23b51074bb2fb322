"""Values nested thousands of levels deep: hashed, stored, cached, shown, without RecursionError."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli, status_row

WORKFLOW = '''
from remit import task


def nest(depth: int) -> list:
    value: list = ["leaf", {"k": (1, 2)}]
    for _ in range(depth):
        value = [value]
    return value


def depth_of(value) -> int:
    n = 0
    while isinstance(value, list) and len(value) == 1:
        value, n = value[0], n + 1
    return n


@task(executor="{executor}")
def deep(depth: int) -> list:
    return nest(depth)


@task()
def measure(value: list) -> int:
    return depth_of(value)


@task()
def main(depth: int = 350) -> list:
    value = deep(depth)
    return [measure(value), value]
'''


@pytest.mark.parametrize("executor", ["default", "procs"])
@pytest.mark.parametrize("depth", [350, 2000])
def test_deeply_nested_results(tmp_path: Path, executor: str, depth: int) -> None:
    (tmp_path / ".remit").mkdir()
    (tmp_path / ".remit" / "remit.ini").write_text(
        "[executors.procs]\ntype = local\nmode = process\nmax_workers = 1\n")
    (tmp_path / "workflow.py").write_text(WORKFLOW.replace("{executor}", executor))
    for attempt in ("first", "cached"):
        proc = run_cli("run", "workflow.py", "main", "--depth", str(depth), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        at = proc.stderr.find("RecursionError")
        assert at < 0, (attempt, proc.stderr[max(at - 2000, 0):at + 200])
        out = "".join(proc.stdout.split())
        assert out.startswith(f"[{depth}," + "[" * (depth + 1) + "'leaf',{'k':(1,2)}")
        expected = [0, 0, 0, 0, 1, 1] if attempt == "first" else [0, 0, 0, 1, 0, 1]
        assert status_row(proc.stderr, "deep") == expected
    log = run_cli("log", cwd=tmp_path)
    assert log.returncode == 0 and "[  DONE  ]" in log.stdout


def test_the_iterative_hash_is_the_recursive_one() -> None:
    from collections import namedtuple

    from remit.display import deep_repr
    from remit.hashing import _normalize_deep, normalize

    point = namedtuple("point", "x y")
    values = [
        [1, "a", None, (2,), {"k": [3, {4, 5}], 7: frozenset({"x"})}, point(1, [2])],
        {(1, 2): {"nested": [[], {}, set(), ()]}},
        (b"bytes", 2.5, True, [("t",)]),
    ]
    for value in values:
        assert _normalize_deep(value) == normalize(value)
        assert deep_repr(value) == repr(value)
        assert deep_repr(normalize(value)) == repr(normalize(value))
