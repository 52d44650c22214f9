#!/usr/bin/env bash
# make test-deb: the Debian package end to end on this machine. Installs it with dpkg, starts the
# installed /usr/bin/firehose directly (not through systemd, which CI may not run), publishes and
# reads one message with curl, stops the server with SIGTERM, purges the package and checks that
# nothing of it is left. Exits non-zero on any failure and cleans up on every path.
#
#   contrib/test-deb.sh [<package.deb>]     (without one: `make deb` first)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
now_ms() { date +%s%3N; }
started=$(now_ms)
fail() { echo "test-deb: FAILED: $*" >&2; exit 1; }

deb=${1:-}
if [ -z "$deb" ]; then
    make -C "$root" --no-print-directory deb
    deb="$root/dist/firehose_$(tr -d '[:space:]' < "$root/VERSION")_$(dpkg --print-architecture).deb"
fi
[ -f "$deb" ] || fail "no package at $deb"
built=$(now_ms)

# An administrator's own installation is not ours to remove.
if dpkg-query -W -f='${Status}' firehose 2>/dev/null | grep -q ' installed$'; then
    fail "a firehose package is already installed on this machine; not touching it"
fi

workdir=$(mktemp -d)
installed=0
server_pid=""
cleanup() {
    local status=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "$installed" = 1 ]; then $sudo dpkg --purge firehose >/dev/null 2>&1 || true; fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for DESCRIPTION TENTHS COMMAND...: an explicit condition, polled every 0.1 s, with a bound.
wait_for() {
    local what=$1 tenths=$2; shift 2
    for _ in $(seq "$tenths"); do "$@" && return 0; sleep 0.1; done
    fail "timed out after $((tenths / 10)) s waiting for $what"
}

echo "test-deb: installing $deb"
# Marked before dpkg runs: a signal during the installation must still lead to the purge.
installed=1
$sudo dpkg -i "$deb" >"$workdir/dpkg.log" 2>&1 || { cat "$workdir/dpkg.log" >&2; fail "dpkg -i"; }

version=$(tr -d '[:space:]' < "$root/VERSION")
reported=$(/usr/bin/firehose version)
[[ "$reported" == "firehose $version" || "$reported" == "firehose $version (commit "*")" ]] \
    || fail "/usr/bin/firehose version printed '$reported', expected firehose $version"
for file in /usr/bin/firehose /usr/bin/firehose-bench /etc/default/firehose \
            /usr/lib/systemd/system/firehose.service /usr/lib/systemd/system/firehose@.service; do
    [ -e "$file" ] || fail "$file not installed"
done
grep -qx /etc/default/firehose /var/lib/dpkg/info/firehose.conffiles || fail "/etc/default/firehose is not a conffile"
if command -v systemd-analyze >/dev/null; then
    # Any complaint about the installed units (unknown keys, a missing binary) fails the test.
    complaints=$(systemd-analyze verify --man=no /usr/lib/systemd/system/firehose.service 2>&1) \
        || fail "systemd-analyze verify: $complaints"
    [ -z "$complaints" ] || fail "systemd-analyze verify: $complaints"
fi

# Port 0: the server picks a free port and names it in its start-up line (no race for a port).
/usr/bin/firehose server --host 127.0.0.1 --port 0 >"$workdir/server.log" 2>&1 &
server_pid=$!
listening() {
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited: $(cat "$workdir/server.log")"
    grep -q 'listening on http://127.0.0.1:[0-9]' "$workdir/server.log"
}
wait_for "the server's start-up line" 100 listening
port=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$workdir/server.log" | head -n1)
url="http://127.0.0.1:$port/test-deb"

status=$(curl -sS --max-time 5 -o "$workdir/put" -w '%{http_code}' -X PUT --data-binary 'from the package' "$url")
[ "$status" = 202 ] || fail "PUT $url answered $status: $(cat "$workdir/put")"
status=$(curl -sS --max-time 5 -o "$workdir/get" -w '%{http_code}' "$url")
expected='{"message":"from the package","last_sequence":1}'
[ "$status" = 200 ] || fail "GET $url answered $status"
[ "$(cat "$workdir/get")" = "$expected" ] || fail "GET $url returned '$(cat "$workdir/get")', expected '$expected'"

kill -TERM "$server_pid"
stopped() { ! kill -0 "$server_pid" 2>/dev/null; }
# Bounded by the unit's TimeoutStopSec: the server drains for up to --drain-timeout (10 s).
wait_for "the server to stop on SIGTERM" 150 stopped
exit_status=0; wait "$server_pid" || exit_status=$?
server_pid=""
[ "$exit_status" = 0 ] || fail "the server exited with $exit_status on SIGTERM: $(cat "$workdir/server.log")"

$sudo dpkg --purge firehose >"$workdir/dpkg.log" 2>&1 || { cat "$workdir/dpkg.log" >&2; fail "dpkg --purge"; }
installed=0
for file in /usr/bin/firehose /usr/bin/firehose-bench /etc/default/firehose /usr/lib/systemd/system/firehose.service; do
    [ ! -e "$file" ] || fail "$file is still there after dpkg --purge"
done
! dpkg-query -W -f='${Status}' firehose 2>/dev/null | grep -q ' installed$' || fail "dpkg still lists firehose"

finished=$(now_ms)
printf 'test-deb: passed in %d.%03d s (package build %d.%03d s, install/serve/remove %d.%03d s)\n' \
    $(((finished - started) / 1000)) $(((finished - started) % 1000)) \
    $(((built - started) / 1000)) $(((built - started) % 1000)) \
    $(((finished - built) / 1000)) $(((finished - built) % 1000))
