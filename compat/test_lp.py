"""LP: single-channel long-poll and the replay rule (spec/http.md, LP-n)."""

import time

import pytest

from wire import NEGATIVE_BODY, expected_response, frame, lp_query


@pytest.fixture
def five(server, channel):
    """A channel holding msg-1 .. msg-5 (sequence 5, all buffered)."""
    server.publish_many(channel, [f"msg-{i}" for i in range(1, 6)])
    return channel


@pytest.mark.clause("LP-1")
def test_lp_1_no_query_returns_newest_at_once(server, five, conn):
    resp = conn.get(five)
    assert resp.raw == (b"HTTP/1.1 200 OK\r\nContent-Length: 37\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"
                        b'{"message":"msg-5","last_sequence":5}')
    assert resp.json_keys() == ["message", "last_sequence"]


@pytest.mark.clause("LP-1")
def test_lp_1_zero_returns_newest(server, five, conn):
    assert conn.get(lp_query(five, 0)).raw == expected_response(200, frame("msg-5", 5))


@pytest.mark.clause("LP-2")
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_lp_2_behind_returns_only_the_next_one(server, five, conn, n):
    assert conn.get(lp_query(five, n)).raw == expected_response(200, frame(f"msg-{n + 1}", n + 1))


@pytest.mark.clause("LP-3", "PUB-8")
@pytest.mark.parametrize("n, expected", [(0, 10), (1, 10), (6, 10), (7, 8), (8, 9), (9, 10)])
def test_lp_3_underwater_returns_newest(server, channel, n, expected):
    server.publish_many(channel, [f"uw-{i}" for i in range(1, 11)], {"X-Firehose-Buffer-Size": "3"})
    assert server.poll(channel, n).raw == expected_response(200, frame(f"uw-{expected}", expected))


@pytest.mark.clause("LP-4")
def test_lp_4_caught_up_waits_for_next(server, five):
    # Ahead of the channel (N > S) the reference waits too; ours is EXT-13 (test_ext.py).
    waiter = server.waiting(lp_query(five, 5))
    server.publish(five, "msg-6")
    assert waiter.read_response().raw == expected_response(200, frame("msg-6", 6))


@pytest.mark.clause("LP-5")
@pytest.mark.parametrize("query", ["", "?last_message_sequence=0", "?last_message_sequence=3"])
def test_lp_5_empty_channel_waits(server, channel, query):
    waiter = server.waiting(channel + query)
    server.publish(channel, "first")
    assert waiter.read_response().raw == expected_response(200, frame("first", 1))


@pytest.mark.clause("LP-6")
def test_lp_6_timeout_gives_204_and_keeps_connection(server, five, channel):
    empty = f"{channel}/never-published"
    waiters = [server.long_poll(empty), server.long_poll(lp_query(five, 5))]
    started = time.monotonic()
    for waiter in waiters:
        resp = waiter.read_response()
        elapsed = resp.at - started
        assert resp.raw == b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"
        assert elapsed >= 0.9 * server.longpoll_timeout, f"204 after only {elapsed:.2f}s"
    # The connection stays open and usable.
    for waiter in waiters:
        assert waiter.get(five).raw == expected_response(200, frame("msg-5", 5))


@pytest.mark.clause("LP-7")
@pytest.mark.parametrize("n", ["-1", "-5", "-2abc"])
def test_lp_7_negative_sequence_is_400(server, five, conn, n):
    resp = conn.get(lp_query(five, n))
    assert resp.raw == (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 61\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"
                        + NEGATIVE_BODY)


@pytest.mark.clause("LP-8")
@pytest.mark.parametrize(
    "value, meaning",
    [("abc", 0), ("", 0), ("-0", 0), ("3abc", 3), ("%203", 3), ("2.9", 2), ("+2", 2), ("0003", 3)],
    ids=["letters", "empty", "minus-zero", "digits-then-letters", "leading-space", "fraction", "plus", "zeros"],
)
def test_lp_8_lenient_integer_parsing(server, five, conn, value, meaning):
    expected = 5 if meaning == 0 else meaning + 1
    assert conn.get(lp_query(five, value)).raw == expected_response(200, frame(f"msg-{expected}", expected))


@pytest.mark.clause("LP-9")
def test_lp_9_last_occurrence_wins(server, five, conn):
    resp = conn.get(f"{five}?last_message_sequence=1&last_message_sequence=3")
    assert resp.raw == expected_response(200, frame("msg-4", 4))


@pytest.mark.clause("LP-9")
def test_lp_9_other_parameters_are_ignored(server, five, conn):
    resp = conn.get(f"{five}?foo=bar&last_message_sequence=2&baz=1&_=1700000000000")
    assert resp.raw == expected_response(200, frame("msg-3", 3))


@pytest.mark.clause("LP-9")
def test_lp_9_pragma_header_is_ignored(server, five, conn):
    assert conn.get(five, {"Pragma": "3"}).raw == expected_response(200, frame("msg-5", 5))


@pytest.mark.clause("LP-10")
def test_lp_10_every_waiter_gets_the_message(server, channel):
    waiters = [server.waiting(target, quiet=0.3)
               for target in (channel, lp_query(channel, 0), lp_query(channel, 7))]
    server.publish(channel, "to-all")
    for waiter in waiters:
        assert waiter.read_response().raw == expected_response(200, frame("to-all", 1))
