#!/usr/bin/env bash
# Publish throughput of a running server: wrk PUTs 100-byte messages to one channel over
# CONNECTIONS keep-alive connections for SECONDS, and prints wrk's figures plus the CPU seconds the
# server (PID) and wrk used, so a reader can see which side saturated.
# usage: bench/publish_throughput.sh URL PID [CONNECTIONS] [SECONDS]
set -euo pipefail
url=${1:?usage: bench/publish_throughput.sh http://127.0.0.1:7474/channel PID [connections] [seconds]}
pid=${2:?server pid}
connections=${3:-16}
seconds=${4:-10}
case "$url" in http://127.*|http://localhost*) ;; *) echo "loopback URLs only" >&2; exit 2 ;; esac
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
before=$(cpu "$pid")
out=$(mktemp)
/usr/bin/time -f '%U %S' -o "$out.time" wrk -t1 -c"$connections" -d"${seconds}s" -s "$(dirname "$0")/put.lua" "$url" | tee "$out"
after=$(cpu "$pid")
read -r wrk_user wrk_sys < "$out.time"
echo "server CPU: $(echo "scale=2; ($after - $before) / $ticks" | bc) s over ${seconds} s; wrk CPU: $(echo "$wrk_user + $wrk_sys" | bc) s"
rm -f "$out" "$out.time"
