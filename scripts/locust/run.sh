#!/usr/bin/env bash
# Starts a real Locust master (headless) on 127.0.0.1 and N `loadgen worker`s
# against a target; stops everything it started when the master exits. Run
# `loadgen setup --host URL --students USERS` first: the server refuses
# students not enrolled in an active exam.
# Usage: scripts/locust/run.sh URL WORKERS USERS RATE RUN_TIME [CSV_PREFIX]
#   e.g. scripts/locust/run.sh http://127.0.0.1:5000 2 40 20 30s /tmp/locust
# Env: LOADGEN (default target/release/loadgen), WORKER_ARGS (extra worker options).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 5 ] || { echo "usage: $0 URL WORKERS USERS RATE RUN_TIME [CSV_PREFIX]" >&2; exit 2; }
url=$1 workers=$2 users=$3 rate=$4 run_time=$5 csv=${6:-}
venv=$("$repo/scripts/locust/venv.sh")
loadgen=${LOADGEN:-$repo/target/release/loadgen}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
"$venv/bin/locust" -f "$repo/scripts/locust/locustfile.py" --master --headless --master-bind-host 127.0.0.1 \
  --master-bind-port "$port" --expect-workers "$workers" -u "$users" -r "$rate" -t "$run_time" --host "$url" \
  ${csv:+--csv "$csv"} --only-summary &
master=$!
for i in $(seq 1 "$workers"); do
  # shellcheck disable=SC2086
  "$loadgen" worker --master-host 127.0.0.1 --master-port "$port" --segment-interval 1s --flush-every 1s --segment-size 8K \
    --stop-timeout 5s --node-id "loadgen-$i-$$" ${WORKER_ARGS:-} > "${csv:-/tmp/locust}-worker-$i.txt" 2>&1 &
  pids+=($!)
done
code=0
wait "$master" || code=$?
for p in "${pids[@]}"; do wait "$p" || true; done
exit "$code"
