#!/usr/bin/env bash
# A short run of every firehose-bench mode against a freshly started server (memory backend), for
# CI: it proves the tool works end to end. It checks what the tool reports about delivery (all
# delivered, nothing lost, duplicated or reordered), never how fast anything was.
# Usage: bench/smoke.sh [BIN_DIR]   (default .build/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/firehose" server --host 127.0.0.1 --port "$port" --log-level warn &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

url="http://127.0.0.1:$port"
run() {
  echo "+ firehose-bench $*" >&2
  line=$("$bin/firehose-bench" "$@" --url "$url" --pid "$server" --json 2>/dev/null)
  echo "$line"
  python3 - "$line" <<'PY'
import json, sys
report = json.loads(sys.argv[1])
if not report.get("ok"):
    sys.exit(f"not ok: {report}")
for key in ("lost", "duplicated", "reordered", "errors", "publish_errors"):
    if report.get(key, 0) != 0:
        sys.exit(f"{key} = {report[key]}: {report}")
PY
}
run fanout --transport longpoll --subscribers 300 --channels 3 --messages 30 --rate 0 --publishers 2
run fanout --transport ws --subscribers 300 --channels 3 --messages 30 --rate 30
run churn --transport longpoll --subscribers 100 --channels 5 --rate 50 --duration 3 --drop-every 1
run churn --transport ws --subscribers 100 --channels 5 --rate 50 --duration 3 --drop-every 1
run fanout --transport sse --subscribers 300 --channels 3 --messages 30 --rate 30
run churn --transport sse --subscribers 100 --channels 5 --rate 50 --duration 3 --drop-every 1
run publish --connections 4 --duration 1
run catchup --connections 4 --duration 1
run idle --transport ws --connections 200 --settle 0.5
echo "bench smoke: every mode ran and delivered everything" >&2
