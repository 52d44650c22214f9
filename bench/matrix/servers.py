"""Starting and stopping the servers under test (ours, Nchan, their redis-servers) and reading
their processes (CPU seconds, RSS, liveness)."""

import os
import re
import signal
import socket
import subprocess
import time

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH)
NCHAN_SH = os.path.join(BENCH, "nchan.sh")


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


def cpu_steal_ms():
    """Milliseconds the hypervisor ran something else on each of our CPUs ({"cpu0": ms, ...},
    from /proc/stat's steal column), or {} where the kernel does not count it. On this 2-vCPU KVM
    guest it was 0-370 ms per core in an 11 s fan-out run; in ws1k the slowest of five runs of
    each server was its highest-steal run. A busier vCPU also accrues more of it, so it is not
    purely outside noise: it is recorded for every run, and only --max-steal acts on it."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    try:
        with open("/proc/stat") as f:
            for line in f:
                m = re.match(r"^(cpu\d+)\s+((?:\d+\s+){7}\d+)", line)
                if m:
                    out[m.group(1)] = int(m.group(2).split()[7]) * 1000 // hz
    except (OSError, ValueError):
        return {}
    return out


def context_switches(pid):
    """(voluntary, involuntary) context switches summed over a process's threads, or None.
    Voluntary ones are mostly sleeps in epoll_wait: each is one wake-up some other process (here
    the load generator, on the other core) paid for."""
    vol = invol = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                t = f.read()
            vol += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", t, re.M).group(1))
            invol += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", t, re.M).group(1))
    except (OSError, AttributeError, ValueError):
        return None
    return vol, invol


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

    def pinned(self, argv):
        """argv run on the server's core when the matrix pins (server and its Redis on one core,
        the load generator on the other, so neither steals the other's core)."""
        return ["taskset", "-c", str(self.r.o.server_cpu)] + argv if self.r.o.pin else argv

    def pin_running(self, pids):
        """Moves already running processes (nginx daemonizes) and all their threads to the server's core."""
        if not self.r.o.pin:
            return
        for pid in pids:
            self._run(["taskset", "-a", "-p", "-c", str(self.r.o.server_cpu), str(pid)],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

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
            argv = self.pinned(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--daemonize", "no"])
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
            argv = self.pinned(argv)
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
            self.pin_running([self.pids["master"], self.pids["server"]])

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
