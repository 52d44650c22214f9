"""LIM: what a client gets at each of the server's limits (spec/limits.md, LIM-n).

Named to run after every other file: LIM-1 and LIM-5 touch over a thousand channels within one
10 s metrics bucket, and a test that reads its own channel's counters from that bucket (MTH-5)
could then find its channel cut from the busiest-channels listing.

Every test here carries @pytest.mark.extension: the reference has none of these limits. They run
against the server's default limits (1000 channels per multiplexed request, 1 MiB WebSocket
budget, a request deadline no later than the idle timeout), except
LIM-6, which needs a server started with a small `--max-memory` given as COMPAT_MAX_MEMORY
(`compat/run-local.sh` does; the memory backend only).
"""

import hashlib
import json
import os
import re
import socket
import time

import pytest

import sse
import ws

pytestmark = [pytest.mark.extension]

DEFAULT_MAX_CHANNELS = 1000
TOO_MANY = b'{"error":"Subscription failed","reason":"Too many channels: at most 1000 per request"}'


def names(channel, count):
    """`count` short channel names unique to this test (URLs and WebSocket messages stay small)."""
    tag = hashlib.sha1(channel.encode()).hexdigest()[:6]
    return [f"/{tag}{i}" for i in range(count)]


@pytest.mark.clause("LIM-1")
def test_lim_1_a_post_over_the_cap_is_refused_at_once(server, channel, conn):
    body = json.dumps({name: 0 for name in names(channel, 100_000)}).encode()
    start = time.monotonic()
    resp = conn.post("/channels@firehose", body)
    assert (resp.status, resp.body) == (400, TOO_MANY)
    assert time.monotonic() - start < 5, "a 100,000-channel POST held the server"
    assert conn.head("/").status == 200  # the connection stays open


@pytest.mark.clause("LIM-1")
def test_lim_1_repeats_count_once_in_a_get(server, channel, conn):
    listed = names(channel, DEFAULT_MAX_CHANNELS)
    subscribe = ",".join([f"{listed[0]}!0"] * 3 + [f"{name}!0" for name in listed])
    server.publish(listed[0], "x")
    resp = conn.get(f"/channels@firehose?subscribe={subscribe}")
    assert resp.status == 200, resp
    over = ",".join(f"{name}!0" for name in names(channel, DEFAULT_MAX_CHANNELS + 1))
    resp = conn.get(f"/channels@firehose?subscribe={over}")
    assert (resp.status, resp.body) == (400, TOO_MANY)


@pytest.mark.clause("LIM-1")
def test_lim_1_a_multiplexed_event_stream_over_the_cap_is_refused(server, channel):
    over = ",".join(f"{name}!0" for name in names(channel, DEFAULT_MAX_CHANNELS + 1))
    stream = sse.open_stream(server, f"/channels@firehose?subscribe={over}")
    assert stream.head.startswith(b"HTTP/1.1 400"), stream.head


@pytest.mark.clause("LIM-2")
def test_lim_2_an_upgrade_over_the_cap_is_refused(server, channel):
    over = ",".join(f"{name}!0" for name in names(channel, DEFAULT_MAX_CHANNELS + 1))
    conn, resp, _ = ws.handshake(server, f"/channels@firehose?subscribe={over}")
    with conn:
        assert (resp.status, resp.body) == (400, TOO_MANY)


@pytest.mark.clause("LIM-2")
def test_lim_2_a_subscribe_past_the_cap_gets_one_error_frame(server, channel):
    listed = names(channel, DEFAULT_MAX_CHANNELS + 2)
    with ws.connect(server, "/channels@firehose") as sock:
        sock.send_json({"multiplex_subscribe": [{"channel": name} for name in listed]})
        frame = json.loads(sock.recv_text())
        assert frame == {"error": "too_many_channels", "channel": listed[DEFAULT_MAX_CHANNELS], "limit": DEFAULT_MAX_CHANNELS}
        server.publish(listed[DEFAULT_MAX_CHANNELS - 1], "in")
        server.publish(listed[DEFAULT_MAX_CHANNELS + 1], "out")
        assert json.loads(sock.recv_text()) == {"channel": listed[DEFAULT_MAX_CHANNELS - 1], "message": "in", "last_sequence": 1}
        sock.send_json({"multiplex_unsubscribe": listed[0]})
        sock.send_json({"multiplex_subscribe": {"channel": listed[DEFAULT_MAX_CHANNELS + 1]}})
        assert json.loads(sock.recv_text()) == {"channel": listed[DEFAULT_MAX_CHANNELS + 1], "message": "out", "last_sequence": 1}


@pytest.mark.clause("LIM-3")
def test_lim_3_a_trickling_request_gets_408_at_its_deadline(server, channel):
    deadline = server.idle_timeout  # the request deadline is never later than the idle timeout
    with server.connect(timeout=deadline * 3) as conn:
        start = time.monotonic()
        conn.send(f"GET {channel} HTTP/1.1\r\nX-Slow: ".encode())
        step = deadline / 4
        while time.monotonic() - start < deadline * 3:
            try:
                conn.send(b"a")
            except OSError:
                break
            try:
                conn.sock.settimeout(step)
                data = conn.sock.recv(64)
                conn.buf += data
                break
            except socket.timeout:
                continue
        resp = conn.read_response()
        waited = time.monotonic() - start
        assert resp.status == 408, resp
        assert deadline * 0.8 < waited < deadline + 2, f"408 after {waited:.2f}s (deadline {deadline}s)"
        conn.wait_closed(5)


@pytest.mark.clause("LIM-4")
def test_lim_4_pongs_count_against_the_budget(server, channel):
    with ws.connect(server, channel) as sock:
        sock.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ping = ws.encode_frame(ws.PING, b"p" * 125)
        burst, sent = ping * 1000, 0
        limit = 64 * server.max_buffered + (64 << 20)
        sock.conn.sock.settimeout(10)
        try:
            while sent < limit:
                sock.conn.sock.sendall(burst)
                sent += len(burst)
        except OSError:
            pass
        assert sent < limit, f"{sent} bytes of pings sent and never cut off"


@pytest.mark.clause("LIM-5")
def test_lim_5_metrics_list_the_busiest_channels(server, channel):
    listed = names(channel, DEFAULT_MAX_CHANNELS + 1)
    # Metrics are per node: publish to the node whose metrics are read (as MTH-5 does).
    with server.connect() as conn:
        for name in listed:
            assert conn.put(name, "x").status == 202
        for _ in range(3):
            assert conn.put(listed[-1], "again").status == 202
    time.sleep(1.1)  # the document is built at most once per second
    buckets = server.metrics()
    assert all(len(bucket["channels"]) <= DEFAULT_MAX_CHANNELS for bucket in buckets), [len(b["channels"]) for b in buckets]
    assert any(listed[-1] in dict(bucket["channels"]) for bucket in buckets), "the busiest channel is not listed"


@pytest.mark.clause("LIM-6")
def test_lim_6_publishes_past_max_memory_get_503(server, channel):
    limit = os.environ.get("COMPAT_MAX_MEMORY")
    if not limit or os.environ.get("COMPAT_BACKEND", "memory") != "memory":
        pytest.skip("needs a memory-backend server started with --max-memory COMPAT_MAX_MEMORY")
    body = b"\x01" * (4 << 20)  # charged 4 MiB + 24 MiB escaped + about 1.4 KB
    with server.connect_publisher(timeout=30) as conn:
        for _ in range(int(limit) // (28 << 20) + 2):
            resp = conn.put(channel, body)
            if resp.status != 202:
                break
        assert resp.status == 503, resp
        assert re.fullmatch(rb"Memory limit reached: channel buffers hold \d+ of %s bytes\n" % limit.encode(), resp.body), resp
        # Emptying the channel's buffer frees what it held: always accepted.
        assert conn.put(channel, b"free", {"X-Firehose-Buffer-Size": "0"}).status == 202
        assert conn.put(channel + "/next", body).status == 202
        assert conn.put(channel + "/next", b"free", {"X-Firehose-Buffer-Size": "0"}).status == 202
