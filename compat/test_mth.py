"""MTH: HEAD ping, 405 answers, the metrics endpoint (spec/http.md, MTH-n)."""

import json
import secrets
import time

import pytest

from wire import CLOSE, expected_response, frame, mux_query

METRICS_WAIT = 3.0  # counters are expected at once; allow some slack for a busy server


@pytest.mark.clause("MTH-1")
@pytest.mark.parametrize("where", ["channel", "unknown", "metrics", "mux", "root"])
def test_mth_1_head_is_a_ping_on_any_path(server, channel, conn, where):
    server.publish(channel, "x")
    path = {
        "channel": channel,
        "unknown": f"{channel}/nonexistent/x",
        "metrics": "/metrics@firehose",
        "mux": "/channels@firehose?subscribe=/a!0",
        "root": "/",
    }[where]
    resp = conn.head(path)
    assert resp.raw == b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"
    # No body follows: the next answer on this connection is the next request's.
    assert conn.buf == b""
    assert conn.get(channel).raw == expected_response(200, frame("x", 1))


@pytest.mark.clause("MTH-2", "CORS-4")
@pytest.mark.parametrize(
    "method, body, extra",
    [
        ("OPTIONS", None, {}),
        ("OPTIONS", None, {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "content-type"}),
        ("POST", b'{"a":1}', {"Content-Type": "application/json"}),
        ("DELETE", None, {}),
        ("PATCH", b"x", {}),
        ("FOO", None, {}),
    ],
    ids=["options", "preflight", "post", "delete", "patch", "invented"],
)
def test_mth_2_other_methods_on_a_channel_are_405(server, channel, conn, method, body, extra):
    resp = conn.request(method, channel, body, extra)
    assert resp.raw == expected_response(405, f"{method} not supported.".encode(), allow="GET")


@pytest.mark.clause("MTH-2", "MUX-1")
@pytest.mark.parametrize("method", ["DELETE", "PATCH"])
def test_mth_2_other_methods_on_a_mux_path_are_405(server, channel, conn, method):
    resp = conn.request(method, mux_query(f"{channel}!0"))
    assert resp.raw == expected_response(405, f"{method} not supported.".encode(), allow="GET")


def _metrics_response(conn, method, query=""):
    body = b"" if method == "POST" else None
    return conn.request(method, "/metrics@firehose" + query, body)


@pytest.mark.clause("MTH-3")
@pytest.mark.parametrize("method, query", [("GET", ""), ("POST", ""), ("DELETE", ""), ("GET", "?x=1&y=2")])
def test_mth_3_metrics_endpoint(server, conn, method, query):
    resp = _metrics_response(conn, method, query)
    assert resp.status_line == "HTTP/1.1 200 OK", resp
    assert resp.header_names == ["Content-Length", "Connection", "Server"], resp
    assert resp.header("Connection") == "keep-alive"
    assert resp.header("Server") == "thin"
    assert int(resp.header("Content-Length")) == len(resp.body)
    assert isinstance(resp.json(), list), resp


@pytest.mark.clause("MTH-4")
def test_mth_4_metrics_body_shape(server, channel, conn):
    server.publish(channel, "x")
    resp = conn.get("/metrics@firehose")
    buckets = json.loads(resp.body.decode("utf-8"), object_pairs_hook=list)
    assert isinstance(buckets, list) and buckets, resp
    for pairs in buckets:
        keys = [k for k, _ in pairs]
        assert keys[:3] == ["time", "global", "channels"], keys
        bucket = dict(pairs)
        assert isinstance(bucket["time"], int) and bucket["time"] > 1_000_000_000
        glob = dict(bucket["global"])
        assert all(isinstance(v, int) for v in glob.values()), glob
        for name, counters in bucket["channels"]:
            assert isinstance(name, str)
            assert all(isinstance(v, int) for v in dict(counters).values()), (name, counters)


def _total(buckets, channel, counter):
    """(sum over buckets of channels[channel][counter], sum over buckets of global[counter])."""
    per_channel = sum(b.get("channels", {}).get(channel, {}).get(counter, 0) for b in buckets)
    overall = sum(b.get("global", {}).get(counter, 0) for b in buckets)
    return per_channel, overall


def _wait_for_counter(server, channel, counter, at_least=1):
    deadline = time.monotonic() + METRICS_WAIT
    while True:
        buckets = server.metrics()
        per_channel, overall = _total(buckets, channel, counter)
        if per_channel >= at_least and overall >= at_least:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{counter} for {channel} never reached {at_least}: {buckets!r}"[:2000])
        time.sleep(0.1)


@pytest.mark.clause("MTH-5")
def test_mth_5_publish_is_counted(server, channel):
    # Metrics are per node: publish to the node whose metrics are read.
    with server.connect() as conn:
        assert conn.put(channel, "x").status == 202
    _wait_for_counter(server, channel, "published")


@pytest.mark.clause("MTH-5")
def test_mth_5_long_poll_subscription_is_counted(server, channel):
    server.publish(channel, "x")
    assert server.poll(channel).message() == ("x", 1)
    _wait_for_counter(server, channel, "subscribed")


@pytest.mark.clause("MTH-5", "MUX-2")
def test_mth_5_multiplexed_subscription_is_counted(server, channel):
    a, b = f"{channel}/a", f"{channel}/b"
    server.publish(a, "x")
    resp = server.get(mux_query(f"{a}!0", f"{b}!0"), CLOSE)
    assert resp.raw == expected_response(200, frame("x", 1, channel=a), connection="close")
    _wait_for_counter(server, channel=a, counter="subscribed_multiplexed_long_polling")
    _wait_for_counter(server, channel=b, counter="subscribed_multiplexed_long_polling")


@pytest.mark.clause("MTH-6")
@pytest.mark.parametrize("where", ["suffix", "prefix"])
def test_mth_6_other_metrics_paths_are_channels(server, channel, conn, where):
    path = f"{channel}/metrics@firehose" if where == "suffix" else f"/metrics@firehose/compat/{secrets.token_hex(6)}"
    waiter = server.waiting(path)  # an empty channel waits: it is not the metrics endpoint
    server.publish(path, "not metrics")
    assert waiter.read_response().raw == expected_response(200, frame("not metrics", 1))
    assert conn.get(path).raw == expected_response(200, frame("not metrics", 1))
