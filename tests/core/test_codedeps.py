"""What a task's hash covers: the dependency map codedeps builds, and the task options
`hash_includes` and `version` as a user sets them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from remit.codedeps import dependencies
from tests.conftest import run_cli
from tests.core.test_caching_explained import edit, ran


@pytest.fixture
def user_modules(tmp_path: Path) -> Iterator[Path]:
    """A directory of importable user modules, removed from sys.modules afterwards."""
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_dependencies_follow_closures_imports_in_the_body_and_libraries(
    user_modules: Path,
) -> None:
    (user_modules / "cd_tools.py").write_text(
        "LIMIT = {'a': [1, 2]}\n\ndef clip(x):\n    return min(x, LIMIT['a'][1])\n")
    (user_modules / "cd_flow.py").write_text('''\
import json
import sqlalchemy

class Model:
    def fit(self):
        return 1

MODEL = Model()


def make(k):
    def body(x):
        from cd_tools import clip
        return clip(x) * k + MODEL.fit()
    return body


def lib(x):
    return json.dumps(x) + sqlalchemy.__version__
''')
    flow = importlib.import_module("cd_flow")
    deps = dependencies(flow.make(3))
    assert set(deps) == {"function cd_tools:clip", "constant cd_tools:LIMIT",
                         "class cd_flow:Model", "function cd_flow:Model.fit",
                         "constant cd_flow:k"}
    import sqlalchemy

    libs = dependencies(flow.lib)
    assert libs["library SQLAlchemy"] == sqlalchemy.__version__
    assert libs["library python"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert not any(label.startswith(("function", "class")) for label in libs)


def test_hash_includes_and_version_as_a_user_sets_them(tmp_path: Path) -> None:
    (tmp_path / "params.txt").write_text("alpha=1\n")
    (tmp_path / "workflow.py").write_text('''\
from remit import File, task

FACTOR = 2


@task(hash_includes=[File("params.txt", content_hash=True)])
def tuned(x: int) -> str:
    return open("params.txt").read().strip() + str(x)


@task(version="1")
def pinned(x: int) -> int:
    return x * FACTOR


@task()
def main(x: int = 1) -> list:
    return [tuned(x), pinned(x)]
''')
    assert run_cli("run", "workflow.py", "main", cwd=tmp_path).returncode == 0
    info = run_cli("info", "workflow.py", "tuned", cwd=tmp_path).stdout
    assert "Hash covers: its source, and:\n    hash_includes[0]\n" in info
    info = run_cli("info", "workflow.py", "pinned", cwd=tmp_path).stdout
    assert "Hash covers: its name and version '1' only" in info
    (tmp_path / "params.txt").write_text("alpha=2\n")
    edit(tmp_path / "workflow.py", "FACTOR = 2", "FACTOR = 3")  # pinned by version: no re-run
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {name: why for name, (_, why) in ran(proc.stderr).items()} == {
        "tuned": "hash_includes[0] changed"}
    assert "['alpha=21', 2]" in proc.stdout

    edit(tmp_path / "workflow.py", 'version="1"', 'version="2"')
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert {name: why for name, (_, why) in ran(proc.stderr).items()} == {
        "pinned": "version changed (1 -> 2)"}
    assert "['alpha=21', 3]" in proc.stdout


def test_default_values_and_shared_small_constants_count_by_name(user_modules: Path) -> None:
    (user_modules / "cd_defaults.py").write_text('''\
A = 1
B = 1
SCALE = 2


def helper(x, scale=SCALE):
    return x * scale


def body(x):
    return helper(x) + A + B
''')
    module = importlib.import_module("cd_defaults")
    deps = dependencies(module.body)
    assert {"constant cd_defaults:A", "constant cd_defaults:B",
            "constant cd_defaults:helper() defaults", "function cd_defaults:helper"} == set(deps)
    module.SCALE = 3  # a default is evaluated once, at def: only a re-definition changes it
    assert dependencies(module.body) == deps


def test_an_unhashable_hash_includes_is_a_clear_error_at_the_decorator() -> None:
    import threading

    from remit import task
    from remit.errors import TaskError

    def locked() -> int:
        return 1

    with pytest.raises(TaskError, match=r"hash_includes=\.\.\.\) on locked: item 0 cannot be "
                                        r"hashed: cannot hash a value of type _thread.lock"):
        task(hash_includes=[threading.Lock()])(locked)
    with pytest.raises(TaskError, match="must be a list"):
        task(hash_includes="params.txt")(locked)


def test_cached_and_partial_helpers_count_by_their_source(user_modules: Path) -> None:
    (user_modules / "cd_wrapped.py").write_text('''\
import functools


@functools.lru_cache
def lookup(x):
    return x + 1


def scale(x, factor):
    return x * factor


double = functools.partial(scale, factor=2)


def body(x):
    return lookup(x) + double(x)
''')
    deps = dependencies(importlib.import_module("cd_wrapped").body)
    assert {"function cd_wrapped:lookup", "function cd_wrapped:scale",
            "constant cd_wrapped:double bound"} <= set(deps)
