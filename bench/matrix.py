#!/usr/bin/env python3
"""Benchmark matrix: our Firehose server vs Nchan, memory and Redis backends, on loopback.

Starts every server itself, fresh for each (scenario, server) run, on a fresh loopback port:

  ours-memory   .build/release/firehose server --host 127.0.0.1 --port P --log-level warn
  ours-redis    the same plus --backend redis --redis-url redis://127.0.0.1:RP (own redis-server)
  nchan-memory  bench/nchan.sh start memory P WORKDIR              (measured: the nginx worker)
  nchan-redis   bench/nchan.sh start redis P WORKDIR redis://...   (own redis-server)

and drives them with firehose-bench (one JSON line per run). Writes OUT/matrix-<ts>.jsonl (raw),
OUT/matrix-<ts>.md and OUT/latest.md. Python 3 standard library only. See bench/README.md.

--repeat N runs every (scenario, server) pair N times, interleaved so that drift over time hits all
servers alike: per scenario A B C D, then D C B A, then A B C D ... (a fresh server every run). The
tables show per pair the median run by the scenario's key metric (fan-out: p99 latency; publish and
catch-up: req/s; idle: bytes/conn; churn: delivered ratio, then p99), among the successful runs
(with an even count the worse of the two middle ones), and a "runs" column with N and the key
metric's min-max. Every run stays in the .jsonl, with its "repeat" (1..N).
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NCHAN_SH = os.path.join(HERE, "nchan.sh")

SERVERS = ["ours-memory", "nchan-memory", "ours-redis", "nchan-redis"]
ALL4 = list(SERVERS)
OURS = ["ours-memory", "ours-redis"]

# Ruby Firehose reference figures, /work/shared/firehose-wire.md section 9 (same 2-vCPU machine,
# wrk -t2 -c16 -d10s, RACK_ENV=production; Ruby Firehose always stores in Redis).
RUBY_PUT_RPS = 6679          # PUT, 28-byte body
RUBY_CATCHUP_RPS = 3661      # GET ?last_message_sequence=50 answered at once from the buffer
RUBY_WS2K_FANOUT_MS = (160, 200)  # 2,000 WS subscribers, one PUT: until every subscriber had it

# Optional parts, switched on with --enable (data-driven: add servers to a scenario here).
FEATURES = {
    "idle-redis": "idle memory also for ours-redis and nchan-redis",
    "nchan-churn-lp": "churn long-poll also against nchan-memory and nchan-redis (needs --proto nchan churn)",
    "nchan-churn-ws": "churn WebSocket also against nchan-memory and nchan-redis (needs --proto nchan churn)",
}

# What --repeat picks the median run by, per mode (see key_rank and key_span).
KEY_METRICS = {
    "fanout": "p99 latency, lower is better",
    "publish": "req/s, higher is better",
    "catchup": "req/s, higher is better",
    "idle": "bytes per connection, lower is better",
    "churn": "delivered ratio, higher is better, then p99 latency, lower is better",
}

# The scenario matrix. "args" are firehose-bench options; "quick" lists the option names divided
# by 10 with --quick (with a floor in "quick_min"); "optional" maps a feature to extra servers.
SCENARIOS = [
    dict(name="lp1k", title="Fan-out, 1,000 long-poll subscribers, 1 channel, 200 msgs at 20/s, 100 B",
         mode="fanout", transport="longpoll", servers=ALL4,
         args={"subscribers": 1000, "channels": 1, "messages": 200, "rate": 20, "size": 100},
         quick=["subscribers", "messages"]),
    dict(name="ws1k", title="Fan-out, 1,000 WebSocket subscribers, 1 channel, 200 msgs at 20/s, 100 B",
         mode="fanout", transport="ws", servers=ALL4,
         args={"subscribers": 1000, "channels": 1, "messages": 200, "rate": 20, "size": 100},
         quick=["subscribers", "messages"]),
    dict(name="lp10k", title="Fan-out, 10,000 long-poll subscribers, 1 channel, 50 msgs at 5/s, 100 B",
         mode="fanout", transport="longpoll", servers=ALL4,
         args={"subscribers": 10000, "channels": 1, "messages": 50, "rate": 5, "size": 100},
         quick=["subscribers", "messages"]),
    dict(name="ws10k", title="Fan-out, 10,000 WebSocket subscribers, 1 channel, 50 msgs at 5/s, 100 B",
         mode="fanout", transport="ws", servers=ALL4,
         args={"subscribers": 10000, "channels": 1, "messages": 50, "rate": 5, "size": 100},
         quick=["subscribers", "messages"]),
    dict(name="ws100ch", title="Fan-out, 100 channels x 1 WebSocket subscriber, 20,000 msgs as fast as acknowledged, 8 publishers, 100 B",
         mode="fanout", transport="ws", servers=ALL4,
         args={"subscribers": 100, "channels": 100, "messages": 20000, "rate": 0, "publishers": 8, "size": 100},
         quick=["messages"]),
    dict(name="publish", title="Publish throughput, 16 connections, 10 s, 100 B, no subscribers",
         mode="publish", transport=None, servers=ALL4,
         args={"connections": 16, "duration": 10, "size": 100},
         quick=["duration"], quick_min={"duration": 2}),
    dict(name="idle-lp", title="Idle memory, 10,000 long-poll connections",
         mode="idle", transport="longpoll", servers=["ours-memory", "nchan-memory"],
         optional={"idle-redis": ["ours-redis", "nchan-redis"]},
         args={"connections": 10000, "channels": 1},
         quick=["connections"]),
    dict(name="idle-ws", title="Idle memory, 10,000 WebSocket connections",
         mode="idle", transport="ws", servers=["ours-memory", "nchan-memory"],
         optional={"idle-redis": ["ours-redis", "nchan-redis"]},
         args={"connections": 10000, "channels": 1},
         quick=["connections"]),
    dict(name="churn-lp", title="Churn, 1,000 long-poll subscribers, 10 channels, 50 msgs/s, 20 s, each drops every 3 s",
         mode="churn", transport="longpoll", servers=OURS,
         optional={"nchan-churn-lp": ["nchan-memory", "nchan-redis"]},
         args={"subscribers": 1000, "channels": 10, "rate": 50, "duration": 20, "drop-every": 3},
         quick=["subscribers", "duration"], quick_min={"duration": 7}),
    dict(name="churn-ws", title="Churn, 1,000 WebSocket subscribers, 10 channels, 50 msgs/s, 20 s, each drops every 3 s",
         mode="churn", transport="ws", servers=OURS,
         optional={"nchan-churn-ws": ["nchan-memory", "nchan-redis"]},
         args={"subscribers": 1000, "channels": 10, "rate": 50, "duration": 20, "drop-every": 3},
         quick=["subscribers", "duration"], quick_min={"duration": 7}),
    dict(name="ruby-catchup", title="vs Ruby: catch-up GETs answered from the buffer, 16 connections, 10 s",
         mode="catchup", transport=None, servers=OURS,
         args={"connections": 16, "duration": 10},
         quick=["duration"], quick_min={"duration": 2}),
    dict(name="ruby-ws2k", title="vs Ruby: fan-out, 2,000 WebSocket subscribers, 1 channel, 10 msgs at 5/s",
         mode="fanout", transport="ws", servers=OURS,
         args={"subscribers": 2000, "channels": 1, "messages": 10, "rate": 5, "size": 100},
         quick=["subscribers"]),
]
SCENARIO_NAMES = [s["name"] for s in SCENARIOS]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# processes


def port_answers(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Ports:
    """Hands out a new loopback port for every start, so no run meets an earlier run's TIME_WAIT."""

    def __init__(self, base, dry):
        self.next = base
        self.dry = dry

    def take(self):
        while True:
            p = self.next
            self.next += 1
            if self.next > 60000:
                self.next = 20000
            if self.dry or (port_free(p) and not port_answers(p)):
                return p


def cpu_seconds(pid):
    """utime+stime of a process (all threads) in seconds, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def alive(pid):
    """Running and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def become_subreaper():
    """nginx daemonizes: make its master our child (not PID 1's), so we can reap it after a stop."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap(pids):
    for pid in pids:
        if isinstance(pid, int):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def wait_port(port, proc=None, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        if port_answers(port):
            return True
        time.sleep(0.05)
    return False


def stop_popen(proc, timeout=10.0):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:]).strip()
    except OSError:
        return ""


class Instance:
    """One started server (plus its redis-server): ports, pids, how to stop it."""

    def __init__(self, name, runner):
        self.name = name
        self.r = runner
        self.kind, self.backend = name.split("-")
        self.port = None
        self.redis_port = None
        self.redis_proc = None
        self.server_proc = None
        self.nchan_dir = None
        self.pids = {}           # role -> pid: "server" (measured), "redis", "master"
        self.logs = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def proto(self):
        return "firehose" if self.kind == "ours" else "nchan"

    def _run(self, argv, **kw):
        self.r.show(argv)
        if self.r.dry:
            return None
        return subprocess.run(argv, **kw)

    def start(self, tag):
        r = self.r
        logdir = r.logdir
        if self.backend == "redis":
            self.redis_port = r.ports.take()
            argv = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "no"]
            r.show(argv, background=True)
            if r.dry:
                self.pids["redis"] = "$REDIS_PID"
            else:
                lp = os.path.join(logdir, f"{tag}.redis.log")
                self.logs.append(lp)
                with open(lp, "wb") as lf:
                    self.redis_proc = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT,
                                                       stdin=subprocess.DEVNULL)
                if not wait_port(self.redis_port, self.redis_proc, 10):
                    raise RuntimeError(f"redis-server did not start on {self.redis_port}: {tail(lp, 5)}")
                self.pids["redis"] = self.redis_proc.pid
        self.port = r.ports.take()
        if self.kind == "ours":
            argv = [r.server_bin, "server", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warn"]
            if self.backend == "redis":
                argv += ["--backend", "redis", "--redis-url", f"redis://127.0.0.1:{self.redis_port}"]
            r.show(argv, background=True)
            if r.dry:
                self.pids["server"] = "$SERVER_PID"
                return
            lp = os.path.join(logdir, f"{tag}.server.log")
            self.logs.append(lp)
            with open(lp, "wb") as lf:
                self.server_proc = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL, cwd=REPO)
            if not wait_port(self.port, self.server_proc, 15):
                raise RuntimeError(f"{self.name} did not start on {self.port}: {tail(lp, 5)}")
            self.pids["server"] = self.server_proc.pid
        else:
            self.nchan_dir = os.path.join(logdir, f"{tag}.nchan")
            argv = [NCHAN_SH, "start", self.backend, str(self.port), self.nchan_dir]
            if self.backend == "redis":
                argv.append(f"redis://127.0.0.1:{self.redis_port}")
            p = self._run(argv, capture_output=True, text=True, timeout=60)
            if r.dry:
                self.pids["server"] = "$NCHAN_WORKER_PID"
                return
            self.logs.append(os.path.join(self.nchan_dir, "error.log"))
            got = dict(re.findall(r"^(\w+)=(\d+)$", p.stdout, re.M))
            if p.returncode != 0 or "worker_pid" not in got:
                raise RuntimeError(f"nchan.sh start failed ({p.returncode}): {(p.stderr or p.stdout).strip()[-500:]}")
            self.pids["master"] = int(got["master_pid"])
            self.pids["server"] = int(got["worker_pid"])

    def stop(self):
        r = self.r
        try:
            if self.kind == "ours":
                if r.dry:
                    r.show(["kill", "-TERM", "$SERVER_PID"])
                else:
                    stop_popen(self.server_proc)
            elif self.nchan_dir:
                self._run([NCHAN_SH, "stop", self.nchan_dir], timeout=60,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if not r.dry:
                    reap([self.pids.get("master"), self.pids.get("server")])
        finally:
            if self.backend == "redis":
                if r.dry:
                    r.show(["kill", "-TERM", "$REDIS_PID"])
                else:
                    stop_popen(self.redis_proc)

    def log_files_worth_showing(self):
        """Server logs; the redis-server log only if redis-server died."""
        redis_dead = self.redis_proc is not None and self.redis_proc.poll() is not None
        return [lp for lp in self.logs if not lp.endswith(".redis.log") or redis_dead]

    def alive(self):
        if self.r.dry:
            return True
        pid = self.pids.get("server")
        return isinstance(pid, int) and alive(pid)

    def rss_kb(self):
        try:
            with open(f"/proc/{self.pids['server']}/status") as f:
                m = re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M)
                return int(m.group(1)) if m else None
        except (OSError, KeyError, TypeError):
            return None


# ---------------------------------------------------------------------------------------------
# the runner


def scaled_args(sc, quick):
    args = dict(sc["args"])
    if quick:
        for k in sc.get("quick", []):
            floor = sc.get("quick_min", {}).get(k, 1)
            args[k] = max(floor, args[k] // 10)
    return args


def expected_seconds(sc, args):
    """Rough wall time of one bench run (without connecting), for timeouts and the estimate."""
    m = sc["mode"]
    if m == "fanout":
        n = args["subscribers"]
        run = args["messages"] / args["rate"] if args.get("rate") else args["messages"] / 4000.0
        return run + n / 3000.0 + 1
    if m == "idle":
        return args["connections"] / 3000.0 + 2
    return args.get("duration", 10) + 0.7


def bench_argv(runner, sc, inst, args):
    argv = [runner.bench_bin, sc["mode"], "--url", inst.url]
    if sc["mode"] != "catchup":
        argv += ["--proto", inst.proto]
    if sc["transport"]:
        argv += ["--transport", sc["transport"]]
    for k, v in args.items():
        argv += [f"--{k}", str(v)]
    pids = [inst.pids["server"]]
    if "redis" in inst.pids:
        pids.append(inst.pids["redis"])
    if sc["mode"] == "idle":
        argv += ["--pid", str(pids[0])]
    else:
        for p in pids:
            argv += ["--pid", str(p)]
    if sc["mode"] == "fanout":
        argv += ["--timeout", str(int(expected_seconds(sc, args) + 60))]
    argv.append("--json")
    return argv


def interleaved(sc, servers, repeat):
    """(scenario, server, repetition 1..N): A B C D, D C B A, A B C D ... so drift hits all alike."""
    runs = []
    for r in range(repeat):
        order = servers if r % 2 == 0 else servers[::-1]
        runs += [(sc, s, r + 1) for s in order]
    return runs


class Runner:
    def __init__(self, opts):
        self.o = opts
        self.dry = opts.dry_run
        self.server_bin = opts.server_bin
        self.bench_bin = opts.bench_bin
        self.ports = Ports(opts.base_port, self.dry)
        self.ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.out = opts.out
        self.logdir = None
        self.jsonl = None
        self.records = []
        self.current = None

    def show(self, argv, background=False):
        if self.dry:
            print("$ " + " ".join(shlex.quote(str(a)) for a in argv) + (" &" if background else ""), flush=True)

    def plan(self):
        enabled = set(self.o.enable)
        only = set(self.o.only) if self.o.only else None
        runs = []
        for sc in SCENARIOS:
            if self.o.scenarios and sc["name"] not in self.o.scenarios:
                continue
            servers = list(sc["servers"])
            for feat, extra in sc.get("optional", {}).items():
                if feat in enabled:
                    servers += [s for s in extra if s not in servers]
            servers = [s for s in SERVERS if s in servers and (only is None or s in only)]
            runs += interleaved(sc, servers, self.o.repeat)
        return runs

    def record(self, rec):
        self.records.append(rec)
        if self.jsonl:
            self.jsonl.write(json.dumps(rec, sort_keys=True) + "\n")
            self.jsonl.flush()

    def rep_label(self, rep):
        return f" (repetition {rep}/{self.o.repeat})" if self.o.repeat > 1 else ""

    def run_one(self, i, n, sc, server, rep=1):
        args = scaled_args(sc, self.o.quick)
        tag = f"{i:02d}-{sc['name']}-{server}" + (f"-r{rep}" if self.o.repeat > 1 else "")
        inst = Instance(server, self)
        self.current = inst
        rec = {"type": "run", "scenario": sc["name"], "server": server, "repeat": rep, "mode": sc["mode"],
               "transport": sc["transport"], "args": args, "quick": self.o.quick}
        what = f"{sc['name']} on {server}{self.rep_label(rep)}"
        t0 = time.monotonic()
        if self.dry:
            print(f"# [{i}/{n}] {what}", flush=True)
        else:
            log(f"[{i}/{n}] {what} ...")
        try:
            inst.start(tag)
            rec["port"] = inst.port
            rec["pids"] = {k: v for k, v in inst.pids.items()}
            if not self.dry:
                time.sleep(self.o.settle)
            argv = bench_argv(self, sc, inst, args)
            rec["cmd"] = argv
            self.show(argv)
            if self.dry:
                return
            limit = expected_seconds(sc, args) + 120
            cpu0 = {role: cpu_seconds(pid) for role, pid in inst.pids.items() if isinstance(pid, int)}
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            b0 = time.monotonic()
            try:
                p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=limit)
            except subprocess.TimeoutExpired as e:
                raise RuntimeError(f"firehose-bench did not finish within {limit:.0f} s; stderr: "
                                   f"{(e.stderr or b'')[-400:]!r}")
            rec["bench_wall_s"] = round(time.monotonic() - b0, 3)
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu1 = {role: cpu_seconds(pid) for role, pid in inst.pids.items() if isinstance(pid, int)}
            # Whole bench run (including connecting), measured here; the tool's own figures cover
            # its measured phase only and are preferred in the tables.
            rec["runner_cpu_s"] = {role: round(cpu1[role] - cpu0[role], 3) for role in cpu0
                                   if cpu0[role] is not None and cpu1.get(role) is not None}
            rec["runner_client_cpu_s"] = round((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime), 3)
            rec["exit"] = p.returncode
            rec["stderr_tail"] = p.stderr[-1500:]
            result = None
            for line in reversed(p.stdout.strip().splitlines()):
                try:
                    result = json.loads(line)
                    break
                except ValueError:
                    continue
            if p.returncode != 0 or not isinstance(result, dict):
                msg = (p.stderr.strip().splitlines() or [""])[-1]
                raise RuntimeError(f"firehose-bench exit {p.returncode}"
                                   + ("" if isinstance(result, dict) else ", no JSON line") + f": {msg[:300]}")
            rec["result"] = result
            if not inst.alive():
                rec["server_died"] = True
        except KeyboardInterrupt:
            rec["error"] = "interrupted"
            raise
        except Exception as e:  # noqa: BLE001 - a failing scenario is recorded, the matrix goes on
            rec["error"] = str(e)
            if self.dry:
                print(f"# ERROR: {e!r}", flush=True)
            else:
                for lp in inst.log_files_worth_showing():
                    t = tail(lp, 8)
                    if t:
                        rec.setdefault("logs", {})[os.path.basename(lp)] = t
        finally:
            if not self.dry:
                rec["server_rss_kb_end"] = inst.rss_kb()
            inst.stop()
            self.current = None
            rec["wall_s"] = round(time.monotonic() - t0, 3)
            if not self.dry:
                self.record(rec)
                log(f"[{i}/{n}] {what}: {summary_line(rec)} ({rec['wall_s']:.1f} s)")
                if rec.get("error") != "interrupted":
                    time.sleep(self.o.pause)

    def run(self):
        runs = self.plan()
        if not runs:
            log("nothing to run (check --only / --scenarios)")
            return 2
        est = sum(expected_seconds(sc, scaled_args(sc, self.o.quick)) + (0.7 if s.startswith("nchan") else 0.4)
                  + self.o.pause + self.o.settle for sc, s, _ in runs)
        count = f"{len(runs)} runs" + (f" ({len(runs) // self.o.repeat} scenario/server pairs x {self.o.repeat}, "
                                       "interleaved)" if self.o.repeat > 1 else "")
        if self.dry:
            self.logdir = os.path.join(self.out, f"matrix-{self.ts}.logs")
            print(f"# {count}, expected about {est / 60:.1f} min; would write "
                  f"{os.path.join(self.out, f'matrix-{self.ts}')}.{{jsonl,md}} and latest.md", flush=True)
            for i, (sc, s, rep) in enumerate(runs, 1):
                self.run_one(i, len(runs), sc, s, rep)
            return 0
        for b in (self.server_bin, self.bench_bin):
            if not (os.path.isfile(b) and os.access(b, os.X_OK)):
                log(f"not found or not executable: {b}")
                return 2
        need_nchan = any(s.startswith("nchan") for _, s, _ in runs)
        if need_nchan and not os.path.exists("/usr/sbin/nginx"):
            log("nginx is missing: apt-get install -y nginx libnginx-mod-nchan")
            return 2
        if any(s.endswith("redis") for _, s, _ in runs) and not shutil.which("redis-server"):
            log("redis-server is missing")
            return 2
        os.makedirs(self.out, exist_ok=True)
        self.logdir = os.path.join(self.out, f"matrix-{self.ts}.logs")
        os.makedirs(self.logdir, exist_ok=True)
        base = os.path.join(self.out, f"matrix-{self.ts}")
        self.jsonl = open(base + ".jsonl", "w")
        machine = machine_info(self)
        self.record({"type": "machine", **machine})
        log(f"{count}, expected about {est / 60:.1f} min; results in {base}.jsonl")
        t0 = time.monotonic()
        interrupted = False
        try:
            for i, (sc, s, rep) in enumerate(runs, 1):
                self.run_one(i, len(runs), sc, s, rep)
        except KeyboardInterrupt:
            interrupted = True
            log("interrupted; writing what was measured")
        finally:
            if self.current is not None:
                self.current.stop()
            self.jsonl.close()
            md = render_markdown(self.records, self, time.monotonic() - t0, interrupted)
            with open(base + ".md", "w") as f:
                f.write(md)
            shutil.copyfile(base + ".md", os.path.join(self.out, "latest.md"))
            sys.stdout.write(md)  # the tables, for whoever ran `make bench`
            sys.stdout.flush()
            log(f"wrote {base}.md and {os.path.join(self.out, 'latest.md')} "
                f"({(time.monotonic() - t0) / 60:.1f} min)")
        return 130 if interrupted else 0


def summary_line(rec):
    if "error" in rec:
        return "ERROR " + rec["error"][:200]
    r = rec.get("result", {})
    m = rec["mode"]
    ok = "ok" if r.get("ok") else "NOT ok"
    if m == "fanout":
        lat = r.get("latency_ms") or {}
        return (f"{ok} {r.get('received')}/{r.get('expected')} p99 {fmt(lat.get('p99'))} ms "
                f"max {fmt(lat.get('max'))} ms, {fmt(r.get('deliveries_per_s'), 0)} deliveries/s")
    if m in ("publish", "catchup"):
        return f"{ok} {fmt(r.get('requests_per_s'), 0)} req/s, errors {r.get('errors')}"
    if m == "idle":
        return f"{ok} {r.get('established')}/{r.get('connections')} held, {fmt(r.get('bytes_per_connection'), 0)} B/conn"
    if m == "churn":
        return f"{ok} {r.get('received')}/{r.get('expected')} delivered, {r.get('disconnects')} disconnects"
    return ok


# ---------------------------------------------------------------------------------------------
# machine


def cmd_out(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(runner):
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            model = m.group(1).strip() if m else None
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s+(\d+)", f.read(), re.M)
            mem = int(m.group(1)) // 1024 if m else None
    except OSError:
        pass
    nginx = cmd_out(["/usr/sbin/nginx", "-v"])
    return {
        "utc": runner.ts,
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_mb": mem,
        "kernel": platform.release(),
        "loadavg_start": os.getloadavg()[0],
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
        "nginx": nginx.split("/")[-1] if nginx else None,
        "nchan": cmd_out(["dpkg-query", "-W", "-f", "${Version}", "libnginx-mod-nchan"]),
        "redis": (re.search(r"v=(\S+)", cmd_out(["redis-server", "--version"]) or "") or [None, None])[1],
        "git": cmd_out(["git", "-C", REPO, "describe", "--always", "--dirty"]),
        "server_bin": runner.server_bin,
        "bench_bin": runner.bench_bin,
        "quick": runner.o.quick,
        "repeats": runner.o.repeat,
        "argv": sys.argv[1:],
    }


# ---------------------------------------------------------------------------------------------
# report


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if digits == 0 or abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) < 10 and digits == 1 and v != 0:
            return f"{v:.2f}"
        return f"{v:,.{digits}f}"
    return str(v)


def f2(v):
    return "-" if v is None else f"{v:.2f}"


def server_cpu(rec, role):
    """CPU seconds of a role from the tool (measured phase), else from the runner (whole run)."""
    pid = (rec.get("pids") or {}).get(role)
    r = rec.get("result") or {}
    tool = r.get("server_cpu_s") or {}
    if pid is not None and str(pid) in tool:
        return tool[str(pid)]
    return (rec.get("runner_cpu_s") or {}).get(role)


def client_cpu(rec):
    r = rec.get("result") or {}
    v = r.get("client_cpu_s")
    return v if v is not None else rec.get("runner_client_cpu_s")


def lat(rec, k):
    return ((rec.get("result") or {}).get("latency_ms") or {}).get(k)


def status(rec):
    if "error" in rec:
        return ("ERROR: " + rec["error"].replace("|", "/").replace("\n", " ")[:160]
                + (f"; {failed_note(rec)}" if failed_note(rec) else ""))
    r = rec["result"]
    s = "ok" if r.get("ok") else "not ok"
    if rec.get("server_died"):
        s += ", server died"
    return s + (f"; {failed_note(rec)}" if failed_note(rec) else "")


# --- repetitions: one median run per (scenario, server)


def succeeded(rec):
    return "error" not in rec and bool((rec.get("result") or {}).get("ok"))


def lower_better(v):
    return float("inf") if v is None else v


def higher_better(v):
    return float("inf") if v is None else -v


def key_rank(rec):
    """Sort key by the scenario's key metric (KEY_METRICS), best first; missing figures sort last."""
    r = rec.get("result") or {}
    m = rec["mode"]
    if m == "fanout":
        return (lower_better(lat(rec, "p99")),)
    if m in ("publish", "catchup"):
        return (higher_better(r.get("requests_per_s")),)
    if m == "idle":
        return (lower_better(r.get("bytes_per_connection")),)
    return (higher_better(r.get("delivered_ratio")), lower_better(lat(rec, "p99")))


def span(values, show, unit):
    """"lo-hi unit" of the values that are there (one value if all show alike), or None."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    lo, hi = show(min(vals)), show(max(vals))
    return (lo if lo == hi else f"{lo}-{hi}") + unit


def kilo(v):
    return f"{v / 1000:.1f}k"


def key_span(mode, runs):
    """The key metric's min-max over runs, for the "runs" column."""
    res = [r.get("result") or {} for r in runs]
    p99 = span([lat(r, "p99") for r in runs], lambda v: fmt(v, 1), " ms")
    if mode == "fanout":
        return p99 and "p99 " + p99
    if mode in ("publish", "catchup"):
        return span([x.get("requests_per_s") for x in res], kilo, " req/s")
    if mode == "idle":
        return span([x.get("bytes_per_connection") for x in res], lambda v: fmt(v, 0), " B/conn")
    delivered = span([x.get("delivered_ratio") for x in res], lambda v: f"{v * 100:.2f}", "% delivered")
    return ", ".join(x for x in (delivered, p99 and "p99 " + p99) if x) or None


def pick_median(runs):
    """The median run of one (scenario, server) pair by its key metric, among the successful runs
    (else those with figures, else all); with an even count the worse of the two middle ones.
    Returns a copy with "pair": how many runs, how many failed, the key metric's span over the pool."""
    pool = [r for r in runs if succeeded(r)] or [r for r in runs if "result" in r] or runs
    rec = dict(sorted(pool, key=key_rank)[len(pool) // 2])
    rec["pair"] = {"n": len(runs), "failed": sum(not succeeded(r) for r in runs),
                   "span": key_span(rec["mode"], pool)}
    return rec


def median_runs(runs):
    """(scenario, server) -> its median run (see pick_median)."""
    groups = {}
    for r in runs:
        groups.setdefault((r["scenario"], r["server"]), []).append(r)
    return {k: pick_median(v) for k, v in groups.items()}


def runs_cell(rec):
    pair = rec.get("pair") or {"n": 1, "failed": 0, "span": None}
    failed = "all" if pair["failed"] == pair["n"] > 1 else pair["failed"]
    s = str(pair["n"]) + (f", {failed} failed" if pair["failed"] else "")
    return s + (f" ({pair['span']})" if pair["span"] else "")


def failed_note(rec):
    """"1 of 3 runs failed" when repeating and some repetition failed, else ""."""
    pair = rec.get("pair") or {}
    if pair.get("n", 1) > 1 and pair.get("failed"):
        return f"{pair['failed']} of {pair['n']} runs failed"
    return ""


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(out)


def scenario_table(sc, recs, show_runs=False):
    mode = sc["mode"]
    rows = []
    redis_any = any("redis" in (r.get("pids") or {}) for r in recs)
    for rec in recs:
        r = rec.get("result") or {}
        name = rec["server"]
        cpu = [f2(server_cpu(rec, "server"))]
        if redis_any:
            cpu.append(f2(server_cpu(rec, "redis")) if "redis" in (rec.get("pids") or {}) else "-")
        cpu.append(f2(client_cpu(rec)))
        if mode == "fanout":
            rows.append([name, f"{fmt(r.get('received'))}/{fmt(r.get('expected'))}",
                         f"{fmt(r.get('lost'))}/{fmt(r.get('duplicated'))}/{fmt(r.get('reordered'))}",
                         fmt(lat(rec, "p50"), 1), fmt(lat(rec, "p90"), 1), fmt(lat(rec, "p99"), 1), fmt(lat(rec, "max"), 1),
                         fmt(r.get("deliveries_per_s"), 0), fmt(r.get("publish_rate"), 0),
                         f"{fmt(r.get('publish_errors'))}/{fmt(r.get('connect_errors'))}", fmt(r.get("elapsed_s"), 1)]
                        + cpu + [status(rec)])
        elif mode in ("publish", "catchup"):
            rows.append([name, fmt(r.get("requests")), fmt(r.get("requests_per_s"), 0), fmt(r.get("errors")),
                         fmt(lat(rec, "p50"), 2), fmt(lat(rec, "p90"), 2), fmt(lat(rec, "p99"), 2), fmt(lat(rec, "max"), 2),
                         fmt(r.get("elapsed_s"), 1)] + cpu + [status(rec)])
        elif mode == "idle":
            rows.append([name, f"{fmt(r.get('established'))}/{fmt(r.get('connections'))}",
                         fmt(r.get("rss_before_kb")), fmt(r.get("rss_after_kb")),
                         fmt(r.get("bytes_per_connection"), 0), fmt(r.get("errors")), status(rec)])
        elif mode == "churn":
            ratio = r.get("delivered_ratio")
            rows.append([name, f"{fmt(r.get('received'))}/{fmt(r.get('expected'))}",
                         "-" if ratio is None else f"{ratio * 100:.2f}%",
                         fmt(r.get("lost")), fmt(r.get("duplicated")), fmt(r.get("reordered")),
                         fmt(r.get("disconnects")), fmt(r.get("elapsed_s"), 1)] + cpu + [status(rec)])
    cpu_h = ["server CPU s"] + (["redis CPU s"] if redis_any else []) + ["client CPU s"]
    if mode == "fanout":
        h = ["server", "delivered/expected", "lost/dup/reord", "p50 ms", "p90 ms", "p99 ms", "max ms",
             "deliveries/s", "publish/s", "pub/conn errors", "elapsed s"] + cpu_h + ["status"]
    elif mode in ("publish", "catchup"):
        h = ["server", "requests", "req/s", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "elapsed s"] + cpu_h + ["status"]
    elif mode == "idle":
        h = ["server", "held/opened", "RSS before KB", "RSS after KB", "bytes/conn", "errors", "status"]
    else:
        h = ["server", "delivered/expected", "delivered", "lost", "dup", "reord", "disconnects", "elapsed s"] + cpu_h + ["status"]
    if show_runs:
        h.insert(1, "runs")
        for row, rec in zip(rows, recs):
            row.insert(1, runs_cell(rec))
    return table(h, rows)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}"


def verdict(cond):
    if cond is None:
        return "n/a"
    return "met" if cond else "missed"


def all_delivered(rec):
    if rec is None or "error" in rec:
        return None
    r = rec["result"]
    exp, got = r.get("expected"), r.get("received")
    if exp is None or got is None:
        return None
    return got >= exp and not r.get("lost") and bool(r.get("ok", True))


def targets(by):
    """Rows: target, ours, reference, ratio ours/reference, verdict (with failed repetitions noted)."""
    rows = []

    def add(cells, sc, *servers):
        notes = [f"{s}: {failed_note(by[(sc, s)])}" for s in servers if (sc, s) in by and failed_note(by[(sc, s)])]
        rows.append(cells[:-1] + [cells[-1] + (f" ({'; '.join(notes)})" if notes else "")])

    def get(sc, server):
        rec = by.get((sc, server))
        return rec if rec is not None and "error" not in rec else None

    def res(sc, server, key):
        rec = get(sc, server)
        return None if rec is None else rec["result"].get(key)

    def delivered_cell(rec):
        if rec is None:
            return "-"
        r = rec["result"]
        return f"{fmt(r.get('received'))}/{fmt(r.get('expected'))}"

    def present(sc, server):
        return (sc, server) in by

    for sc, label, cpu_check in [("lp1k", "1,000 long-poll subs, 200 msgs at 20/s", True),
                                 ("ws1k", "1,000 WebSocket subs, 200 msgs at 20/s", False),
                                 ("lp10k", "10,000 long-poll subs, 50 msgs at 5/s", False),
                                 ("ws10k", "10,000 WebSocket subs, 50 msgs at 5/s", False)]:
        for backend in ("memory", "redis"):
            o, n = f"ours-{backend}", f"nchan-{backend}"
            if not present(sc, o):
                continue
            ro, rn = get(sc, o), get(sc, n)
            add([f"{sc} ({backend}): all delivered", delivered_cell(ro), delivered_cell(rn), "-",
                 verdict(all_delivered(ro)) if ro else "missed (error)"], sc, o, n)
            po, pn = lat_of(ro, "p99"), lat_of(rn, "p99")
            q = ratio(po, pn)
            add([f"{sc} ({backend}): p99 <= Nchan's", ms(po), ms(pn), fmt_ratio(q),
                 verdict(None if q is None else q <= 1.0)], sc, o, n)
            if cpu_check:
                co, cn = total_cpu(ro), total_cpu(rn)
                q = ratio(co, cn)
                what = "server CPU" if backend == "memory" else "server+redis CPU"
                add([f"{sc} ({backend}): {what} <= Nchan's", fmt_s(co), fmt_s(cn), fmt_ratio(q),
                     verdict(None if q is None else q <= 1.0)], sc, o, n)
    for backend in ("memory", "redis"):
        o, n = f"ours-{backend}", f"nchan-{backend}"
        if present("ws100ch", o):
            a, b = res("ws100ch", o, "deliveries_per_s"), res("ws100ch", n, "deliveries_per_s")
            q = ratio(a, b)
            ok = all_delivered(get("ws100ch", o))
            add([f"ws100ch ({backend}): deliveries/s >= Nchan's" + ("" if ok or ok is None else " (NOT all delivered)"),
                 fmt(a, 0), fmt(b, 0), fmt_ratio(q), verdict(None if q is None else q >= 1.0)], "ws100ch", o, n)
    for backend in ("memory", "redis"):
        o, n = f"ours-{backend}", f"nchan-{backend}"
        if present("publish", o):
            a, b = res("publish", o, "requests_per_s"), res("publish", n, "requests_per_s")
            q = ratio(a, b)
            add([f"publish ({backend}): req/s >= Nchan{'-with-Redis' if backend == 'redis' else ''}'s",
                 fmt(a, 0), fmt(b, 0), fmt_ratio(q), verdict(None if q is None else q >= 1.0)], "publish", o, n)
    for sc in ("idle-lp", "idle-ws"):
        for backend in ("memory", "redis"):
            o, n = f"ours-{backend}", f"nchan-{backend}"
            if not present(sc, o):
                continue
            a, b = res(sc, o, "bytes_per_connection"), res(sc, n, "bytes_per_connection")
            q = ratio(a, b)
            add([f"{sc} ({backend}): bytes/conn <= 4 KB (ratio vs Nchan)", fmt(a, 0), fmt(b, 0), fmt_ratio(q),
                 verdict(None if a is None else a <= 4096)], sc, o, n)
    for sc in ("churn-lp", "churn-ws"):
        for server in SERVERS:
            if not present(sc, server):
                continue
            rec = get(sc, server)
            r = rec["result"] if rec else {}
            dr = r.get("delivered_ratio")
            cond = None if rec is None else (all_delivered(rec) if dr is None else dr >= 1.0 and not r.get("lost"))
            add([f"{sc} ({server}): 100% delivered", "-" if dr is None else f"{dr * 100:.2f}%",
                 "-", "-", verdict(cond) if rec else "missed (error)"], sc, server)
    for backend in ("memory", "redis"):
        o = f"ours-{backend}"
        if present("publish", o):
            a = res("publish", o, "requests_per_s")
            q = ratio(a, RUBY_PUT_RPS)
            add([f"vs Ruby ({backend}): publish req/s >= 10x Ruby PUT", fmt(a, 0), f"{RUBY_PUT_RPS:,}",
                 fmt_ratio(q), verdict(None if q is None else q >= 10)], "publish", o)
        if present("ruby-catchup", o):
            a = res("ruby-catchup", o, "requests_per_s")
            q = ratio(a, RUBY_CATCHUP_RPS)
            add([f"vs Ruby ({backend}): catch-up GET req/s >= 10x", fmt(a, 0), f"{RUBY_CATCHUP_RPS:,}",
                 fmt_ratio(q), verdict(None if q is None else q >= 10)], "ruby-catchup", o)
        if present("ruby-ws2k", o):
            rec = get("ruby-ws2k", o)
            a = lat_of(rec, "max")
            q = ratio(a, RUBY_WS2K_FANOUT_MS[0])
            ok = all_delivered(rec)
            add([f"vs Ruby ({backend}): 2,000-WS fan-out time (max latency) <= 1/10"
                 + ("" if ok or ok is None else " (NOT all delivered)"),
                 ms(a), f"{RUBY_WS2K_FANOUT_MS[0]}-{RUBY_WS2K_FANOUT_MS[1]} ms", fmt_ratio(q),
                 verdict(None if q is None else q <= 0.1)], "ruby-ws2k", o)
    return rows


def lat_of(rec, k):
    return None if rec is None else lat(rec, k)


def ms(v):
    return "-" if v is None else f"{fmt(v, 1)} ms"


def fmt_s(v):
    return "-" if v is None else f"{v:.2f} s"


def total_cpu(rec):
    if rec is None:
        return None
    a = server_cpu(rec, "server")
    if a is None:
        return None
    b = server_cpu(rec, "redis") if "redis" in (rec.get("pids") or {}) else 0.0
    return a + (b or 0.0)


def render_markdown(records, runner, wall, interrupted):
    machine = next((r for r in records if r.get("type") == "machine"), {})
    runs = [r for r in records if r.get("type") == "run"]
    by = median_runs(runs)
    repeats = max([machine.get("repeats") or 1] + [rec["pair"]["n"] for rec in by.values()])
    L = [f"# Benchmark matrix {machine.get('utc', runner.ts)}", ""]
    if interrupted:
        L += ["**Interrupted: incomplete.**", ""]
    L += [
        f"- machine: {machine.get('nproc')} CPUs, {machine.get('cpu_model')}, {machine.get('mem_mb')} MB, "
        f"kernel {machine.get('kernel')}, load average at start {fmt(machine.get('loadavg_start'), 2)}, "
        f"open-file limit {machine.get('nofile')}",
        f"- nginx {machine.get('nginx')}, libnginx-mod-nchan {machine.get('nchan')}, redis {machine.get('redis')}",
        f"- ours: git {machine.get('git')}, `{machine.get('server_bin')}`; client `{machine.get('bench_bin')}`",
        f"- options: `{' '.join(shlex.quote(a) for a in machine.get('argv', []))}`"
        + (" (**--quick: sizes divided by 10, smoke check only**)" if machine.get("quick") else ""),
        f"- {len(runs)} runs in {wall / 60:.1f} min. Every run starts its server (and redis-server) fresh "
        "on a new loopback port. Client and servers share the same cores: figures are relative.",
        *([repeat_note(repeats)] if repeats > 1 else []),
        "- CPU seconds: the tool's measured phase (`server_cpu_s`); Nchan's is its single worker process. "
        "Ours and Nchan both get one core's worth of event loop.",
        "",
    ]
    for sc in SCENARIOS:
        recs = [by[(sc["name"], s)] for s in SERVERS if (sc["name"], s) in by]
        if not recs:
            continue
        args = recs[0].get("args", sc["args"])
        L += [f"## {sc['name']}: {sc['title']}", "",
              "`" + " ".join(f"--{k} {v}" for k, v in args.items())
              + (f" --transport {sc['transport']}" if sc["transport"] else "") + "`", "",
              scenario_table(sc, recs, show_runs=repeats > 1), ""]
    rows = targets(by)
    if rows:
        L += ["## Targets", "",
              "Ours vs Nchan from this run (memory vs memory, redis vs redis"
              + ("; the median runs" if repeats > 1 else "") + "); Ruby figures are the constants "
              f"from firehose-wire.md section 9 (PUT {RUBY_PUT_RPS:,} req/s, catch-up GET {RUBY_CATCHUP_RPS:,} req/s, "
              f"2,000-WS fan-out {RUBY_WS2K_FANOUT_MS[0]}-{RUBY_WS2K_FANOUT_MS[1]} ms; Ruby always uses Redis). "
              "The fan-out time compared with Ruby's is our max delivery latency (the slowest message's last "
              "subscriber) against Ruby's lower bound.", "",
              table(["target", "ours", "reference", "ours/ref", "verdict"], rows), ""]
    L += failures_section(runs, repeats)
    return "\n".join(L)


def repeat_note(repeats):
    return (f"- Every (scenario, server) pair ran {repeats} times, interleaved (A B C D, D C B A, ...). "
            "Each table shows the median run by the scenario's key metric (fan-out: p99; publish, catch-up: "
            "req/s; idle: bytes/conn; churn: delivered ratio, then p99) among the successful runs, the worse "
            "middle one for an even count; \"runs\" gives the number of runs and the key metric's min-max.")


def failures_section(runs, repeats):
    """Errors with log tails; when repeating, also the not-ok runs that a median may hide."""
    bad = [r for r in runs if "error" in r or (repeats > 1 and not succeeded(r))]
    if not bad:
        return []
    L = ["## Errors" if repeats == 1 else "## Failed runs", ""]
    for r in bad:
        which = f"{r['scenario']} / {r['server']}" + (f" (repetition {r.get('repeat')})" if repeats > 1 else "")
        L.append(f"- {which}: {r['error'] if 'error' in r else summary_line(r)}")
        for name, t in (r.get("logs") or {}).items():
            L += [f"  - `{name}`:", "", "    ```", *("    " + x for x in t.splitlines()), "    ```"]
    return L + [""]


# ---------------------------------------------------------------------------------------------


def list_scenarios(repeat):
    for sc in SCENARIOS:
        extra = "".join(f" [+{','.join(v)} with --enable {k}]" for k, v in sc.get("optional", {}).items())
        print(f"{sc['name']:13} {','.join(sc['servers'])}{extra}\n{'':13} {sc['title']}\n"
              f"{'':13} key metric (--repeat): {KEY_METRICS[sc['mode']]}")
    if repeat > 1:
        print(f"\n--repeat {repeat}: each server runs {repeat} times per scenario, interleaved "
              "(A B C D, D C B A, ...); the tables show the median run by the key metric.")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server-bin", default=None, help="our server binary (default .build/release/firehose in the repository)")
    ap.add_argument("--bench-bin", default=None, help="load generator (default .build/release/firehose-bench in the repository)")
    ap.add_argument("--only", type=lambda s: [x for x in s.split(",") if x], default=None,
                    help="servers to run, comma-separated: " + ",".join(SERVERS))
    ap.add_argument("--scenarios", type=lambda s: [x for x in s.split(",") if x], default=None,
                    help="scenarios to run, comma-separated: " + ",".join(SCENARIO_NAMES))
    ap.add_argument("--enable", type=lambda s: [x for x in s.split(",") if x], default=[],
                    help="optional parts, comma-separated: " + "; ".join(f"{k} = {v}" for k, v in FEATURES.items()))
    ap.add_argument("--quick", action="store_true", help="divide sizes by 10 (smoke check)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run every (scenario, server) pair N times, interleaved, and report the median run "
                         "by the scenario's key metric (default %(default)s)")
    ap.add_argument("--out", default=None, help="output directory (default bench/results in the repository)")
    ap.add_argument("--dry-run", action="store_true", help="print every command instead of running it")
    ap.add_argument("--list", action="store_true", help="list scenarios and exit")
    ap.add_argument("--base-port", type=int, default=21000, help="first loopback port to use (default %(default)s)")
    ap.add_argument("--settle", type=float, default=0.5, help="seconds between a server start and the bench (default %(default)s)")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between runs (default %(default)s)")
    o = ap.parse_args()
    for name in o.only or []:
        if name not in SERVERS:
            ap.error(f"unknown server {name!r}; choose from {','.join(SERVERS)}")
    for name in o.scenarios or []:
        if name not in SCENARIO_NAMES:
            ap.error(f"unknown scenario {name!r}; choose from {','.join(SCENARIO_NAMES)}")
    for name in o.enable:
        if name not in FEATURES:
            ap.error(f"unknown feature {name!r}; choose from {','.join(FEATURES)}")
    if o.repeat < 1:
        ap.error("--repeat must be at least 1")
    if o.list:
        list_scenarios(o.repeat)
        return 0
    # paths given on the command line are relative to the current directory, defaults to the repository
    o.server_bin = os.path.abspath(o.server_bin) if o.server_bin else os.path.join(REPO, ".build/release/firehose")
    o.bench_bin = os.path.abspath(o.bench_bin) if o.bench_bin else os.path.join(REPO, ".build/release/firehose-bench")
    o.out = os.path.abspath(o.out) if o.out else os.path.join(HERE, "results")
    runner = Runner(o)
    if o.dry_run:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `--dry-run | head` ends quietly
    else:
        become_subreaper()

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started in the background, where SIGINT is ignored
    return runner.run()


if __name__ == "__main__":
    sys.exit(main())
