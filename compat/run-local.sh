#!/usr/bin/env bash
# Starts the given firehose binary on free loopback ports with short timeouts, runs the compat
# suite against it, and fails if the suite fails or a server did not survive it.
#   COMPAT_BACKEND=redis  also start a throwaway redis-server (no persistence) and use it
#   COMPAT_NODES=2        start a second node on the same backend; the suite publishes there and
#                         subscribes on the first, so delivery crosses nodes
#   FIREHOSE_ARGS         more server arguments
# A further server with access control on (spec/auth.md: HS256 secret, ES256 and RS256 public keys,
# --auth all, --jwt-cookie firehose_token, two allowed origins) serves compat/test_auth.py, given to pytest as --auth-url;
# another asks compat/hook_server.py (--auth-url on the server; --hook-server-url and --hook-url to pytest).
# Extra arguments go to pytest.
set -euo pipefail
binary=${1:?usage: compat/run-local.sh path/to/firehose [pytest args...]}
shift
backend=${COMPAT_BACKEND:-memory}
nodes=${COMPAT_NODES:-1}
export COMPAT_LONGPOLL_TIMEOUT=2 COMPAT_IDLE_TIMEOUT=3
# A short event-stream heartbeat, so its test (SSE-10) takes seconds rather than the default 15.
export COMPAT_SSE_HEARTBEAT=1
# The operations tests (test_ops.py) start their own servers from it, to send them signals.
FIREHOSE_BINARY=$(realpath "$binary")
export FIREHOSE_BINARY
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

args=(--host 127.0.0.1 --port 0 --long-poll-timeout "$COMPAT_LONGPOLL_TIMEOUT" --idle-timeout "$COMPAT_IDLE_TIMEOUT"
      --sse-heartbeat "$COMPAT_SSE_HEARTBEAT" --log-level "${LOG_LEVEL:-info}")
if [ "$backend" = redis ]; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    --daemonize no --loglevel warning >"$work/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  args+=(--backend redis --redis-url "redis://127.0.0.1:$redis_port/0")
fi
# LIM-6 (spec/limits.md) needs a reachable --max-memory; 256 MiB is far above what the rest of
# the suite stores.
if [ "$backend" = memory ]; then
  export COMPAT_MAX_MEMORY=$((256 << 20))
  args+=(--max-memory "$COMPAT_MAX_MEMORY")
fi
export COMPAT_BACKEND=$backend
# shellcheck disable=SC2206
args+=(${FIREHOSE_ARGS:-})

# start_node N [ARGS...]: starts node N with the common arguments and ARGS, and sets port_N and
# pid_N from its start-up line.
start_node() {
  local name=$1
  shift
  "$binary" server "${args[@]}" "$@" 2>"$work/node$name.log" &
  pids+=($!)
  local pid=$! port=""
  eval "pid_$name=$pid"
  set -- "$name"
  for _ in $(seq 1 100); do
    port=$(grep -o 'listening on http://[^ ]*' "$work/node$1.log" | sed 's/.*://' || true)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/node$1.log"; echo "node $1 exited at start-up"; exit 1; }
    sleep 0.05
  done
  [ -n "$port" ] || { cat "$work/node$1.log"; echo "node $1 did not report its port"; exit 1; }
  # Ready when the health check passes (for redis: both connections up).
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$port/")" = 200 ] && break
    sleep 0.05
  done
  eval "port_$1=$port"
}

start_node 1
url="http://127.0.0.1:$port_1"
# Keys for the access-control server: a fresh secret and key pairs per run, nothing on disk after.
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$work/es256.pem"
openssl pkey -in "$work/es256.pem" -pubout -out "$work/es256.pub"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/rs256.pem" 2>/dev/null
openssl pkey -in "$work/rs256.pem" -pubout -out "$work/rs256.pub"
# The secret begins with '-' on purpose: a random base64url secret does so one time in 64, and the
# server must still take it as --jwt-secret's value (pytest gets it as --jwt-secret=...).
jwt_secret=-$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
start_node auth --jwt-secret "$jwt_secret" --auth all --jwt-cookie firehose_token \
  --allowed-origins http://app.example,https://second.example:8443 \
  --jwt-public-key "$work/es256.pub" --jwt-public-key "$work/rs256.pub"
# And a server asking an authorization hook (compat/hook_server.py) about everything, 1 s timeout.
python3 "$(dirname "$0")/hook_server.py" >"$work/hook.port" 2>"$work/hook.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/hook.port" ] && break; sleep 0.05; done
start_node hook --auth-url "http://127.0.0.1:$(cat "$work/hook.port")/authorize" --auth all --auth-timeout 1
auth=(--auth-url "http://127.0.0.1:$port_auth" "--jwt-secret=$jwt_secret"
      --jwt-es256-key "$work/es256.pem" --jwt-rs256-key "$work/rs256.pem"
      --hook-server-url "http://127.0.0.1:$port_hook" --hook-url "http://127.0.0.1:$(cat "$work/hook.port")")
publish=()
if [ "$nodes" = 2 ]; then
  start_node 2
  publish=(--publish-url "http://127.0.0.1:$port_2")
fi
echo "compat: $backend backend, $nodes node(s): subscribing on $url${publish:+, publishing on ${publish[1]}}"

status=0
python3 -m pytest compat -q --url "$url" "${publish[@]}" "${auth[@]}" "$@" || status=$?
for n in $(seq 1 "$nodes") auth hook; do
  eval "pid=\$pid_$n"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "node $n died during the compat suite:"; cat "$work/node$n.log"; exit 1
  fi
  if grep -qE ' (WARN|ERROR) ' "$work/node$n.log"; then
    echo "--- node $n warnings and errors ---"; grep -E ' (WARN|ERROR) ' "$work/node$n.log" | tail -n 30
  fi
done
exit $status
