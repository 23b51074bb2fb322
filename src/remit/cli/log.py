"""`remit log`: what ran, when, from what. Executions, jobs, and the provenance of Files.

    remit log                    recent executions
    remit log ID                 an execution, job, call node, task or value by id prefix
    remit log -                  the last execution
    remit log PATH               which job produced a File (local path or s3:// URL), from what
    remit log --file             recorded Files
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import click

from remit.cli.store import config_option, open_store, remit_errors
from remit.display import format_duration, format_time

_PREVIEW = 120


@click.command()
@click.argument("target", required=False)
@click.option("--file", "list_files", is_flag=True, help="List recorded Files.")
@click.option("-n", "--limit", default=20, show_default=True, help="How many rows to list.")
@config_option
def log(target: str | None, list_files: bool, limit: int, config_dir: str | None) -> None:
    """Show recorded executions, jobs and File provenance (reads only).

    \b
    Examples:
      remit log                      recent executions
      remit log -                    the last execution
      remit log 3f2a9c1b             an execution, job, call node, task or value
      remit log s3://bucket/out.tsv  which job made this File, from what
    """
    from remit.db.query import Query

    backend = open_store(config_dir)
    with remit_errors(), backend.engine.connect() as conn:
        view = _LogView(Query(conn))
        if list_files:
            view.files(limit)
        elif target is None:
            view.executions(limit)
        elif target == "-":
            view.last_execution()
        elif _looks_like_path(target):
            view.file(_normalize_path(target))
        else:
            view.lookup(target)
    backend.close()


def _looks_like_path(target: str) -> bool:
    return "://" in target or "/" in target or os.path.exists(target)


def _normalize_path(target: str) -> str:
    from remit.files.file import path_text

    return path_text(target if "://" in target else str(Path(target).resolve()))


def _cut(text: str, limit: int = _PREVIEW) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _LogView:
    """Renders query results as text."""

    def __init__(self, query: Any) -> None:
        self.q = query

    def echo(self, text: str = "") -> None:
        click.echo(text)

    # -- executions ---------------------------------------------------------------------

    def executions(self, limit: int) -> None:
        rows = self.q.recent_executions(limit)
        if not rows:
            self.echo("No executions recorded yet; `remit run FILE TASK` records one.")
            return
        self.echo("Recent executions:\n")
        for row in rows:
            self.echo("  " + self._execution_line(row) + f"  ({row['n_jobs']} jobs)")

    def last_execution(self) -> None:
        rows = self.q.recent_executions(1)
        if not rows:
            raise click.ClickException("no executions recorded yet; `remit run FILE TASK` "
                                       "records one")
        self.execution(rows[0])

    def _execution_line(self, row: Any) -> str:
        import json

        argv = " ".join(json.loads(row["argv"])[1:])
        from remit.db.liveness import shown_status

        status = shown_status(row)
        return (f"Exec {row['id'][:8]} [ {status:^6} ] {format_time(row['start_time'])}:"
                f"  {argv}")

    def execution(self, row: Any) -> None:
        self.echo(self._execution_line(row))
        duration = (row["end_time"] - row["start_time"]) if row["end_time"] else None
        self.echo(f"Duration: {format_duration(duration)}")
        self._tags(row["id"])
        jobs = self.q.execution_jobs(row["id"])
        from remit.db.liveness import shown_status

        if shown_status(row) == "ABANDONED":  # its RUNNING jobs will never finish
            jobs = [{**job, "status": "ABANDONED"} if job["status"] == "RUNNING" else job
                    for job in jobs]
        counts: dict[str, int] = {}
        for job in jobs:
            counts[job["status"]] = counts.get(job["status"], 0) + 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        self.echo(f"Jobs: {len(jobs)} ({summary})\n")
        children: dict[str | None, list[Any]] = {}
        for job in jobs:
            children.setdefault(job["parent_id"], []).append(job)
        stack = [(job, 1) for job in reversed(children.get(None, []))]
        while stack:
            job, level = stack.pop()
            duration = job["end_time"] - job["start_time"] if job["end_time"] else None
            self.echo("  " * level + f"Job {job['id'][:8]} [ {job['status']:^6} ] "
                      f"{format_duration(duration)}  {_cut(job['call'])}")
            stack.extend((child, level + 1) for child in reversed(children.get(job["id"], [])))

    # -- jobs -----------------------------------------------------------------------------

    def job(self, job: Any, indent: str = "") -> None:
        self.echo(f"{indent}Job {job['id']} [ {job['status']} ] "
                  f"{format_time(job['start_time'])}:  {_cut(job['call'], 150)}")
        self.echo(f"{indent}Traceback: {self._traceback(job)}")
        duration = job["end_time"] - job["start_time"] if job["end_time"] else None
        self.echo(f"{indent}Duration: {format_duration(duration)}")
        self.echo(f"{indent}Executor: {job['executor']}")
        if job["reason"]:  # why it ran instead of coming from the cache (`remit why`)
            self.echo(f"{indent}Ran because: {job['reason']}")
        self._tags(job["id"], indent)
        if job["error"]:
            self.echo(f"\n{indent}  Error:")
            self.echo(textwrap.indent(job["error"].rstrip(), indent + "    "))
        if job["call_hash"]:
            self.call_node(job["call_hash"], indent + "  ")
            files = self.q.job_files(job["call_hash"])
            for role, title in (("arg", "Files in"), ("result", "Files out")):
                if files[role]:
                    self.echo(f"\n{indent}  {title}:")
                    for f in files[role]:
                        self.echo(f"{indent}    File {f['content_hash'][:8]} {f['path']}")
        task = self.q.task(job["task_hash"])
        if task is not None:
            self.task(task, indent + "  ")

    def _traceback(self, job: Any) -> str:
        chain = list(reversed([job, *self.q.job_ancestors(job)]))
        parts = [f"Exec {job['execution_id'][:8]}"]
        if len(chain) > 2:
            parts.append(f"({len(chain) - 2} Jobs)")
            chain = chain[-2:]
        for item in chain:
            task = self.q.task(item["task_hash"])
            name = task["fullname"].rsplit(".", 1)[-1] if task else "?"
            parts.append(f"Job {item['id'][:8]} {name}")
        return " > ".join(parts)

    def call_node(self, call_hash: str, indent: str) -> None:
        node = self.q.call_node(call_hash)
        if node is None:
            return
        task = self.q.task(node["task_hash"])
        args = self.q.arguments(call_hash)
        result = self.q.value(node["result_hash"])
        self.echo(f"\n{indent}CallNode {call_hash} {task['fullname'] if task else ''}")
        shown = ", ".join(f"{a['name']}={a['preview']}" for a in args)
        self.echo(f"{indent}  Args:   {_cut(shown, 150)}")
        self.echo(f"{indent}  Result: {_cut(result['preview'] if result else '?', 150)}")

    def task(self, task: Any, indent: str) -> None:
        self.echo(f"\n{indent}Task {task['hash']} {task['fullname']}\n")
        self.echo(textwrap.indent(task["source"].rstrip() or "(source not recorded)",
                                  indent + "  "))

    def lookup(self, prefix: str) -> None:
        found = self.q.find(prefix)
        if found is None:
            raise click.ClickException(
                f"nothing recorded matches {prefix!r}; `remit log` lists recent executions"
            )
        kind, row = found
        if kind == "execution":
            self.execution(row)
        elif kind == "job":
            self.job(row)
        elif kind == "call_node":
            self.call_node(row["call_hash"], "")
            for job in self.q.jobs_for_call(row["call_hash"])[:5]:
                self.echo(f"  Job {job['id'][:8]} [ {job['status']} ] "
                          f"{format_time(job['start_time'])}")
        elif kind == "task":
            self.task(row, "")
        else:
            self.echo(f"Value {row['hash']} {row['type']}\n  {row['preview']}")
            self._tags(row["hash"], "  ")

    def _tags(self, entity_id: str, indent: str = "") -> None:
        tags = self.q.tags(entity_id)
        if tags:
            self.echo(f"{indent}Tags: " + ", ".join(f"{k}={v}" for k, v in tags.items()))

    # -- files ----------------------------------------------------------------------------

    def files(self, limit: int) -> None:
        rows = self.q.files(limit=limit)
        if not rows:
            self.echo("No Files recorded yet.")
            return
        for row in rows:
            self.echo(f"File {row['content_hash'][:8]} {format_time(row['first_seen'])}  "
                      f"{row['path']}")

    def file(self, path: str) -> None:
        versions = self.q.files(path)
        if not versions:
            raise click.ClickException(
                f"no File recorded at {path}; `remit log --file` lists the recorded ones"
            )
        latest = next((v for v in versions if self.q.producer(v["value_hash"])), versions[0])
        self.echo(f"File {latest['content_hash'][:8]} {format_time(latest['first_seen'])} "
                  f"{latest['path']}")
        self._tags(latest["value_hash"])
        producer = self.q.producer(latest["value_hash"])
        if producer is None:
            self.echo("Not produced by any recorded job (an input to the workflow).")
            return
        self.echo(f"Produced by Job {producer['id'][:8]}\n")
        self.job(producer, indent="  ")
        self.dataflow(producer["call_hash"], latest["value_hash"])

    def dataflow(self, call_hash: str, file_hash: str) -> None:
        # Climb from the deepest producer to the first user task that returned this File.
        current, seen = call_hash, {call_hash}
        while True:
            task = self.q.task(self.q.call_node(current)["task_hash"])
            if task is None or not task["fullname"].startswith("remit."):
                break
            parents = self.q.parents_returning(current, file_hash)
            if not parents or parents[0]["call_hash"] in seen:
                break
            current = parents[0]["call_hash"]
            seen.add(current)
        step = self.q.dataflow(current)
        if step is None:
            return
        node = self.q.call_node(current)
        result = self.q.value(node["result_hash"])
        self.echo("\n    Upstream dataflow:\n")
        self.echo(f"      result = {_cut(result['preview'] if result else '?', 150)}\n")
        self._step("result", step, "      ")

    def _step(self, name: str, step: Any, indent: str) -> None:
        params = ", ".join(a["name"] for a in step.arguments)
        short = step.task_name.rsplit(".", 1)[-1]
        self.echo(f"{indent}{name} <-- <{step.call_hash[:8]}> {short}({params})")
        width = max((len(a["name"]) for a in step.arguments), default=0)
        for arg in step.arguments:
            self.echo(f"{indent}  {arg['name'].ljust(width)} = <{arg['value_hash'][:8]}> "
                      f"{_cut(arg['preview'], 120)}")
        for arg_name, upstream in step.upstream.items():
            self.echo("")
            self._step(arg_name, upstream, indent)
