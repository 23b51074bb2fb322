"""`remit gc [--older-than 30d] [--dry-run]`: delete what no recent call needs.

Removes (1) stored values in the value store (local or S3) that no call recorded within
``--older-than`` (a duration, or a date: since then) refers to, and (2) scratch objects of
every configured ``aws_batch`` executor: a job's ``jobs/<eval_hash>/`` objects unless a job
with that eval hash ran within ``--older-than``, and code tarballs and array job lists last
written before then. Anything written within ``--older-than`` is kept whatever refers to it,
so a run in progress loses nothing. ``--dry-run`` deletes nothing and lists what would go.
What counts as referenced is ``db/retention.py``; the scratch layout is
``remote/scratch.py``.
"""

from __future__ import annotations

import datetime
import re
import time
from typing import Any

import click

from remit.progress import log_line

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_cutoff(text: str, now: float) -> float:
    """The Unix time ``--older-than`` names: a duration before ``now`` (``30d``, ``12h``,
    ``90m``, ``45s``, ``2w``, or seconds) or a date and time (``2026-11-01``, ISO 8601)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2) or "s"]
    try:
        return datetime.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected a duration such as 30d, 12h, 90m or 45s, or a date such as "
            "2026-11-01", param_hint="'--older-than'") from None


@click.command()
@click.option("--older-than", "older_than", default="30d", show_default=True, metavar="AGE",
              help="Keep whatever a call recorded within AGE needs (30d, 12h, 90m, 45s; or "
                   "since a date, 2026-11-01T12:00).")
@click.option("--dry-run", is_flag=True, help="Delete nothing; list what would be deleted.")
@click.option("-c", "--config", "config_dir", metavar="DIR", help="Config directory.")
def gc(older_than: str, dry_run: bool, config_dir: str | None) -> None:
    """Delete stored values and scratch objects no recent call refers to.

    \b
    Examples:
      remit gc --dry-run                  list what 30 days of history no longer need
      remit gc --older-than 7d            keep only what calls of the last week need
      remit gc --older-than 2026-11-01    keep what calls since November 1st need
    """
    from remit.config import load_config
    from remit.db.backend import Backend
    from remit.errors import RemitError

    cutoff = parse_cutoff(older_than, time.time())
    try:
        config = load_config(config_dir)
        backend = Backend.for_config_dir(config.config_dir, config.backend)
        try:
            _collect_values(backend, cutoff, dry_run)
            for name, options in sorted(config.executors.items()):
                if options.get("type") == "aws_batch" and options.get("s3_scratch"):
                    _collect_scratch(backend, name, options["s3_scratch"], cutoff, dry_run)
        finally:
            backend.close()
    except RemitError as exc:
        raise click.ClickException(str(exc)) from None


def _report(summary: str, urls: list[str], dry_run: bool) -> None:
    for url in urls:
        log_line(f"{'would remove' if dry_run else 'removed'} {url}")
    log_line(f"{summary}{' (dry run: nothing deleted)' if dry_run else ''}")


def _collect_values(backend: Any, cutoff: float, dry_run: bool) -> None:
    from remit.db.retention import mark_removed, referenced_values

    store = backend.store
    stored = store.list_values()
    with backend.engine.connect() as conn:
        keep = referenced_values(conn, cutoff)
    doomed = [h for h, modified in stored if h not in keep and modified < cutoff]
    urls = [store.location(h) for h in doomed]
    if not dry_run:
        for value_hash in doomed:
            store.remove(value_hash)
        with backend.engine.begin() as conn:
            mark_removed(conn, doomed)
    _report(f"value store {store.root}: {len(urls)} of {len(stored)} stored values "
            "unreferenced", urls, dry_run)


def _collect_scratch(backend: Any, executor: str, scratch: str, cutoff: float,
                     dry_run: bool) -> None:
    from remit.db.retention import recent_eval_hashes
    from remit.files import get_filesystem
    from remit.remote.scratch import scratch_objects

    objects = scratch_objects(scratch)
    with backend.engine.connect() as conn:
        recent = recent_eval_hashes(conn, cutoff)
    doomed = [o.url for o in objects
              if o.modified < cutoff and (o.eval_hash is None or o.eval_hash not in recent)]
    if not dry_run:
        for url in doomed:
            get_filesystem(url).remove(url)
    _report(f"scratch of [executors.{executor}] {scratch}: {len(doomed)} of {len(objects)} "
            "objects unneeded", doomed, dry_run)
