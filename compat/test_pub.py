"""PUB: publishing with PUT and its option headers (spec/http.md, PUB-n)."""

import time

import pytest

from wire import ACCEPTED, CLOSE, Server, expected_response, frame, lp_query, mux_query


@pytest.mark.clause("PUB-1")
def test_pub_1_put_is_accepted_with_exact_202(server, channel, conn):
    resp = conn.put(channel, "hello world", {"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.raw == ACCEPTED
    # The 202 comes after the message is stored: a poll started now sees it.
    assert server.poll(channel).raw == expected_response(200, frame("hello world", 1))


@pytest.mark.clause("PUB-2")
@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"a=b&c=%20d+e", "application/x-www-form-urlencoded"),
        (b'{"json": true, "n": [1, 2]}', "application/json"),
        (b"  padded both ends \r\n", None),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "text/plain"),
        (b"", None),
    ],
    ids=["form", "json", "whitespace", "looks-like-http", "empty"],
)
def test_pub_2_body_is_stored_byte_for_byte(server, channel, conn, body, content_type):
    headers = {"Content-Type": content_type} if content_type else None
    assert conn.put(channel, body, headers).raw == ACCEPTED
    assert conn.get(channel).raw == expected_response(200, frame(body, 1))


@pytest.mark.clause("PUB-3")
def test_pub_3_sequences_are_per_channel(server, channel, conn):
    a, b = f"{channel}/a", f"{channel}/b"
    for ch, body in [(a, "a1"), (b, "b1"), (a, "a2"), (a, "a3"), (b, "b2")]:
        assert conn.put(ch, body).raw == ACCEPTED
    assert server.latest(a) == ("a3", 3)
    assert server.latest(b) == ("b2", 2)
    assert server.poll(a, 1).message() == ("a2", 2)
    assert server.poll(b, 1).message() == ("b2", 2)


@pytest.mark.clause("PUB-4")
def test_pub_4_query_string_is_not_part_of_the_channel(server, channel, conn):
    assert conn.put(f"{channel}/q?x=1&last_message_sequence=7", "q").raw == ACCEPTED
    assert server.latest(f"{channel}/q") == ("q", 1)
    assert server.poll(f"{channel}/q?x=1", 0).message() == ("q", 1)


@pytest.mark.clause("PUB-4")
def test_pub_4_no_percent_decoding(server, channel, conn):
    paths = {f"{channel}/x%41": "encoded", f"{channel}/xA": "plain", f"{channel}/a%20b": "space"}
    for path, body in paths.items():
        assert conn.put(path, body).raw == ACCEPTED
    for path, body in paths.items():
        assert server.latest(path) == (body, 1), path
    # The stored name is the raw one: a multiplexed subscription (whose query is decoded once)
    # must spell it with the escape escaped, and the frame names it raw.
    resp = server.get(mux_query(f"{channel}/x%2541!0"), CLOSE)
    assert resp.raw == expected_response(200, frame("encoded", 1, channel=f"{channel}/x%41"), connection="close")


@pytest.mark.clause("PUB-4")
def test_pub_4_no_path_normalisation(server, channel, conn):
    paths = [f"{channel}/n/../x", f"{channel}/x", f"{channel}//d", f"{channel}/d", f"{channel}/t/", f"{channel}/t"]
    for i, path in enumerate(paths):
        assert conn.put(path, f"body-{i}").raw == ACCEPTED
    for i, path in enumerate(paths):
        assert server.latest(path) == (f"body-{i}", 1), path


@pytest.mark.clause("PUB-5", "MUX-1")
def test_pub_5_put_is_dispatched_before_routing(server, channel, conn):
    mux_named = f"{channel}/channels@firehose"
    assert conn.put(mux_named, "via-mux").raw == ACCEPTED
    resp = server.get(mux_query(f"{mux_named}!0"), CLOSE)
    assert resp.raw == expected_response(200, frame("via-mux", 1, channel=mux_named), connection="close")
    assert conn.put("/metrics@firehose", "not metrics").raw == ACCEPTED


# --- lifetime (Cache-Control: max-age) -------------------------------------------------------

# name: (headers of each successive PUT, whether the channel state has expired 1 s later)
LIFETIME_CASES = {
    "max-age": ([{"Cache-Control": "max-age=1"}], True),
    "directive-list-any-case": ([{"Cache-Control": "no-cache, Max-Age=1"}], True),
    "last-directive-wins-short": ([{"Cache-Control": "max-age=60, max-age=1"}], True),
    "last-directive-wins-long": ([{"Cache-Control": "max-age=1, max-age=60"}], False),
    "spaces-around-equals-ignored": ([{"Cache-Control": "max-age = 1"}], False),
    "bare-number-ignored": ([{"Cache-Control": "1"}], False),
    "default-lifetime": ([{}], False),
    "later-put-restores-default": ([{"Cache-Control": "max-age=1"}, {}], False),
    "later-put-shortens": ([{}, {"Cache-Control": "max-age=1"}], True),
    # PUB-10
    "persist-beats-max-age": ([{"X-Firehose-Persist": "true", "Cache-Control": "max-age=1"}], False),
    "persist-then-max-age": ([{"X-Firehose-Persist": "true"}, {"Cache-Control": "max-age=1"}], True),
    "persist-uppercase-is-not-persist": ([{"X-Firehose-Persist": "TRUE", "Cache-Control": "max-age=1"}], True),
}
PERSIST_CASES = [name for name in LIFETIME_CASES if name.startswith("persist")]
TTL_CASES = [name for name in LIFETIME_CASES if not name.startswith("persist")]
TTL_SECONDS = 1.0
TTL_GRACE = 1.0  # allowed lateness of an expiry


@pytest.fixture(scope="module")
def lifetime_channels(server):
    """Publish every lifetime case once, then wait (once for all of them) until the 1 s lifetimes
    have run out. Returns {case: (channel, number of PUTs)}."""
    channels = {}
    with server.connect() as conn:
        for name, (header_sets, _) in LIFETIME_CASES.items():
            channel = Server.channel(f"lifetime-{name}")
            for i, headers in enumerate(header_sets, 1):
                resp = conn.put(channel, f"{name}-{i}", headers)
                assert resp.raw == ACCEPTED, resp
            channels[name] = (channel, len(header_sets))
    time.sleep(TTL_SECONDS + TTL_GRACE)
    return channels


def _check_lifetime(server, lifetime_channels, name):
    channel, puts = lifetime_channels[name]
    expired = LIFETIME_CASES[name][1]
    if not expired:
        assert server.latest(channel) == (f"{name}-{puts}", puts)
    server.publish(channel, "again", {"Cache-Control": "max-age=5"})  # also lets persisted ones expire
    expected_sequence = 1 if expired else puts + 1
    assert server.latest(channel) == ("again", expected_sequence), (
        "the channel state should have expired" if expired else "the channel state should still be there")


@pytest.mark.clause("PUB-6", "PUB-3")
@pytest.mark.parametrize("name", TTL_CASES)
def test_pub_6_max_age_sets_channel_lifetime(server, lifetime_channels, name):
    _check_lifetime(server, lifetime_channels, name)


@pytest.mark.clause("PUB-10", "PUB-6")
@pytest.mark.parametrize("name", PERSIST_CASES)
def test_pub_10_persist_and_lifetime(server, lifetime_channels, name):
    _check_lifetime(server, lifetime_channels, name)


@pytest.mark.clause("PUB-7", "LP-4")
@pytest.mark.parametrize("value", ["max-age=0", "max-age=-5", "max-age=abc"])
def test_pub_7_non_positive_max_age_deletes_state_but_delivers(server, channel, value):
    server.publish(channel, "kept")
    waiter = server.waiting(lp_query(channel, 1))
    server.publish(channel, "gone", {"Cache-Control": value})
    assert waiter.read_response().raw == expected_response(200, frame("gone", 2))
    server.publish(channel, "fresh")
    assert server.latest(channel) == ("fresh", 1)


@pytest.mark.clause("PUB-10")
def test_pub_10_persist_beats_max_age_zero(server, channel):
    server.publish(channel, "p", {"X-Firehose-Persist": "true", "Cache-Control": "max-age=0"})
    assert server.latest(channel) == ("p", 1)
    server.publish(channel, "q", {"Cache-Control": "max-age=1"})  # not persisted any more
    assert server.latest(channel) == ("q", 2)


@pytest.mark.clause("PUB-10")
@pytest.mark.parametrize("value", ["TRUE", "True", "1", "yes"])
def test_pub_10_persist_needs_exact_lowercase_true(server, channel, value):
    server.publish(channel, "first")
    server.publish(channel, "p", {"X-Firehose-Persist": value, "Cache-Control": "max-age=0"})
    server.publish(channel, "after")
    assert server.latest(channel) == ("after", 1)


# --- buffer size ------------------------------------------------------------------------------


@pytest.mark.clause("PUB-8", "LP-2", "LP-3")
def test_pub_8_buffer_size_header(server, channel):
    server.publish_many(channel, [f"buf-{i}" for i in range(1, 5)], {"X-Firehose-Buffer-Size": "2"})
    assert server.poll(channel, 0).message() == ("buf-4", 4)
    assert server.poll(channel, 1).message() == ("buf-4", 4)  # 3 behind, 2 kept: newest
    assert server.poll(channel, 2).message() == ("buf-3", 3)  # oldest kept
    assert server.poll(channel, 3).message() == ("buf-4", 4)
    # A bigger size on a later PUT lets the buffer grow again: [buf-5, buf-4, buf-3].
    server.publish(channel, "buf-5", {"X-Firehose-Buffer-Size": "5"})
    assert server.poll(channel, 2).message() == ("buf-3", 3)
    assert server.poll(channel, 1).message() == ("buf-5", 5)  # buf-2 is gone for good


@pytest.mark.clause("PUB-8", "LP-2", "LP-3")
def test_pub_8_default_buffer_is_100(server, channel):
    server.publish_many(channel, [f"m-{i}" for i in range(1, 103)])
    assert server.poll(channel, 2).message() == ("m-3", 3)  # 100 behind: still buffered
    assert server.poll(channel, 1).message() == ("m-102", 102)  # 101 behind: newest


@pytest.mark.clause("PUB-9", "LP-5")
@pytest.mark.parametrize("size", ["0", "-3", "abc"])
def test_pub_9_non_positive_buffer_size_empties_buffer_keeps_sequence(server, channel, size):
    server.publish_many(channel, [f"m-{i}" for i in range(1, 5)])
    live = server.waiting(lp_query(channel, 4))
    server.publish(channel, "dropped", {"X-Firehose-Buffer-Size": size})
    assert live.read_response().raw == expected_response(200, frame("dropped", 5))
    # Nothing is buffered now, so even N = 0 waits...
    waiter = server.waiting(lp_query(channel, 0))
    server.publish(channel, "m-6")
    # ...and the sequence went on from 5.
    assert waiter.read_response().raw == expected_response(200, frame("m-6", 6))


@pytest.mark.clause("PUB-11")
@pytest.mark.parametrize("value", ["true", "false"])
def test_pub_11_deprecated_header_has_no_effect(server, channel, conn, value):
    assert conn.put(channel, "one", {"X-Firehose-Deprecated": value}).raw == ACCEPTED
    assert conn.put(channel, "two", {"X-Firehose-Deprecated": value}).raw == ACCEPTED
    assert server.poll(channel, 1).raw == expected_response(200, frame("two", 2))
