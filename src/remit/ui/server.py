"""`remit server`: the provenance browser, a Starlette app over the store (read-only).

Pages: executions (filter by status, task, tag; paged), an execution (counts, the call-graph
picture, the job tree whose levels load a page at a time as they are opened), a job (call,
arguments, result, traceback, source, files, tags), a File (every version of its path, the
producer and the lineage picture), a task (its code versions over time with diffs) and an
execution's time and cost report. Templates and static files ship inside the package, so
nothing is fetched or built at install time.
"""

from __future__ import annotations

import difflib
from collections import deque
from typing import Any

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from remit.db.query import Query
from remit.errors import RemitError
from remit.ui import viz
from remit.ui.pages import HERE, make_env
from remit.ui.queries import UIQuery
from remit.ui.report import build_report

CHILDREN_PAGE = 200
LOG_TAIL = 200  # lines of a Batch job's log shown on its log page


def create_app(engine: Engine, report_options: dict[str, str] | None = None,
               report_where: str = "[report]", region: str | None = None) -> Starlette:
    """The web app reading the store behind ``engine`` (``region``: AWS Batch's, for logs)."""
    templates = Jinja2Templates(env=make_env())

    def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(request, template, context, status_code=status_code)

    def not_found(request: Request, message: str) -> Response:
        return page(request, "error.html", status_code=404, message=message)

    def executions(request: Request) -> Response:
        params = request.query_params
        tag = None
        if params.get("tag"):
            key, _, value = params["tag"].partition("=")
            tag = (key, value)
        number = max(1, int(params.get("page", "1") or 1))
        with engine.connect() as conn:
            q = UIQuery(conn)
            rows = q.executions(number, 50, params.get("status") or None,
                                params.get("task") or None, tag)
            counts = q.state_counts([row["id"] for row in rows.rows])
        return page(request, "executions.html", rows=rows, counts=counts,
                    filters={k: params.get(k, "") for k in ("status", "task", "tag")})

    def execution(request: Request) -> Response:
        with engine.connect() as conn:
            q = UIQuery(conn)
            row = q.execution(request.path_params["id"])
            if row is None:
                return not_found(request, f"No execution {request.path_params['id']!r}.")
            counts = q.state_counts([row["id"]])[row["id"]]
            root = q.job(row["root_job_id"]) if row["root_job_id"] else None
            tags = q.tags_of([row["id"]]).get(row["id"], {})
            roots = _with_children([root], q) if root is not None else []
            kids = q.children(root["id"], 0, CHILDREN_PAGE) if root is not None else None
            nodes = _with_children(kids.rows, q) if kids is not None else []
        return page(request, "execution.html", execution=row, counts=counts, roots=roots,
                    tags=tags, total=sum(counts.values()), nodes=nodes,
                    parent_id=root["id"] if root is not None else None,
                    next_offset=CHILDREN_PAGE if kids is not None and kids.has_next else None)

    def children(request: Request) -> Response:
        offset = max(0, int(request.query_params.get("offset", "0") or 0))
        with engine.connect() as conn:
            q = UIQuery(conn)
            kids = q.children(request.path_params["id"], offset, CHILDREN_PAGE)
            nodes = _with_children(kids.rows, q)
        return page(request, "_jobs.html", nodes=nodes, parent_id=request.path_params["id"],
                    next_offset=offset + CHILDREN_PAGE if kids.has_next else None)

    def job(request: Request) -> Response:
        with engine.connect() as conn:
            q, log = UIQuery(conn), Query(conn)
            row = q.job(request.path_params["id"])
            if row is None:
                return not_found(request, f"No job {request.path_params['id']!r}.")
            context: dict[str, Any] = {
                "job": row,
                "ancestors": list(reversed(log.job_ancestors(row))),
                "tags": log.tags(row["id"]),
                "arguments": log.arguments(row["call_hash"]) if row["call_hash"] else [],
                "result": q.result_value(row["call_hash"]),
                "task": log.task(row["task_hash"]),
                "files": log.job_files(row["call_hash"]) if row["call_hash"] else {},
                "children": _with_children(q.children(row["id"], 0, 50).rows, q),
            }
        return page(request, "job.html", **context)

    def job_log(request: Request) -> Response:
        with engine.connect() as conn:
            row = UIQuery(conn).job(request.path_params["id"])
            tags = Query(conn).tags(row["id"]) if row is not None else {}
        if row is None or "aws_batch_job" not in tags:
            return not_found(request, "No AWS Batch job recorded for this job.")
        try:
            lines = batch_log_tail(tags["aws_batch_job"], region)
        except RemitError as exc:
            return page(request, "log.html", status_code=502, job=row, error=str(exc), lines=[])
        return page(request, "log.html", job=row, batch_id=tags["aws_batch_job"], lines=lines,
                    error=None)

    def file(request: Request) -> Response:
        path = request.query_params.get("path", "")
        with engine.connect() as conn:
            q, log = UIQuery(conn), Query(conn)
            versions = q.file_versions(path)
            if not versions:
                return not_found(request, f"No recorded File {path!r}.")
            rows = [(version, log.producer(version["value_hash"])) for version in versions]
            svg = _svg(lambda: viz.file_graph(conn, path))
        return page(request, "file.html", path=path, versions=rows, svg=svg)

    def task(request: Request) -> Response:
        name = request.path_params["name"]
        with engine.connect() as conn:
            versions = UIQuery(conn).task_versions(name)
        if not versions:
            return not_found(request, f"No task {name!r}.")
        diffs = [
            (old, new, difflib.HtmlDiff(wrapcolumn=90).make_table(
                old["source"].splitlines(), new["source"].splitlines(),
                old["hash"][:8], new["hash"][:8], context=True, numlines=2))
            for old, new in zip(versions, versions[1:], strict=False)
        ]
        return page(request, "task.html", name=name, versions=versions, diffs=diffs)

    def graph_svg(request: Request) -> Response:
        with engine.connect() as conn:
            try:
                graph = viz.execution_graph(conn, request.path_params["id"])
            except RemitError as exc:
                return Response(str(exc), status_code=404)
        return Response(viz.render(viz.to_dot(graph), "svg"), media_type="image/svg+xml")

    def report(request: Request) -> Response:
        with engine.connect() as conn:
            try:
                result = build_report(conn, request.path_params["id"], report_options or {},
                                      report_where)
            except RemitError as exc:
                return not_found(request, str(exc))
        return page(request, "report.html", report=result)

    routes = [
        Route("/", executions),
        Route("/executions/{id}", execution),
        Route("/executions/{id}/graph.svg", graph_svg),
        Route("/executions/{id}/report", report),
        Route("/jobs/{id}", job),
        Route("/jobs/{id}/children", children),
        Route("/jobs/{id}/log", job_log),
        Route("/files", file),
        Route("/tasks/{name:path}", task),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes)


def batch_log_tail(batch_id: str, region: str | None, lines: int = LOG_TAIL) -> list[str]:
    """The last lines of an AWS Batch job's CloudWatch log."""
    from remit import aws
    from remit.batch_logs import log_lines, log_stream

    stream = log_stream(aws.client("batch", region=region), batch_id)
    return list(deque(log_lines(aws.client("logs", region=region), stream), maxlen=lines))


def _with_children(jobs: list[Any], q: UIQuery) -> list[tuple[Any, int]]:
    counts = q.child_counts([job["id"] for job in jobs])
    return [(job, counts.get(job["id"], 0)) for job in jobs]


def _svg(build: Any) -> str:
    """An inline SVG picture, or a note saying why there is none."""
    try:
        svg = viz.render(viz.to_dot(build()), "svg").decode()
    except RemitError as exc:
        return f'<p class="note">No picture: {exc}</p>'
    return svg[svg.find("<svg"):]

