"""aws_batch sections are checked before anything runs, with errors naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from remit.errors import ConfigError
from remit.executors.aws_batch.options import BatchOptions
from tests.conftest import run_cli

WHERE = "remit.ini: [executors.batch]"
GOOD = {"type": "aws_batch", "image": "img", "queue": "q", "s3_scratch": "s3://b/p/"}


@pytest.mark.parametrize("missing", ["image", "queue", "s3_scratch"])
def test_missing_required_option(missing: str) -> None:
    options = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ConfigError, match=f"{missing}: required option is missing"):
        BatchOptions.parse(options, WHERE)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("batch_tags", "{user: me}", "batch_tags: invalid JSON"),
        ("batch_tags", "[1, 2]", "batch_tags: expected a JSON object"),
        ("job_def_extra", "{", "job_def_extra: invalid JSON"),
        ("memory", "lots", "memory: expected a number, got 'lots'"),
        ("retries", "1.5", "retries: expected a whole number"),
        ("debug", "maybe", "debug: expected true or false"),
        ("max_array_size", "20000", "max_array_size: must be between 1 and 10000"),
        ("s3_scratch", "/local/dir", "s3_scratch: must be an s3:// URL"),
        ("s3_scrach", "s3://x/", "s3_scrach: unknown aws_batch option"),
    ],
)
def test_invalid_option_values(option: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        BatchOptions.parse({**GOOD, option: value}, WHERE)


def test_defaults_and_task_overrides() -> None:
    opts = BatchOptions.parse({**GOOD, "batch_tags": '{"a": "1"}', "memory": "2",
                               "code_includes": "**/*.py **/*.sql"}, WHERE)
    assert opts.job_name_prefix == "remit-job" and opts.retries == 0 and opts.vcpus == 1
    assert opts.code_includes == ("**/*.py", "**/*.sql")
    task_opts = opts.for_task({"memory": 8, "vcpus": 4, "batch_tags": {"b": "2"}, "gpus": 1}, "t")
    assert (task_opts.memory, task_opts.vcpus, task_opts.gpus) == (8, 4, 1)
    assert task_opts.batch_tags == {"a": "1", "b": "2"}


def test_cli_reports_missing_option_before_running(tmp_path: Path) -> None:
    (tmp_path / ".remit").mkdir()
    ini = tmp_path / ".remit" / "remit.ini"
    ini.write_text("[executors.batch]\ntype = aws_batch\nimage = x\nqueue = q\n")
    (tmp_path / "workflow.py").write_text(
        "from remit import task\n\n@task(executor='batch')\ndef main() -> int:\n    return 1\n"
    )
    proc = run_cli("run", "workflow.py", "main", cwd=tmp_path)
    assert proc.returncode == 1
    assert f"{ini}: [executors.batch] s3_scratch: required option is missing" in proc.stderr
    assert "Run    Job" not in proc.stderr
