"""AWS Batch through the local stand-in: n trivial batch tasks, wall time and API calls.

    python bench/batch.py --n 1000 [--max-jobs 3] [--singles] [--cold]
    python bench/batch.py --n 10000

Starts the stand-in (moto + a compute environment that really runs every job) in this
process, runs `remit run` of a fan-out of ``n`` tasks on an ``aws_batch`` executor in a
fresh project, and prints the wall time of the whole command, its peak RSS (sampled), the
scheduler's Batch and S3 calls by operation (SubmitJob, DescribeJobs, ListJobs, PutObject,
...) and per job, and the workers'. ``--singles`` disables array jobs (each task its own
SubmitJob), to compare. ``--cold`` starts every job as a fresh process (as on Batch, where
each job is a new container) instead of forking it from the stand-in's warm zygote, and
then also prints the workers' CPU time per job (their resource usage, reaped by this
process).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import textwrap
import threading
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
    parser.add_argument("--cold", action="store_true",
                        help="start each job as a fresh process; measure the workers' CPU")
    args = parser.parse_args()

    from remit.emulate import AWSStandIn

    workdir = make_workdir("remit", WORKLOAD, f"batch-{args.n}")
    (workdir / ".remit").mkdir()
    extra = "min_array_size = 1000000" if args.singles else ""
    (workdir / ".remit" / "remit.ini").write_text(textwrap.dedent(CONFIG.format(extra=extra)))
    compile_remit()
    with AWSStandIn(port=0, buckets=["remit-bench"], max_jobs=args.max_jobs,
                    warm=not args.cold) as standin:
        os.environ.update(standin.env)
        standin.reset_calls()
        print(f"batch n={args.n}: running `remit run` against the stand-in...", flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak = PeakRSS()
        result = run_measured(
            [sys.executable, "-m", "remit", "run", "wf.py", "main", "--n", str(args.n)],
            workdir, "run", timeout_s=7200,
        )
        peak.stop()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # before the zygote is reaped
        client, worker = standin.calls("client"), standin.calls("worker")
    if result.returncode != 0 or result.stdout.strip() != str(args.n * (args.n - 1)):
        raise BenchError(f"remit run failed or printed a wrong result:\n{result.stderr[-2000:]}")
    jobs = "cold processes" if args.cold else "warm forks"
    print(f"batch n={args.n}{' singles' if args.singles else ''}: {result.wall_s:.1f} s wall, "
          f"{args.n / result.wall_s:.1f} tasks/s, peak RSS of `remit run` "
          f"{peak.mib:.0f} MiB, max_jobs={args.max_jobs}, jobs as {jobs}")
    print(f"scheduler: {sum(client.values()) / args.n:.3f} calls per job "
          f"({sum(client.values())} in all); SubmitJob {client['SubmitJob']}, "
          f"DescribeJobs {client['DescribeJobs']}, ListJobs {client['ListJobs']}")
    print("scheduler calls: " + ", ".join(f"{op} {count}"
                                          for op, count in sorted(client.items())))
    print(f"workers: {sum(worker.values()) / args.n:.2f} calls per job; " + ", ".join(
        f"{op} {count}" for op, count in sorted(worker.items())))
    if args.cold:
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
               - result.cpu_s)
        print(f"worker CPU: {cpu / args.n:.3f} s per job ({cpu:.1f} s in all, "
              f"`remit run` itself {result.cpu_s:.1f} s)")
    else:
        print("worker CPU: not measured (jobs forked warm; --cold measures it)")
    return 0


class PeakRSS:
    """The peak resident memory (VmHWM) of this process's `remit run` child, sampled.

    ``os.wait4``'s ru_maxrss would be this process's own size: the child is forked from it,
    holding the whole stand-in until it execs, and the kernel keeps that maximum.
    """

    def __init__(self) -> None:
        self.kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @property
    def mib(self) -> float:
        """The peak seen, in MiB."""
        return self.kib / 1024

    def stop(self) -> None:
        """Stop sampling (the child has ended)."""
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            for pid in _children():
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                        if b"\0run\0wf.py\0" not in cmdline.read():
                            continue
                    with open(f"/proc/{pid}/status") as status:
                        for line in status:
                            if line.startswith("VmHWM:"):
                                self.kib = max(self.kib, int(line.split()[1]))
                except (FileNotFoundError, ProcessLookupError):
                    continue


def _children() -> list[int]:
    pids = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as children:
                pids += [int(pid) for pid in children.read().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return pids


def compile_remit() -> None:
    """Byte-compile remit's sources, as a pip-installed remit in a job's image has them.

    An editable install under PYTHONDONTWRITEBYTECODE would otherwise make every cold job
    compile remit from source, which no real job pays.
    """
    import compileall

    import remit

    compileall.compile_dir(Path(remit.__file__).parent, quiet=1)


if __name__ == "__main__":
    sys.exit(main())
