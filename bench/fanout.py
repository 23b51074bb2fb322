"""Fan-out benchmark: ``main(n)`` sums ``n`` trivial tasks, ``add_all([one(i) ...])``.

    .venv/bin/python bench/fanout.py --n 10000 [--vs-redun] [--repeat 1]

Scenarios, each one whole ``remit run`` command including interpreter start-up:

- fresh: a new, empty work dir (no DB); ``n + 2`` jobs run.
- cached: the same command again in the same dir; all ``n + 2`` jobs come from the cache.
- one-task: a workflow whose ``main`` returns a constant, in a new dir: the fixed cost.

With ``--vs-redun`` the identical workload (only the import differs) also runs under
redun 0.44.1 (``bench/.redun-venv``, created on first use), in its own fresh dirs.
"""

from __future__ import annotations

import argparse
import sys

from _harness import Scenario, add_common_args, run_and_report

FANOUT = '''\
"""n trivial tasks, summed."""

{import_line}

remit_namespace = "bench"
redun_namespace = "bench"


@task()
def one(i: int) -> int:
    return i


@task()
def add_all(values: list) -> int:
    return sum(values)


@task()
def main(n: int = 10) -> int:
    return add_all([one(i) for i in range(n)])
'''

ONE_TASK = '''\
"""A workflow of a single task."""

{import_line}

remit_namespace = "bench"
redun_namespace = "bench"


@task()
def main() -> int:
    return 42
'''


def scenarios(n: int) -> list[Scenario]:
    """The fan-out scenarios for ``n`` tasks."""
    args = ("main", "--n", str(n))
    expected = str(sum(range(n)))
    return [
        Scenario("fresh", FANOUT, args, expected, jobs=n + 2),
        Scenario("cached", FANOUT, args, expected, jobs=n + 2, reuse="fresh", cached=True),
        Scenario("one-task", ONE_TASK, ("main",), "42", jobs=1),
    ]


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the scenarios and print the table and summary lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of tasks to fan out")
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("--n must be >= 0")
    return run_and_report(f"fanout n={args.n}", f"fan-out, n={args.n}", scenarios(args.n), args)


if __name__ == "__main__":
    sys.exit(main())
