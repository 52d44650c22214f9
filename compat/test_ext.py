"""EXT: our deliberate deviations from the reference server (spec/http.md, EXT-n).

Every test here carries @pytest.mark.extension; `pytest -m "not extension"` leaves exactly the
tests a faithful Firehose 1.x server (the Ruby one included) must pass.
"""

import json
import random
import threading
import time

import pytest

from wire import ACCEPTED, NEGATIVE_BODY, build_request, expected_response, frame, lp_query, mux_query


def _mux_ok(message, sequence, channel):
    return expected_response(200, frame(message, sequence, channel=channel))


# --- EXT-1: one response per multiplexed request ---------------------------------------------


@pytest.mark.extension
@pytest.mark.clause("EXT-1", "MUX-4")
def test_ext_1_mux_get_answers_once_when_several_channels_have_data(server, ab, conn):
    a, b = ab
    assert conn.get(mux_query(f"{a}!0", f"{b}!0")).raw == _mux_ok("a-3", 3, a)
    conn.assert_silent(1.0)
    assert conn.get(mux_query(f"{b}!1", f"{a}!0")).raw == _mux_ok("b-2", 2, b)
    conn.assert_silent(1.0)
    assert conn.get(lp_query(a, 1)).raw == expected_response(200, frame("a-2", 2))


@pytest.mark.extension
@pytest.mark.clause("EXT-1", "MUX-4", "MUX-6")
def test_ext_1_mux_no_stray_204_for_an_empty_channel(server, ab, conn):
    a, _ = ab
    empty = f"{a}-empty"
    assert conn.get(mux_query(f"{a}!0", f"{empty}!0")).raw == _mux_ok("a-3", 3, a)
    conn.assert_silent(server.quiet_after_longpoll)  # the reference sends a stray 204 here
    assert conn.get(mux_query(f"{empty}!0", f"{a}!1")).raw == _mux_ok("a-2", 2, a)
    conn.assert_silent(1.0)


@pytest.mark.extension
@pytest.mark.clause("EXT-1", "MUX-6")
def test_ext_1_mux_timeout_is_a_single_204(server, channel):
    y, z = f"{channel}/y", f"{channel}/z"
    conn = server.connect(timeout=server.longpoll_wait)
    resp = conn.get(mux_query(f"{y}!0", f"{z}!0"))
    assert resp.raw == expected_response(204)
    conn.assert_silent(1.0)  # the reference sends a second 204 here
    server.publish(z, "z-1")
    assert conn.get(mux_query(f"{y}!0", f"{z}!0")).raw == _mux_ok("z-1", 1, z)


@pytest.mark.extension
@pytest.mark.clause("EXT-1", "MUX-5")
def test_ext_1_mux_waiting_request_answers_once(server, ab, conn):
    a, b = ab
    conn.timeout = server.longpoll_wait
    conn.send_request("GET", mux_query(f"{a}!3", f"{b}!3"))
    conn.assert_silent()
    server.publish(b, "b-4")
    assert conn.read_response().raw == _mux_ok("b-4", 4, b)
    server.publish(a, "a-4")  # the request was answered: this must not reach the connection
    conn.assert_silent(1.0)
    assert conn.get(mux_query(f"{a}!3", f"{b}!4")).raw == _mux_ok("a-4", 4, a)


@pytest.mark.extension
@pytest.mark.clause("EXT-1", "MUX-8")
def test_ext_1_mux_post_answers_once(server, ab, conn):
    a, b = ab
    assert conn.post("/channels@firehose", json.dumps({a: 0, b: 0})).raw == _mux_ok("a-3", 3, a)
    conn.assert_silent(1.0)
    assert conn.post("/channels@firehose", json.dumps([[b, 1], [a, 0]])).raw == _mux_ok("b-2", 2, b)
    conn.assert_silent(1.0)


# --- EXT-2 / EXT-3: POST bodies the reference dies on -----------------------------------------


@pytest.mark.extension
@pytest.mark.clause("EXT-2", "MUX-8")
@pytest.mark.parametrize(
    "body, expect",
    [
        ('{"@a":"1"}', ("a", 2)),
        ('{"@a":"1","@b":"2"}', ("a", 2)),
        ('{"@a":"3","@b":"1x"}', ("b", 2)),
        ('{"@a":"abc"}', ("a", 3)),
        ('{"@a":{"last_message_sequence":"2"}}', ("a", 3)),
        ('{"@a":{"message_sequence":2}}', ("a", 3)),
        ('{"@a":{"message_sequence":"1","params":{}}}', ("a", 2)),
        ('[["@a","1"]]', ("a", 2)),
    ],
    ids=["string", "protocol-md-example", "lenient-string", "non-numeric-string", "string-in-object",
         "message-sequence-key", "message-sequence-string", "string-in-pairs"],
)
def test_ext_2_mux_post_string_sequences_and_message_sequence(server, ab, conn, body, expect):
    resp = conn.post("/channels@firehose", ab.fill(body))
    assert resp.raw == _mux_ok(f"{expect[0]}-{expect[1]}", expect[1], ab.name(expect[0]))
    conn.assert_silent(0.3)


@pytest.mark.extension
@pytest.mark.clause("EXT-2", "MUX-9")
def test_ext_2_mux_post_negative_string_is_400(server, ab, conn):
    a, _ = ab
    resp = conn.post("/channels@firehose", json.dumps({a: "-1"}))
    assert resp.raw == expected_response(400, NEGATIVE_BODY)


@pytest.mark.extension
@pytest.mark.clause("EXT-3")
@pytest.mark.parametrize(
    "body",
    ['{"@a":null}', '{"@a":true}', '{"@a":false}', '{"@a":[1]}', '{"@a":{"params":{"x":"y"}}}', '{"@a":{}}',
     '"x"', "5", "null", "true", "[1]"],
    ids=["null-value", "true-value", "false-value", "array-value", "object-without-sequence", "empty-object-value",
         "string-body", "number-body", "null-body", "true-body", "array-of-non-pairs"],
)
def test_ext_3_mux_post_unusable_body_is_400_json(server, ab, conn, body):
    a, _ = ab
    resp = conn.post("/channels@firehose", ab.fill(body), {"Origin": "http://example.com"})
    assert resp.status_line == "HTTP/1.1 400 Bad Request", resp
    assert resp.header_names == ["Content-Length", "Access-Control-Allow-Origin", "Connection", "Server"], resp
    assert int(resp.header("Content-Length")) == len(resp.body)
    assert resp.json_keys()[:2] == ["error", "reason"], resp
    data = resp.json()
    assert data["error"] == "Subscription failed", resp
    assert isinstance(data["reason"], str) and data["reason"], resp
    # Nothing was subscribed and the connection still works.
    conn.assert_silent(0.3)
    assert conn.get(mux_query(f"{a}!2")).raw == _mux_ok("a-3", 3, a)


# --- EXT-4: invalid UTF-8 is refused ----------------------------------------------------------


@pytest.mark.extension
@pytest.mark.clause("EXT-4")
@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe\x80abc", b"caf\xe9", b"snow\xe2\x98", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ok\x80"],
    ids=["bytes-ff-fe-80", "latin-1", "truncated", "overlong", "surrogate", "above-10ffff", "stray-continuation"],
)
def test_ext_4_invalid_utf8_put_is_refused(server, channel, conn, body):
    server.publish(channel, "ok")
    waiter = server.waiting(lp_query(channel, 1), quiet=0.3)

    resp = conn.put(channel, body)
    assert resp.status_line == "HTTP/1.1 400 Bad Request", resp
    assert resp.header_names == ["Content-Length", "Content-Type", "Connection", "Server"], resp
    assert resp.header("Content-Type") == "text/plain", resp
    assert int(resp.header("Content-Length")) == len(resp.body) > 0, resp
    resp.body.decode("utf-8")  # the reason itself is text

    waiter.assert_silent(0.3)  # nobody was woken (the read below would also catch a wrong wake-up)
    assert server.latest(channel) == ("ok", 1)  # nothing stored
    server.publish(channel, "next")
    assert waiter.read_response().raw == expected_response(200, frame("next", 2))  # sequence not used up


# --- EXT-5 .. EXT-10: HTTP handling -----------------------------------------------------------


def _req(conn, method, target, body=None, headers=None):
    return build_request(method, target, body, headers, host=conn.hostport)


@pytest.mark.extension
@pytest.mark.clause("EXT-5")
def test_ext_5_pipelined_put_then_get(server, channel, conn):
    conn.send(_req(conn, "PUT", channel, b"piped") + _req(conn, "GET", channel))
    assert conn.read_response().raw == ACCEPTED
    assert conn.read_response().raw == expected_response(200, frame("piped", 1))


@pytest.mark.extension
@pytest.mark.clause("EXT-5")
def test_ext_5_pipelined_gets(server, channel, conn):
    server.publish_many(channel, ["one", "two"])
    conn.send(_req(conn, "GET", channel) + _req(conn, "GET", lp_query(channel, 1)) + _req(conn, "HEAD", channel))
    assert conn.read_response().raw == expected_response(200, frame("two", 2))
    assert conn.read_response().raw == expected_response(200, frame("two", 2))
    assert conn.read_response(head_request=True).raw == expected_response(200)


@pytest.mark.extension
@pytest.mark.clause("EXT-5")
def test_ext_5_waiting_request_holds_back_the_next_answer(server, channel, conn):
    server.publish(channel, "one")
    conn.timeout = server.longpoll_wait
    conn.send(_req(conn, "GET", lp_query(channel, 1)) + _req(conn, "HEAD", channel))
    conn.assert_silent()  # the HEAD answer may not overtake the waiting GET
    server.publish(channel, "two")
    assert conn.read_response().raw == expected_response(200, frame("two", 2))
    assert conn.read_response(head_request=True).raw == expected_response(200)


@pytest.mark.extension
@pytest.mark.clause("EXT-6")
def test_ext_6_expect_100_continue(server, channel, conn):
    body = b"sent after the interim response"
    request = _req(conn, "PUT", channel, body, {"Expect": "100-continue"})
    conn.send(request[: -len(body)])
    interim = conn.read_response(timeout=1.0)
    assert interim.raw == b"HTTP/1.1 100 Continue\r\n\r\n"
    conn.send(body)
    assert conn.read_response().raw == ACCEPTED
    assert server.latest(channel) == (body.decode(), 1)


@pytest.mark.extension
@pytest.mark.clause("EXT-7")
@pytest.mark.parametrize(
    "chunked, stored",
    [(b"3\r\nchu\r\n3\r\nnky\r\n0\r\n\r\n", "chunky"), (b"a;ext=1\r\n0123456789\r\n0\r\n\r\n", "0123456789")],
    ids=["two-chunks", "hex-size-and-extension"],
)
def test_ext_7_chunked_body_is_dechunked(server, channel, conn, chunked, stored):
    resp = conn.request("PUT", channel, chunked, {"Transfer-Encoding": "chunked"})
    assert resp.raw == ACCEPTED
    # The terminating chunk was consumed: the connection serves the next request normally.
    assert conn.get(channel).raw == expected_response(200, frame(stored, 1))


@pytest.mark.extension
@pytest.mark.clause("EXT-8")
def test_ext_8_content_length_is_enforced(server, channel, conn):
    conn.send(f"PUT {channel} HTTP/1.1\r\nHost: {conn.hostport}\r\nContent-Length: 2\r\n\r\nhello".encode())
    assert conn.read_response().raw == ACCEPTED
    # ("llo" is then parsed as the start of another request; what happens to it is FR-9's business.)
    assert server.latest(channel) == ("he", 1)


@pytest.mark.extension
@pytest.mark.clause("EXT-9")
def test_ext_9_oversized_body_is_413_and_closed(server, channel, conn):
    with server.connect(timeout=30) as big_but_fine:
        assert big_but_fine.put(f"{channel}/2mib", b"x" * 2**21).raw == ACCEPTED  # 2 MiB: always accepted
    conn.send(f"PUT {channel} HTTP/1.1\r\nHost: {conn.hostport}\r\nContent-Length: 1073741824\r\n\r\n".encode())
    resp = conn.read_response()
    assert resp.status == 413 and resp.status_line.startswith("HTTP/1.1 413 "), resp
    conn.wait_closed(2.0)


@pytest.mark.extension
@pytest.mark.clause("EXT-10")
def test_ext_10_oversized_header_block_is_refused_and_closed(server, channel, conn):
    server.publish(channel, "x")
    modest = conn.get(channel, {"X-Padding": "p" * 6000})  # well under 8 KiB: accepted
    assert modest.raw == expected_response(200, frame("x", 1))

    big = server.connect()
    try:
        big.send(_req(big, "GET", channel, None, {"X-Padding": "p" * 102400}))
    except OSError:
        pass  # the server may stop reading (and reset) before we finish sending
    resp = big.read_response()
    assert resp.status in (431, 400) and resp.status_line.startswith(f"HTTP/1.1 {resp.status} "), resp
    big.wait_closed(2.0)


# --- EXT-11, EXT-12 ----------------------------------------------------------------------------


@pytest.mark.extension
@pytest.mark.clause("EXT-11", "LP-6")
def test_ext_11_waiting_long_poll_is_not_cut_by_idle_timer(server, channel):
    """Discriminating only when LONGPOLL_TIMEOUT >= IDLE_TIMEOUT on the server under test; with
    shorter long-polls it still checks that the wait ends in a 204 and not in a close."""
    conn = server.connect(timeout=server.longpoll_wait)
    started = time.monotonic()
    resp = conn.get(channel)
    assert resp.raw == expected_response(204)
    assert resp.at - started >= 0.9 * server.longpoll_timeout
    assert conn.head(channel).raw == expected_response(200)


@pytest.mark.extension
@pytest.mark.clause("EXT-12", "LP-2")
def test_ext_12_no_message_is_lost_while_publishing(server, channel):
    total = 200
    server.publish(channel, "m-1")  # consumers start from here, so none can start late
    expected = list(range(2, total + 2))
    received = {0: [], 1: []}
    problems = []
    stop = threading.Event()

    def consume(idx):
        server.follow_long_poll(channel, 1, expected[-1], f"consumer {idx}", received[idx], problems,
                                keep_going=lambda: not stop.is_set())

    threads = [threading.Thread(target=consume, args=(i,), daemon=True) for i in received]
    for thread in threads:
        thread.start()
    rng = random.Random(channel)
    with server.connect() as publisher:
        for sequence in expected:
            assert publisher.put(channel, f"m-{sequence}").raw == ACCEPTED
            time.sleep(rng.uniform(0, 0.005))
    for thread in threads:
        thread.join(timeout=10)
    stop.set()
    assert not problems, problems
    for idx, got in received.items():
        missing = sorted(set(expected) - set(got))
        assert got == expected, f"consumer {idx}: missing {missing[:20]}, received {len(got)} of {total}"


# --- EXT-13: a consumer ahead of its channel (the channel was reset) -----------------------------


def _reset(server, channel, after=2):
    """old1..old3, the channel reset (max-age=0 on old3 expires it at once, as a restart or flush
    would empty it), then new1..new<after> from sequence 1 again."""
    server.publish_many(channel, ["old1", "old2"])
    assert server.publish(channel, "old3", {"Cache-Control": "max-age=0"}).raw == ACCEPTED
    server.publish_many(channel, [f"new{i}" for i in range(1, after + 1)])


@pytest.mark.extension
@pytest.mark.clause("EXT-13", "LP-4")
def test_ext_13_reset_channel_answers_the_new_generation(server, channel, conn):
    _reset(server, channel)
    assert conn.get(lp_query(channel, 3)).raw == expected_response(200, frame("new1", 1))
    assert conn.get(lp_query(channel, 1)).raw == expected_response(200, frame("new2", 2))


@pytest.mark.extension
@pytest.mark.clause("EXT-13", "LP-4")
@pytest.mark.parametrize("n", [6, 100, 2**63 - 1])
def test_ext_13_ahead_gets_the_oldest_buffered(server, channel, conn, n):
    server.publish_many(channel, [f"msg-{i}" for i in range(1, 6)])
    assert conn.get(lp_query(channel, n)).raw == expected_response(200, frame("msg-1", 1))


@pytest.mark.extension
@pytest.mark.clause("EXT-13", "PUB-8")
def test_ext_13_ahead_with_a_short_buffer_gets_the_oldest_still_buffered(server, channel, conn):
    server.publish_many(channel, [f"uw-{i}" for i in range(1, 11)], {"X-Firehose-Buffer-Size": "3"})
    assert conn.get(lp_query(channel, 12)).raw == expected_response(200, frame("uw-8", 8))


@pytest.mark.extension
@pytest.mark.clause("EXT-13", "LP-5")
def test_ext_13_reset_and_empty_waits_for_the_next(server, channel):
    _reset(server, channel, after=0)
    waiter = server.waiting(lp_query(channel, 3))
    server.publish(channel, "new1")
    assert waiter.read_response().raw == expected_response(200, frame("new1", 1))


@pytest.mark.extension
@pytest.mark.clause("EXT-13", "MUX-4")
def test_ext_13_mux_ahead_channel_has_a_message_to_give(server, ab, conn):
    a, b = ab
    assert conn.get(mux_query(f"{a}!7", f"{b}!0")).raw == _mux_ok("a-1", 1, a)


@pytest.mark.extension
@pytest.mark.clause("EXT-13", "MUX-4")
def test_ext_13_mux_reset_channel(server, channel, conn):
    reset, level = f"{channel}/reset", f"{channel}/level"
    _reset(server, reset)
    server.publish(level, "l-1")
    assert conn.post("/channels@firehose", json.dumps({level: 1, reset: 3})).raw == _mux_ok("new1", 1, reset)


# --- EXT-14: out-of-range publish options are refused before anything is stored ------------------


@pytest.mark.extension
@pytest.mark.clause("EXT-14", "PUB-6", "PUB-8")
@pytest.mark.parametrize(
    "headers, reason",
    [
        ({"Cache-Control": "max-age=2147483648"},
         b"Cache-Control max-age=2147483648 is out of range (at most 2147483647 seconds); nothing was published.\n"),
        ({"Cache-Control": "max-age=99999999999999999999999"},
         b"Cache-Control max-age=9223372036854775807 is out of range (at most 2147483647 seconds); nothing was published.\n"),
        ({"X-Firehose-Buffer-Size": "1001"},
         b"X-Firehose-Buffer-Size 1001 is out of range (at most 1000 on this server); nothing was published.\n"),
    ],
    ids=["max-age-2^31", "max-age-saturated", "buffer-size-over-limit"],
)
def test_ext_14_out_of_range_options_are_refused_and_nothing_is_stored(server, channel, conn, headers, reason):
    server.publish(channel, "kept")
    waiter = server.waiting(lp_query(channel, 1))
    resp = conn.put(channel, "refused", headers)
    assert resp.status == 400 and resp.header("Content-Type") == "text/plain" and resp.body == reason, resp
    waiter.assert_silent()
    assert server.poll(channel, 0).raw == expected_response(200, frame("kept", 1))
    server.publish(channel, "next")
    assert waiter.read_response().raw == expected_response(200, frame("next", 2))


@pytest.mark.extension
@pytest.mark.clause("EXT-14", "PUB-10")
def test_ext_14_the_longest_lifetime_and_persist_are_accepted(server, channel, conn):
    assert conn.put(channel, "longest", {"Cache-Control": "max-age=2147483647"}).raw == ACCEPTED
    assert conn.put(channel, "kept", {"Cache-Control": "max-age=99999999999999999999999", "X-Firehose-Persist": "true"}).raw == ACCEPTED
    assert conn.put(channel, "full", {"X-Firehose-Buffer-Size": "1000"}).raw == ACCEPTED
    assert server.poll(channel, 1).raw == expected_response(200, frame("kept", 2))
