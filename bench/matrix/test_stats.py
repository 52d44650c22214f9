"""The median-run choice and the figures behind it (pure functions; no server needed).

    python3 -m pytest bench/matrix/test_stats.py
"""

from .stats import key_rank, key_span, median_runs, pick_median, server_cpu, span, total_cpu


def fanout(p99, ok=True, scenario="lp1k", server="ours-memory"):
    return {"type": "run", "scenario": scenario, "server": server, "mode": "fanout",
            "result": {"ok": ok, "latency_ms": {"p99": p99}}}


def publish(rps, ok=True):
    return {"type": "run", "scenario": "publish", "server": "ours-memory", "mode": "publish",
            "result": {"ok": ok, "requests_per_s": rps}}


def test_median_of_three_is_the_middle_by_the_key_metric():
    runs = [fanout(52.3), fanout(41.0), fanout(47.9)]
    rec = pick_median(runs)
    assert rec["result"]["latency_ms"]["p99"] == 47.9
    assert rec["pair"] == {"n": 3, "failed": 0, "span": "p99 41.0-52.3 ms"}


def test_even_count_takes_the_worse_middle_run():
    assert pick_median([fanout(10.0), fanout(20.0), fanout(30.0), fanout(40.0)])["result"]["latency_ms"]["p99"] == 30.0
    assert pick_median([publish(40000.0), publish(50000.0)])["result"]["requests_per_s"] == 40000.0


def test_failed_runs_are_counted_but_not_picked():
    runs = [fanout(1.0, ok=False), fanout(30.0), {**fanout(None), "error": "boom"}, fanout(20.0)]
    rec = pick_median(runs)
    assert rec["result"]["latency_ms"]["p99"] == 30.0  # among 20 and 30, the worse
    assert rec["pair"]["n"] == 4 and rec["pair"]["failed"] == 2
    assert rec["pair"]["span"] == "p99 20.0-30.0 ms"


def test_missing_figures_sort_last_whichever_direction_is_better():
    assert key_rank(fanout(None)) > key_rank(fanout(1e9))
    assert key_rank(publish(None)) > key_rank(publish(1.0))
    assert key_rank(publish(2.0)) < key_rank(publish(1.0))  # higher req/s ranks first


def test_median_runs_groups_by_scenario_and_server():
    runs = [fanout(5.0), fanout(7.0, server="nchan-memory"), fanout(3.0), fanout(4.0)]
    by = median_runs(runs)
    assert set(by) == {("lp1k", "ours-memory"), ("lp1k", "nchan-memory")}
    assert by[("lp1k", "ours-memory")]["result"]["latency_ms"]["p99"] == 4.0
    assert by[("lp1k", "nchan-memory")]["pair"]["n"] == 1


def test_span_and_key_span_formats():
    assert span([None, None], str, " x") is None
    assert span([3, 3], str, " x") == "3 x"
    assert key_span("publish", [publish(40812.0), publish(41700.0)]) == "40.8k-41.7k req/s"
    churn = {"mode": "churn", "result": {"delivered_ratio": 1.0, "latency_ms": {"p99": 12.9}}}
    assert key_span("churn", [churn]) == "100.00% delivered, p99 12.9 ms"


def test_cpu_prefers_the_tools_measured_phase():
    rec = {"pids": {"server": 11, "redis": 12}, "runner_cpu_s": {"server": 9.0, "redis": 2.0},
           "result": {"server_cpu_s": {"11": 5.5}}}
    assert server_cpu(rec, "server") == 5.5
    assert server_cpu(rec, "redis") == 2.0  # the tool did not report it: the runner's figure
    assert total_cpu(rec) == 7.5
    assert total_cpu({"pids": {"server": 1}, "result": {"server_cpu_s": {"1": 3.0}}}) == 3.0
    assert total_cpu(None) is None


def test_runs_rejected_for_steal_are_left_out_of_the_median_and_counted():
    bad = dict(fanout(90.0), rejected="steal 300 ms on cpu0 > 1% of 11.0 s")
    rec = pick_median([fanout(20.0), bad, fanout(22.0), fanout(21.0)])
    assert rec["result"]["latency_ms"]["p99"] == 21.0
    assert rec["pair"] == {"n": 3, "failed": 0, "span": "p99 20.0-22.0 ms", "rejected": 1,
                           "span_all": "p99 20.0-90.0 ms"}
