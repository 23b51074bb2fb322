"""Tags through the Python API: task tags, apply_tags, run(tags=...) and the [tags] section."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from remit import apply_tags, task
from remit.db.query import Query
from remit.errors import TaskError
from remit.hashing import hash_value

remit_namespace = "tests.lang.tags"


@task(tags=[("stage", "prep"), ("version", 2)])
def prep(x: int) -> int:
    return x + 1


@task()
def tagged_main(x: int) -> int:
    return apply_tags(prep(x), tags=[("kind", "count")], job_tags=[("rows", 3)],
                      execution_tags=[("done", True)])


def test_tags_are_recorded_where_they_belong(make_scheduler, config_dir: Path) -> None:
    scheduler = make_scheduler(ini="[tags]\nproject = acme\nlevel = 3\n")
    done: dict[str, tuple[str, str]] = {}
    scheduler.hooks.add(type("Done", (), {"on_job_done": lambda self, job, value: done.update(
        {job.task.name: (job.id, job.task_hash)})})())
    assert scheduler.run(tagged_main(1), tags=[("user", "ann")]) == 2
    root_id, prep_id, prep_task_hash = done["tagged_main"][0], *done["prep"]
    engine = create_engine(f"sqlite:///{config_dir / 'remit.db'}")
    with engine.connect() as conn:
        query = Query(conn)
        assert query.tags(scheduler.execution.id) == {
            "project": "acme", "level": "3", "user": "ann", "done": "true"}
        assert query.tags(root_id) == {"rows": "3"}
        assert query.tags(prep_id) == {"stage": "prep", "version": "2"}
        assert query.tags(prep_task_hash) == {"stage": "prep", "version": "2"}
        assert query.tags(hash_value(2)) == {"kind": "count"}


def test_bad_tags_are_clear_errors() -> None:
    with pytest.raises(TaskError, match="tags must be a list of"):
        task(tags="project=acme")(lambda: 1)
    with pytest.raises(TaskError, match="a tag key must be a non-empty string"):
        apply_tags(1, tags=[(3, "x")])
