"""Tags and context from the command line, as `remit run` and `remit log` show them."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from sqlalchemy import create_engine, select

from remit.db import models
from tests.conftest import run_cli

WORKFLOW = textwrap.dedent('''
    from remit import File, apply_tags, get_context, task

    remit_namespace = "tagdemo"


    @task(tags=[("stage", "align")])
    def align(x: int, scale: int = get_context("align.scale", 1)) -> int:
        return x * scale


    @task()
    def save(path: str, x: int) -> File:
        out = File(path)
        out.write(str(x))
        return apply_tags(out, tags=[("kind", "result")], job_tags=[("rows", x)],
                          execution_tags=[("saved", True)])


    @task()
    def main(out: str = "out.txt") -> File:
        return save(out, align(21))
''')


def _job_id(project: Path, call_prefix: str) -> str:
    engine = create_engine(f"sqlite:///{project / '.remit' / 'remit.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(models.job.c.id, models.job.c.start_time).where(
            models.job.c.call.startswith(call_prefix))
            .order_by(models.job.c.start_time.desc())).all()
    return rows[0][0]


def test_tags_and_context_from_the_command_line(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".remit").mkdir(parents=True)
    (project / "workflow.py").write_text(WORKFLOW)
    (project / "ctx.json").write_text(json.dumps({"align": {"scale": 3}}))

    run = run_cli("run", "--tag", "project=acme", "--tag", "run=3", "--context-file", "ctx.json",
                  "workflow.py", "main", cwd=project)
    assert run.returncode == 0, run.stderr
    assert (project / "out.txt").read_text() == "63"

    listing = run_cli("log", cwd=project)
    exec_id = re.search(r"Exec (\w{8})", listing.stdout).group(1)
    execution = run_cli("log", exec_id, cwd=project).stdout
    assert "Tags: project=acme, run=3, saved=true" in execution

    align_job = run_cli("log", _job_id(project, "tagdemo.align"), cwd=project).stdout
    assert "Tags: stage=align" in align_job and "scale=3" in align_job
    save_job = run_cli("log", _job_id(project, "tagdemo.save"), cwd=project).stdout
    assert "Tags: rows=63" in save_job
    assert "Tags: kind=result" in run_cli("log", "out.txt", cwd=project).stdout
    # `remit tag list` finds them too: the task tag on the task and on its job.
    listed = run_cli("tag", "list", "stage=align", cwd=project).stdout
    assert re.search(r"^task +\w{12}  stage=align$", listed, re.M)
    assert re.search(r"^job +[-\w]{12}  stage=align$", listed, re.M)

    # --context overrides the file; only align (which reads it) and its consumers re-run.
    again = run_cli("run", "--context-file", "ctx.json", "--context", "align.scale=2",
                    "workflow.py", "main", cwd=project)
    assert again.returncode == 0, again.stderr
    assert (project / "out.txt").read_text() == "42"
    assert re.search(r"Cached Job \w+:  tagdemo\.main", again.stderr)
    assert re.search(r"Run    Job \w+:  tagdemo\.align\(x=21, scale=2\)", again.stderr)

    bad = run_cli("run", "--context", "align.scale", "workflow.py", "main", cwd=project)
    assert bad.returncode != 0
    assert "--context 'align.scale': expected KEY.PATH=VALUE" in bad.stderr
