"""The machine line of a matrix run: CPUs, memory, kernel, versions of nginx, Nchan and Redis, and
the git revision of ours."""

import os
import platform
import re
import resource
import subprocess
import sys

from .servers import REPO


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
        "max_steal": runner.o.max_steal,
        "steal_retries": runner.o.steal_retries,
        "argv": sys.argv[1:],
    }
