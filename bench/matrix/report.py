"""The markdown report (matrix-<time>.md and latest.md): the machine, one table per scenario, the
Targets table and the failed runs; and the one-line summary of a run for the progress log."""

import shlex

from .fmt import f2, fmt
from .scenarios import RUBY_CATCHUP_RPS, RUBY_PUT_RPS, RUBY_WS2K_FANOUT_MS, SCENARIOS, SERVERS
from .stats import client_cpu, failed_note, lat, median_runs, server_cpu, succeeded
from .targets import targets


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


def status(rec):
    if "error" in rec:
        return ("ERROR: " + rec["error"].replace("|", "/").replace("\n", " ")[:160]
                + (f"; {failed_note(rec)}" if failed_note(rec) else ""))
    r = rec["result"]
    s = "ok" if r.get("ok") else "not ok"
    if rec.get("server_died"):
        s += ", server died"
    return s + (f"; {failed_note(rec)}" if failed_note(rec) else "")


def runs_cell(rec):
    pair = rec.get("pair") or {"n": 1, "failed": 0, "span": None}
    failed = "all" if pair["failed"] == pair["n"] > 1 else pair["failed"]
    s = str(pair["n"]) + (f", {failed} failed" if pair["failed"] else "")
    s += f" ({pair['span']})" if pair["span"] else ""
    if pair.get("rejected"):
        s += f"; {pair['rejected']} re-run for steal (all: {pair.get('span_all') or '-'})"
    return s


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
                         "/".join(fmt(((r.get("publish_rtt_ms") or {}).get(k)), 1) for k in ("p50", "p99")),
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
             "deliveries/s", "publish/s", "publish RTT p50/p99 ms", "pub/conn errors", "elapsed s"] + cpu_h + ["status"]
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
        "- mode: " + (f"pinned ({next((r['pinned'] for r in records if r.get('pinned')), '')}; the server and its "
                      "redis-server share that core, Nchan's master and worker likewise)"
                      if any(r.get("pinned") for r in records) else "not pinned (server and load generator share both cores)"),
        f"- {len(runs)} runs in {wall / 60:.1f} min. Every run starts its server (and redis-server) fresh "
        "on a new loopback port; figures are relative to this machine.",
        *([repeat_note(repeats)] if repeats > 1 else []),
        *([f"- --max-steal {machine['max_steal']:g}: a run in which the hypervisor stole more than "
           f"{machine['max_steal']:g}% of its wall time from either core was re-run (at most "
           f"{machine.get('steal_retries')} times; the last try kept); rejected runs are listed under "
           "\"Every fan-out run\" and left out of the medians."] if machine.get("max_steal") else []),
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
              "we measured on the reference (BENCHMARKS.md, \"Ruby Firehose, as we measured it\": "
              f"PUT {RUBY_PUT_RPS:,} req/s, catch-up GET {RUBY_CATCHUP_RPS:,} req/s, "
              f"2,000-WS fan-out {RUBY_WS2K_FANOUT_MS[0]}-{RUBY_WS2K_FANOUT_MS[1]} ms; Ruby always uses Redis). "
              "The fan-out time compared with Ruby's is our max delivery latency (the slowest message's last "
              "subscriber) against Ruby's lower bound.", "",
              table(["target", "ours", "reference", "ours/ref", "verdict"], rows), ""]
    L += runs_section(runs, repeats)
    L += failures_section(runs, repeats)
    return "\n".join(L)


def runs_section(runs, repeats):
    """When repeating: every fan-out run in the order it ran, with the steal the hypervisor took
    from each core during it, so that an outlier can be told from the noise around it."""
    fan = [r for r in runs if r.get("mode") == "fanout" and "result" in r]
    if repeats < 2 or not fan:
        return []
    rows = []
    for r in fan:
        steal = r.get("runner_steal_ms") or {}
        note = r.get("rejected") and f"rejected: {r['rejected']}" or r.get("steal_over") and f"kept: {r['steal_over']}"
        rows.append([r["scenario"], r["server"], str(r.get("repeat")), fmt(lat(r, "p50"), 1), fmt(lat(r, "p99"), 1),
                     fmt(lat(r, "max"), 1), fmt(server_cpu(r, "server"), 2),
                     " / ".join(f"{steal[c]}" for c in sorted(steal)) or "-", note or ""])
    return ["## Every fan-out run", "",
            "In the order they ran; steal is the time the hypervisor ran something else on each CPU "
            "(cpu0 / cpu1, ms, /proc/stat) during the run.", "",
            table(["scenario", "server", "rep", "p50 ms", "p99 ms", "max ms", "server CPU s", "steal ms", "note"], rows), ""]


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
