"""WS: single-channel WebSocket (spec/websocket.md, WS-n)."""

import json
import struct
import time

import pytest

import ws
from wire import QUIET, frame, json_string
from ws import PING_JSON, PONG_JSON


from wire import numbered_frame as m


def subscribed(server, target, sequence=0, key="last_message_sequence") -> ws.WebSocket:
    sock = ws.connect(server, target)
    sock.send_json({key: sequence})
    return sock


# --- handshake and routing ---------------------------------------------------------------------


@pytest.mark.clause("WS-1", "WS-2")
@pytest.mark.parametrize(
    "headers",
    [{"Upgrade": "WebSocket"}, {"Upgrade": "WEBSOCKET"}, {"Connection": "keep-alive, Upgrade"},
     {"Connection": "upgrade"}, {"Connection": "Upgrade,keep-alive"}],
    ids=["upgrade-mixed-case", "upgrade-upper-case", "firefox-connection", "connection-lower-case", "connection-list"],
)
def test_ws_1_upgrade_headers_are_compared_loosely(server, eight, headers):
    sock = ws.connect(server, eight, headers)
    assert sock.handshake.raw == ws.expected_handshake(sock.key)
    sock.send_json({"last_message_sequence": 7})
    assert sock.recv_text() == m(8)


@pytest.mark.clause("WS-1", "PUB-4")
def test_ws_1_channel_is_the_raw_path_without_query(server, channel):
    raw = f"{channel}/a%20b"
    server.publish(raw, "raw path")
    server.publish(f"{channel}/other", "other")
    sock = ws.connect(server, f"{raw}?x=1&last_message_sequence=0")
    sock.send_json({})
    assert sock.recv_text() == frame("raw path", 1)
    sock.assert_silent(0.3)


# --- WS-2 .. WS-5: the handshake answer -------------------------------------------------------


@pytest.mark.clause("WS-2")
def test_ws_2_handshake_bytes(server, channel):
    sock = ws.connect(server, channel)
    assert sock.handshake.raw == (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  b"Sec-WebSocket-Accept: " + ws.accept_for(sock.key).encode() + b"\r\n\r\n")
    assert sock.conn.buf == b""  # nothing follows the 101 (see WS-8)


@pytest.mark.clause("WS-2")
def test_ws_2_accept_for_the_rfc_sample_key(server, channel):
    sock = ws.connect(server, channel, key="dGhlIHNhbXBsZSBub25jZQ==")
    assert sock.handshake.raw == (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")


@pytest.mark.clause("WS-3")
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-WebSocket-Protocol": "chat, superchat"},
        {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"},
        {"Origin": "http://example.com"},
        {"Sec-WebSocket-Version": "8"},
        {"Sec-WebSocket-Version": "99"},
    ],
    ids=["subprotocols", "permessage-deflate", "origin", "version-8", "version-99"],
)
def test_ws_3_nothing_is_negotiated(server, eight, headers):
    sock = ws.connect(server, eight, headers)
    assert sock.handshake.raw == ws.expected_handshake(sock.key)
    sock.send_text(PING_JSON)
    assert sock.recv_text() == PONG_JSON
    sock.send_json({"last_message_sequence": 6})
    assert sock.recv_texts(2) == [m(7), m(8)]  # uncompressed, plain text frames (recv_text checks RSV1 is clear)


@pytest.mark.clause("WS-4")
def test_ws_4_missing_key_is_400(server, channel):
    _, resp, _ = ws.handshake(server, channel, key=None)
    assert resp.status_line == "HTTP/1.1 400 Bad Request", resp
    assert resp.header("Content-Length") == "25", resp
    assert resp.body == b"Invalid WebSocket request", resp


@pytest.mark.clause("WS-5", "MTH-3")
def test_ws_5_upgrade_to_metrics_is_plain_metrics(server):
    _, resp, _ = ws.handshake(server, "/metrics@firehose")
    assert resp.status_line == "HTTP/1.1 200 OK", resp
    assert resp.header_names == ["Content-Length", "Connection", "Server"], resp
    assert int(resp.header("Content-Length")) == len(resp.body)
    assert isinstance(resp.json(), list), resp


# --- WS-6, WS-7: server frames ------------------------------------------------------------------


@pytest.mark.clause("WS-6")
@pytest.mark.parametrize("payload_length", [40, 125, 126, 65535, 65536, 70000])
def test_ws_6_one_text_frame_with_the_shortest_length(server, channel, payload_length):
    body = "x" * (payload_length - len(frame("", 1)))
    with server.connect(timeout=15) as conn:
        assert conn.put(channel, body).status == 202
    sock = subscribed(server, channel)
    got = sock.recv_frame(timeout=15)
    assert (got.fin, got.rsv, got.opcode, got.masked) == (True, 0, ws.TEXT, False), got
    assert got.header == b"\x81" + ws.length_field(payload_length), got
    assert got.payload == frame(body, 1)


@pytest.mark.clause("WS-6", "ENC-5")
def test_ws_6_one_mebibyte_message_is_one_frame(server, channel):
    chunk = 'quote " backslash \\ newline \n tab \t e-acute é snowman ☃ slash / ctl \x01 sep \u2028 '
    text = (chunk * (2**20 // len(chunk.encode("utf-8")) + 1)).encode("utf-8")[: 2**20]
    body = text.decode("utf-8", errors="ignore").encode("utf-8")  # cut at a character boundary
    with server.connect(timeout=30) as conn:
        assert conn.put(channel, body).status == 202
    sock = ws.connect(server, channel, timeout=30)
    sock.send_json({"last_message_sequence": 0})
    got = sock.recv_frame()
    expected = frame(body, 1)
    assert len(expected) > 2**20
    assert got.header == b"\x81\x7f" + struct.pack("!Q", len(expected)), got
    assert got.payload == expected
    assert json.loads(got.payload)["message"].encode("utf-8") == body


CONTROL_BYTES = bytes(range(0x20)) + b"\x7f"


@pytest.mark.clause("WS-7", "ENC-1", "ENC-2", "ENC-3", "ENC-4")
@pytest.mark.parametrize(
    "body",
    [b"plain", b"", b'{"a":[1,2,{"b":null}],"c":"d"}', b'he said "hi" \\ back\\slash / slash', CONTROL_BYTES,
     "café ☃ 😀 \u2028 \u2029".encode("utf-8"), b"<script>alert('x')</script> & </", b"line1\nline2\r\n"],
    ids=["plain", "empty", "json", "quotes", "control-bytes", "unicode", "html", "newlines"],
)
def test_ws_7_message_frame_is_the_long_poll_body(server, channel, body):
    server.publish(channel, body)
    long_poll = server.poll(channel, 0)
    sock = subscribed(server, channel)
    payload = sock.recv_text()
    assert payload == long_poll.body == frame(body, 1)
    assert payload == b'{"message":' + json_string(body) + b',"last_sequence":1}'


@pytest.mark.clause("WS-7", "WS-6")
def test_ws_7_pong_bytes(server, channel):
    sock = ws.connect(server, channel)
    sock.send_text(PING_JSON)
    got = sock.recv_frame()
    assert got.header + got.payload == b'\x81\x0f{"pong":"PONG"}', got


# --- WS-8 .. WS-12: subscribing -------------------------------------------------------------------


@pytest.mark.clause("WS-8")
def test_ws_8_nothing_before_the_client_speaks(server, eight):
    sock = ws.connect(server, f"{eight}?last_message_sequence=3")
    sock.assert_silent()
    server.publish(eight, "m9")  # not subscribed yet: not delivered
    sock.assert_silent(0.5)
    sock.send_json({"last_message_sequence": 0})
    assert sock.recv_text() == m(9)  # the URL's sequence played no part
    sock.assert_silent(0.3)


@pytest.mark.clause("WS-9", "WS-15")
def test_ws_9_ping_before_and_after_subscribing(server, eight):
    """The reference's transcript (spec/reference-observations.md section 10)."""
    sock = ws.connect(server, eight)
    sock.send_text(PING_JSON)
    assert sock.recv_text() == PONG_JSON
    sock.send_json({"last_message_sequence": 0})
    assert sock.recv_text() == m(8)
    sock.send_text(PING_JSON)
    assert sock.recv_text() == PONG_JSON
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)
    server.publish(eight, "m10")
    assert sock.recv_text() == m(10)


@pytest.mark.clause("WS-9")
@pytest.mark.parametrize("ping", ['{"ping":"PING","last_message_sequence":5}', '{"message_sequence":5,"ping":"PING"}'])
def test_ws_9_ping_with_a_sequence_is_only_a_ping(server, eight, ping):
    sock = ws.connect(server, eight)
    sock.send_text(ping)
    assert sock.recv_text() == PONG_JSON
    sock.assert_silent(0.5)  # no catch-up: not subscribed
    server.publish(eight, "m9")
    sock.assert_silent(0.5)
    sock.send_json({"last_message_sequence": 8})
    assert sock.recv_text() == m(9)


@pytest.mark.clause("WS-9")
def test_ws_9_many_pings_in_one_write(server, channel):
    sock = ws.connect(server, channel)
    sock.send_raw(b"".join(ws.encode_frame(ws.TEXT, PING_JSON) for _ in range(5)))
    assert sock.recv_texts(5) == [PONG_JSON] * 5
    sock.assert_silent(0.3)


@pytest.mark.clause("WS-10", "WS-13")
@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"message_sequence":5}', [6, 7, 8]),
        ('{"last_message_sequence":5}', [6, 7, 8]),
        ('{"last_message_sequence":"5"}', [6, 7, 8]),
        ('{"last_message_sequence":"7"}', [8]),
        ('{"last_message_sequence":"5abc"}', [6, 7, 8]),
        ('{"last_message_sequence":5.9}', [6, 7, 8]),
        ('{"last_message_sequence":5,"message_sequence":2}', [6, 7, 8]),
        ('{"last_message_sequence":null,"message_sequence":5}', [6, 7, 8]),
        ('{"last_message_sequence":false,"message_sequence":5}', [6, 7, 8]),
        ('{"last_message_sequence":0,"message_sequence":5}', [8]),
        ('{"last_message_sequence":0}', [8]),
        ('{"last_message_sequence":-1}', [8]),
        ('{"message_sequence":-5}', [8]),
        ('{"last_message_sequence":"abc"}', [8]),
        ("{}", [8]),
        ('{"foo":1}', [8]),
        ('{"ping":"ping"}', [8]),
        ('{"pong":"PONG"}', [8]),
        ("this is not json", [8]),
        ('{"last_message_sequence":', [8]),
        ("", [8]),
    ],
    ids=["message-sequence", "last-message-sequence", "string", "string-7", "lenient-string", "fraction",
         "last-wins-over-message", "null-falls-back", "false-falls-back", "zero-is-not-absent", "zero", "minus-one",
         "negative-message-sequence", "non-numeric-string", "empty-object", "other-key", "lowercase-ping", "pong",
         "not-json", "truncated-json", "empty-text"],
)
def test_ws_10_first_message_subscribes(server, eight, text, expected):
    sock = ws.connect(server, eight)
    sock.send_text(text)
    assert sock.recv_texts(len(expected)) == [m(i) for i in expected]
    sock.assert_silent(0.3)
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)


@pytest.mark.clause("WS-11")
@pytest.mark.parametrize(
    "data",
    [b'{"last_message_sequence":5}', b'{"message_sequence":5}', PING_JSON, b"\xff\xfe\x80", b""],
    ids=["json-with-sequence", "js-client-shape", "ping", "not-utf8", "empty"],
)
def test_ws_11_binary_message_subscribes_at_zero(server, eight, data):
    sock = ws.connect(server, eight)
    sock.send_binary(data)
    assert sock.recv_text() == m(8)  # the newest only, and no pong
    sock.assert_silent(0.3)


@pytest.mark.clause("WS-11", "WS-12")
def test_ws_11_binary_after_subscribing_is_ignored(server, eight):
    sock = subscribed(server, eight, 7)
    assert sock.recv_text() == m(8)
    sock.send_binary(b'{"last_message_sequence":1}')
    sock.send_binary(PING_JSON)
    sock.assert_silent(0.5)
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)


@pytest.mark.clause("WS-12")
def test_ws_12_only_the_first_subscription_counts(server, eight):
    sock = subscribed(server, eight, 7)
    assert sock.recv_text() == m(8)
    for later in ('{"last_message_sequence":1}', '{"message_sequence":3}', "{}", "garbage", '{"last_message_sequence":0}'):
        sock.send_text(later)
    sock.assert_silent()
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)
    sock.assert_silent(0.3)


# --- WS-13 .. WS-15: delivery ---------------------------------------------------------------------


@pytest.mark.clause("WS-13")
@pytest.mark.parametrize("n, expected", [(0, [8]), (1, list(range(2, 9))), (5, [6, 7, 8]), (7, [8])])
def test_ws_13_catch_up_sends_every_missed_message(server, eight, n, expected):
    sock = subscribed(server, eight, n, key="message_sequence")
    assert sock.recv_texts(len(expected)) == [m(i) for i in expected]
    sock.assert_silent(0.3)


@pytest.mark.clause("WS-13", "PUB-8")
@pytest.mark.parametrize("n, expected", [(0, [10]), (1, [10]), (6, [10]), (7, [8, 9, 10]), (8, [9, 10]), (9, [10])])
def test_ws_13_underwater_gives_the_newest(server, channel, n, expected):
    server.publish_many(channel, [f"uw-{i}" for i in range(1, 11)], {"X-Firehose-Buffer-Size": "3"})
    sock = subscribed(server, channel, n)
    assert sock.recv_texts(len(expected)) == [frame(f"uw-{i}", i) for i in expected]
    sock.assert_silent(0.3)


@pytest.mark.clause("WS-14")
def test_ws_14_caught_up_waits_for_the_next(server, eight):
    # Ahead of the channel (N > S) the reference waits too; ours is WSX-13 (test_wsx.py).
    sock = subscribed(server, eight, 8)
    sock.assert_silent()
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)
    server.publish(eight, "m10")
    assert sock.recv_text() == m(10)


@pytest.mark.clause("WS-14", "PUB-9")
@pytest.mark.parametrize("how", ["never-published", "emptied-buffer"])
@pytest.mark.parametrize("n", [0, 3])
def test_ws_14_empty_buffer_waits(server, channel, how, n):
    expected_sequence = 1
    if how == "emptied-buffer":
        server.publish_many(channel, ["e1", "e2"], {"X-Firehose-Buffer-Size": "0"})
        expected_sequence = 3
    sock = subscribed(server, channel, n)
    sock.assert_silent()
    server.publish(channel, "first")
    assert sock.recv_text() == frame("first", expected_sequence)


@pytest.mark.clause("WS-14")
def test_ws_14_no_timeout(server, channel):
    sock = subscribed(server, channel, 0)
    sock.assert_silent(server.longpoll_timeout + 1.0)  # a long-poll would have had its 204 by now
    server.publish(channel, "late")
    assert sock.recv_text() == frame("late", 1)


def burst_sequences(sock: ws.WebSocket, last: int) -> list:
    """The sequences of the frames `sock` receives up to and including message `last` (one timeout
    for all of them), each checked to be the exact frame of its own message."""
    deadline = time.monotonic() + sock.timeout
    got = []
    while not got or got[-1] < last:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"message {last} did not arrive; received {got}"
        payload = sock.recv_text(remaining)
        sequence = json.loads(payload)["last_sequence"]
        assert payload == m(sequence), payload
        got.append(sequence)
        assert sequence <= last, f"a frame beyond the burst: {got}"
    return got


@pytest.mark.clause("WS-15")
def test_ws_15_burst_arrives_in_order_once_and_ends_with_the_newest(server, eight):
    """What the reference does every time under a burst; that nothing is skipped is WSX-12."""
    socks = [subscribed(server, eight, 8) for _ in range(3)]
    for sock in socks:  # each subscription handled (messages are handled in order) before the burst
        sock.send_text(PING_JSON)
        assert sock.recv_text() == PONG_JSON
    server.publish_many(eight, [f"m{i}" for i in range(9, 59)])
    for sock in socks:
        got = burst_sequences(sock, 58)
        assert got[0] >= 9 and all(a < b for a, b in zip(got, got[1:])), f"out of order or repeated: {got}"
        sock.assert_silent(0.3)


@pytest.mark.clause("WS-15", "WS-13")
def test_ws_15_catch_up_joins_live_delivery(server, eight):
    sock = subscribed(server, eight, 5)
    assert sock.recv_texts(3) == [m(6), m(7), m(8)]
    server.publish_many(eight, ["m9", "m10"])
    assert sock.recv_texts(2) == [m(9), m(10)]
    sock.assert_silent(0.3)


# --- WS-16, WS-17: control frames -----------------------------------------------------------------


@pytest.mark.clause("WS-16")
@pytest.mark.parametrize("payload", [b"abcd", b"", bytes(range(125))], ids=["abcd", "empty", "125-bytes"])
def test_ws_16_ping_frame_gets_pong_with_same_payload(server, eight, payload):
    def check_pong(got):
        assert (got.fin, got.rsv, got.opcode, got.masked) == (True, 0, ws.PONG, False), got
        assert got.header == b"\x8a" + bytes([len(payload)]) and got.payload == payload, got

    sock = ws.connect(server, eight)
    sock.send_ping(payload)  # before subscribing
    check_pong(sock.recv_frame())
    sock.send_json({"last_message_sequence": 7})
    assert sock.recv_text() == m(8)
    sock.send_ping(payload)  # after subscribing
    check_pong(sock.recv_frame())
    sock.assert_silent(0.3)


@pytest.mark.clause("WS-16")
def test_ws_16_client_pong_is_ignored(server, eight):
    sock = ws.connect(server, eight)
    sock.send_pong(b"unsolicited")
    sock.assert_silent(0.5)
    sock.send_text(PING_JSON)
    assert sock.recv_text() == PONG_JSON
    sock.send_json({"last_message_sequence": 7})
    assert sock.recv_text() == m(8)
    sock.send_pong(b"")
    sock.assert_silent(0.3)


@pytest.mark.clause("WS-17")
@pytest.mark.parametrize("code", [1000, 1001])
def test_ws_17_close_is_answered_then_tcp_close(server, eight, code):
    sock = subscribed(server, eight, 7)
    assert sock.recv_text() == m(8)
    sock.send_close(code)
    sock.expect_close(code)


@pytest.mark.clause("WS-17")
def test_ws_17_close_before_subscribing(server, channel):
    sock = ws.connect(server, channel)
    sock.send_close(1000)
    got = sock.expect_close(1000)
    assert got.header == b"\x88" + bytes([len(got.payload)]), got


@pytest.mark.clause("WS-17", "WS-15")
def test_ws_17_other_sockets_keep_receiving(server, eight):
    leaving, staying = subscribed(server, eight, 8), subscribed(server, eight, 8)
    staying.assert_silent(0.3)
    leaving.send_close(1000)
    leaving.expect_close(1000)
    server.publish(eight, "m9")
    assert staying.recv_text() == m(9)
