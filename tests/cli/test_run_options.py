"""`remit run` as a redun user drives it: typed options, task help and info, --pdb under a
terminal, --rerun from the cache, `--`, and usage errors that leave nothing recorded."""

from __future__ import annotations

import ast
import sqlite3
import sys
import textwrap
from pathlib import Path

import pexpect

from tests.conftest import run_cli, status_row

WORKFLOW = '''
import enum
from typing import Literal

from remit import Dir, File, task

remit_namespace = "params"


class Color(enum.Enum):
    red = 1
    green = 2


class Celsius:
    """A user type that parses its own command-line text."""

    def __init__(self, degrees: float) -> None:
        self.degrees = degrees

    @classmethod
    def parse_arg(cls, raw_type, arg: str) -> "Celsius":
        return cls(float(arg.removesuffix("C")))


@task()
def show(numbers: list[int], color: Color = Color.red, flag: bool = False,
         cfg: dict = {"depth": 2, "tags": ["a"]}, names: tuple[str, ...] = ("x",),
         data: File | None = None, folder: Dir | None = None) -> dict:
    """Summarize the parameters.

    Every type of option a workflow uses.
    """
    return {"sum": sum(numbers), "numbers": numbers, "color": color.name, "flag": flag,
            "cfg": cfg, "names": list(names), "data": data.path if data else None,
            "cfg_type": type(cfg).__name__, "folder": folder.path if folder else None}


@task()
def temperature(t: Celsius, unit: Literal["C", 1] = "C") -> float:
    return t.degrees if unit == "C" else -1.0


@task(memory=4, version="7")
def square(x: int) -> int:
    """Square a number."""
    return x * x
'''


def write(tmp_path: Path, source: str = WORKFLOW, name: str = "workflow.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def result(proc) -> dict:  # type: ignore[no-untyped-def]
    assert proc.returncode == 0, proc.stderr
    return ast.literal_eval(proc.stdout.strip())


def test_list_enum_bool_json_and_file_options(tmp_path: Path) -> None:
    write(tmp_path)
    out = result(run_cli("run", "workflow.py", "show", "--numbers", "1", "2", "-3",
                         "--color", "green", "--flag", "--cfg", '{"depth": 5}',
                         "--names", "a", "b", "--data", "in.txt", "--folder", "results",
                         cwd=tmp_path))
    assert out == {"sum": 0, "numbers": [1, 2, -3], "color": "green", "flag": True,
                   "cfg": {"depth": 5}, "names": ["a", "b"], "data": "in.txt",
                   "cfg_type": "dict", "folder": "results"}
    # repeated options, Color.member, --no-flag, defaults kept as objects (a dict, not text)
    out = result(run_cli("run", "workflow.py", "show", "--numbers", "4", "--numbers", "5",
                         "--color", "Color.red", "--no-flag", cwd=tmp_path))
    assert out["numbers"] == [4, 5] and out["color"] == "red" and out["flag"] is False
    assert out["cfg"] == {"depth": 2, "tags": ["a"]} and out["cfg_type"] == "dict"
    assert out["names"] == ["x"]


def test_user_type_parses_its_own_text(tmp_path: Path) -> None:
    write(tmp_path)
    proc = run_cli("run", "workflow.py", "temperature", "--t", "21.5C", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "21.5"
    bad = run_cli("run", "workflow.py", "temperature", "--t", "warm", cwd=tmp_path)
    assert bad.returncode == 2 and "'warm' is not a valid Celsius" in bad.stderr
    literal = run_cli("run", "workflow.py", "temperature", "--t", "3", "--unit", "1",
                      cwd=tmp_path)
    assert literal.stdout.strip() == "-1.0", literal.stderr  # the int 1, not the text "1"
    wrong = run_cli("run", "workflow.py", "temperature", "--t", "3", "--unit", "K",
                    cwd=tmp_path)
    assert wrong.returncode == 2 and "'K' is not one of: C, 1" in wrong.stderr


def test_bad_values_are_usage_errors_naming_the_option(tmp_path: Path) -> None:
    write(tmp_path)
    proc = run_cli("run", "workflow.py", "show", "--numbers", "1", "--color", "blue",
                   cwd=tmp_path)
    assert proc.returncode == 2
    assert "Invalid value for '--color': 'blue' is not a Color; choose one of: red, green" \
        in proc.stderr
    proc = run_cli("run", "workflow.py", "show", "--numbers", "1", "--cfg", "{depth", cwd=tmp_path)
    assert proc.returncode == 2 and "Invalid value for '--cfg'" in proc.stderr
    assert "is not valid JSON" in proc.stderr


def test_missing_required_argument_records_nothing(tmp_path: Path) -> None:
    write(tmp_path)
    proc = run_cli("run", "workflow.py", "show", "--color", "green", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Missing option '--numbers'" in proc.stderr
    assert "Start Execution" not in proc.stderr
    assert not (tmp_path / ".remit").exists()


def test_run_help_task_help_and_info(tmp_path: Path) -> None:
    write(tmp_path)
    listing = run_cli("run", "workflow.py", "help", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "show         Summarize the parameters." in listing.stdout
    assert "square       Square a number." in listing.stdout
    helped = run_cli("run", "workflow.py", "show", "--help", cwd=tmp_path)
    assert helped.returncode == 0
    text = " ".join(helped.stdout.split())
    assert "Every type of option a workflow uses." in text
    assert "--numbers INTEGER list[int] (one or more values, or repeat the option) [required]" \
        in text
    assert "--color [red|green] Color [default: red]" in text
    assert "--flag / --no-flag bool [default: False]" in text
    assert '--cfg JSON dict [default: {"depth": 2, "tags": ["a"]}]' in text
    assert "--data FILE File | None [default: None]" in text
    assert "Example: remit run workflow.py show --numbers VALUE" in text
    info = run_cli("info", "workflow.py", "square", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "Task params.square" in info.stdout
    assert "(version 7)" in info.stdout and "memory=4" in info.stdout
    assert "--x: int  (required)" in info.stdout and "return x * x" in info.stdout
    assert not (tmp_path / ".remit").exists()


def test_double_dash_ends_remit_options(tmp_path: Path) -> None:
    write(tmp_path)
    proc = run_cli("run", "--no-cache", "--", "workflow.py", "square", "--x", "3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "9"
    proc = run_cli("run", "workflow.py", "square", "--", "--x", "4", cwd=tmp_path)
    assert proc.stdout.strip() == "16"
    unknown = run_cli("run", "--fast", "workflow.py", "square", cwd=tmp_path)
    assert unknown.returncode == 2 and "no such option: --fast" in unknown.stderr
    late = run_cli("run", "workflow.py", "square", "--x", "2", "--no-cache", cwd=tmp_path)
    assert late.returncode == 2
    assert "--no-cache is an option of remit run, not of the task: put it before WORKFLOW" \
        in late.stderr


def test_rerun_reproduces_the_result_from_the_cache(tmp_path: Path) -> None:
    write(tmp_path)
    first = run_cli("run", "workflow.py", "show", "--numbers", "7", "8", "--color", "green",
                    cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    exec_id = sqlite3.connect(tmp_path / ".remit" / "remit.db").execute(
        "SELECT id FROM execution").fetchone()[0]
    again = run_cli("run", "--rerun", exec_id[:8], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert f"Rerun of Exec {exec_id[:8]}" in again.stderr
    assert status_row(again.stderr, "ALL") == [0, 0, 0, 1, 0, 1]  # served from the cache
    last = run_cli("run", "--rerun", "-", cwd=tmp_path)
    assert last.stdout == first.stdout
    missing = run_cli("run", "--rerun", "zzzz", cwd=tmp_path)
    assert missing.returncode == 1 and "no execution matches 'zzzz'" in missing.stderr


FAILING = '''
from remit import task


@task()
def explode(x: int = 2) -> int:
    values = {"a": 1}
    return values["missing"] + x
'''


def test_pdb_stops_at_the_failing_line(tmp_path: Path) -> None:
    write(tmp_path, FAILING)
    child = pexpect.spawn(sys.executable, ["-m", "remit", "run", "--pdb", "workflow.py",
                                           "explode"], cwd=str(tmp_path), timeout=30,
                          encoding="utf-8")
    try:
        child.expect(r"\(Pdb\) ")
        assert '-> return values["missing"] + x' in child.before
        assert "workflow.py(8)explode()" in child.before
        child.sendline("p x, sorted(values)")
        child.expect(r"\(Pdb\) ")
        assert "(2, ['a'])" in child.before
        child.sendline("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 1


CONTEXT = '''
from remit import get_context, task


@task()
def scaled(x: int, scale: int = get_context("demo.scale", 1)) -> int:
    return x * scale


@task()
def loose(x: int, factor=get_context("demo.factor", 2)) -> list:
    return [x, factor]
'''


def test_rerun_keeps_the_recorded_context_and_tags(tmp_path: Path) -> None:
    write(tmp_path, CONTEXT)
    first = run_cli("run", "--context", "demo.scale=7", "--tag", "who=me", "workflow.py",
                    "scaled", "--x", "3", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "21"
    again = run_cli("run", "--rerun", "-", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "21"
    assert status_row(again.stderr, "ALL") == [0, 0, 0, 1, 0, 1]
    with sqlite3.connect(tmp_path / ".remit" / "remit.db") as conn:
        tagged = conn.execute("SELECT count(*) FROM tag JOIN execution ON entity_id = id "
                              "WHERE key = 'who' AND value = 'me'").fetchone()[0]
    assert tagged == 2
    # an un-annotated parameter with a lazy default takes JSON, else text
    loose = run_cli("run", "workflow.py", "loose", "--x", "1", "--factor", "[3]", cwd=tmp_path)
    assert loose.stdout.strip() == "[1, [3]]", loose.stderr


def test_pdb_on_a_task_that_failed_in_another_process_says_so(tmp_path: Path) -> None:
    write(tmp_path, FAILING.replace("@task()", '@task(executor="procs")'))
    (tmp_path / ".remit").mkdir()
    (tmp_path / ".remit" / "remit.ini").write_text("[executors.procs]\ntype = local\n"
                                                   "mode = process\nmax_workers = 1\n")
    proc = run_cli("run", "--pdb", "workflow.py", "explode", cwd=tmp_path)
    assert proc.returncode == 1
    assert "KeyError: 'missing'" in proc.stderr
    assert "--pdb: the task failed in another process or machine" in proc.stderr
