"""`remit oneshot MODULE TASK`: run one task from scratch input (the command a job runs)."""

from __future__ import annotations

import gc
import shlex
import sys

import click


@click.command()
@click.argument("module")
@click.argument("task_name")
@click.option("-p", "--import-path", "import_paths", multiple=True,
              help="Directory to import from, relative to the working directory.")
@click.option("--code", metavar="URL", help="Code tarball to unpack into the working directory.")
@click.option("--input", "input_path", required=True, metavar="URL", help="Pickled arguments.")
@click.option("--output", "output_path", required=True, metavar="URL",
              help="Where the result goes.")
@click.option("--error", "error_path", required=True, metavar="URL", help="Where an error goes.")
@click.option("--no-cache", is_flag=True, help="Run even if the output already exists.")
@click.option("--array-job", is_flag=True,
              help="--input lists eval hashes; run the one at AWS_BATCH_JOB_ARRAY_INDEX.")
@click.option("--array-inputs", metavar="URL",
              help="With --array-job: the array's inputs, each child's slice given by --input.")
def oneshot(module: str, task_name: str, import_paths: tuple[str, ...], code: str | None,
            input_path: str, output_path: str, error_path: str, no_cache: bool,
            array_job: bool, array_inputs: str | None) -> None:
    """Run TASK_NAME from MODULE once, reading arguments from and writing results to scratch.

    This is the command a Batch job or container runs; users rarely type it.

    \b
    Example:
      remit oneshot workflow --import-path . --input s3://b/jobs/H/input \\
        --output s3://b/jobs/H/output --error s3://b/jobs/H/error workflow.main
    """
    # Start-up (imports, botocore's models) allocates only long-lived objects: collecting
    # them again and again cost about as much CPU as the rest of start-up. run_oneshot turns
    # the collector back on before the task runs.
    gc.disable()
    from remit.__about__ import __version__
    from remit.remote.oneshot import OneshotRequest, run_oneshot

    print(f"[remit] remit :: version {__version__}")
    print(f"[remit] oneshot:  {shlex.join(['remit', *sys.argv[1:]])}", flush=True)
    request = OneshotRequest(module, task_name, input_path, output_path, error_path, code,
                             list(import_paths), no_cache, array_job,
                             array_inputs=array_inputs)
    sys.exit(run_oneshot(request))
