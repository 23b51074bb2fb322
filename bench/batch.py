"""AWS Batch through the local stand-in: n trivial batch tasks, wall time and API calls.

    python bench/batch.py --n 1000 [--max-jobs 3] [--singles]

Starts the stand-in (moto + a compute environment that really runs every job) in this
process, runs `remit run` of a fan-out of ``n`` tasks on an ``aws_batch`` executor in a
fresh project, and prints the wall time of the whole command, the scheduler's Batch and S3
calls by operation (SubmitJob, DescribeJobs, ListJobs, PutObject, ...), and the workers'.
``--singles`` disables array jobs (each task its own SubmitJob), to compare.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import BenchError, make_workdir, run_measured  # noqa: E402

WORKLOAD = '''
from remit import task

@task(executor="batch")
def double(i: int) -> int:
    return 2 * i

@task()
def total(values: list) -> int:
    return sum(values)

@task()
def main(n: int = 10) -> int:
    return total([double(i) for i in range(n)])
'''

CONFIG = """
[executors.batch]
type = aws_batch
image = remit-bench:latest
queue = remit-queue
s3_scratch = s3://remit-bench/scratch/
job_monitor_interval = 2
{extra}
"""


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of batch tasks")
    parser.add_argument("--max-jobs", type=int, default=3, help="stand-in job slots")
    parser.add_argument("--singles", action="store_true", help="no array jobs")
    args = parser.parse_args()

    from remit.emulate import AWSStandIn

    workdir = make_workdir("remit", WORKLOAD, f"batch-{args.n}")
    (workdir / ".remit").mkdir()
    extra = "min_array_size = 1000000" if args.singles else ""
    (workdir / ".remit" / "remit.ini").write_text(textwrap.dedent(CONFIG.format(extra=extra)))
    with AWSStandIn(port=0, buckets=["remit-bench"], max_jobs=args.max_jobs) as standin:
        os.environ.update(standin.env)
        standin.reset_calls()
        print(f"batch n={args.n}: running `remit run` against the stand-in...", flush=True)
        result = run_measured(
            [sys.executable, "-m", "remit", "run", "wf.py", "main", "--n", str(args.n)],
            workdir, "run", timeout_s=3600,
        )
        client, worker = standin.calls("client"), standin.calls("worker")
    if result.returncode != 0 or result.stdout.strip() != str(args.n * (args.n - 1)):
        raise BenchError(f"remit run failed or printed a wrong result:\n{result.stderr[-2000:]}")
    print(f"batch n={args.n}{' singles' if args.singles else ''}: {result.wall_s:.1f} s wall, "
          f"{args.n / result.wall_s:.1f} tasks/s, scheduler peak RSS "
          f"{result.peak_rss_mib:.0f} MiB, max_jobs={args.max_jobs}")
    print("scheduler calls: " + ", ".join(f"{op} {count}"
                                          for op, count in sorted(client.items())))
    print("worker calls:    " + ", ".join(f"{op} {count}"
                                          for op, count in sorted(worker.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
