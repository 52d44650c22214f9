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

# The command line only; the work is done by the package next to this file, bench/matrix/:
# scenarios.py (the scenario table), servers.py (starting and stopping servers), runner.py (runs,
# interleaving, repeats), stats.py (figures and medians), report.py and targets.py (the markdown).

import argparse
import os
import signal
import sys

from matrix.runner import Runner
from matrix.scenarios import FEATURES, KEY_METRICS, SCENARIO_NAMES, SCENARIOS, SERVERS
from matrix.servers import become_subreaper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


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
    ap.add_argument("--no-pin", dest="pin", action="store_false",
                    help="do not pin: server and load generator share both cores (the older mode)")
    ap.add_argument("--server-cpu", type=int, default=0,
                    help="core for the server and its redis-server when pinned (default %(default)s)")
    ap.add_argument("--client-cpu", type=int, default=1,
                    help="core for firehose-bench when pinned (default %(default)s)")
    ap.add_argument("--max-steal", type=float, default=0.0, metavar="PCT",
                    help="re-run (fresh server) a run in which the hypervisor stole more than PCT%% of the run's "
                         "wall time from either core (/proc/stat steal); 0 = never (default %(default)s). Rejected "
                         "runs stay in the .jsonl marked \"rejected\" and are counted in the tables")
    ap.add_argument("--steal-retries", type=int, default=2, metavar="K",
                    help="with --max-steal: re-run a pair's repetition at most K times; the last try is kept "
                         "(marked \"steal_over\") even when over (default %(default)s)")
    ap.add_argument("--steal-wait", type=float, default=0.0, metavar="S",
                    help="with --max-steal: before each run, wait (in 2 s samples, at most S seconds) until the "
                         "steal on both cores is at most PCT%% of a sample, so that runs and their retries "
                         "start outside the host's bursts; 0 = never (default %(default)s). The wait is "
                         "recorded per run as quiet_wait_s")
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
    if not 0 <= o.max_steal <= 100 or o.steal_retries < 0 or o.steal_wait < 0:
        ap.error("--max-steal must be 0-100, --steal-retries and --steal-wait at least 0")
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
