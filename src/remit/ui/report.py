"""Where an execution's time and money went: `remit report` and the server's report page.

From the recorded jobs: wall time and CPU by task, the critical path (from the root, the
child that finished last, and so on down), cached vs ran counts, the slowest jobs, and for
AWS Batch jobs their vCPU-, memory- and GPU-hours with an estimated cost.

The cost model: each Batch job pays for the share of one instance it asks for (the largest of
its vCPU, memory and GPU fractions) for as long as it ran. The instance family comes from the
job's shape (GPU jobs: ``gpu_family``; others by memory per vCPU: c5, m5 or r5) or from
``[report] family``; prices are on-demand us-east-1 list prices, overridable with
``[report] prices = {"m5": {"vcpus": 2, "memory": 8, "gpus": 0, "usd_per_hour": 0.096}}``.
It is an estimate: spot prices, packing and idle capacity are not known to remit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from remit.errors import ConfigError, RemitError
from remit.ui.queries import UIQuery

# On-demand list prices, Linux, us-east-1, of each family's smallest common size.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "c5": {"vcpus": 2, "memory": 4, "gpus": 0, "usd_per_hour": 0.085},
    "m5": {"vcpus": 2, "memory": 8, "gpus": 0, "usd_per_hour": 0.096},
    "r5": {"vcpus": 2, "memory": 16, "gpus": 0, "usd_per_hour": 0.126},
    "g4dn": {"vcpus": 4, "memory": 16, "gpus": 1, "usd_per_hour": 0.526},
    "p3": {"vcpus": 8, "memory": 61, "gpus": 1, "usd_per_hour": 3.06},
}
# Tags the Batch executor records on each job it submits.
VCPUS_TAG, MEMORY_TAG, GPUS_TAG, BATCH_JOB_TAG = (
    "aws_batch_vcpus", "aws_batch_memory_gib", "aws_batch_gpus", "aws_batch_job")


@dataclass
class TaskStats:
    """Counts and times of one task's jobs in an execution."""

    name: str
    jobs: int = 0
    ran: int = 0
    cached: int = 0
    failed: int = 0
    elapsed: float = 0.0  # seconds, jobs that ran (a parent's includes waiting on children)
    slowest: float = 0.0
    cpu: float | None = None


@dataclass
class BatchUsage:
    """AWS Batch resources used and their estimated cost."""

    jobs: int = 0
    vcpu_hours: float = 0.0
    memory_gib_hours: float = 0.0
    gpu_hours: float = 0.0
    cost_usd: float = 0.0
    by_family: dict[str, float] = field(default_factory=dict)


@dataclass
class Report:
    """Everything `remit report` shows for one execution."""

    execution: Any
    wall: float | None
    counts: dict[str, int]
    tasks: list[TaskStats]
    critical_path: list[tuple[Any, float]]
    slowest: list[tuple[Any, float]]
    batch: BatchUsage
    prices: dict[str, dict[str, float]]


def _elapsed(job: Any) -> float:
    if job["end_time"] is None:
        return 0.0
    return max(0.0, job["end_time"] - job["start_time"])


def load_prices(options: dict[str, str], where: str) -> dict[str, dict[str, float]]:
    """The price table: defaults updated by ``[report] prices`` (JSON)."""
    prices = {name: dict(spec) for name, spec in DEFAULT_PRICES.items()}
    raw = options.get("prices")
    if not raw:
        return prices
    try:
        extra = json.loads(raw)
        for name, spec in extra.items():
            prices[name] = {key: float(spec[key])
                            for key in ("vcpus", "memory", "gpus", "usd_per_hour")}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigError(
            f"{where} prices: expected JSON like "
            '{"m5": {"vcpus": 2, "memory": 8, "gpus": 0, "usd_per_hour": 0.096}} '
            f"({exc})"
        ) from None
    return prices


def _family(vcpus: float, memory: float, gpus: float, options: dict[str, str]) -> str:
    if gpus:
        return options.get("gpu_family", "g4dn")
    if options.get("family"):
        return options["family"]
    per_vcpu = memory / max(vcpus, 1e-9)
    return "c5" if per_vcpu <= 2 else "m5" if per_vcpu <= 4 else "r5"


def _batch_usage(jobs: list[Any], tags: dict[str, dict[str, str]], options: dict[str, str],
                 prices: dict[str, dict[str, float]], where: str) -> BatchUsage:
    usage = BatchUsage()
    for job in jobs:
        job_tags = tags.get(job["id"], {})
        if BATCH_JOB_TAG not in job_tags or job["cached"]:
            continue
        hours = _elapsed(job) / 3600
        vcpus = float(job_tags.get(VCPUS_TAG, 1))
        memory = float(job_tags.get(MEMORY_TAG, 1))
        gpus = float(job_tags.get(GPUS_TAG, 0))
        family = _family(vcpus, memory, gpus, options)
        spec = prices.get(family)
        if spec is None:
            raise ConfigError(f"{where} family: no price for {family!r}; add it to prices")
        share = max(vcpus / spec["vcpus"], memory / spec["memory"],
                    gpus / spec["gpus"] if spec["gpus"] else 0.0)
        cost = hours * spec["usd_per_hour"] * share
        usage.jobs += 1
        usage.vcpu_hours += vcpus * hours
        usage.memory_gib_hours += memory * hours
        usage.gpu_hours += gpus * hours
        usage.cost_usd += cost
        usage.by_family[family] = usage.by_family.get(family, 0.0) + cost
    return usage


def _critical_path(jobs: list[Any], root_id: str | None) -> list[tuple[Any, float]]:
    children: dict[str, list[Any]] = {}
    by_id = {}
    for job in jobs:
        by_id[job["id"]] = job
        children.setdefault(job["parent_id"], []).append(job)
    path = []
    job = by_id.get(root_id) if root_id else None
    while job is not None:
        path.append((job, _elapsed(job)))
        kids = children.get(job["id"])
        job = max(kids, key=lambda j: j["end_time"] or 0.0) if kids else None
    return path


def build_report(conn: Any, execution_id: str, options: dict[str, str], where: str) -> Report:
    """Compute the report of one execution (id or prefix)."""
    q = UIQuery(conn)
    execution = q.execution(execution_id)
    if execution is None:
        raise RemitError(f"no execution {execution_id!r}; `remit log` lists them")
    prices = load_prices(options, where)
    jobs = q.execution_jobs(execution["id"])
    tags = q.tags_of([job["id"] for job in jobs if not job["cached"]])
    stats: dict[str, TaskStats] = {}
    counts: dict[str, int] = {}
    for job in jobs:
        name = job["fullname"] or job["call"].split("(", 1)[0]
        entry = stats.setdefault(name, TaskStats(name))
        entry.jobs += 1
        counts[job["status"]] = counts.get(job["status"], 0) + 1
        if job["status"] == "FAILED":
            entry.failed += 1
        if job["cached"]:
            entry.cached += 1
            continue
        entry.ran += job["status"] != "FAILED"
        elapsed = _elapsed(job)
        entry.elapsed += elapsed
        entry.slowest = max(entry.slowest, elapsed)
        cpu = job.get("cpu_seconds")
        if cpu is not None:
            entry.cpu = (entry.cpu or 0.0) + cpu
    wall = (execution["end_time"] - execution["start_time"]) if execution["end_time"] else None
    ran = [(job, _elapsed(job)) for job in jobs if not job["cached"] and job["end_time"]]
    ran.sort(key=lambda pair: -pair[1])
    return Report(
        execution=execution,
        wall=wall,
        counts=counts,
        tasks=sorted(stats.values(), key=lambda s: (-s.elapsed, s.name)),
        critical_path=_critical_path(jobs, execution["root_job_id"]),
        slowest=ran[:10],
        batch=_batch_usage(jobs, tags, options, prices, where),
        prices=prices,
    )


def format_text(report: Report) -> str:
    """The report as terminal text."""
    from remit.display import format_duration

    ex = report.execution
    lines = [
        f"Execution {ex['id']}  {ex['status']}  wall {format_duration(report.wall)}",
        "Jobs: " + ", ".join(f"{n} {s.lower()}" for s, n in sorted(report.counts.items())),
        "",
        f"{'TASK':40} {'JOBS':>6} {'RAN':>6} {'CACHED':>6} {'FAILED':>6} "
        f"{'ELAPSED':>10} {'SLOWEST':>10} {'CPU':>10}",
    ]
    for t in report.tasks:
        cpu = format_duration(t.cpu) if t.cpu is not None else "-"
        lines.append(f"{t.name[:40]:40} {t.jobs:>6} {t.ran:>6} {t.cached:>6} {t.failed:>6} "
                     f"{format_duration(t.elapsed):>10} {format_duration(t.slowest):>10} "
                     f"{cpu:>10}")
    lines += ["", "Critical path (each step: the call that finished last):"]
    lines += [f"  {format_duration(sec):>10}  {job['call'][:90]}"
              for job, sec in report.critical_path]
    lines += ["", "Slowest jobs:"]
    lines += [f"  {format_duration(sec):>10}  {job['id'][:8]}  {job['call'][:80]}"
              for job, sec in report.slowest]
    b = report.batch
    lines += ["", f"AWS Batch: {b.jobs} jobs, {b.vcpu_hours:.3f} vCPU-h, "
              f"{b.memory_gib_hours:.3f} GiB-h, {b.gpu_hours:.3f} GPU-h, "
              f"estimated ${b.cost_usd:.4f} (on-demand list prices"
              + (": " + ", ".join(f"{f} ${c:.4f}" for f, c in sorted(b.by_family.items()))
                 if b.by_family else "") + ")"]
    return "\n".join(lines) + "\n"
