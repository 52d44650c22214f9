"""SSE: event streams, single-channel and multiplexed (spec/sse.md, SSE-n).

Every test here carries @pytest.mark.extension: the reference server has no event streams. The
stream client is compat/sse.py (exact head bytes, strict de-chunking, blocks as bytes). Tests that
wait on the heartbeat or on the timeouts take their lengths from the options in conftest.py
(COMPAT_SSE_HEARTBEAT, COMPAT_LONGPOLL_TIMEOUT, COMPAT_IDLE_TIMEOUT); compat/run-local.sh starts
the server with a one-second heartbeat so the suite stays fast.
"""

import json
import re
import threading
import time
import urllib.parse

import pytest

import sse
from sse import event
from wire import ACCEPTED, expected_response, mux_query, numbered_frame

pytestmark = [pytest.mark.extension]

ORIGIN = "http://example.com"
# How long to listen when checking that a stream sends nothing more: shorter than QUIET, since
# many tests end with this check and an extra event would already be on its way.
BRIEF = 0.3


def numbered(*sequences: int) -> list:
    """The events of m<i> at sequence i (the `eight` fixture)."""
    return [event(f"m{i}", i) for i in sequences]


# --- SSE-1, SSE-2: routing -------------------------------------------------------------------


@pytest.mark.clause("SSE-1", "SSE-3", "SSE-8")
@pytest.mark.parametrize("accept", ["text/event-stream", "application/json, text/event-stream"])
def test_sse_1_accept_opens_a_stream(server, eight, accept):
    stream = sse.subscribe(server, eight, accept=accept)
    assert stream.event() == event("m8", 8)
    stream.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-1", "SSE-9")
def test_sse_1_channel_is_the_raw_path_without_query(server, channel):
    stream = sse.subscribe(server, f"{channel}?foo=bar")
    other = sse.subscribe(server, channel.replace("/compat/", "/compat%2F", 1))
    server.publish(channel, "raw")
    assert stream.event() == event("raw", 1)
    other.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-2", "LP-1")
@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html, text/plain"])
def test_sse_2_other_gets_are_long_polls(server, eight, accept):
    headers = {"Accept": accept} if accept is not None else None
    assert server.get(eight, headers).raw == expected_response(200, numbered_frame(8))


@pytest.mark.clause("SSE-2", "MUX-3")
def test_sse_2_mux_get_without_accept_is_a_long_poll(server, ab):
    a, _ = ab
    resp = server.get(mux_query(f"{a}!1"), {"Accept": "*/*"})
    assert resp.raw == expected_response(200, b'{"channel":"%s","message":"a-2","last_sequence":2}' % a.encode())


@pytest.mark.clause("SSE-2", "MTH-1", "PUB-1")
def test_sse_2_head_and_put_ignore_accept(server, channel, conn):
    accept = {"Accept": "text/event-stream"}
    assert conn.head(channel, accept).raw == expected_response(200)
    assert conn.put(channel, "p", accept).raw == ACCEPTED
    assert conn.get(channel).raw == expected_response(200, b'{"message":"p","last_sequence":1}')


# --- SSE-3 .. SSE-5: head, framing, retry -----------------------------------------------------


@pytest.mark.clause("SSE-3", "SSE-8")
def test_sse_3_head_comes_at_once_on_an_empty_channel(server, channel):
    start = time.monotonic()
    stream = sse.open_stream(server, channel, timeout=2.0)
    assert stream.head == sse.expected_head()
    assert stream.head == (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                           b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n")
    assert time.monotonic() - start < 1.0
    assert stream.block() == sse.retry_block(server.sse_retry_ms)
    stream.assert_no_event()


@pytest.mark.clause("SSE-4", "SSE-9")
def test_sse_4_body_is_chunked_and_stays_open(server, channel):
    stream = sse.subscribe(server, channel)
    assert stream.chunked
    server.publish_many(channel, ["c1", "c2", "c3"])
    assert stream.events(3) == [event("c1", 1), event("c2", 2), event("c3", 3)]
    # Raw bytes: nothing but chunks (the de-chunker is strict), and no last chunk.
    stream.assert_no_event(BRIEF)
    assert not stream.ended


@pytest.mark.clause("SSE-5", "SSE-8")
def test_sse_5_retry_comes_first(server, eight):
    stream = sse.open_stream(server, f"{eight}?last_message_sequence=6")
    assert stream.head == sse.expected_head()
    blocks = [stream.block() for _ in range(3)]
    assert blocks == [b"retry: %d\n\n" % server.sse_retry_ms] + numbered(7, 8)


# --- SSE-6: one event per message --------------------------------------------------------------


BODIES = [
    ("plain", b"hello"),
    ("lf", b"a\nb"),
    ("crlf", b"a\r\nb"),
    ("cr", b"a\rb"),
    ("mixed", b"a\r\nb\rc\nd"),
    ("empty", b""),
    ("trailing-lf", b"x\n"),
    ("only-crlf", b"\r\n"),
    ("blank-lines", b"one\n\ntwo\r\r\nthree"),
    ("cr-cr-lf", b"a\r\r\nb"),
    ("json", b'{"a":[1,2],"b":"c"}'),
    ("sse-lookalike", b"data: x\nid: 9\n: comment\nretry: 1"),
    ("utf8", "h\u00e9llo \u2713 \U0001f600 \u2028".encode()),
    ("controls", b"tab\there\x01\x7f"),
]


@pytest.mark.clause("SSE-6")
@pytest.mark.parametrize("body", [b for _, b in BODIES], ids=[name for name, _ in BODIES])
def test_sse_6_one_event_per_message(server, channel, body):
    stream = sse.subscribe(server, channel)
    server.publish(channel, body)
    assert stream.event() == event(body, 1)
    stream.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-6")
@pytest.mark.parametrize(
    "body, expected",
    [
        (b"a\r\nb\rc\nd", b"id: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n"),
        (b"", b"id: 1\ndata: \n\n"),
        (b"x\n", b"id: 1\ndata: x\ndata: \n\n"),
        (b"\r\n\r", b"id: 1\ndata: \ndata: \ndata: \n\n"),
    ],
    ids=["mixed", "empty", "trailing-lf", "breaks-only"],
)
def test_sse_6_event_bytes(server, channel, body, expected):
    stream = sse.subscribe(server, channel)
    server.publish(channel, body)
    assert stream.event() == expected


@pytest.mark.clause("SSE-6", "SSE-9")
def test_sse_6_each_publish_is_its_own_event(server, channel):
    stream = sse.subscribe(server, channel)
    with server.connect_publisher() as conn:
        for i in range(1, 6):
            assert conn.put(channel, f"e{i}\n").raw == ACCEPTED
    assert stream.events(5) == [event(f"e{i}\n", i) for i in range(1, 6)]
    stream.assert_no_event(BRIEF)


# --- SSE-7, SSE-8: where a stream starts --------------------------------------------------------


@pytest.mark.clause("SSE-7", "SSE-8")
@pytest.mark.parametrize(
    "query, header, expected",
    [
        ("", None, [8]),
        ("", "5", [6, 7, 8]),
        ("?last_event_id=6", None, [7, 8]),
        ("?last_message_sequence=7", None, [8]),
        ("?last_event_id=6&last_message_sequence=2", None, [7, 8]),
        ("?last_message_sequence=2&last_event_id=6", None, [7, 8]),
        ("?last_event_id=2&last_message_sequence=3", "6", [7, 8]),
        ("?last_message_sequence=1&last_message_sequence=5", None, [6, 7, 8]),
        ("", "0", [8]),
    ],
    ids=["nothing", "header", "last_event_id", "last_message_sequence", "last_event_id-wins",
         "last_event_id-wins-either-order", "header-wins", "last-occurrence", "header-zero"],
)
def test_sse_7_start_position(server, eight, query, header, expected):
    headers = {"Last-Event-ID": header} if header is not None else None
    stream = sse.subscribe(server, eight + query, headers)
    assert stream.events(len(expected)) == numbered(*expected)
    stream.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-8")
def test_sse_8_replays_every_buffered_missed_message(server, eight):
    stream = sse.subscribe(server, eight, {"Last-Event-ID": "1"})
    assert stream.events(7) == numbered(2, 3, 4, 5, 6, 7, 8)
    stream.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-8")
@pytest.mark.parametrize("n, expected", [(0, [10]), (6, [10]), (7, [8, 9, 10]), (9, [10])])
def test_sse_8_underwater_gets_the_newest_only(server, channel, n, expected):
    server.publish_many(channel, [f"m{i}" for i in range(1, 11)], {"X-Firehose-Buffer-Size": "3"})
    stream = sse.subscribe(server, channel, {"Last-Event-ID": str(n)})
    assert stream.events(len(expected)) == numbered(*expected)
    stream.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-8", "SSE-9")
@pytest.mark.parametrize("n", [8, 100])
def test_sse_8_caught_up_or_ahead_waits_for_the_next(server, eight, n):
    stream = sse.subscribe(server, eight, {"Last-Event-ID": str(n)})
    stream.assert_no_event()
    server.publish(eight, "m9")
    assert stream.event() == event("m9", 9)


@pytest.mark.clause("SSE-8", "SSE-9")
def test_sse_8_empty_buffer_waits(server, channel):
    server.publish(channel, "gone", {"X-Firehose-Buffer-Size": "0"})
    stream = sse.subscribe(server, channel)
    stream.assert_no_event()
    server.publish(channel, "next")
    assert stream.event() == event("next", 2)


# --- SSE-9: live delivery -------------------------------------------------------------------------


@pytest.mark.clause("SSE-9")
def test_sse_9_many_publishes_reach_every_stream_in_order(server, channel):
    streams = [sse.subscribe(server, channel) for _ in range(3)]
    total = 200
    server.publish_many(channel, [f"live-{i}" for i in range(1, total + 1)])
    expected = [event(f"live-{i}", i) for i in range(1, total + 1)]
    for stream in streams:
        assert stream.events(total) == expected
        stream.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-9", "SSE-8")
def test_sse_9_replay_joins_live_delivery(server, eight):
    stream = sse.subscribe(server, eight, {"Last-Event-ID": "4"})
    server.publish_many(eight, [f"m{i}" for i in range(9, 31)])
    assert stream.events(26) == numbered(*range(5, 31))
    stream.assert_no_event(BRIEF)


# --- SSE-10: heartbeat, no time-outs ----------------------------------------------------------------


@pytest.mark.clause("SSE-10")
def test_sse_10_heartbeat_on_a_silent_stream(server, channel):
    beat = server.sse_heartbeat
    stream = sse.subscribe(server, channel)
    start = time.monotonic()
    assert stream.block(timeout=beat + max(2.0, beat)) == sse.PING
    first = time.monotonic() - start
    assert first >= 0.5 * beat, f"heartbeat after {first:.2f}s, expected about {beat}s"
    assert stream.block(timeout=beat + max(2.0, beat)) == sse.PING
    server.publish(channel, "after-pings")
    assert stream.block() == event("after-pings", 1)


@pytest.mark.clause("SSE-10", "SSE-9")
def test_sse_10_no_long_poll_or_idle_timeout(server, channel):
    stream = sse.subscribe(server, channel)
    # Heartbeats may come; a 204, any other bytes, or a close fail the check.
    stream.assert_no_event(max(server.longpoll_wait, server.idle_wait))
    server.publish(channel, "still-here")
    assert stream.event() == event("still-here", 1)


# --- SSE-11: slow readers ------------------------------------------------------------------------------


@pytest.mark.clause("SSE-11", "SSE-9")
def test_sse_11_reader_that_never_reads_is_cut_off(server, channel):
    size = 64 * 1024
    # Far more than the limit plus what the kernel buffers on either side of a small window.
    count = max(256, 16 * server.max_buffered // size)
    stalled = sse.subscribe(server, channel, rcvbuf=4096)
    reader = sse.subscribe(server, channel)
    progress, problems = [0], []

    def body(i: int) -> bytes:
        return b"%08d" % i + b"x" * (size - 8)

    def read() -> None:
        try:
            for i in range(1, count + 1):
                got = reader.event(timeout=10)
                if got != event(body(i), i):
                    problems.append(f"event {i}: {got[:60]!r}... ({len(got)} bytes)")
                    return
                progress[0] = i
        except AssertionError as exc:
            problems.append(f"reader: {exc}")

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    with server.connect_publisher() as conn:
        for i in range(1, count + 1):
            assert conn.put(channel, body(i), {"X-Firehose-Buffer-Size": "4"}).raw == ACCEPTED
            # The reading client keeps pace (within 256 KiB), so only the stalled one falls behind.
            deadline = time.monotonic() + 10
            while progress[0] < i - 4 and not problems and time.monotonic() < deadline:
                time.sleep(0.001)
            assert not problems, problems
            assert progress[0] >= i - 4, f"the reading client is stuck at {progress[0]} of {i}"
    thread.join(15)
    assert not problems, problems
    assert progress[0] == count
    # The stalled client was cut off: what the kernel held for it, then the close, at once.
    received = stalled.read_until_closed(timeout=5)
    assert received < count * size, f"the stalled client was sent everything ({received} bytes) instead of cut off"
    reader.assert_no_event(BRIEF)


# --- SSE-12, SSE-13: HTTP/1.0 and CORS ----------------------------------------------------------------


@pytest.mark.clause("SSE-12", "SSE-8", "SSE-9")
@pytest.mark.parametrize("headers", [None, {"Connection": "keep-alive"}], ids=["plain", "keep-alive"])
def test_sse_12_http10_is_close_delimited(server, eight, headers):
    stream = sse.open_stream(server, eight, headers, version="HTTP/1.0")
    assert stream.head == (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                           b"Connection: close\r\nServer: thin\r\n\r\n")
    # Raw, not chunked: exactly the stream bytes.
    expected = sse.retry_block(server.sse_retry_ms) + event("m8", 8)
    conn = stream.conn
    deadline = time.monotonic() + 5
    while len(conn.buf) < len(expected) and conn._recv(deadline):
        pass
    assert conn.buf == expected
    conn.buf = b""
    server.publish(eight, "m9\r\nend")
    assert stream.event() == b"id: 9\ndata: m9\ndata: end\n\n"
    stream.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-13", "SSE-3")
@pytest.mark.parametrize("origin", [ORIGIN, "null", "HTTP://Example.COM:8080", "x y, z"])
def test_sse_13_origin_is_echoed_with_credentials(server, eight, origin):
    stream = sse.subscribe(server, eight, origin=origin)
    assert stream.head.startswith(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Access-Control-Allow-Origin: " + origin.encode() + b"\r\nAccess-Control-Allow-Credentials: true\r\n")
    assert stream.event() == event("m8", 8)


@pytest.mark.clause("SSE-13", "SSE-3")
def test_sse_13_empty_origin_gets_no_cors_headers(server, eight):
    stream = sse.subscribe(server, eight, {"Origin": ""})
    assert stream.event() == event("m8", 8)


@pytest.mark.clause("SSE-13", "SSE-12")
def test_sse_13_http10_with_origin(server, eight):
    stream = sse.subscribe(server, eight, origin=ORIGIN, version="HTTP/1.0")
    assert stream.event() == event("m8", 8)


@pytest.mark.clause("SSE-13", "SSE-14")
def test_sse_13_mux_with_origin(server, ab):
    a, b = ab
    stream = sse.subscribe(server, mux_query(f"{a}!3", f"{b}!3"), origin=ORIGIN)
    server.publish(a, "a-4")
    assert stream.event() == sse.mux_event(a, "a-4", 4, [(a, 4), (b, 3)])


# --- SSE-14 .. SSE-17: multiplexed streams --------------------------------------------------------------


EVENT = re.compile(rb"id: ([^\n]*)\ndata: ([^\n]*)\n\n")


def read_mux(stream, start: list, expected: dict) -> list:
    """Reads the events `expected` lists ({channel: [(message, sequence)]}), in any order between
    channels, and checks each one byte for byte, including the position its id must carry after
    the events before it (SSE-16). `start` is [(channel, N)] in subscription order. Returns the
    last id."""
    order = [channel for channel, _ in start]
    at = dict(start)
    got = {channel: [] for channel in expected}
    last = None
    for _ in range(sum(len(v) for v in expected.values())):
        raw = stream.event()
        match = EVENT.fullmatch(raw)
        assert match, f"not a multiplexed event (SSE-15): {raw!r}"
        frame = json.loads(match[2])
        channel, message, sequence = frame["channel"], frame["message"], frame["last_sequence"]
        assert channel in got, f"event of a channel not expected here: {raw!r}"
        at[channel] = sequence
        assert raw == sse.mux_event(channel, message, sequence, [(c, at[c]) for c in order])
        got[channel].append((message, sequence))
        last = match[1].decode()
    assert got == expected
    return last


@pytest.mark.clause("SSE-14", "SSE-15", "SSE-16")
def test_sse_14_mux_replay_then_live(server, ab):
    a, b = ab
    stream = sse.subscribe(server, mux_query(f"{a}!1", f"{b}!2"))
    read_mux(stream, [(a, 1), (b, 2)], {a: [("a-2", 2), ("a-3", 3)], b: [("b-3", 3)]})
    stream.assert_no_event(BRIEF)
    server.publish(b, "b-4")
    assert stream.event() == sse.mux_event(b, "b-4", 4, [(a, 3), (b, 4)])
    server.publish(a, "a-4")
    assert stream.event() == sse.mux_event(a, "a-4", 4, [(a, 4), (b, 4)])


@pytest.mark.clause("SSE-14", "SSE-8")
def test_sse_14_mux_each_channel_follows_the_replay_rule(server, ab, channel):
    a, b = ab
    deep = f"{channel}/deep"
    server.publish_many(deep, [f"m{i}" for i in range(1, 11)], {"X-Firehose-Buffer-Size": "3"})
    stream = sse.subscribe(server, mux_query(f"{a}!0", f"{b}!3", f"{deep}!6"))
    read_mux(stream, [(a, 0), (b, 3), (deep, 6)], {a: [("a-3", 3)], deep: [("m10", 10)]})
    stream.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-14")
@pytest.mark.parametrize("path", ["/channels@firehose", "/x/channels@firehose/y"])
def test_sse_14_mux_subscribe_is_percent_decoded_on_any_mux_path(server, ab, path):
    a, b = ab
    encoded = urllib.parse.quote(f"{a}!2,{b}", safe="")
    stream = sse.subscribe(server, f"{path}?subscribe={encoded}")
    read_mux(stream, [(a, 2), (b, 0)], {a: [("a-3", 3)], b: [("b-3", 3)]})


@pytest.mark.clause("SSE-15")
def test_sse_15_mux_frame_is_one_json_line(server, ab):
    a, b = ab
    stream = sse.subscribe(server, mux_query(f"{a}!3", f"{b}!3"))
    server.publish(b, 'two\nlines\r\n"quoted" \\ \u00e9')
    expected = (b"id: " + f"{a}!3,{b}!4".encode() + b"\n"
                + b'data: {"channel":"' + b.encode() + b'","message":"two\\nlines\\r\\n\\"quoted\\" \\\\ \xc3\xa9",'
                + b'"last_sequence":4}\n\n')
    assert stream.event() == expected


@pytest.mark.clause("SSE-16")
def test_sse_16_position_follows_the_url_order(server, ab):
    a, b = ab
    stream = sse.subscribe(server, mux_query(f"{b}!3", f"{a}!3"))
    server.publish(a, "a-4")
    assert stream.event() == b"id: " + f"{b}!3,{a}!4".encode() + b"\n" + b"data: " + \
        b'{"channel":"' + a.encode() + b'","message":"a-4","last_sequence":4}\n\n'
    server.publish(b, "b-4")
    assert stream.event() == sse.mux_event(b, "b-4", 4, [(b, 4), (a, 4)])


@pytest.mark.clause("SSE-17", "SSE-16")
def test_sse_17_reconnect_with_last_event_id_resumes_every_channel(server, ab):
    a, b = ab
    target = mux_query(f"{a}!1", f"{b}!1")
    first = sse.subscribe(server, target)
    last = read_mux(first, [(a, 1), (b, 1)], {a: [("a-2", 2), ("a-3", 3)], b: [("b-2", 2), ("b-3", 3)]})
    assert last == f"{a}!3,{b}!3"
    first.close()
    server.publish_many(a, ["a-4", "a-5"])
    server.publish(b, "b-4")
    again = sse.subscribe(server, target, {"Last-Event-ID": last})
    read_mux(again, [(a, 3), (b, 3)], {a: [("a-4", 4), ("a-5", 5)], b: [("b-4", 4)]})
    again.assert_no_event(BRIEF)


@pytest.mark.clause("SSE-17", "SSE-16")
def test_sse_17_header_overrides_only_channels_of_the_url(server, ab, channel):
    a, b = ab
    elsewhere = f"{channel}/elsewhere"
    server.publish(elsewhere, "e-1")
    stream = sse.subscribe(server, mux_query(f"{a}!1", f"{b}!1"), {"Last-Event-ID": f"{elsewhere}!0,{a}!3"})
    # /a resumes at 3 (nothing to replay), /b keeps the URL's 1, /elsewhere is not subscribed.
    read_mux(stream, [(a, 3), (b, 1)], {b: [("b-2", 2), ("b-3", 3)]})
    stream.assert_no_event(BRIEF)
    server.publish(elsewhere, "e-2")
    server.publish(a, "a-4")
    assert stream.event() == sse.mux_event(a, "a-4", 4, [(a, 4), (b, 3)])
