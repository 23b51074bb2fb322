#!/usr/bin/env bash
# `make demo`: run the AWS Batch example end to end against the local AWS stand-in.
#
# Starts `remit emulate aws` (S3, Batch with a local compute environment, CloudWatch Logs),
# uploads the example's data.tsv to its S3, runs the workflow, shows `remit log` of the
# color counts, and stops the stand-in. No AWS account and no server set up by hand.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
remit="$root/.venv/bin/remit"
python="$root/.venv/bin/python"
bucket="remit-example"
output="s3://$bucket/remit-examples/aws_batch/"
state="$(mktemp -d)"

"$remit" emulate aws --port 0 --bucket "$bucket" --queue remit-queue \
    --env-file "$state/env" >"$state/stdout" 2>"$state/stderr" &
standin=$!
cleanup() {
    kill -TERM "$standin" 2>/dev/null && wait "$standin" 2>/dev/null || true
    rm -rf "$state"
}
trap cleanup EXIT

for _ in $(seq 100); do
    [ -s "$state/env" ] && break
    kill -0 "$standin" 2>/dev/null || { cat "$state/stderr" >&2; exit 1; }
    sleep 0.1
done
[ -s "$state/env" ] || { echo "demo: the AWS stand-in did not start" >&2; exit 1; }
# shellcheck disable=SC1091
source "$state/env"
echo "[demo] local AWS stand-in on $AWS_ENDPOINT_URL (remit emulate aws)"

"$python" - "$root/examples/aws_batch/data/data.tsv" "$bucket" <<'PY'
import sys
import boto3
boto3.client("s3").upload_file(sys.argv[1], sys.argv[2], "remit-examples/aws_batch/data.tsv")
PY
echo "[demo] uploaded data.tsv to ${output}data.tsv"

# task_on_batch_debug wants a local container of the example image; without an engine or
# the image, it runs on the stand-in's local compute like the other Batch tasks.
if "$python" - <<'PY' 2>/dev/null
import docker
client = docker.from_env(timeout=5)
client.ping()
client.images.get("localhost/remit-example:latest")
PY
then
    export REMIT_BATCH_DEBUG=True
else
    export REMIT_BATCH_DEBUG=False
    echo "[demo] no container engine with the example image (see scripts/build-images.sh):" \
         "task_on_batch_debug runs on the stand-in's local compute instead of a local container"
fi
export REMIT_JOB_MONITOR_INTERVAL=1

cd "$root/examples/aws_batch"
"$remit" run --no-cache workflow.py main --output-path "$output"
echo
"$remit" log "${output}color-counts.tsv"

# What the run looks like: its call graph (Graphviz) and its time and cost report.
pictures="$root/examples/aws_batch/demo-output"
mkdir -p "$pictures"
echo
if command -v dot >/dev/null 2>&1; then
    "$remit" viz - -o "$pictures/call-graph.svg"
else
    "$remit" viz - -o "$pictures/call-graph.dot"
    echo "[demo] Graphviz is not installed: wrote DOT text (apt-get install graphviz draws it)"
fi
"$remit" report - -o "$pictures/report.html"
"$remit" report -
echo "[demo] picture and report in $pictures/ (browse every run: remit server, in examples/aws_batch)"
