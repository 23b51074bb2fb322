"""Shared helpers for remit's benchmarks (``bench/fanout.py``, ``bench/chain.py``).

Each measurement is one whole ``remit run`` (or ``redun run``) command, interpreter
start-up included, run as a subprocess in a temporary working directory so that the
engine creates its database in ``./.remit/`` (``./.redun/``) there. Wall time is taken
around the child; peak RSS comes from ``os.wait4`` on the child's pid: it is the largest
resident set of the child or of any descendant it waited for (the largest one process,
not a sum).

The comparison engine, redun 0.44.1, lives in its own venv at ``bench/.redun-venv``,
created on first use with ``python -m venv`` and ``pip install redun==0.44.1``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REDUN_VERSION = "0.44.1"
REDUN_VENV = BENCH_DIR / ".redun-venv"
ENGINES = ("remit", "redun")
WORKLOAD_FILE = "wf.py"

# Environment variables that would point an engine at a config/DB outside the work dir.
_CONFIG_ENV = ("REMIT_CONFIG", "REDUN_CONFIG")
_CONFIG_DIRNAME = {"remit": ".remit", "redun": ".redun"}
# Both engines log one "[engine] Run    Job ..." or "[engine] Cached Job ..." line per job;
# past 20 per task remit summarizes: "[remit] Run    9,980 more jobs of bench.one on default".
_JOB_LINE = re.compile(r"^\[(?:remit|redun)\] (Run|Cached) +Job ", re.MULTILINE)
_SUMMARY_LINE = re.compile(r"^\[remit\] (Run|Cached) +([\d,]+) more jobs? of ", re.MULTILINE)


class BenchError(RuntimeError):
    """A benchmark run failed or gave a wrong answer; the message says which and why."""


@dataclass
class RunResult:
    """One finished command: what it printed, how long it took and how much memory."""

    argv: list[str]
    workdir: Path
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    stdout: str
    stderr: str

    def result_line(self) -> str:
        """The last non-empty line of stdout: where both engines print the task's result."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


@dataclass
class Measurement:
    """The runs of one scenario on one engine (several with ``--repeat``)."""

    jobs: int
    runs: list[RunResult] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        """Median wall time over the repeats."""
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def cpu_s(self) -> float:
        """Median CPU time (user + system) of the child and its waited-for descendants."""
        return statistics.median(r.cpu_s for r in self.runs)

    @property
    def peak_rss_mib(self) -> float:
        """Largest peak RSS over the repeats."""
        return max(r.peak_rss_mib for r in self.runs)

    @property
    def tasks_per_s(self) -> float:
        """Jobs run (or served from cache) per second of wall time."""
        return self.jobs / self.wall_s

    def cell(self) -> str:
        """``0.41 s (2443 tasks/s, 52 MiB, cpu 0.38 s)``: the text of tables and summaries."""
        rate = self.tasks_per_s
        rate_text = f"{rate:.0f}" if rate >= 100 else f"{rate:.1f}"
        return (
            f"{self.wall_s:.2f} s ({rate_text} tasks/s, {self.peak_rss_mib:.0f} MiB, "
            f"cpu {self.cpu_s:.2f} s)"
        )


@dataclass(frozen=True)
class Scenario:
    """One benchmarked command: run ``task_args`` on ``template``'s workload.

    ``reuse`` names an earlier scenario whose work dir (and so DB) to run in again, e.g.
    a cached re-run; otherwise the scenario gets a fresh, empty work dir. ``jobs`` is the
    number of jobs the run has: all of them must run, or with ``cached`` all come from the
    cache.
    """

    name: str
    template: str
    task_args: tuple[str, ...]
    expected: str
    jobs: int
    reuse: str | None = None
    cached: bool = False


def progress(message: str) -> None:
    """A progress line on stderr, so that long redun runs show which scenario is going."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def workload_source(template: str, engine: str) -> str:
    """The workload text for ``engine``: ``template`` with ``{import_line}`` filled in.

    The text is otherwise identical for both engines. ``template`` is formatted with
    ``str.format``, so literal braces in it must be doubled.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    return template.format(import_line=f"from {engine} import task")


def engine_command(engine: str) -> Path:
    """The ``remit`` or ``redun`` executable to run (creating the redun venv if needed)."""
    if engine == "redun":
        return ensure_redun_venv() / "bin" / "redun"
    remit = Path(sys.executable).parent / "remit"
    if not remit.exists():
        found = shutil.which("remit")
        if found is None:
            raise BenchError(
                f"no remit executable beside {sys.executable} nor on PATH; run the benchmarks "
                "with the project venv: .venv/bin/python bench/<name>.py"
            )
        remit = Path(found)
    return remit


def _redun_importable(python: Path) -> bool:
    """Whether ``python`` imports redun at exactly ``REDUN_VERSION``."""
    if not python.exists():
        return False
    check = f"import redun, sys; sys.exit(redun.__version__ != {REDUN_VERSION!r})"
    done = subprocess.run([str(python), "-c", check], capture_output=True, check=False)
    return done.returncode == 0


def ensure_redun_venv() -> Path:
    """Return ``bench/.redun-venv``, creating it and installing redun there if needed."""
    python = REDUN_VENV / "bin" / "python"
    if _redun_importable(python):
        return REDUN_VENV
    progress(f"creating {REDUN_VENV} with redun=={REDUN_VERSION} (once; takes a minute)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(REDUN_VENV)], check=True)
    install = [str(python), "-m", "pip", "install", "--quiet", f"redun=={REDUN_VERSION}"]
    done = subprocess.run(install, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not _redun_importable(python):
        raise BenchError(
            f"could not install redun=={REDUN_VERSION} into {REDUN_VENV} "
            f"(pip exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    return REDUN_VENV


def _check_no_outer_config(path: Path) -> None:
    """Fail if a ``.remit/`` or ``.redun/`` above ``path`` would capture the engines' DB.

    Both engines look for their config directory from the working directory upwards.
    """
    for parent in path.parents:
        for dirname in _CONFIG_DIRNAME.values():
            if (parent / dirname).exists():
                raise BenchError(
                    f"{parent / dirname} exists above the benchmark work dir {path}: the "
                    "engines would use it instead of a fresh one; remove it or set TMPDIR"
                )


def make_workdir(engine: str, template: str, label: str) -> Path:
    """A new, empty temporary directory holding only the workload file ``wf.py``."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{label.replace(' ', '-')}-{engine}-"))
    _check_no_outer_config(workdir)
    (workdir / WORKLOAD_FILE).write_text(workload_source(template, engine))
    return workdir


def run_measured(
    argv: Sequence[str], workdir: Path, tag: str, timeout_s: float | None = None
) -> RunResult:
    """Run ``argv`` in ``workdir``; measure its wall time and peak RSS via ``os.wait4``.

    stdout and stderr go to ``TAG.stdout.txt`` and ``TAG.stderr.txt`` in ``workdir`` (no
    pipe to drain while waiting). The child runs in a session of its own; after
    ``timeout_s``, or if the wait is interrupted, its whole process group is killed.
    """
    env = {k: v for k, v in os.environ.items() if k not in _CONFIG_ENV}
    out_path, err_path = workdir / f"{tag}.stdout.txt", workdir / f"{tag}.stderr.txt"
    timed_out = threading.Event()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout_s, kill) if timeout_s else None
        if timer is not None:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # e.g. Ctrl-C: the child has its own session, so end it here
            kill()
            os.waitpid(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            raise
        finally:
            if timer is not None:
                timer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    result = RunResult(
        argv=list(argv),
        workdir=workdir,
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )
    if timed_out.is_set():
        raise BenchError(f"timed out after {timeout_s:g} s: {' '.join(argv)} (in {workdir})")
    return result


def run_engine(
    engine: str,
    workdir: Path,
    scenario: Scenario,
    timeout_s: float | None = None,
) -> RunResult:
    """``<engine> run wf.py TASK ARGS...`` in ``workdir``, failing loudly unless it printed
    the expected result, logged the expected number of jobs run and served from cache, and
    created its DB in ``workdir``."""
    task_args, expected = scenario.task_args, scenario.expected
    argv = [str(engine_command(engine)), "run", WORKLOAD_FILE, *task_args]
    result = run_measured(argv, workdir, scenario.name, timeout_s)
    where = f"{' '.join([engine, 'run', WORKLOAD_FILE, *task_args])} (in {workdir})"
    if result.returncode != 0:
        raise BenchError(
            f"{where} exited {result.returncode}; stderr ends:\n{result.stderr[-3000:]}"
        )
    if result.result_line() != expected:
        raise BenchError(
            f"{where} printed {result.result_line()!r}, expected {expected!r}; "
            f"stderr ends:\n{result.stderr[-3000:]}"
        )
    if not (workdir / _CONFIG_DIRNAME[engine]).is_dir():
        raise BenchError(f"{where} did not create {_CONFIG_DIRNAME[engine]}/ in its work dir")
    kinds = _JOB_LINE.findall(result.stderr)
    if not kinds:
        progress(f"warning: {where} logged no job lines; cannot check what it ran or cached")
        return result
    ran, cached = kinds.count("Run"), kinds.count("Cached")
    for kind, count in _SUMMARY_LINE.findall(result.stderr):
        if kind == "Run":
            ran += int(count.replace(",", ""))
        else:
            cached += int(count.replace(",", ""))
    want_ran = 0 if scenario.cached else scenario.jobs
    if (ran, cached) != (want_ran, scenario.jobs - want_ran):
        raise BenchError(
            f"{where} logged {ran} jobs run and {cached} from cache; expected {want_ran} run "
            f"and {scenario.jobs - want_ran} from cache"
        )
    return result


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark script takes."""
    parser.add_argument(
        "--vs-redun",
        action="store_true",
        help=f"also run each scenario under redun {REDUN_VERSION}",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per scenario; the median wall time is reported"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="kill and fail a single run after this many seconds",
    )
    parser.add_argument(
        "--only",
        metavar="SCENARIO",
        help="run only this scenario (and those it reuses), e.g. --only fresh",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary work dirs (with each run's stdout, stderr)",
    )


def run_scenarios(
    label: str, scenarios: Sequence[Scenario], args: argparse.Namespace
) -> list[tuple[str, Measurement | None, Measurement | None]]:
    """Run every scenario on remit (and redun with ``--vs-redun``), ``--repeat`` times.

    Returns the rows for ``print_table``: (scenario name, remit, redun or None).
    """
    if args.repeat < 1:
        raise BenchError("--repeat must be at least 1")
    if getattr(args, "only", None):
        wanted = {sc.name: sc for sc in scenarios}
        if args.only not in wanted:
            raise BenchError(f"--only {args.only}: no such scenario ({', '.join(wanted)})")
        chain = [wanted[args.only]]
        while chain[0].reuse is not None:
            chain.insert(0, wanted[chain[0].reuse])
        scenarios = chain
    engines = ENGINES if args.vs_redun else ENGINES[:1]
    results: dict[tuple[str, str], Measurement] = {}
    workdirs: list[Path] = []
    keep = args.keep
    try:
        for engine in engines:
            engine_command(engine)  # create the redun venv before timing anything
            for rep in range(1, args.repeat + 1):
                dirs: dict[str, Path] = {}
                for sc in scenarios:
                    if sc.reuse is not None:
                        dirs[sc.name] = dirs[sc.reuse]
                    else:
                        dirs[sc.name] = make_workdir(engine, sc.template, label)
                        workdirs.append(dirs[sc.name])
                    progress(f"{engine} {label} {sc.name} (run {rep}/{args.repeat}) ...")
                    run = run_engine(engine, dirs[sc.name], sc, args.timeout)
                    progress(
                        f"{engine} {label} {sc.name}: {run.wall_s:.2f} s, "
                        f"cpu {run.cpu_s:.2f} s, {run.peak_rss_mib:.0f} MiB, "
                        f"result {run.result_line()}"
                    )
                    results.setdefault((sc.name, engine), Measurement(sc.jobs)).runs.append(run)
    except BenchError:
        keep = True  # leave the evidence: each run's stdout and stderr are in its work dir
        raise
    finally:
        cleanup(workdirs, keep)
    return [
        (f"{label} {sc.name}", results.get((sc.name, "remit")), results.get((sc.name, "redun")))
        for sc in scenarios
    ]


def run_and_report(
    label: str, title: str, scenarios: Sequence[Scenario], args: argparse.Namespace
) -> int:
    """Run the scenarios and print the table; the exit status for the script (1: failed)."""
    try:
        rows = run_scenarios(label, scenarios, args)
    except BenchError as error:
        print(f"bench: FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    print_table(f"{title} (median of {args.repeat})", rows)
    return 0


def ratio(remit: Measurement | None, redun: Measurement | None) -> str:
    """redun's wall time over remit's, e.g. ``48x``; ``-`` when either is missing."""
    if remit is None or redun is None:
        return "-"
    return f"{redun.wall_s / remit.wall_s:.1f}x"


def summary_line(scenario: str, remit: Measurement | None, redun: Measurement | None) -> str:
    """One greppable line, e.g.
    ``fanout n=1000 fresh: remit 0.41 s (2443 tasks/s, 52 MiB) | redun 19.6 s (...) | 48x``.
    """
    parts = [f"{scenario}: remit {remit.cell()}" if remit else f"{scenario}: remit -"]
    if redun is not None:
        parts.append(f"redun {redun.cell()}")
        parts.append(ratio(remit, redun))
    return " | ".join(parts)


def print_table(
    title: str, rows: Sequence[tuple[str, Measurement | None, Measurement | None]]
) -> None:
    """A results table (rows: scenarios; columns: remit, redun, redun/remit), then one
    summary line per scenario."""
    with_redun = any(redun is not None for _, _, redun in rows)
    header = ["scenario", "remit"] + (["redun", "redun/remit"] if with_redun else [])
    body = []
    for scenario, remit, redun in rows:
        row = [scenario, remit.cell() if remit else "-"]
        if with_redun:
            row += [redun.cell() if redun else "-", ratio(remit, redun)]
        body.append(row)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        return "  ".join(cells).rstrip()

    print()
    print(title)
    print(fmt(header))
    print(fmt(["-" * w for w in widths]))
    for row in body:
        print(fmt(row))
    print()
    for scenario, remit, redun in rows:
        print(summary_line(scenario, remit, redun))
    sys.stdout.flush()


def cleanup(workdirs: Sequence[Path], keep: bool) -> None:
    """Remove the temporary work dirs, or say where they are with ``keep``."""
    for workdir in workdirs:
        if keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
