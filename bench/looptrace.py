#!/usr/bin/env python3
"""How a server's event loop spends a fan-out: one firehose-bench run under `perf record`.

    python3 bench/looptrace.py ours  [--server-bin PATH] -- fanout --transport longpoll --subscribers 1000 --messages 200 --rate 20
    python3 bench/looptrace.py nchan                     -- fanout --transport ws --subscribers 100 --channels 100 --messages 20000 --rate 0 --publishers 8

Starts the server (ours: .build/release/firehose, memory backend; nchan: bench/nchan.sh) pinned to
core 0 and firehose-bench pinned to core 1, as bench/matrix.py does, and records the syscall
tracepoints of both: epoll_wait (entry and exit), and every send and receive. A loop iteration is
the time from one epoll_wait's return to the next call: how long one batch of callbacks held the
loop. Printed per process (server, client):

  - iterations, events per iteration, busy time per iteration (p50/p90/p99/max, microseconds);
  - the waits that blocked (epoll_wait longer than 3 us), and how long;
  - the fan-out iterations (those with at least 90% of --subscribers sends), their length and
    their send rate, and a millisecond timeline of one median fan-out (server sends and receives
    next to the client's) when there are any;
  - the run's own latency percentiles from firehose-bench's JSON.

Tracing costs every syscall about a microsecond: compare servers under the tool, not against
untraced figures. Needs perf and the permission to trace (root here).
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENTS = ["syscalls:sys_enter_epoll_wait", "syscalls:sys_exit_epoll_wait"] + [
    f"syscalls:sys_enter_{name}" for name in ("sendmsg", "sendto", "writev", "write", "recvfrom", "read")]
SEND = ("sendmsg", "sendto", "writev", "write")


def pct(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0


def start_server(kind, binary, port, work):
    if kind == "ours":
        proc = subprocess.Popen(["taskset", "-c", "0", binary, "server", "--host", "127.0.0.1", "--port", str(port),
                                 "--log-level", "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        return proc.pid, lambda: (proc.send_signal(signal.SIGTERM), proc.wait(10))
    out = subprocess.run(["taskset", "-c", "0", "bash", os.path.join(ROOT, "bench", "nchan.sh"), "start", "memory", str(port), work],
                         capture_output=True, text=True, check=True).stdout
    pids = dict(line.split("=") for line in out.split() if "=" in line)
    for pid in pids.values():
        subprocess.run(["taskset", "-pc", "0", pid], capture_output=True)
    stop = lambda: subprocess.run(["bash", os.path.join(ROOT, "bench", "nchan.sh"), "stop", work], capture_output=True)
    return int(pids["worker_pid"]), stop


def parse(data):
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,time,event,trace"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*(.+?)\s+(\d+)\s+([\d.]+):\s+syscalls:sys_(enter|exit)_(\w+):\s*(.*)", line)
        if m:
            yield m.group(1), int(m.group(2)), float(m.group(3)), m.group(4), m.group(5), m.group(6)


def loop_iterations(records, pid):
    """(start, end, events, sends, receives) per iteration, and the blocked waits, of one process."""
    iterations, waits, current, entered = [], [], None, None
    for _, p, t, kind, name, rest in records:
        if p != pid:
            continue
        if name == "epoll_wait":
            if kind == "exit":
                if entered is not None:
                    waits.append(t - entered)
                hexes = re.findall(r"0x([0-9a-f]+)", rest)
                current = [t, None, int(hexes[-1], 16) if hexes else 0, 0, 0]
            else:
                entered = t
                if current:
                    current[1] = t
                    iterations.append(tuple(current))
                current = None
        elif current and kind == "enter":
            current[3 if name in SEND else 4] += 1
    return iterations, waits


def report(label, iterations, waits, subscribers):
    if not iterations:
        print(f"{label}: no loop iterations traced")
        return []
    busy = [(end - start) * 1e6 for start, end, *_ in iterations]
    blocked = [w * 1e6 for w in waits if w > 3e-6]
    print(f"{label}: {len(iterations)} iterations, events per iteration p50 {pct([i[2] for i in iterations], .5)} "
          f"max {max(i[2] for i in iterations)}; busy us p50 {pct(busy, .5):.0f} p90 {pct(busy, .9):.0f} "
          f"p99 {pct(busy, .99):.0f} max {max(busy):.0f}; total busy {sum(busy) / 1000:.0f} ms")
    if blocked:
        print(f"{' ' * len(label)}  {len(blocked)} blocking waits, us p50 {pct(blocked, .5):.0f} p90 {pct(blocked, .9):.0f}")
    fanouts = [i for i in iterations if subscribers and i[3] >= 0.9 * subscribers]
    if fanouts:
        lengths = [(end - start) * 1000 for start, end, *_ in fanouts]
        rates = [i[3] / ((i[1] - i[0]) * 1e3) for i in fanouts]
        print(f"{' ' * len(label)}  {len(fanouts)} fan-out iterations, ms min {min(lengths):.2f} p50 {pct(lengths, .5):.2f} "
              f"p90 {pct(lengths, .9):.2f} max {max(lengths):.2f}; sends per ms p50 {pct(rates, .5):.0f}")
    return fanouts


def timeline(records, fanout, server_pid, client_pid):
    start = fanout[0] - 0.001
    rows = {}
    for _, p, t, kind, name, _ in records:
        if kind != "enter" or name == "epoll_wait" or not start <= t < start + 0.03 or p not in (server_pid, client_pid):
            continue
        key = ("server" if p == server_pid else "client") + (" sends" if name in SEND else " reads")
        rows.setdefault(int((t - start) * 1000), {}).setdefault(key, 0)
        rows[int((t - start) * 1000)][key] += 1
    print("one median fan-out, per millisecond (from 1 ms before it):")
    for ms in sorted(rows):
        print(f"  {ms:2d} ms  " + "  ".join(f"{k} {v:4d}" for k, v in sorted(rows[ms].items())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("server", choices=["ours", "nchan"])
    parser.add_argument("--server-bin", default=os.path.join(ROOT, ".build", "release", "firehose"))
    parser.add_argument("--bench-bin", default=os.path.join(ROOT, ".build", "release", "firehose-bench"))
    parser.add_argument("--port", type=int, default=7791)
    parser.add_argument("bench", nargs=argparse.REMAINDER, help="-- then firehose-bench's mode and options")
    args = parser.parse_args()
    bench = [a for a in args.bench if a != "--"]
    if not bench:
        parser.error("give firehose-bench's arguments after --")
    if not shutil.which("perf"):
        sys.exit("perf is not installed (apt-get install linux-perf)")
    subscribers = int(bench[bench.index("--subscribers") + 1]) if "--subscribers" in bench else 1000
    with tempfile.TemporaryDirectory() as work:
        pid, stop = start_server(args.server, args.server_bin, args.port, work)
        data = os.path.join(work, "perf.data")
        recorder = subprocess.Popen(["perf", "record", "-q", "-a", "-o", data, "-e", ",".join(EVENTS)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        proto = ["--proto", "nchan"] if args.server == "nchan" else []
        client = subprocess.Popen(["taskset", "-c", "1", args.bench_bin, *bench, "--url", f"http://127.0.0.1:{args.port}",
                                   *proto, "--pid", str(pid), "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        output, _ = client.communicate()
        recorder.send_signal(signal.SIGINT)
        recorder.wait()
        stop()
        records = list(parse(data))
    result = json.loads([line for line in output.splitlines() if line.startswith("{")][-1])
    print(f"{args.server}: latency ms {result.get('latency_ms')}, server CPU {result.get('server_cpu_s')} s, "
          f"client CPU {result.get('client_cpu_s')} s, lost {result.get('lost')}")
    server_iterations, server_waits = loop_iterations(records, pid)
    fanouts = report("server", server_iterations, server_waits, subscribers)
    client_iterations, client_waits = loop_iterations(records, client.pid)
    report("client", client_iterations, client_waits, 0)
    if fanouts:
        median = sorted(fanouts, key=lambda i: i[1] - i[0])[len(fanouts) // 2]
        timeline(records, median, pid, client.pid)


if __name__ == "__main__":
    main()
