#!/usr/bin/env bash
# Start/stop a private Nchan (Debian nginx + libnginx-mod-nchan) on loopback for the benchmarks.
#   bench/nchan.sh start memory|redis PORT WORKDIR [REDIS_URL]   (REDIS_URL default redis://127.0.0.1:6379)
#       renders bench/nchan/nginx.conf.in into WORKDIR/nginx.conf, starts nginx with one worker,
#       waits until 127.0.0.1:PORT answers, prints "master_pid=N" and "worker_pid=M".
#   bench/nchan.sh stop WORKDIR
#       graceful quit, then TERM/KILL if needed; waits until the master and workers are gone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
template=$here/nchan/nginx.conf.in
nginx=${NGINX:-/usr/sbin/nginx}

usage() { sed -n '2,7p' "$0" >&2; exit 2; }

find_module() {
    local m
    for m in /usr/lib/nginx/modules/ngx_nchan_module.so /usr/share/nginx/modules/ngx_nchan_module.so; do
        [ -f "$m" ] && { echo "$m"; return; }
    done
    # modules-available/mod-nchan.conf says "load_module modules/ngx_nchan_module.so;" (relative to the prefix)
    echo "ngx_nchan_module.so not found (apt-get install -y nginx libnginx-mod-nchan)" >&2
    exit 1
}

alive() {  # running and not a zombie (daemonized nginx is reparented to PID 1, which may reap late)
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    local state; state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

children_of() { pgrep -P "$1" 2>/dev/null || true; }

port_answers() {  # TCP connect to 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

stop() {
    local work=${1:?workdir}
    work=$(cd "$work" 2>/dev/null && pwd) || { echo "no such dir: $1" >&2; return 0; }
    local pidfile=$work/nginx.pid master workers i
    [ -s "$pidfile" ] || return 0
    master=$(cat "$pidfile")
    if ! alive "$master"; then rm -f "$pidfile"; return 0; fi
    # only touch it if it is really our nginx (the pid file may be stale)
    if ! tr '\0' ' ' < "/proc/$master/cmdline" 2>/dev/null | grep -q -- "$work/nginx.conf"; then
        echo "pid $master is not the nginx of $work; leaving it alone" >&2
        rm -f "$pidfile"; return 0
    fi
    workers=$(children_of "$master")
    kill -QUIT "$master" 2>/dev/null || true          # graceful: closes idle keep-alive, ends subscribers
    for i in $(seq 1 50); do alive "$master" || break; sleep 0.1; done
    if alive "$master"; then
        kill -TERM "$master" 2>/dev/null || true       # fast shutdown
        for i in $(seq 1 30); do alive "$master" || break; sleep 0.1; done
    fi
    if alive "$master"; then
        kill -KILL "$master" $workers 2>/dev/null || true
    fi
    for w in $workers; do
        for i in $(seq 1 30); do alive "$w" || break; sleep 0.1; done
        alive "$w" && kill -KILL "$w" 2>/dev/null || true
    done
    for i in $(seq 1 30); do alive "$master" || break; sleep 0.1; done
    rm -f "$pidfile"
}

start() {
    local mode=${1:-} port=${2:-} work=${3:-} redis_url=${4:-redis://127.0.0.1:6379}
    case "$mode" in memory|redis) ;; *) usage ;; esac
    [[ "$port" =~ ^[0-9]+$ ]] || usage
    [ -n "$work" ] || usage
    [ -x "$nginx" ] || { echo "$nginx not found (apt-get install -y nginx libnginx-mod-nchan)" >&2; exit 1; }
    mkdir -p "$work"
    work=$(cd "$work" && pwd)
    stop "$work"                                       # a leftover from an earlier run
    if port_answers "$port"; then echo "127.0.0.1:$port is already in use" >&2; exit 1; fi
    mkdir -p "$work/tmp"
    local module; module=$(find_module)
    local nofile; nofile=$(ulimit -Hn)
    if [ "$nofile" = unlimited ] || [ "$nofile" -gt 70000 ]; then nofile=70000; fi
    local keep drop
    if [ "$mode" = redis ]; then keep='#@REDIS@'; drop='#@MEMORY@'; else keep='#@MEMORY@'; drop='#@REDIS@'; fi
    sed -e "/^$drop/d" -e "s|^$keep||" \
        -e "s|@PORT@|$port|g" -e "s|@WORKDIR@|$work|g" -e "s|@REDIS_URL@|$redis_url|g" \
        -e "s|@MODULE@|$module|g" -e "s|@NOFILE@|$nofile|g" "$template" > "$work/nginx.conf"
    : > "$work/error.log"
    # -e: the compiled-in error log is stderr; keep start-up messages in the work dir too
    "$nginx" -p "$work" -c "$work/nginx.conf" -e "$work/error.log" 2>>"$work/error.log" \
        || { echo "nginx failed to start:" >&2; tail -20 "$work/error.log" >&2; exit 1; }
    local master="" worker="" i
    for i in $(seq 1 100); do
        [ -s "$work/nginx.pid" ] && master=$(cat "$work/nginx.pid")
        if alive "$master"; then
            worker=$(children_of "$master" | head -1)
            [ -n "$worker" ] && port_answers "$port" && break
        fi
        sleep 0.05
    done
    if ! alive "$master" || [ -z "$worker" ] || ! port_answers "$port"; then
        echo "nginx did not come up on 127.0.0.1:$port:" >&2; tail -20 "$work/error.log" >&2
        stop "$work"; exit 1
    fi
    echo "master_pid=$master"
    echo "worker_pid=$worker"
}

cmd=${1:-}; shift || true
case "$cmd" in
    start) start "$@" ;;
    stop) stop "$@" ;;
    *) usage ;;
esac
