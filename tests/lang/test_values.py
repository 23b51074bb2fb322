"""User-defined values (remit.value): hash, validity, command-line parsing and pickling."""

from __future__ import annotations

import json
import pickle
import textwrap
import threading
from pathlib import Path

from remit import task
from remit.hashing import hash_value
from remit.value import ProxyValue, Value, parse_arg
from tests.conftest import run_cli

remit_namespace = "tests.lang.values"

calls: list[str] = []
still_good: dict[str, bool] = {}


class Dataset(Value):
    """Identified by name and version; the note is not part of its identity."""

    def __init__(self, name: str, version: int, note: str = "") -> None:
        self.name, self.version, self.note = name, version, note
        self.lock = threading.Lock()  # not picklable: __getstate__ leaves it out

    def get_hash(self) -> str:
        return hash_value((self.name, self.version))

    def is_valid(self) -> bool:
        return still_good.get(self.name, True)

    @classmethod
    def parse_arg(cls, raw_type: type, arg: str) -> Dataset:
        name, version = arg.split("@")
        return cls(name, int(version))

    def __getstate__(self) -> dict:
        return {"name": self.name, "version": self.version, "note": self.note}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)  # type: ignore[misc]


class Color:
    """A class we pretend not to own: not picklable as it is (it holds a lock)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()


class ColorValue(ProxyValue):
    type = Color

    def get_hash(self) -> str:
        return hash_value(("color", self.instance.name.lower()))

    @classmethod
    def parse_arg(cls, raw_type: type, arg: str) -> Color:
        return Color(arg.strip().lower())

    def serialize(self) -> bytes:
        return json.dumps({"name": self.instance.name}).encode()

    @classmethod
    def deserialize(cls, raw_type: type, data: bytes) -> Color:
        return Color(json.loads(data)["name"])


@task()
def describe(data: Dataset) -> str:
    calls.append(f"describe({data.name})")
    return f"{data.name} v{data.version}"


@task()
def make(name: str) -> Dataset:
    calls.append(f"make({name})")
    return Dataset(name, 1)


@task(executor="process")
def paint(color: Color) -> Color:
    return Color(color.name.upper())


def test_get_hash_decides_what_counts_as_the_same_argument(make_scheduler) -> None:
    calls.clear()
    make_scheduler().run(describe(Dataset("genes", 3, note="first")))
    assert make_scheduler().run(describe(Dataset("genes", 3, note="other note"))) == "genes v3"
    assert calls == ["describe(genes)"]  # the second call was served from the cache
    make_scheduler().run(describe(Dataset("genes", 4)))
    assert calls == ["describe(genes)", "describe(genes)"]


def test_is_valid_false_reruns_the_call_that_made_it(make_scheduler) -> None:
    calls.clear()
    still_good.pop("cells", None)
    make_scheduler().run(make("cells"))
    make_scheduler().run(make("cells"))
    assert calls == ["make(cells)"]
    still_good["cells"] = False
    make_scheduler().run(make("cells"))
    assert calls == ["make(cells)", "make(cells)"]


def test_getstate_serves_pickling() -> None:
    restored = pickle.loads(pickle.dumps(Dataset("genes", 2, note="n")))
    assert (restored.name, restored.version, restored.note) == ("genes", 2, "n")


def test_proxy_value_hashes_and_pickles_a_class_you_do_not_own(make_scheduler) -> None:
    assert hash_value(Color("Red")) == hash_value(Color("red"))
    assert hash_value(Color("red")) != hash_value(Color("blue"))
    restored = pickle.loads(pickle.dumps(Color("teal")))  # through serialize/deserialize
    assert restored.name == "teal"
    result = make_scheduler().run(paint(Color("teal")))  # into a process pool and back
    assert isinstance(result, Color) and result.name == "TEAL"


def test_parse_arg_dispatch() -> None:
    assert parse_arg(Dataset, "genes@7").version == 7
    assert parse_arg(Color, " Blue ").name == "blue"
    assert parse_arg(int, "12") == 12


def test_command_line_options_parsed_by_parse_arg(tmp_path: Path) -> None:
    (tmp_path / "workflow.py").write_text(textwrap.dedent('''
        from remit import task
        from remit.value import Value

        remit_namespace = "values_cli"


        class Sample(Value):
            def __init__(self, name, depth):
                self.name, self.depth = name, depth

            @classmethod
            def parse_arg(cls, raw_type, arg):
                name, depth = arg.split(":")
                return cls(name, int(depth))


        @task()
        def main(sample: Sample) -> str:
            return f"{sample.name} at depth {sample.depth}"
    '''))
    proc = run_cli("run", "workflow.py", "main", "--sample", "liver:30", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "'liver at depth 30'"
    bad = run_cli("run", "workflow.py", "main", "--sample", "liver", cwd=tmp_path)
    assert bad.returncode != 0 and "'liver' is not a valid Sample" in bad.stderr
