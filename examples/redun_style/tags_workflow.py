"""Tags: label jobs, values and the execution, then find them with `remit log`.

    remit run --tag project=acme tags_workflow.py main
    remit log                 # the execution, tagged project=acme and report=written
    remit log report.txt      # the File, tagged kind=report

Written as a redun user writes it (``redun`` renamed to ``remit``).
"""

from remit import File, apply_tags, task

remit_namespace = "redun_style.tags"


@task(tags=[("step", "count")])
def count_words(text: str) -> int:
    return len(text.split())


@task
def write_report(path: str, words: int) -> File:
    report = File(path)
    report.write(f"{words} words\n")
    return apply_tags(
        report,
        tags=[("kind", "report")],
        job_tags=[("words", words)],
        execution_tags=[("report", "written")],
    )


@task
def main(text: str = "the quick brown fox jumps over the lazy dog",
         output: str = "report.txt") -> File:
    return write_report(output, count_words(text))
