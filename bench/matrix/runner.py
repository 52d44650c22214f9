"""Running the planned (scenario, server) pairs: a fresh server per run, firehose-bench against it,
one JSON record per run, interleaved repetitions, and the report at the end."""

import datetime
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time

from .machine import machine_info
from .report import render_markdown, summary_line
from .scenarios import SCENARIOS, SERVERS, expected_seconds, scaled_args
from .servers import Instance, Ports, context_switches, cpu_seconds, cpu_steal_ms, tail


def log(msg):
    print(msg, file=sys.stderr, flush=True)


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
    if runner.o.pin:
        argv = ["taskset", "-c", str(runner.o.client_cpu)] + argv
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

    def steal_excess(self, rec):
        """Why a run lost too much of a core to the hypervisor (--max-steal), or None."""
        limit = self.o.max_steal
        wall = rec.get("bench_wall_s")
        if not limit or not wall:
            return None
        worst = max((rec.get("runner_steal_ms") or {"-": 0}).items(), key=lambda kv: kv[1])
        if worst[1] > limit / 100 * wall * 1000:
            return f"steal {worst[1]} ms on {worst[0]} > {limit:g}% of {wall:.1f} s"
        return None

    def wait_for_quiet(self):
        """With --steal-wait: sleeps in 2 s samples until the hypervisor's steal on every core
        was at most --max-steal percent of the sample (at most --steal-wait seconds); returns the
        seconds waited. Steal comes in bursts on a busy host (seen here: 0.6% of a core for a
        minute, then 14-60% for several), and a retry that starts inside the same burst loses as
        much again."""
        if not self.o.max_steal or not self.o.steal_wait or self.dry:
            return 0.0
        t0 = time.monotonic()
        while True:
            s0 = cpu_steal_ms()
            time.sleep(2)
            s1 = cpu_steal_ms()
            worst = max((s1[c] - s0[c] for c in s0 if c in s1), default=0)
            waited = time.monotonic() - t0
            if worst <= self.o.max_steal / 100 * 2000 or waited >= self.o.steal_wait:
                return round(waited, 1)

    def run_one(self, i, n, sc, server, rep=1, may_retry=False, attempt=1):
        """One run; returns its record (None when dry). A run over --max-steal is marked "rejected"
        when it may be retried, else "steal_over" (kept)."""
        args = scaled_args(sc, self.o.quick)
        tag = f"{i:02d}-{sc['name']}-{server}" + (f"-r{rep}" if self.o.repeat > 1 else "")
        inst = Instance(server, self)
        self.current = inst
        rec = {"type": "run", "scenario": sc["name"], "server": server, "repeat": rep, "mode": sc["mode"],
               "transport": sc["transport"], "args": args, "quick": self.o.quick, "attempt": attempt,
               "pinned": f"server cpu {self.o.server_cpu}, client cpu {self.o.client_cpu}" if self.o.pin else None}
        what = f"{sc['name']} on {server}{self.rep_label(rep)}"
        rec["quiet_wait_s"] = self.wait_for_quiet()
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
            cs0 = {role: context_switches(pid) for role, pid in inst.pids.items() if isinstance(pid, int)}
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            st0 = cpu_steal_ms()
            b0 = time.monotonic()
            try:
                p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=limit)
            except subprocess.TimeoutExpired as e:
                raise RuntimeError(f"firehose-bench did not finish within {limit:.0f} s; stderr: "
                                   f"{(e.stderr or b'')[-400:]!r}")
            rec["bench_wall_s"] = round(time.monotonic() - b0, 3)
            st1 = cpu_steal_ms()
            rec["runner_steal_ms"] = {c: st1[c] - st0[c] for c in st0 if c in st1}
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu1 = {role: cpu_seconds(pid) for role, pid in inst.pids.items() if isinstance(pid, int)}
            cs1 = {role: context_switches(pid) for role, pid in inst.pids.items() if isinstance(pid, int)}
            # Whole bench run (including connecting), measured here; the tool's own figures cover
            # its measured phase only and are preferred in the tables.
            rec["runner_cpu_s"] = {role: round(cpu1[role] - cpu0[role], 3) for role in cpu0
                                   if cpu0[role] is not None and cpu1.get(role) is not None}
            rec["runner_client_cpu_s"] = round((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime), 3)
            # Context switches (voluntary, involuntary) over the same span: how often each side
            # slept and had to be woken by the other.
            rec["runner_ctxsw"] = {role: [cs1[role][0] - cs0[role][0], cs1[role][1] - cs0[role][1]]
                                   for role in cs0 if cs0[role] and cs1.get(role)}
            rec["runner_client_ctxsw"] = [ru1.ru_nvcsw - ru0.ru_nvcsw, ru1.ru_nivcsw - ru0.ru_nivcsw]
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
            excess = self.steal_excess(rec)
            if excess:
                rec["rejected" if may_retry else "steal_over"] = excess
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
                log(f"[{i}/{n}] {what}: {summary_line(rec)} ({rec['wall_s']:.1f} s)"
                    + (f"; rejected, again: {rec['rejected']}" if rec.get("rejected") else ""))
                if rec.get("error") != "interrupted":
                    time.sleep(self.o.pause)
        return None if self.dry else rec

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
                for attempt in range(self.o.steal_retries + 1):
                    rec = self.run_one(i, len(runs), sc, s, rep, may_retry=attempt < self.o.steal_retries,
                                       attempt=attempt + 1)
                    if not rec.get("rejected"):
                        break
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
