#!/usr/bin/env bash
# Starts the given firehose binary on a free loopback port with short timeouts, runs the compat
# suite against it, and fails if the suite fails or the server did not survive it.
# FIREHOSE_ARGS adds server arguments (e.g. "--backend redis --redis-url redis://127.0.0.1:6390").
set -euo pipefail
binary=${1:?usage: compat/run-local.sh path/to/firehose [pytest args...]}
shift
log=$(mktemp)
export COMPAT_LONGPOLL_TIMEOUT=2 COMPAT_IDLE_TIMEOUT=3
"$binary" server --host 127.0.0.1 --port 0 --long-poll-timeout "$COMPAT_LONGPOLL_TIMEOUT" \
  --idle-timeout "$COMPAT_IDLE_TIMEOUT" --log-level "${LOG_LEVEL:-info}" ${FIREHOSE_ARGS:-} 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 1 100); do
  port=$(grep -o 'listening on http://[^ ]*' "$log" | sed 's/.*://' || true)
  [ -n "$port" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "server exited at start-up"; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { cat "$log"; echo "server did not report its port"; exit 1; }
status=0
python3 -m pytest compat -q --url "http://127.0.0.1:$port" "$@" || status=$?
if ! kill -0 $pid 2>/dev/null; then
  echo "the server died during the compat suite:"; cat "$log"; exit 1
fi
if grep -qE ' (WARN|ERROR) ' "$log"; then echo "--- server warnings and errors ---"; grep -E ' (WARN|ERROR) ' "$log" | tail -n 50; fi
exit $status
