"""Pictures of provenance: an execution's call graph, or the lineage of a File, via Graphviz.

Tasks are boxes coloured by state, Files are notes of their own, solid edges carry dataflow
(an argument that came from another call's result, a File produced or consumed) and dashed
grey edges show which call made which. Many sibling calls of one task (a fan-out) collapse
into one box with a count, so a 10,000-job execution stays a readable picture.
Building the graph reads the store; drawing it runs Graphviz's ``dot``.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from remit.db.query import Query
from remit.errors import RemitError
from remit.ui.queries import UIQuery

COLLAPSE_AT = 6  # siblings of one task beyond which they are drawn as one node
FORMATS = ("svg", "png", "dot")

FILL = {"DONE": "#c8e6c9", "CACHED": "#bbdefb", "FAILED": "#ffcdd2",
        "RUNNING": "#fff59d", "PENDING": "#eeeeee"}


@dataclass
class Node:
    """A box (task call or group of calls) or a note (File) in the picture."""

    label: str
    kind: str = "call"  # call | file
    states: Counter = field(default_factory=Counter)
    url: str = ""

    @property
    def state(self) -> str:
        """The state the node is coloured by: the worst among its calls."""
        for state in ("FAILED", "RUNNING", "PENDING", "DONE", "CACHED"):
            if self.states.get(state):
                return state
        return "DONE"


@dataclass
class Graph:
    """Nodes by id and labelled edges ``(src, dst) -> (label, style)``."""

    title: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def edge(self, src: str, dst: str, label: str = "", style: str = "data") -> None:
        """Add an edge; a data edge replaces a call edge between the same nodes."""
        if src == dst:
            return
        old = self.edges.get((src, dst))
        if old is None or (old[1] == "call" and style == "data"):
            self.edges[(src, dst)] = (label, style)


def _node_id(prefix: str, key: str) -> str:
    """A DOT-safe node id from a job id or hash."""
    return prefix + key.replace("-", "")[:16]


def _task_name(job: Any) -> str:
    return job["fullname"] or job["call"].split("(", 1)[0]


def execution_graph(conn: Any, execution_id: str) -> Graph:
    """The call graph of one execution, fan-outs collapsed."""
    q = UIQuery(conn)
    execution = q.execution(execution_id)
    if execution is None:
        raise RemitError(f"no execution {execution_id!r}; `remit log` lists them")
    jobs = q.execution_jobs(execution["id"])
    graph = Graph(f"execution {execution['id'][:8]}")
    siblings: dict[tuple[Any, str], list[Any]] = defaultdict(list)
    for job in jobs:
        siblings[(job["parent_id"], _task_name(job))].append(job)
    node_of: dict[str, str] = {}  # job id -> node id
    for (_parent, name), group in siblings.items():
        if len(group) > COLLAPSE_AT:
            node_id = _node_id("g", group[0]["id"])
            node = Node(f"{name}\n×{len(group)}")
            for job in group:
                node_of[job["id"]] = node_id
                node.states[job["status"]] += 1
            node.label += "\n" + ", ".join(f"{n} {s.lower()}"
                                           for s, n in sorted(node.states.items()))
        else:
            for job in group:
                node_id = _node_id("j", job["id"])
                node_of[job["id"]] = node_id
                node = Node(_short_call(job["call"]), url=f"/jobs/{job['id']}")
                node.states[job["status"]] += 1
                graph.nodes[node_id] = node
            continue
        graph.nodes[node_id] = node
    for job in jobs:
        if job["parent_id"] in node_of:
            graph.edge(node_of[job["parent_id"]], node_of[job["id"]], style="call")
    by_call = {job["call_hash"]: node_of[job["id"]] for job in jobs if job["call_hash"]}
    for upstream, call, name in q.upstream_edges(list(by_call)):
        if upstream in by_call and call in by_call:
            graph.edge(by_call[upstream], by_call[call], name)
    _add_files(graph, q.call_files(list(by_call)), by_call, jobs, node_of)
    return graph


def _add_files(graph: Graph, rows: list[tuple[str, str, str, str]], by_call: dict[str, str],
               jobs: list[Any], node_of: dict[str, str]) -> None:
    """File notes: an edge from the call that made the File (the deepest call returning it
    without having been given it), and to each call that took it as an argument."""
    returned_by: dict[str, set[str]] = defaultdict(set)
    taken = {(call, value_hash) for call, role, value_hash, _path in rows if role == "arg"}
    for call, role, value_hash, _path in rows:
        if role == "result":
            returned_by[value_hash].add(call)
    parent_call = {job["call_hash"]: job for job in jobs if job["call_hash"]}
    calls_by_id = {job["id"]: job["call_hash"] for job in jobs}
    for call, role, value_hash, path in rows:
        file_id = _node_id("f", value_hash)
        if file_id not in graph.nodes:
            graph.nodes[file_id] = Node(path.rsplit("/", 1)[-1] or path, kind="file",
                                        url=f"/files?path={path}")
        if role == "arg":
            graph.edge(file_id, by_call[call])
            continue
        # Only the producer: not a call that was given the File, nor a caller passing it up.
        if (call, value_hash) in taken:
            continue
        job = parent_call.get(call)
        children_returning = [
            other for other in returned_by[value_hash]
            if other != call and calls_by_id.get(parent_call[other]["parent_id"]) == call
        ] if job is not None else []
        if not children_returning:
            graph.edge(by_call[call], file_id)


def file_graph(conn: Any, path: str) -> Graph:
    """The lineage of a File: the call that produced its newest version and what fed it."""
    q, log = UIQuery(conn), Query(conn)
    versions = q.file_versions(path)
    if not versions:
        raise RemitError(f"no recorded File {path!r}; `remit log --file` lists them")
    file_row = versions[0]
    graph = Graph(f"lineage of {path}")
    file_id = _node_id("f", file_row["value_hash"])
    graph.nodes[file_id] = Node(path, kind="file", url=f"/files?path={path}")
    producer = log.producer(file_row["value_hash"])
    if producer is None or not producer["call_hash"]:
        return graph
    step = log.dataflow(producer["call_hash"])
    seen: set[str] = set()

    def add(step: Any) -> str:
        node_id = _node_id("c", step.call_hash)
        if step.call_hash in seen:
            return node_id
        seen.add(step.call_hash)
        jobs = log.jobs_for_call(step.call_hash)
        node = Node(step.task_name, url=f"/jobs/{jobs[-1]['id']}" if jobs else "")
        node.states[jobs[-1]["status"] if jobs else "DONE"] += 1
        graph.nodes[node_id] = node
        for arg in step.arguments:
            upstream = step.upstream.get(arg["name"])
            source = add(upstream) if upstream is not None else None
            if arg["type"].endswith((".File", ".Dir")):
                version = q.file_by_hash(arg["value_hash"])
                if version is not None:
                    arg_file = _node_id("f", arg["value_hash"])
                    graph.nodes.setdefault(arg_file, Node(version["path"], kind="file",
                                                          url=f"/files?path={version['path']}"))
                    if source:
                        graph.edge(source, arg_file)
                    graph.edge(arg_file, node_id, arg["name"])
                    continue
            if source:
                graph.edge(source, node_id, arg["name"])
        return node_id

    if step is not None:
        graph.edge(add(step), file_id)
    return graph


def _short_call(call: str, limit: int = 48) -> str:
    return call if len(call) <= limit else call[: limit - 1] + "…"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph) -> str:
    """The graph in Graphviz's DOT language."""
    lines = [
        "digraph remit {",
        f"  label={_quote(graph.title)}; labelloc=t; rankdir=LR; fontname=Helvetica;",
        '  node [fontname=Helvetica, fontsize=10, style="rounded,filled", shape=box];',
        "  edge [fontname=Helvetica, fontsize=9, color=\"#555555\"];",
    ]
    for node_id, node in graph.nodes.items():
        attrs = [f"label={_quote(node.label)}", f"id={_quote(node_id)}"]
        if node.kind == "file":
            attrs += ["shape=note", 'fillcolor="#fff3e0"', 'style="filled"']
        else:
            attrs += [f'fillcolor="{FILL.get(node.state, "#eeeeee")}"',
                      f"class={_quote('state-' + node.state.lower())}"]
        if node.url:
            attrs.append(f"URL={_quote(html.escape(node.url))}")
            attrs.append(f"tooltip={_quote(node.label)}")
            attrs.append('target="_top"')
        lines.append(f"  {node_id} [{', '.join(attrs)}];")
    for (src, dst), (label, style) in graph.edges.items():
        attrs = [f"label={_quote(label)}"] if label else []
        if style == "call":
            attrs += ["style=dashed", 'color="#aaaaaa"', "arrowhead=none"]
        lines.append(f"  {src} -> {dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, fmt: str) -> bytes:
    """Draw DOT text as ``svg`` or ``png`` with Graphviz (``dot`` returns the text itself)."""
    if fmt == "dot":
        return dot_text.encode()
    if fmt not in FORMATS:
        raise RemitError(f"unknown picture format {fmt!r}; use one of {', '.join(FORMATS)}")
    dot = shutil.which("dot")
    if dot is None:
        raise RemitError(
            "Graphviz's `dot` is not installed; install it (Debian: apt-get install graphviz) "
            "or write DOT text with -o FILE.dot"
        )
    done = subprocess.run([dot, f"-T{fmt}"], input=dot_text.encode(), capture_output=True,
                          timeout=120)
    if done.returncode != 0:
        raise RemitError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
