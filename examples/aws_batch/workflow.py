"""Mix local, AWS Batch and local-container (debug) tasks in one workflow.

    remit run workflow.py main --output-path s3://YOUR_BUCKET/remit-examples/aws_batch/

See README.md: `make demo` at the top of the repository runs this against a local AWS
stand-in, with no AWS account.
"""

import subprocess

from task_lib.utils import lib_task_on_batch

from remit import File, script, task

remit_namespace = "examples.aws_batch"


@task()
def task_on_default(x: int) -> list:
    """Runs on the machine that runs `remit run`."""
    return ["task_on_default", subprocess.check_output(["uname", "-a"]), x]


@task(executor="batch")
def task_on_batch(x: int) -> list:
    """Runs in an AWS Batch job; hands back a lazy call that runs on the default executor."""
    return [
        "task_on_batch",
        subprocess.check_output(["uname", "-a"]),
        task_on_default(x + 5),
        x,
    ]


@task(executor="batch_debug")
def task_on_batch_debug(x: int) -> list:
    """Runs in a local container of the Batch image (debug = True). Try a breakpoint here:
    import pdb; pdb.set_trace()  (with interactive = True in the executor's section)."""
    return [
        "task_on_batch_debug",
        subprocess.check_output(["uname", "-a"]),
        task_on_default(x + 5),
        x,
    ]


@task()
def run_script(y: int) -> bytes:
    """A shell script run as an AWS Batch job; its stdout comes back as bytes."""
    return script("uname -a; ls", executor="batch")


@task()
def count_colors_by_script(data: File, output_path: str) -> dict:
    """Count colors in a table on S3 with a script on Batch; outputs are staged back to S3."""
    outputs = {
        "colors-counts": File(output_path + "color-counts.tsv").stage("color-counts.tsv"),
        "log": File(output_path + "color-counts.log").stage("log.txt"),
    }
    return script(
        """
        echo "sorting colors..." >> log.txt
        cut -f3 data | tail -n +2 | sort | uniq -c > color-counts.tsv
        echo "done." >> log.txt
        """,
        inputs=[data.stage("data")],
        outputs=outputs,
        executor="batch",
    )


@task()
def main(y: int = 10, output_path: str = "s3://remit-example/remit-examples/aws_batch/") -> list:
    """Run every kind of task; ``output_path`` (ending in /) holds data.tsv and the results."""
    if not output_path.endswith("/"):
        output_path += "/"
    return [
        "main",
        subprocess.check_output(["uname", "-a"]),
        task_on_batch(y),
        lib_task_on_batch(y),
        task_on_batch_debug(y),
        run_script(y),
        count_colors_by_script(File(output_path + "data.tsv"), output_path),
    ]
