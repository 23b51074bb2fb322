"""Big-value benchmark: peak memory of a run that returns and passes one value of V bytes.

    .venv/bin/python bench/bigvalue.py --mb 200 [--executor thread|process|both]

``main`` returns ``consume(produce(V))``: ``produce`` returns V random bytes, ``consume``
takes them as its argument and returns their length. Both run on the chosen executor (a
thread pool or a process pool), so the value is hashed, stored in the value store, handed
from one task to the next and, with processes, carried between processes. Each scenario is
one whole ``remit run`` (fresh), then the same command again (served from the cache, which
loads the value back from the value store). Printed: wall time and peak RSS (the largest
single process: ``remit run`` or a pool worker it reaped), and the peak over V.
"""

from __future__ import annotations

import argparse
import sys

from _harness import BenchError, make_workdir, run_measured

WORKLOAD = '''\
"""One big value, returned by a task and passed to another."""

import os

{import_line}

remit_namespace = "bench"


@task(executor="{executor}")
def produce(n: int) -> bytes:
    return os.urandom(n)


@task(executor="{executor}")
def consume(data: bytes) -> int:
    return len(data)


@task()
def main(n: int = 10) -> int:
    return consume(produce(n))
'''

INI = """\
[executors.pool]
type = local
mode = {mode}
max_workers = 2
"""

MiB = 1024 * 1024


def run(mode: str, size: int, timeout: float | None) -> list[str]:
    """Run the fresh and cached scenarios on one executor mode; the summary lines."""
    source = WORKLOAD.replace("{executor}", "pool")
    workdir = make_workdir("remit", source, f"bigvalue-{mode}")
    (workdir / ".remit").mkdir()
    (workdir / ".remit" / "remit.ini").write_text(INI.format(mode=mode))
    remit = __import__("_harness").engine_command("remit")
    lines = []
    for scenario in ("fresh", "cached"):
        argv = [str(remit), "run", "wf.py", "main", "--n", str(size)]
        result = run_measured(argv, workdir, scenario, timeout)
        if result.returncode != 0 or result.result_line() != str(size):
            raise BenchError(f"{mode} {scenario} failed ({workdir}):\n{result.stderr[-3000:]}")
        ratio = result.peak_rss_mib * MiB / size
        lines.append(
            f"bigvalue V={size / MiB:.0f} MiB {mode} {scenario}: {result.wall_s:.2f} s, "
            f"peak RSS {result.peak_rss_mib:.0f} MiB ({ratio:.2f} x V; bound 2 x V + 100 MiB = "
            f"{2 * size / MiB + 100:.0f} MiB)"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    __import__("shutil").rmtree(workdir, ignore_errors=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run each executor mode and print one line per scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200, help="size of the value in MiB")
    parser.add_argument("--executor", choices=("thread", "process", "both"), default="both")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    modes = ("thread", "process") if args.executor == "both" else (args.executor,)
    try:
        lines = [line for mode in modes for line in run(mode, int(args.mb * MiB), args.timeout)]
    except BenchError as error:
        print(f"bench: FAILED: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
