#!/usr/bin/env bash
# Runs the real-browser suite against a fresh server; installs nothing (make test-browser does).
#   browser/run-local.sh BINARY_DIR [pytest args...]      e.g. browser/run-local.sh .build/debug
# Starts BINARY_DIR/firehose on a free loopback port (memory backend, 2 s long-poll timeout,
# 1 s SSE heartbeat), runs pytest on browser/, and fails if the suite fails or the server died.
#   BROWSER_SCREENSHOT=docs/demo.png   also save a screenshot of the demo page there
set -euo pipefail
dir=${1:?usage: browser/run-local.sh BINARY_DIR [pytest args...]}
shift
binary=$dir/firehose
[ -x "$binary" ] || { echo "no firehose binary at $binary"; exit 1; }
cd "$(dirname "$0")/.."
export BROWSER_LONGPOLL_TIMEOUT=2
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

args=(--host 127.0.0.1 --port 0 --backend memory --long-poll-timeout "$BROWSER_LONGPOLL_TIMEOUT" --log-level "${LOG_LEVEL:-info}")
# The SSE flag arrives with the SSE transport; an older binary runs without it (and fails the
# SSE tests, which is the truth about it).
if "$binary" server --help 2>/dev/null | grep -q -- --sse-heartbeat; then
  args+=(--sse-heartbeat 1)
else
  echo "browser: $binary has no --sse-heartbeat (no SSE yet); starting it without"
fi
"$binary" server "${args[@]}" 2>"$work/server.log" &
pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(grep -o 'listening on http://[^ ]*' "$work/server.log" | sed 's/.*://' || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; echo "the server exited at start-up"; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/server.log"; echo "the server did not report its port"; exit 1; }
url="http://127.0.0.1:$port"
echo "browser: server $url ($binary)"

status=0
python3 -m pytest browser -q --url "$url" --binary "$binary" "$@" || status=$?
if ! kill -0 "$pid" 2>/dev/null; then
  echo "the server died during the browser suite:"; cat "$work/server.log"; exit 1
fi
if grep -qE ' (WARN|ERROR) ' "$work/server.log"; then
  echo "--- server warnings and errors ---"; grep -E ' (WARN|ERROR) ' "$work/server.log" | tail -n 30
fi
exit $status
