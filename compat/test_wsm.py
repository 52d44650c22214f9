"""WSM: multiplexed WebSocket on /channels@firehose (spec/websocket.md, WSM-n).

The `ab` fixture gives two channels holding a-1..a-3 and b-1..b-3. Messages are written with @a
and @b for the channel names and filled in per test.
"""

import json
import urllib.parse

import pytest

import ws
from wire import frame, mux_query
from ws import PING_JSON, PONG_JSON

MUX = "/channels@firehose"


def fill(value, ab):
    """`value` with every "@a" / "@b" inside its strings replaced by the channel names."""
    if isinstance(value, str):
        return ab.fill(value)
    if isinstance(value, list):
        return [fill(v, ab) for v in value]
    if isinstance(value, dict):
        return {fill(k, ab): fill(v, ab) for k, v in value.items()}
    return value


def mf(message: str, sequence: int, channel: str) -> bytes:
    return frame(message, sequence, channel=channel)


def expect(ab, names) -> list:
    """["a3", "b2"] -> the frames for a-3 on @a and b-2 on @b."""
    return [mf(f"{n[0]}-{n[1:]}", int(n[1:]), ab.name(n[0])) for n in names]


def sync(sock: ws.WebSocket) -> None:
    """Round-trip a ping: every message sent before it has been handled once the pong is back."""
    sock.send_text(PING_JSON)
    assert sock.recv_text() == PONG_JSON


def subscribe(sock, ab, entries) -> None:
    sock.send_json({"multiplex_subscribe": fill(entries, ab)})


# --- WSM-1 .. WSM-3: connecting -----------------------------------------------------------------


@pytest.mark.clause("WSM-1", "WS-2")
@pytest.mark.parametrize("path", [MUX, "/x/channels@firehose/y", "/zchannels@firehosez", "/channels@firehose/"])
def test_wsm_1_any_path_containing_channels_at_firehose(server, ab, path):
    a, _ = ab
    sock = ws.connect(server, mux_query(f"{a}!2", path=path))
    assert sock.handshake.raw == ws.expected_handshake(sock.key)
    assert sock.recv_text() == mf("a-3", 3, a)
    sock.assert_silent(0.3)


@pytest.mark.clause("WSM-1", "WS-16", "WS-17")
def test_wsm_1_control_frames(server, ab):
    a, _ = ab
    sock = ws.connect(server, mux_query(f"{a}!3"))
    sock.send_ping(b"mux")
    got = sock.recv_frame()
    assert got.header + got.payload == b"\x8a\x03mux", got
    sock.send_close(1000)
    sock.expect_close(1000)


@pytest.mark.clause("WSM-1", "WS-4")
def test_wsm_1_missing_key_is_400(server, ab):
    _, resp, _ = ws.handshake(server, mux_query(f"{ab.a}!0"), key=None)
    assert resp.status_line == "HTTP/1.1 400 Bad Request", resp
    assert resp.body == b"Invalid WebSocket request", resp


@pytest.mark.clause("WSM-2")
def test_wsm_2_frame_format(server, ab):
    a, _ = ab
    sock = ws.connect(server, mux_query(f"{a}!2"))
    got = sock.recv_frame()
    body = b'{"channel":"' + a.encode() + b'","message":"a-3","last_sequence":3}'
    assert got.header + got.payload == b"\x81" + bytes([len(body)]) + body, got
    assert [k for k, _ in got.json(pairs=True)] == ["channel", "message", "last_sequence"]


@pytest.mark.clause("WSM-2", "ENC-6")
def test_wsm_2_message_encoding(server, channel):
    body = 'say "hi"\n\t\\ / café ☃ 😀 \u2028 \x00\x1f\x7f <&>'.encode("utf-8")
    server.publish(channel, body)
    long_poll = server.get(mux_query(f"{channel}!0"), {"Connection": "close"})
    sock = ws.connect(server, mux_query(f"{channel}!0"))
    assert sock.recv_text() == long_poll.body == frame(body, 1, channel=channel)


@pytest.mark.clause("WSM-3", "WSM-9")
def test_wsm_3_query_subscribes_on_connect(server, ab):
    """As observed on the reference: the first frame comes without the client sending anything."""
    a, _ = ab
    sock = ws.connect(server, mux_query(f"{a}!0"))
    assert sock.recv_text() == mf("a-3", 3, a)
    server.publish(a, "a-4")
    assert sock.recv_text() == mf("a-4", 4, a)
    sync(sock)


@pytest.mark.clause("WSM-3", "MUX-2")
@pytest.mark.parametrize(
    "entries, expected",
    [
        (["@a"], ["a3"]),
        (["@a!0"], ["a3"]),
        (["@a!-5"], ["a3"]),
        (["@a!1x"], ["a2", "a3"]),
        (["@a!2.9"], ["a3"]),
        (["@a!1", ""], ["a2", "a3"]),
        (["", "@a!2", "", ""], ["a3"]),
    ],
    ids=["no-bang", "zero", "negative", "lenient", "fraction", "trailing-comma", "empty-entries"],
)
def test_wsm_3_subscribe_syntax(server, ab, entries, expected):
    sock = ws.connect(server, mux_query(*[ab.fill(e) for e in entries]))
    assert sock.recv_texts(len(expected)) == expect(ab, expected)
    sock.assert_silent(0.3)


@pytest.mark.clause("WSM-3", "MUX-2")
def test_wsm_3_subscribe_list_is_percent_decoded(server, ab):
    a, b = ab
    encoded = urllib.parse.quote(f"{a}!2,{b}!2", safe="")
    sock = ws.connect(server, f"{MUX}?subscribe={encoded}")
    assert sock.recv_texts(2) == expect(ab, ["a3", "b3"])


@pytest.mark.clause("WSM-3", "WSM-6")
@pytest.mark.parametrize("query", ["", "?subscribe=", "?subscribe=,,", "?other=1"])
def test_wsm_3_no_subscription_is_silent(server, ab, query):
    a, _ = ab
    sock = ws.connect(server, MUX + query)
    assert sock.handshake.raw == ws.expected_handshake(sock.key)  # not refused (unlike MUX-7)
    sock.assert_silent()
    server.publish(a, "a-4")
    sock.assert_silent(0.5)
    sync(sock)
    subscribe(sock, ab, {"channel": "@a", "last_message_sequence": 3})
    assert sock.recv_text() == mf("a-4", 4, a)


# --- WSM-4, WSM-5: delivery -----------------------------------------------------------------------


@pytest.mark.clause("WSM-4")
@pytest.mark.parametrize(
    "subscriptions, expected",
    [
        (["@a!1", "@b!1"], ["a2", "a3", "b2", "b3"]),
        (["@b!1", "@a!0"], ["b2", "b3", "a3"]),
        (["@a!3", "@b!1"], ["b2", "b3"]),
    ],
    # "@a!7" (ahead) is skipped by the reference; ours gives a1..a3 (WSX-13, test_wsx.py).
    ids=["grouped-in-query-order", "order-matters", "caught-up-skipped"],
)
def test_wsm_4_query_catch_up(server, ab, subscriptions, expected):
    sock = ws.connect(server, mux_query(*[ab.fill(s) for s in subscriptions]))
    assert sock.recv_texts(len(expected)) == expect(ab, expected)
    sock.assert_silent(0.3)


@pytest.mark.clause("WSM-4", "WSM-6")
def test_wsm_4_message_catch_up_in_entry_order(server, ab):
    sock = ws.connect(server, MUX)
    subscribe(sock, ab, [{"channel": "@b", "last_message_sequence": 1}, {"channel": "@a", "last_message_sequence": 1}])
    assert sock.recv_texts(4) == expect(ab, ["b2", "b3", "a2", "a3"])
    sock.assert_silent(0.3)


@pytest.mark.clause("WSM-4", "WS-14")
def test_wsm_4_waiting_subscriptions(server, ab):
    a, b = ab
    empty = f"{a}-empty"
    sock = ws.connect(server, mux_query(f"{a}!3", f"{b}!3", f"{empty}!0"))
    sock.assert_silent()
    server.publish(empty, "e-1")
    assert sock.recv_text() == mf("e-1", 1, empty)
    server.publish(b, "b-4")
    assert sock.recv_text() == mf("b-4", 4, b)
    server.publish(a, "a-4")
    assert sock.recv_text() == mf("a-4", 4, a)


@pytest.mark.clause("WSM-4", "WS-13")
@pytest.mark.parametrize("n, expected", [(6, [10]), (7, [8, 9, 10]), (0, [10])])
def test_wsm_4_underwater_gives_the_newest(server, channel, n, expected):
    uw = f"{channel}/uw"
    server.publish_many(uw, [f"uw-{i}" for i in range(1, 11)], {"X-Firehose-Buffer-Size": "3"})
    sock = ws.connect(server, mux_query(f"{uw}!{n}"))
    assert sock.recv_texts(len(expected)) == [mf(f"uw-{i}", i, uw) for i in expected]
    sock.assert_silent(0.3)


@pytest.mark.clause("WSM-5")
def test_wsm_5_live_messages_of_every_channel(server, ab):
    a, b = ab
    sock = ws.connect(server, mux_query(f"{a}!3", f"{b}!3"))
    sock.assert_silent(0.3)
    published = [(a, "a-4", 4), (b, "b-4", 4), (a, "a-5", 5), (b, "b-5", 5), (a, "a-6", 6)]
    for ch, message, _ in published:
        server.publish(ch, message)
    got = [json.loads(p) for p in sock.recv_texts(len(published))]
    for ch in (a, b):
        mine = [(g["message"], g["last_sequence"]) for g in got if g["channel"] == ch]
        assert mine == [(message, seq) for c, message, seq in published if c == ch], got
    sock.assert_silent(0.3)


# --- WSM-6 .. WSM-8: dynamic subscriptions --------------------------------------------------------


@pytest.mark.clause("WSM-6", "WSM-7", "WSM-8", "WSM-10")
def test_wsm_6_transcript(server, ab):
    """The reference's dynamic (un)subscribe sequence, as observed (spec/reference-observations.md section 10)."""
    a, b = ab
    c = f"{a}-c"
    sock = ws.connect(server, MUX)
    subscribe(sock, ab, {"channel": "@a", "message_sequence": 0})  # the JS client's shape
    assert sock.recv_text() == mf("a-3", 3, a)
    subscribe(sock, ab, {"channel": "@a", "message_sequence": 0})  # duplicate: ignored
    sock.assert_silent(0.5)
    sock.send_json({"multiplex_subscribe": [{"channel": b, "last_message_sequence": 2},
                                            {"channel": c, "last_message_sequence": 0, "params": {"x": "y"}}]})
    assert sock.recv_text() == mf("b-3", 3, b)
    sock.assert_silent(0.3)  # c is empty: waits
    server.publish(c, "c-1")
    assert sock.recv_text() == mf("c-1", 1, c)
    sock.send_json({"multiplex_unsubscribe": [a]})
    sync(sock)
    server.publish(a, "a-4")
    server.publish(b, "b-4")
    assert sock.recv_text() == mf("b-4", 4, b)  # and nothing for a
    sock.send_json({"multiplex_unsubscribe": b})  # a bare string
    sync(sock)
    server.publish(b, "b-5")
    sock.assert_silent(0.5)
    subscribe(sock, ab, {"channel": "@a", "last_message_sequence": 3})
    assert sock.recv_text() == mf("a-4", 4, a)
    sock.send_json({"last_message_sequence": 0})  # ignored on the mux endpoint
    sock.send_text("garbage")  # ignored
    sock.assert_silent(0.5)
    server.publish(c, "c-2")
    assert sock.recv_text() == mf("c-2", 2, c)


@pytest.mark.clause("WSM-6")
@pytest.mark.parametrize(
    "entry, expected",
    [
        ({"channel": "@a", "message_sequence": 0}, ["a3"]),
        ({"channel": "@a", "last_message_sequence": 1}, ["a2", "a3"]),
        ({"channel": "@a", "message_sequence": 1}, ["a2", "a3"]),
        ({"channel": "@a", "last_message_sequence": "1"}, ["a2", "a3"]),
        ({"channel": "@a", "last_message_sequence": 1.7}, ["a2", "a3"]),
        ({"channel": "@a", "last_message_sequence": -1}, ["a3"]),
        ({"channel": "@a"}, ["a3"]),
        ({"channel": "@a", "last_message_sequence": 2, "params": {"x": "y"}, "whisky": "tango"}, ["a3"]),
        ({"channel": "@a", "last_message_sequence": 2, "message_sequence": 0}, ["a3"]),
        ({"channel": "@a", "last_message_sequence": None, "message_sequence": 1}, ["a2", "a3"]),
    ],
    ids=["js-client", "last-message-sequence", "message-sequence", "string", "fraction", "minus-one", "no-sequence",
         "params-and-other-keys", "last-wins", "null-falls-back"],
)
@pytest.mark.parametrize("shape", ["object", "array"])
def test_wsm_6_subscribe_entry(server, ab, entry, expected, shape):
    sock = ws.connect(server, MUX)
    subscribe(sock, ab, entry if shape == "object" else [entry])
    assert sock.recv_texts(len(expected)) == expect(ab, expected)
    sock.assert_silent(0.3)


@pytest.mark.clause("WSM-6")
def test_wsm_6_entry_without_channel_is_skipped(server, ab):
    sock = ws.connect(server, MUX)
    subscribe(sock, ab, [{"last_message_sequence": 0}, {"channel": None, "message_sequence": 0},
                         {"channel": "@b", "last_message_sequence": 2}, {"params": {}}])
    assert sock.recv_text() == expect(ab, ["b3"])[0]
    sock.assert_silent(0.3)
    subscribe(sock, ab, {"message_sequence": 0})  # a lone entry without channel: nothing
    sock.assert_silent(0.3)
    sync(sock)


@pytest.mark.clause("WSM-7")
def test_wsm_7_duplicate_subscribe_is_ignored(server, ab):
    a, _ = ab
    sock = ws.connect(server, MUX)
    subscribe(sock, ab, {"channel": "@a", "last_message_sequence": 0})
    assert sock.recv_text() == mf("a-3", 3, a)
    subscribe(sock, ab, {"channel": "@a", "last_message_sequence": 0})
    subscribe(sock, ab, [{"channel": "@a", "last_message_sequence": 1}])
    sock.assert_silent()  # no replay from the new positions
    server.publish(a, "a-4")
    assert sock.recv_text() == mf("a-4", 4, a)
    sock.assert_silent(0.5)  # once, not once per subscribe


@pytest.mark.clause("WSM-7", "WSM-3")
def test_wsm_7_duplicate_of_a_query_subscription(server, ab):
    a, _ = ab
    sock = ws.connect(server, mux_query(f"{a}!3", f"{a}!0"))  # the second entry is a duplicate too
    sock.assert_silent()
    subscribe(sock, ab, {"channel": "@a", "last_message_sequence": 0})
    sock.assert_silent()
    server.publish(a, "a-4")
    assert sock.recv_text() == mf("a-4", 4, a)
    sock.assert_silent(0.5)


@pytest.mark.clause("WSM-7")
def test_wsm_7_duplicate_within_one_message(server, ab):
    a, _ = ab
    sock = ws.connect(server, MUX)
    subscribe(sock, ab, [{"channel": "@a", "last_message_sequence": 2}, {"channel": "@a", "last_message_sequence": 0},
                         {"channel": "@a", "last_message_sequence": 1}])
    assert sock.recv_text() == mf("a-3", 3, a)
    sock.assert_silent()


@pytest.mark.clause("WSM-7", "WSM-8")
def test_wsm_7_subscribe_again_after_unsubscribing(server, ab):
    a, _ = ab
    sock = ws.connect(server, mux_query(f"{a}!3"))
    sock.send_json({"multiplex_unsubscribe": [a]})
    sync(sock)
    server.publish(a, "a-4")
    sock.assert_silent(0.5)
    subscribe(sock, ab, {"channel": "@a", "last_message_sequence": 3})
    assert sock.recv_text() == mf("a-4", 4, a)
    server.publish(a, "a-5")
    assert sock.recv_text() == mf("a-5", 5, a)


@pytest.mark.clause("WSM-8")
@pytest.mark.parametrize("value", [["@a"], "@a"], ids=["array", "bare-string"])
def test_wsm_8_unsubscribe(server, ab, value):
    a, b = ab
    sock = ws.connect(server, mux_query(f"{a}!3", f"{b}!3"))
    sock.send_json({"multiplex_unsubscribe": fill(value, ab)})
    sync(sock)
    server.publish(a, "a-4")
    sock.assert_silent(0.5)
    server.publish(b, "b-4")
    assert sock.recv_text() == mf("b-4", 4, b)  # the other channel is not affected


@pytest.mark.clause("WSM-8")
def test_wsm_8_unsubscribe_several(server, ab):
    a, b = ab
    sock = ws.connect(server, mux_query(f"{a}!3", f"{b}!3"))
    sock.send_json({"multiplex_unsubscribe": [a, b]})
    sync(sock)
    server.publish(a, "a-4")
    server.publish(b, "b-4")
    sock.assert_silent(0.5)


@pytest.mark.clause("WSM-8")
@pytest.mark.parametrize(
    "value",
    [["/compat/not-subscribed"], "@a-other", [], 5, {"@a": 1}, [5, None]],
    ids=["unknown-name", "unknown-bare-name", "empty-array", "number", "object", "non-strings"],
)
def test_wsm_8_other_unsubscribes_are_ignored(server, ab, value):
    a, _ = ab
    sock = ws.connect(server, mux_query(f"{a}!3"))
    sock.send_json({"multiplex_unsubscribe": fill(value, ab)})
    sock.assert_silent(0.3)
    sync(sock)
    server.publish(a, "a-4")
    assert sock.recv_text() == mf("a-4", 4, a)


# --- WSM-9, WSM-10 ---------------------------------------------------------------------------------


@pytest.mark.clause("WSM-9")
def test_wsm_9_ping_with_and_without_subscriptions(server, ab):
    a, _ = ab
    sock = ws.connect(server, MUX)
    sync(sock)
    subscribe(sock, ab, {"channel": "@a", "last_message_sequence": 2})
    assert sock.recv_text() == mf("a-3", 3, a)
    sync(sock)
    sock.send_raw(ws.encode_frame(ws.TEXT, PING_JSON) * 3)
    assert sock.recv_texts(3) == [PONG_JSON] * 3
    sock.assert_silent(0.3)


@pytest.mark.clause("WSM-9", "WSM-6")
def test_wsm_9_subscribe_wins_over_ping(server, ab):
    a, _ = ab
    sock = ws.connect(server, MUX)
    sock.send_json({"multiplex_subscribe": {"channel": a, "last_message_sequence": 2}, "ping": "PING"})
    assert sock.recv_text() == mf("a-3", 3, a)
    sock.assert_silent()  # no pong


@pytest.mark.clause("WSM-9", "WSM-8")
def test_wsm_9_unsubscribe_wins_over_ping(server, ab):
    a, _ = ab
    sock = ws.connect(server, mux_query(f"{a}!3"))
    sock.send_json({"ping": "PING", "multiplex_unsubscribe": [a]})
    sock.assert_silent()  # no pong
    sync(sock)
    server.publish(a, "a-4")
    sock.assert_silent(0.5)  # but unsubscribed


@pytest.mark.clause("WSM-10")
@pytest.mark.parametrize(
    "text",
    ['{"last_message_sequence":0}', '{"message_sequence":0}', "{}", "garbage", "", '{"ping":"ping"}',
     '{"channel":"@a","last_message_sequence":0}', '{"subscribe":"@a!0"}'],
    ids=["single-channel-subscribe", "js-single-channel-subscribe", "empty-object", "not-json", "empty-text",
         "lowercase-ping", "bare-entry", "query-syntax"],
)
def test_wsm_10_other_messages_are_ignored(server, ab, text):
    a, b = ab
    sock = ws.connect(server, mux_query(f"{b}!3"))
    sock.send_text(ab.fill(text))
    sock.assert_silent()
    server.publish(a, "a-4")  # nothing subscribed a
    sock.assert_silent(0.5)
    server.publish(b, "b-4")  # and b is still subscribed
    assert sock.recv_text() == mf("b-4", 4, b)
    sync(sock)


@pytest.mark.clause("WSM-10")
def test_wsm_10_binary_messages_are_ignored(server, ab):
    a, b = ab
    sock = ws.connect(server, mux_query(f"{b}!3"))
    sock.send_binary(json.dumps({"multiplex_subscribe": {"channel": a, "last_message_sequence": 0}}))
    sock.send_binary(json.dumps({"multiplex_unsubscribe": [b]}))
    sock.send_binary(PING_JSON)
    sock.assert_silent()
    server.publish(a, "a-4")
    sock.assert_silent(0.5)
    server.publish(b, "b-4")
    assert sock.recv_text() == mf("b-4", 4, b)
