"""The Targets table: ours against Nchan (memory vs memory, redis vs redis) and against the Ruby
reference figures, one row per target with its verdict."""

from .fmt import fmt, fmt_ratio, fmt_s, ms
from .scenarios import RUBY_CATCHUP_RPS, RUBY_PUT_RPS, RUBY_WS2K_FANOUT_MS, SERVERS
from .stats import failed_note, lat, ratio, total_cpu


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


def lat_of(rec, k):
    return None if rec is None else lat(rec, k)


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
