"""Chain benchmark: ``countdown(n)`` returns ``countdown(n - 1)`` lazily, ``depth`` deep.

    .venv/bin/python bench/chain.py --depth 1000 [--vs-redun] [--repeat 1]

Each level is a job of its own, and each job's result is the next job's expression, so
the engine must resolve a chain ``depth + 1`` jobs long. Scenarios, each one whole
``remit run wf.py countdown --n DEPTH`` command including interpreter start-up:

- fresh: a new, empty work dir (no DB); ``depth + 1`` jobs run.
- cached: the same command again in the same dir; every job comes from the cache.

With ``--vs-redun`` the identical workload (only the import differs) also runs under
redun 0.44.1 (``bench/.redun-venv``, created on first use), in its own fresh dirs.
"""

from __future__ import annotations

import argparse
import sys

from _harness import Scenario, add_common_args, run_and_report

CHAIN = '''\
"""A chain of lazily returned tasks, one job per level."""

{import_line}

remit_namespace = "bench"
redun_namespace = "bench"


@task()
def countdown(n: int) -> int:
    if n == 0:
        return 0
    return countdown(n - 1)
'''


def scenarios(depth: int) -> list[Scenario]:
    """The chain scenarios for a chain ``depth`` levels deep."""
    args = ("countdown", "--n", str(depth))
    return [
        Scenario("fresh", CHAIN, args, "0", jobs=depth + 1),
        Scenario("cached", CHAIN, args, "0", jobs=depth + 1, reuse="fresh", cached=True),
    ]


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the scenarios and print the table and summary lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=1000, help="length of the chain")
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.depth < 0:
        parser.error("--depth must be >= 0")
    label = f"chain depth={args.depth}"
    return run_and_report(label, f"chain, depth={args.depth}", scenarios(args.depth), args)


if __name__ == "__main__":
    sys.exit(main())
