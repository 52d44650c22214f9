"""WSX: our WebSocket extensions (spec/websocket.md, WSX-n).

Every test here carries @pytest.mark.extension. Several of these inputs kill the reference server
process; the `bystander` fixture holds another client's subscribed WebSocket so that each such test
also checks that nobody else was affected.
"""

import json
import random
import threading
import time

import pytest

import ws
from wire import ACCEPTED, frame, lp_query, mux_query
from ws import BINARY, CONTINUATION, PING, PING_JSON, PONG_JSON, RSV1, RSV2, RSV3, TEXT, encode_frame

pytestmark = [pytest.mark.extension]


from wire import numbered_frame as m


def sync(sock: ws.WebSocket) -> None:
    """A ping message answered: the connection is open and working."""
    sock.send_text(PING_JSON)
    assert sock.recv_text() == PONG_JSON


class Bystander:
    """Another client's single-channel WebSocket, subscribed and waiting on its own channel."""

    def __init__(self, server, channel):
        self.server, self.channel, self.sequence = server, channel, 0
        self.sock = ws.connect(server, channel)
        self.sock.send_json({"last_message_sequence": 0})
        sync(self.sock)

    def check(self) -> None:
        """It still receives what is published to its channel."""
        self.sequence += 1
        self.server.publish(self.channel, f"bystander-{self.sequence}")
        assert self.sock.recv_text() == frame(f"bystander-{self.sequence}", self.sequence)


@pytest.fixture
def bystander(server, channel) -> Bystander:
    return Bystander(server, f"{channel}/bystander")


# --- WSX-1 .. WSX-3: input the reference crashes on -----------------------------------------------

NON_OBJECTS = ["5", "1.5", "[1]", '"x"', "null", "true", "false", "[]", '[{"last_message_sequence":5}]', '"PING"']


@pytest.mark.clause("WSX-1", "WS-10")
@pytest.mark.parametrize("text", NON_OBJECTS)
def test_wsx_1_non_object_json_before_subscribing_subscribes_at_zero(server, eight, bystander, text):
    sock = ws.connect(server, eight)
    sock.send_text(text)
    assert sock.recv_text() == m(8)
    sync(sock)
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)
    bystander.check()


@pytest.mark.clause("WSX-1", "WS-12")
@pytest.mark.parametrize("text", NON_OBJECTS)
def test_wsx_1_non_object_json_after_subscribing_is_ignored(server, eight, bystander, text):
    sock = ws.connect(server, eight)
    sock.send_json({"last_message_sequence": 7})
    assert sock.recv_text() == m(8)
    sock.send_text(text)
    sock.assert_silent(0.5)
    sync(sock)
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)
    bystander.check()


@pytest.mark.clause("WSX-2", "WS-10")
@pytest.mark.parametrize(
    "text",
    ['{"last_message_sequence":true}', '{"last_message_sequence":[5]}', '{"last_message_sequence":[]}',
     '{"last_message_sequence":{"last_message_sequence":5}}', '{"last_message_sequence":{}}',
     '{"message_sequence":true}', '{"message_sequence":false}', '{"message_sequence":[5]}',
     '{"last_message_sequence":false}'],
    ids=["true", "array", "empty-array", "object", "empty-object", "message-sequence-true",
         "message-sequence-false", "message-sequence-array", "false"],
)
def test_wsx_2_unusable_sequence_counts_as_zero(server, eight, bystander, text):
    sock = ws.connect(server, eight)
    sock.send_text(text)
    assert sock.recv_text() == m(8)
    sock.assert_silent(0.3)
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)
    bystander.check()


@pytest.mark.clause("WSX-2", "WSX-13")
@pytest.mark.parametrize(
    "text",
    ['{"last_message_sequence":1e300}', '{"message_sequence":1.7976931348623157e308}',
     '{"last_message_sequence":"99999999999999999999999"}', '{"last_message_sequence":99999999999999999999999}'],
    ids=["1e300", "max-double", "long-digit-string", "long-integer"],
)
def test_wsx_2_huge_sequence_is_far_ahead(server, eight, bystander, text):
    sock = ws.connect(server, eight)
    sock.send_text(text)
    assert sock.recv_texts(8) == [m(i) for i in range(1, 9)]  # far ahead: the whole buffer (WSX-13)
    sock.assert_silent(0.3)
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)
    bystander.check()


@pytest.mark.clause("WSX-2", "WS-10")
@pytest.mark.parametrize(
    "text",
    ['{"last_message_sequence":-1e300}', '{"last_message_sequence":"-99999999999999999999999"}',
     '{"last_message_sequence":-99999999999999999999999}'],
    ids=["minus-1e300", "long-negative-string", "long-negative-integer"],
)
def test_wsx_2_huge_negative_sequence_gives_the_newest(server, eight, bystander, text):
    sock = ws.connect(server, eight)
    sock.send_text(text)
    assert sock.recv_text() == m(8)
    sock.assert_silent(0.3)
    bystander.check()


@pytest.mark.clause("WSX-2", "WSM-6")
def test_wsx_2_mux_entries(server, ab, bystander):
    a, b = ab
    sock = ws.connect(server, "/channels@firehose")
    sock.send_text(json.dumps({"multiplex_subscribe": [
        {"channel": a, "last_message_sequence": True},
        {"channel": b, "last_message_sequence": [1]},
    ]}))
    assert sock.recv_texts(2) == [frame("a-3", 3, channel=a), frame("b-3", 3, channel=b)]
    c = f"{a}-c"
    sock.send_text('{"multiplex_subscribe":{"channel":"%s","message_sequence":1e300}}' % c)
    sock.assert_silent()
    server.publish(c, "c-1")
    assert sock.recv_text() == frame("c-1", 1, channel=c)
    bystander.check()


@pytest.mark.clause("WSX-3", "WSM-10")
@pytest.mark.parametrize(
    "text",
    ['{"multiplex_subscribe":"@a"}', '{"multiplex_subscribe":5}', '{"multiplex_subscribe":true}',
     '{"multiplex_subscribe":"@a!0"}', "5", '"x"', "null", "true", "[1]", "[]",
     '[{"multiplex_subscribe":{"channel":"@a","last_message_sequence":0}}]', '["@a"]'],
    ids=["subscribe-string", "subscribe-number", "subscribe-true", "subscribe-query-syntax", "number", "string", "null",
         "true", "array", "empty-array", "array-of-commands", "array-of-names"],
)
def test_wsx_3_mux_non_object_input_is_ignored(server, ab, bystander, text):
    a, b = ab
    sock = ws.connect(server, mux_query(f"{b}!3"))
    sock.send_text(ab.fill(text))
    sock.assert_silent()
    sync(sock)
    server.publish(a, "a-4")  # nothing subscribed a
    sock.assert_silent(0.5)
    server.publish(b, "b-4")  # the query subscription is intact
    assert sock.recv_text() == frame("b-4", 4, channel=b)
    bystander.check()


@pytest.mark.clause("WSX-3", "WSM-6")
def test_wsx_3_bad_entries_are_skipped(server, ab, bystander):
    a, b = ab
    sock = ws.connect(server, "/channels@firehose")
    sock.send_json({"multiplex_subscribe": [
        a, 5, None, True, [a, 0],
        {"channel": 5, "last_message_sequence": 0},
        {"channel": [a], "last_message_sequence": 0},
        {"channel": {"name": a}, "last_message_sequence": 0},
        {"channel": b, "last_message_sequence": 2},
    ]})
    assert sock.recv_text() == frame("b-3", 3, channel=b)
    sock.assert_silent(0.5)
    sync(sock)
    server.publish(a, "a-4")
    sock.assert_silent(0.5)
    bystander.check()


# --- WSX-4 .. WSX-6: frames we refuse ------------------------------------------------------------

INVALID_UTF8 = [b'{"ping":"\xff"}', b"caf\xe9", b'{"x":"\xed\xa0\x80"}', b"\xc0\xaf", b'{"x":"snow\xe2\x98"}',
                b"\xf4\x90\x80\x80", b'{"last_message_sequence":0}\x80']
INVALID_UTF8_IDS = ["byte-ff", "latin-1", "surrogate", "overlong", "truncated", "above-10ffff", "stray-continuation"]


@pytest.mark.clause("WSX-4")
@pytest.mark.parametrize("payload", INVALID_UTF8, ids=INVALID_UTF8_IDS)
@pytest.mark.parametrize("when", ["before-subscribing", "after-subscribing"])
def test_wsx_4_invalid_utf8_text_closes_with_1007(server, eight, bystander, payload, when):
    sock = ws.connect(server, eight)
    if when == "after-subscribing":
        sock.send_json({"last_message_sequence": 7})
        assert sock.recv_text() == m(8)
    sock.send_text(payload)
    sock.expect_close(1007)
    bystander.check()


@pytest.mark.clause("WSX-4", "WSX-7")
def test_wsx_4_invalid_utf8_across_fragments_closes_with_1007(server, eight):
    sock = ws.connect(server, eight)
    sock.send_fragmented([b'{"ping":"PING","x":"', b"\xe2\x98", b'"}'])  # a snowman missing its last byte
    sock.expect_close(1007)


@pytest.mark.clause("WSX-4", "WSM-10")
def test_wsx_4_invalid_utf8_on_the_mux_endpoint_closes_with_1007(server, ab):
    sock = ws.connect(server, mux_query(f"{ab.a}!3"))
    sock.send_text(b'{"multiplex_subscribe":{"channel":"\xff"}}')
    sock.expect_close(1007)


@pytest.mark.clause("WSX-4", "WS-11")
def test_wsx_4_binary_payload_is_not_checked(server, eight):
    sock = ws.connect(server, eight)
    sock.send_json({"last_message_sequence": 7})
    assert sock.recv_text() == m(8)
    sock.send_binary(b"\xff\xfe\xc0\xaf")
    sock.assert_silent(0.5)
    sync(sock)


BROKEN_FRAMES = {
    "unmasked-text": encode_frame(TEXT, PING_JSON, mask=False),
    "unmasked-ping": encode_frame(PING, b"x", mask=False),
    "unmasked-close": encode_frame(ws.CLOSE, ws.close_payload(1000), mask=False),
    "rsv1": encode_frame(TEXT, PING_JSON, rsv=RSV1),
    "rsv2": encode_frame(TEXT, PING_JSON, rsv=RSV2),
    "rsv3": encode_frame(TEXT, PING_JSON, rsv=RSV3),
    "rsv1-on-ping": encode_frame(PING, b"x", rsv=RSV1),
    "opcode-3": encode_frame(0x3, PING_JSON),
    "opcode-7": encode_frame(0x7, b""),
    "opcode-11": encode_frame(0xB, b""),
    "opcode-15": encode_frame(0xF, b"x"),
    "fragmented-ping": encode_frame(PING, b"ab", fin=False),
    "ping-over-125": encode_frame(PING, b"x" * 126),
    "stray-continuation": encode_frame(CONTINUATION, PING_JSON),
    "text-inside-fragmented-message": encode_frame(TEXT, b'{"pi', fin=False) + encode_frame(TEXT, PING_JSON),
    "binary-inside-fragmented-message": encode_frame(TEXT, b'{"pi', fin=False) + encode_frame(BINARY, b"x"),
}


@pytest.mark.clause("WSX-5")
@pytest.mark.parametrize("case", list(BROKEN_FRAMES))
def test_wsx_5_protocol_error_closes_with_1002(server, eight, bystander, case):
    sock = ws.connect(server, eight)
    sock.send_raw(BROKEN_FRAMES[case])
    sock.expect_close(1002)
    bystander.check()


@pytest.mark.clause("WSX-5")
@pytest.mark.parametrize("case", ["unmasked-text", "rsv1", "opcode-3"])
def test_wsx_5_protocol_error_after_subscribing(server, eight, case):
    sock = ws.connect(server, eight)
    sock.send_json({"last_message_sequence": 7})
    assert sock.recv_text() == m(8)
    sock.send_raw(BROKEN_FRAMES[case])
    sock.expect_close(1002)


@pytest.mark.clause("WSX-5", "WSM-1")
def test_wsx_5_protocol_error_on_the_mux_endpoint(server, ab):
    sock = ws.connect(server, mux_query(f"{ab.a}!3"))
    sock.send_raw(BROKEN_FRAMES["unmasked-text"])
    sock.expect_close(1002)


@pytest.mark.clause("WSX-6", "WSX-7")
def test_wsx_6_64_kib_messages_are_accepted(server, eight):
    size = 64 * 1024
    sock = ws.connect(server, eight)
    ping = json.dumps({"ping": "PING", "pad": ""}, separators=(",", ":"))
    ping = ping.replace('"pad":""', '"pad":"' + "p" * (size - len(ping)) + '"')
    assert len(ping) == size
    sock.send_text(ping)
    assert sock.recv_text() == PONG_JSON
    pieces = [ping[i:i + 10000].encode() for i in range(0, size, 10000)]
    sock.send_fragmented(pieces)  # the same size in fragments
    assert sock.recv_text() == PONG_JSON
    subscribe = '{"last_message_sequence":7,"pad":"' + "s" * (size - 36) + '"}'
    assert len(subscribe) == size
    sock.send_text(subscribe)
    assert sock.recv_text() == m(8)


@pytest.mark.clause("WSX-6")
@pytest.mark.parametrize("opcode", [TEXT, BINARY])
def test_wsx_6_oversized_frame_header_closes_with_1009(server, eight, bystander, opcode):
    sock = ws.connect(server, eight)
    # The header announces 64 MiB; only its first KiB follows.
    sock.send_raw(encode_frame(opcode, b"x" * 1024, announce=64 * 2**20))
    sock.expect_close(1009)
    bystander.check()


@pytest.mark.clause("WSX-6", "WSX-7")
def test_wsx_6_oversized_fragmented_message_closes_with_1009(server, eight):
    sock = ws.connect(server, eight)
    sock.send_raw(encode_frame(TEXT, b"x" * 1024, fin=False) + encode_frame(CONTINUATION, b"x" * 1024, announce=64 * 2**20))
    sock.expect_close(1009)


@pytest.mark.clause("WSX-6")
def test_wsx_6_oversized_on_the_mux_endpoint(server, ab):
    sock = ws.connect(server, mux_query(f"{ab.a}!3"))
    sock.send_raw(encode_frame(TEXT, b"x" * 1024, announce=64 * 2**20))
    sock.expect_close(1009)


# --- WSX-7, WSX-8: fragments, early frames ----------------------------------------------------------


@pytest.mark.clause("WSX-7")
@pytest.mark.parametrize(
    "pieces",
    [[b'{"pi', b'ng":"PI', b'NG"}'], [b"", PING_JSON, b""], [bytes([b]) for b in PING_JSON],
     [b'{"ping":"PING","x":"\xe2', b"\x98", b'\x83"}']],
    ids=["three-pieces", "empty-pieces", "one-byte-each", "character-split-across-pieces"],
)
def test_wsx_7_fragmented_ping_message(server, channel, pieces):
    sock = ws.connect(server, channel)
    sock.send_fragmented(pieces)
    assert sock.recv_text() == PONG_JSON
    sock.assert_silent(0.3)


@pytest.mark.clause("WSX-7", "WS-16")
def test_wsx_7_control_frames_between_fragments(server, channel):
    sock = ws.connect(server, channel)
    sock.send_fragmented([b'{"pi', b'ng":"PI', b'NG"}'],
                         between={0: encode_frame(PING, b"first"), 1: encode_frame(ws.PONG, b"ignored")})
    got = sock.recv_frame()
    assert (got.opcode, got.payload) == (ws.PONG, b"first"), got  # answered before the message is complete
    assert sock.recv_text() == PONG_JSON
    sock.assert_silent(0.3)


@pytest.mark.clause("WSX-7", "WS-10", "WS-13")
def test_wsx_7_fragmented_subscription(server, eight):
    sock = ws.connect(server, eight)
    sock.send_fragmented([b'{"last_message_', b'sequence":5}'])
    assert sock.recv_texts(3) == [m(6), m(7), m(8)]
    server.publish(eight, "m9")
    assert sock.recv_text() == m(9)


@pytest.mark.clause("WSX-7", "WSM-6")
def test_wsx_7_fragmented_multiplex_subscribe(server, ab):
    a, _ = ab
    text = json.dumps({"multiplex_subscribe": {"channel": a, "last_message_sequence": 1}}).encode()
    sock = ws.connect(server, "/channels@firehose")
    sock.send_fragmented([text[:7], text[7:20], text[20:]])
    assert sock.recv_texts(2) == [frame("a-2", 2, channel=a), frame("a-3", 3, channel=a)]


@pytest.mark.clause("WSX-8", "WS-9", "WS-13")
def test_wsx_8_frames_behind_the_upgrade_request(server, eight):
    extra = encode_frame(TEXT, PING_JSON) + encode_frame(TEXT, b'{"last_message_sequence":6}')
    sock = ws.connect(server, eight, extra=extra)
    assert sock.handshake.raw == ws.expected_handshake(sock.key)
    assert sock.recv_texts(3) == [PONG_JSON, m(7), m(8)]


@pytest.mark.clause("WSX-8", "WSM-6")
def test_wsx_8_frames_behind_a_mux_upgrade_request(server, ab):
    a, _ = ab
    extra = encode_frame(TEXT, json.dumps({"multiplex_subscribe": {"channel": a, "last_message_sequence": 2}}))
    sock = ws.connect(server, "/channels@firehose", extra=extra)
    assert sock.recv_text() == frame("a-3", 3, channel=a)


# --- WSX-9: no idle drop ------------------------------------------------------------------------------


@pytest.mark.clause("WSX-9", "WS-14", "WSM-5")
def test_wsx_9_idle_websockets_stay_open(server, eight, ab):
    a, _ = ab
    single = ws.connect(server, eight)
    single.send_json({"last_message_sequence": 8})
    mux = ws.connect(server, mux_query(f"{a}!3"))
    fresh = ws.connect(server, eight)  # never sends anything
    socks = (single, mux, fresh)
    deadline = time.monotonic() + server.idle_timeout + 2.0
    while time.monotonic() < deadline:
        for sock in socks:
            sock.assert_silent(0.2)  # answers the server's pings, if it sends any
    server.publish(eight, "m9")
    assert single.recv_text() == m(9)
    server.publish(a, "a-4")
    assert mux.recv_text() == frame("a-4", 4, channel=a)
    sync(fresh)
    for sock in socks:
        assert all(len(p) <= 125 for p in sock.pings), sock.pings


# --- WSX-10: nothing lost under load ---------------------------------------------------------------

TOTAL = 200


def _ws_reader(sock, on_frame, done, problems, name):
    """Read frames until `done()`; hand each parsed frame to `on_frame`."""
    try:
        deadline = time.monotonic() + 10
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("timed out")
            on_frame(json.loads(sock.recv_text(remaining)))
    except Exception as exc:  # reported in the test's thread
        problems.append(f"{name}: {exc!r}")


def _publish_randomly(server, targets, rng):
    """PUT TOTAL messages with 0-5 ms gaps; `targets()` picks each one's (channel, body)."""
    with server.connect() as publisher:
        for _ in range(TOTAL):
            ch, body = targets()
            assert publisher.put(ch, body).raw == ACCEPTED
            time.sleep(rng.uniform(0, 0.005))


@pytest.mark.clause("WSX-10", "WS-15", "EXT-12")
def test_wsx_10_no_message_lost_on_one_channel(server, channel):
    server.publish(channel, "m-1")  # every consumer starts from sequence 1
    expected = list(range(2, TOTAL + 2))
    received = {name: [] for name in ("ws-0", "ws-1", "lp-0", "lp-1")}
    problems = []

    socks = []
    for _ in range(2):
        sock = ws.connect(server, channel)
        sock.send_json({"last_message_sequence": 1})
        sync(sock)
        socks.append(sock)

    def on_ws_frame(name):
        def handle(data):
            if data["message"] != f"m-{data['last_sequence']}":
                problems.append(f"{name}: {data!r}")
            received[name].append(data["last_sequence"])
        return handle

    def long_poll(name):
        deadline = time.monotonic() + 10
        server.follow_long_poll(channel, 1, expected[-1], name, received[name], problems,
                                keep_going=lambda: time.monotonic() < deadline)

    threads = [threading.Thread(target=_ws_reader, daemon=True,
                                args=(sock, on_ws_frame(f"ws-{i}"), lambda n=f"ws-{i}": len(received[n]) >= TOTAL,
                                      problems, f"ws-{i}"))
               for i, sock in enumerate(socks)]
    threads += [threading.Thread(target=long_poll, args=(f"lp-{i}",), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    counter = iter(expected)
    _publish_randomly(server, lambda: (channel, f"m-{next(counter)}"), random.Random(channel))
    for thread in threads:
        thread.join(timeout=10)
    assert not problems, problems
    for name, got in received.items():
        missing = sorted(set(expected) - set(got))
        assert got == expected, f"{name}: received {len(got)} of {TOTAL}, missing {missing[:20]}, first {got[:10]}"


@pytest.mark.clause("WSX-10", "WSM-5", "EXT-1", "EXT-12")
def test_wsx_10_no_message_lost_on_three_multiplexed_channels(server, channel):
    names = ("a", "b", "c")
    chans = {n: f"{channel}/{n}" for n in names}
    by_channel = {ch: n for n, ch in chans.items()}
    for n, ch in chans.items():
        server.publish(ch, f"{n}-1")  # every consumer starts from sequence 1 on each channel
    rng = random.Random(channel)
    plan = [rng.choice(names) for _ in range(TOTAL)]
    expected = {n: list(range(2, plan.count(n) + 2)) for n in names}
    received = {kind: {n: [] for n in names} for kind in ("ws", "lp")}
    problems = []

    def count(kind):
        return sum(len(v) for v in received[kind].values())

    def record(kind, data):
        n = by_channel.get(data.get("channel"))
        if n is None or data["message"] != f"{n}-{data['last_sequence']}":
            problems.append(f"{kind}: unexpected frame {data!r}")
            return
        received[kind][n].append(data["last_sequence"])

    sock = ws.connect(server, mux_query(*(f"{ch}!1" for ch in chans.values())))
    sync(sock)

    def long_poll():
        try:
            deadline = time.monotonic() + 10
            last = {n: 1 for n in names}
            with server.connect(timeout=server.longpoll_wait) as conn:
                while count("lp") < TOTAL and time.monotonic() < deadline:
                    resp = conn.get(mux_query(*(f"{chans[n]}!{last[n]}" for n in names)))
                    if resp.status == 204:
                        continue
                    assert resp.status == 200, resp
                    data = resp.json()
                    record("lp", data)
                    n = by_channel.get(data["channel"])
                    if n is not None:
                        last[n] = data["last_sequence"]
        except Exception as exc:
            problems.append(f"lp: {exc!r}")

    threads = [threading.Thread(target=_ws_reader, daemon=True,
                                args=(sock, lambda d: record("ws", d), lambda: count("ws") >= TOTAL, problems, "ws")),
               threading.Thread(target=long_poll, daemon=True)]
    for thread in threads:
        thread.start()
    next_sequence = {n: 2 for n in names}
    steps = iter(plan)

    def target():
        n = next(steps)
        sequence = next_sequence[n]
        next_sequence[n] += 1
        return chans[n], f"{n}-{sequence}"

    _publish_randomly(server, target, rng)
    for thread in threads:
        thread.join(timeout=10)
    assert not problems, problems[:20]
    for kind in ("ws", "lp"):
        for n in names:
            got = received[kind][n]
            assert got == expected[n], (f"{kind} {n}: received {len(got)} of {len(expected[n])}, "
                                        f"missing {sorted(set(expected[n]) - set(got))[:20]}")


# --- WSX-12: no gap under a burst ---------------------------------------------------------------


@pytest.mark.clause("WSX-12", "WS-15")
def test_wsx_12_burst_reaches_every_socket_without_gap(server, eight):
    socks = []
    for _ in range(3):
        sock = ws.connect(server, eight)
        sock.send_json({"last_message_sequence": 8})
        sync(sock)  # subscribed (at the newest: nothing to catch up) before the burst starts
        socks.append(sock)
    server.publish_many(eight, [f"m{i}" for i in range(9, 59)])
    for sock in socks:
        assert sock.recv_texts(50) == [m(i) for i in range(9, 59)]
        sock.assert_silent(0.3)


# --- WSX-11: a ping during a catch-up ------------------------------------------------------------------


@pytest.mark.clause("WSX-11", "WS-9", "WS-13")
@pytest.mark.parametrize("n, expected", [(0, [30]), (1, list(range(2, 31)))], ids=["newest", "29-missed"])
def test_wsx_11_pong_during_catch_up(server, channel, n, expected):
    server.publish_many(channel, [f"m{i}" for i in range(1, 31)])
    sock = ws.connect(server, channel)
    subscribe = json.dumps({"last_message_sequence": n}).encode()
    sock.send_raw(encode_frame(TEXT, subscribe) + encode_frame(TEXT, PING_JSON))  # one TCP write
    got = sock.recv_texts(len(expected) + 1)  # each one a well-formed text frame
    assert got.count(PONG_JSON) == 1, got
    assert [g for g in got if g != PONG_JSON] == [m(i) for i in expected]
    sock.assert_silent(0.3)
    server.publish(channel, "m31")
    assert sock.recv_text() == m(31)


@pytest.mark.clause("WSX-11", "WSM-4", "WSM-9")
def test_wsx_11_pong_during_mux_catch_up(server, channel):
    a, b = f"{channel}/a", f"{channel}/b"
    server.publish_many(a, [f"a-{i}" for i in range(1, 21)])
    server.publish_many(b, [f"b-{i}" for i in range(1, 11)])
    sock = ws.connect(server, "/channels@firehose")
    subscribe = json.dumps({"multiplex_subscribe": [{"channel": a, "last_message_sequence": 1},
                                                    {"channel": b, "last_message_sequence": 1}]}).encode()
    sock.send_raw(encode_frame(TEXT, subscribe) + encode_frame(TEXT, PING_JSON))
    got = sock.recv_texts(19 + 9 + 1)
    assert got.count(PONG_JSON) == 1, got
    rest = [g for g in got if g != PONG_JSON]
    assert rest == ([frame(f"a-{i}", i, channel=a) for i in range(2, 21)]
                    + [frame(f"b-{i}", i, channel=b) for i in range(2, 11)])
    sock.assert_silent(0.3)


# --- WSX-13: a subscription ahead of its channel (the channel was reset) -------------------------


def _reset(server, channel, after=2):
    """old1..old3, the channel reset (max-age=0 on old3 expires it at once, as a restart or flush
    would empty it), then new1..new<after> from sequence 1 again."""
    server.publish_many(channel, ["old1", "old2"])
    assert server.publish(channel, "old3", {"Cache-Control": "max-age=0"}).raw == ACCEPTED
    server.publish_many(channel, [f"new{i}" for i in range(1, after + 1)])


@pytest.mark.clause("WSX-13", "WS-14")
def test_wsx_13_reset_channel_gives_the_new_generation(server, channel):
    _reset(server, channel)
    sock = ws.connect(server, channel)
    sock.send_json({"last_message_sequence": 3})
    assert sock.recv_texts(2) == [frame("new1", 1), frame("new2", 2)]
    sock.assert_silent(0.3)
    server.publish(channel, "new3")
    assert sock.recv_text() == frame("new3", 3)


@pytest.mark.clause("WSX-13", "WS-14")
def test_wsx_13_reset_and_empty_waits_for_the_next(server, channel):
    _reset(server, channel, after=0)
    sock = ws.connect(server, channel)
    sock.send_json({"last_message_sequence": 3})
    sock.assert_silent()
    server.publish(channel, "new1")
    assert sock.recv_text() == frame("new1", 1)


@pytest.mark.clause("WSX-13", "WSM-4")
def test_wsx_13_mux_query_ahead(server, ab):
    a, b = ab
    sock = ws.connect(server, mux_query(f"{a}!7", f"{b}!0"))
    assert sock.recv_texts(4) == [frame(f"a-{i}", i, channel=a) for i in (1, 2, 3)] + [frame("b-3", 3, channel=b)]
    sock.assert_silent(0.3)


@pytest.mark.clause("WSX-13", "WSM-6")
def test_wsx_13_mux_subscribe_message_on_a_reset_channel(server, channel):
    _reset(server, channel)
    sock = ws.connect(server, "/channels@firehose")
    sock.send_json({"multiplex_subscribe": {"channel": channel, "last_message_sequence": 3}})
    assert sock.recv_texts(2) == [frame("new1", 1, channel=channel), frame("new2", 2, channel=channel)]
