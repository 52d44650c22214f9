"""Figures read out of run records, and the choice of one median run per (scenario, server) pair
when repeating (by the scenario's key metric, KEY_METRICS)."""

from .fmt import fmt, kilo


def lat(rec, k):
    return ((rec.get("result") or {}).get("latency_ms") or {}).get(k)


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


def total_cpu(rec):
    if rec is None:
        return None
    a = server_cpu(rec, "server")
    if a is None:
        return None
    b = server_cpu(rec, "redis") if "redis" in (rec.get("pids") or {}) else 0.0
    return a + (b or 0.0)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


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
    Runs marked "rejected" (re-run because the hypervisor stole too much of a core, --max-steal)
    are left out of the choice and counted apart.
    Returns a copy with "pair": how many runs, how many failed, the key metric's span over the pool,
    and where some were rejected, how many and the span over every run with figures."""
    rejected = [r for r in runs if r.get("rejected")]
    kept = [r for r in runs if not r.get("rejected")] or runs
    pool = [r for r in kept if succeeded(r)] or [r for r in kept if "result" in r] or kept
    rec = dict(sorted(pool, key=key_rank)[len(pool) // 2])
    rec["pair"] = {"n": len(kept), "failed": sum(not succeeded(r) for r in kept),
                   "span": key_span(rec["mode"], pool)}
    if rejected:
        rec["pair"]["rejected"] = len(rejected)
        rec["pair"]["span_all"] = key_span(rec["mode"], [r for r in runs if succeeded(r)])
    return rec


def median_runs(runs):
    """(scenario, server) -> its median run (see pick_median)."""
    groups = {}
    for r in runs:
        groups.setdefault((r["scenario"], r["server"]), []).append(r)
    return {k: pick_median(v) for k, v in groups.items()}


def failed_note(rec):
    """"1 of 3 runs failed" when repeating and some repetition failed, else ""."""
    pair = rec.get("pair") or {}
    if pair.get("n", 1) > 1 and pair.get("failed"):
        return f"{pair['failed']} of {pair['n']} runs failed"
    return ""
