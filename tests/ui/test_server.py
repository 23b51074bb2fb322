"""The provenance browser over real HTTP, on a store filled by real `remit run`s."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest

from tests.ui.serving import get


def execution_ids(html: str) -> list[str]:
    return re.findall(r'href="/executions/([0-9a-f-]{36})"', html)


def test_executions_list_and_filters(server_url: str) -> None:
    status, html = get(server_url + "/")
    assert status == 200
    assert len(execution_ids(html)) == 3
    assert html.count("status-failed") >= 1 and "DONE" in html
    # counts by state: the second run re-ran the 8 squares and what consumed them
    assert re.search(r"8 done", html)

    failed = get(server_url + "/?status=FAILED")[1]
    assert len(execution_ids(failed)) == 1 and "broken" in failed
    by_task = get(server_url + "/?task=uitest.explode")[1]
    assert execution_ids(by_task) == execution_ids(failed)
    none = get(server_url + "/?task=no.such.task")[1]
    assert execution_ids(none) == [] and "No executions match" in none


def test_execution_page_and_children_pages(server_url: str) -> None:
    first = execution_ids(get(server_url + "/")[1])[-1]  # oldest: newest first in the list
    status, html = get(f"{server_url}/executions/{first[:8]}")
    assert status == 200
    assert "uitest.main(n=8" in html and 'id="job-tree"' in html
    assert f"/executions/{first}/graph.svg" in html and "report" in html
    root = re.search(r'data-job="([0-9a-f-]{36})"', html).group(1)
    kids = get(f"{server_url}/jobs/{root}/children")[1]
    assert "uitest.fanout(n=8)" in kids and "uitest.write(" in kids
    fanout = re.search(r'data-job="([0-9a-f-]{36})"[^<]*\n?<details data-children', kids)
    assert fanout, kids
    squares = get(f"{server_url}/jobs/{fanout.group(1)}/children")[1]
    assert len(re.findall(r"uitest\.square\(x=\d\)", squares)) == 8

    svg = get(f"{server_url}/executions/{first}/graph.svg")[1]
    assert svg.lstrip().startswith("<?xml") and "uitest.square" in svg and "×8" in svg


def test_job_page_shows_error_source_and_arguments(server_url: str) -> None:
    failed = execution_ids(get(server_url + "/?status=FAILED")[1])[0]
    html = get(f"{server_url}/executions/{failed}")[1]
    root = re.search(r'data-job="([0-9a-f-]{36})"', html).group(1)
    kids = get(f"{server_url}/jobs/{root}/children")[1]
    job_id = re.search(r'href="/jobs/([0-9a-f-]{36})">uitest\.explode', kids).group(1)
    status, page = get(f"{server_url}/jobs/{job_id}")
    assert status == 200
    assert "ValueError: exploded at 3" in page            # the traceback
    assert "raise ValueError" in page                     # the task's source
    assert '<pre class="call">uitest.explode(n=3)</pre>' in page
    assert "badge state-failed" in page

    square_id = re.search(r'href="/jobs/([0-9a-f-]{36})">uitest\.square', kids).group(1)
    page = get(f"{server_url}/jobs/{square_id}")[1]
    assert re.search(r"<td>x</td><td><code>builtins.int</code></td><td><code>3</code>", page)
    assert re.search(r'<pre class="value">9</pre>', page)  # the result


def test_file_page_names_producer_and_versions(server_url: str, project: Path) -> None:
    path = str(project / "out.txt")
    status, html = get(f"{server_url}/files?path={urllib.parse.quote(path)}")
    assert status == 200
    assert path in html and "uitest.write(" in html
    # the second run wrote the same content again: one or two versions, each with a producer
    assert 1 <= len(re.findall(r"<tr><td>\d", html)) <= 2
    assert "<svg" in html and "uitest.write" in html.split("<svg", 1)[1]


def test_task_page_diffs_code_versions(server_url: str) -> None:
    status, html = get(f"{server_url}/tasks/uitest.square")
    assert status == 200
    assert html.count("<h3>Changes from") == 1
    diff = html.split("<h3>Changes from", 1)[1].split('<pre class="source">')[0]
    assert "diff_chg" in diff or "diff_add" in diff
    text = re.sub(r"<[^>]+>", "", diff).replace("&nbsp;", " ")
    assert "return x ** 2" in text and "return x * x" in text


def test_report_page(server_url: str) -> None:
    first = execution_ids(get(server_url + "/")[1])[-1]
    status, html = get(f"{server_url}/executions/{first}/report")
    assert status == 200
    row = re.search(r'<a href="/tasks/uitest.square">uitest.square</a></td><td>(\d+)</td>'
                    r"<td>(\d+)</td><td>(\d+)</td>", html)
    assert row and row.groups() == ("8", "8", "0")
    cpu = re.search(r"uitest.square</a></td>(?:<td>[^<]*</td>){6}<td>([^<]*)</td>", html)
    assert cpu and re.fullmatch(r"\d+:\d\d:\d\d\.\d\d", cpu.group(1))  # measured locally
    assert "Critical path" in html and "uitest.main(n=8" in html


@pytest.mark.parametrize("path", ["/executions/ffffffff", "/jobs/ffffffff",
                                  "/files?path=/no/such", "/tasks/no.such"])
def test_unknown_things_are_404_pages(server_url: str, path: str) -> None:
    status, html = get(server_url + path)
    assert status == 404 and "Not found" in html
