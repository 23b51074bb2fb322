"""The AWS Batch example end to end through the local stand-in, as `make demo` runs it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import boto3
import pytest

from tests.conftest import run_cli, status_row
from tests.ui.serving import get, serving

pytestmark = pytest.mark.aws

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aws_batch"
OUTPUT = "s3://remit-test/remit-examples/aws_batch/"
TASKS = {
    "examples.aws_batch.main": 1,
    "examples.aws_batch.task_on_batch": 1,
    "examples.aws_batch.task_lib.utils.lib_task_on_batch": 1,
    "examples.aws_batch.task_on_batch_debug": 1,
    "examples.aws_batch.run_script": 1,
    "examples.aws_batch.count_colors_by_script": 1,
    "examples.aws_batch.task_on_default": 2,
    "remit.script": 2,
    "remit.script_task": 2,
    "remit.postprocess_script": 2,
}


@pytest.fixture
def example(aws_standin, tmp_path: Path) -> Path:
    project = tmp_path / "aws_batch"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("remit.db*", "values",
                                                                   "__pycache__", "docker"))
    boto3.client("s3").upload_file(str(EXAMPLE / "data" / "data.tsv"), "remit-test",
                                   "remit-examples/aws_batch/data.tsv")
    return project


def test_example_end_to_end(example: Path) -> None:
    env = {"REMIT_S3_SCRATCH": "s3://remit-test/example-scratch/", "REMIT_BATCH_DEBUG": "False",
           "REMIT_JOB_MONITOR_INTERVAL": "1"}
    proc = run_cli("run", "workflow.py", "main", "--output-path", OUTPUT, cwd=example, env=env,
                   timeout=300)
    assert proc.returncode == 0, proc.stderr
    printed = re.sub(r"File\(path=([^,]+), hash=([0-9a-f]+)\)", r"File('\1', '\2')", proc.stdout)
    result = eval(printed, {"File": _FileRepr})
    assert result[0] == "main" and result[1].startswith(b"Linux")
    on_batch, lib, debug, script_out, colors = result[2:]
    assert on_batch[0] == "task_on_batch" and on_batch[2][0] == "task_on_default"
    assert on_batch[2][2] == 15 and on_batch[3] == 10
    assert lib[0] == "lib_task_on_batch" and lib[2] == 10
    assert debug[0] == "task_on_batch_debug" and debug[2][2] == 15
    assert b"workflow.py" in script_out and b"task_lib" in script_out
    assert set(colors) == {"colors-counts", "log"}
    assert colors["colors-counts"].path == OUTPUT + "color-counts.tsv"

    err = proc.stderr
    total = sum(TASKS.values())
    assert status_row(err, "ALL") == [0, 0, 0, 1, total - 1, total]
    for task, count in TASKS.items():
        assert status_row(err, task)[5] == count, task

    # The Batch tasks really ran as separate job processes: each job's log stream holds the
    # `remit oneshot` line of its task, written by that process.
    batch_ids = re.findall(r"as AWS Batch job (\S+):", err)
    assert len(batch_ids) == 5
    jobs = boto3.client("batch").describe_jobs(jobs=batch_ids)["jobs"]
    assert {job["status"] for job in jobs} == {"SUCCEEDED"}
    logs = boto3.client("logs")
    oneshot_tasks = set()
    for job in jobs:
        events = logs.get_log_events(logGroupName="/aws/batch/job",
                                     logStreamName=job["container"]["logStreamName"])["events"]
        for event in events:
            found = re.search(r"\[remit\] oneshot:  remit .* oneshot \S+ .* (\S+)$",
                              event["message"])
            if found:
                oneshot_tasks.add(found.group(1))
    assert oneshot_tasks == {
        "examples.aws_batch.task_on_batch", "examples.aws_batch.task_lib.utils.lib_task_on_batch",
        "examples.aws_batch.task_on_batch_debug", "remit.script_task",
    }

    _check_picture_and_report(example, len(batch_ids))

    again = run_cli("run", "workflow.py", "main", "--output-path", OUTPUT, cwd=example, env=env)
    assert again.returncode == 0, again.stderr
    assert status_row(again.stderr, "ALL") == [0, 0, 0, total, 0, total]
    assert "AWSBatchExecutor: submit" not in again.stderr

    log = run_cli("log", OUTPUT + "color-counts.tsv", cwd=example)
    assert log.returncode == 0, log.stderr
    producer = re.search(r"^Produced by Job ([0-9a-f]{8})$", log.stdout, re.M)
    assert producer and f"Job {producer.group(1)}" in log.stdout
    assert re.search(r"Tags: .*aws_batch_job=\S+", log.stdout)  # the producing Batch job
    assert "count_colors_by_script(data, output_path)" in log.stdout


def _check_picture_and_report(example: Path, n_batch_jobs: int) -> None:
    """`remit viz` draws the run's calls and its output File; `remit report` costs its jobs."""
    picture = run_cli("viz", "-", "-o", str(example / "run.dot"), cwd=example)
    assert picture.returncode == 0, picture.stderr
    dot = (example / "run.dot").read_text()
    labels = re.findall(r'label="([^"]*)"', dot)
    for call in ("examples.aws_batch.main(", "examples.aws_batch.task_on_batch(",
                 "examples.aws_batch.count_colors_by_script(", "remit.script_task("):
        assert any(label.startswith(call) for label in labels), call
    # The output File is a node of its own, drawn from the call that wrote it.
    file_node = re.search(r'(f\w+) \[label="color-counts.tsv"', dot).group(1)
    writer = re.search(rf"(j\w+) -> {file_node}", dot).group(1)
    assert re.search(rf'{writer} \[label="remit.script_task\(', dot)
    assert re.search(r"j\w+ -> j\w+ \[style=dashed", dot)  # who called whom
    report = run_cli("report", "-", cwd=example)
    assert report.returncode == 0, report.stderr
    assert f"AWS Batch: {n_batch_jobs} jobs" in report.stdout
    assert re.search(r"estimated \$0\.\d{4}", report.stdout)
    # The same run in the provenance browser: the Batch job ids are on the job pages.
    with serving(example / ".remit") as url:
        execution = re.search(r'href="/executions/([0-9a-f-]{36})"', get(url + "/")[1])
        page = get(f"{url}/executions/{execution.group(1)}")[1]
        assert "examples.aws_batch.main(" in page and "on_batch" in page
        writer_job = re.search(r'href="/jobs/([0-9a-f-]{36})">remit\.script_task', page)
        if writer_job is None:  # deeper in the tree: find it through the picture's link
            writer_job = re.search(rf'{writer} \[.*URL="/jobs/([0-9a-f-]{{36}})"', dot)
        job_page = get(f"{url}/jobs/{writer_job.group(1)}")[1]
        assert re.search(r"<dt>aws_batch_job</dt><dd><code[^>]*>[0-9a-f-]{36}", job_page)
        assert "color-counts.tsv" in job_page  # the File it wrote
        # Its Batch job's log tail, read from CloudWatch through the page's link.
        assert 'id="batch-log"' in job_page
        status, log_page = get(f"{url}/jobs/{writer_job.group(1)}/log")
        assert status == 200 and "[remit] oneshot:" in log_page


class _FileRepr:
    """Stands in for File when reading the printed result back."""

    def __init__(self, path: str, hash: str) -> None:  # noqa: A002 - mirrors File's repr
        self.path, self.hash = path, hash


def test_docker_makefile_prints_sensible_commands() -> None:
    import subprocess

    proc = subprocess.run(["make", "-n", "-C", str(EXAMPLE / "docker"), "setup", "build",
                           "create-repo", "push"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "build" in out and "--build-arg BASE_IMAGE=" in out
    assert "aws ecr create-repository" in out and " push " in out
