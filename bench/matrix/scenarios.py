"""The scenario table and the servers it compares.

Adding a scenario is one entry in SCENARIOS (see bench/README.md); adding a kind of server is a
name in SERVERS plus its start and stop in servers.py (Instance).
"""


SERVERS = ["ours-memory", "nchan-memory", "ours-redis", "nchan-redis"]
ALL4 = list(SERVERS)
OURS = ["ours-memory", "ours-redis"]


# Ruby Firehose reference figures as we measured them (BENCHMARKS.md, "Ruby Firehose, as we
# measured it": same 2-vCPU machine, wrk -t2 -c16 -d10s, RACK_ENV=production; Ruby Firehose always
# stores in Redis). The matrix cannot re-measure them: the Ruby server is not part of the repository.
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
    dict(name="lp10k-2hz", title="Fan-out, 10,000 long-poll subscribers, 1 channel, 20 msgs at 2/s, 100 B (sustainable load)",
         mode="fanout", transport="longpoll", servers=ALL4,
         args={"subscribers": 10000, "channels": 1, "messages": 20, "rate": 2, "size": 100},
         quick=["subscribers", "messages"]),
    dict(name="ws10k-2hz", title="Fan-out, 10,000 WebSocket subscribers, 1 channel, 20 msgs at 2/s, 100 B (sustainable load)",
         mode="fanout", transport="ws", servers=ALL4,
         args={"subscribers": 10000, "channels": 1, "messages": 20, "rate": 2, "size": 100},
         quick=["subscribers", "messages"]),
    dict(name="sse1k", title="Fan-out, 1,000 Server-Sent Events subscribers, 1 channel, 200 msgs at 20/s, 100 B",
         mode="fanout", transport="sse", servers=ALL4,
         args={"subscribers": 1000, "channels": 1, "messages": 200, "rate": 20, "size": 100},
         quick=["subscribers", "messages"]),
    dict(name="sse10k", title="Fan-out, 10,000 Server-Sent Events subscribers, 1 channel, 20 msgs at 2/s, 100 B",
         mode="fanout", transport="sse", servers=ALL4,
         args={"subscribers": 10000, "channels": 1, "messages": 20, "rate": 2, "size": 100},
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
    dict(name="idle-sse", title="Idle memory, 10,000 Server-Sent Events connections",
         mode="idle", transport="sse", servers=["ours-memory", "nchan-memory"],
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
