"""Count colors in a table on S3 with a shell script, and keep the provenance.

    remit run workflow.py main --data s3://BUCKET/data.tsv --output-path s3://BUCKET/colors/
    remit log s3://BUCKET/colors/color-counts.tsv
"""

from remit import File, script, task

remit_namespace = "examples.colors"


@task()
def count_colors_by_script(data: File, output_path: str) -> dict:
    """Count the rows of each color with cut | sort | uniq, writing a table and a log."""
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
        tempdir=True,
    )


@task()
def main(data: str = "s3://remit-example/data.tsv",
         output_path: str = "s3://remit-example/colors/") -> dict:
    """Count the colors of ``data`` into ``output_path`` (a prefix ending in /)."""
    if not output_path.endswith("/"):
        output_path += "/"
    return count_colors_by_script(File(data), output_path)
