"""MUX: multiplexed long-poll, GET ?subscribe= and POST (spec/http.md, MUX-n).

The reference writes one response per subscribed channel on the connection (see EXT-1), so these
reference tests only ever read the first response, and most send `Connection: close`, on which the
reference sends exactly one response and closes.
"""

import json
import time
import urllib.parse

import pytest

from wire import CLOSE, NEGATIVE_BODY, NO_SUBSCRIPTION_BODY, expected_response, frame, mux_query


def _answer(conn, resp, message, sequence, channel):
    """`resp` is the single answer to a `Connection: close` request carrying this message."""
    assert resp.raw == expected_response(200, frame(message, sequence, channel=channel), connection="close")
    conn.wait_closed(2.0)


@pytest.mark.clause("MUX-1")
@pytest.mark.parametrize("path", ["/channels@firehose", "/x/channels@firehose/y", "/channels@firehose/", "/zchannels@firehosez"])
def test_mux_1_any_path_containing_channels_at_firehose(server, ab, conn, path):
    a, _ = ab
    resp = conn.get(mux_query(f"{a}!1", path=path), CLOSE)
    _answer(conn, resp, "a-2", 2, a)


@pytest.mark.clause("MUX-1", "MUX-8")
def test_mux_1_post_on_any_path_containing_channels_at_firehose(server, ab, conn):
    a, _ = ab
    resp = conn.post("/x/channels@firehose/y", json.dumps({a: 1}), CLOSE)
    _answer(conn, resp, "a-2", 2, a)


@pytest.mark.clause("MUX-2")
@pytest.mark.parametrize(
    "entries, expect",
    [
        (["@a"], ("a", 3)),
        (["@a!0"], ("a", 3)),
        (["@a!-5"], ("a", 3)),
        (["@a!1x"], ("a", 2)),
        (["@a!2.9"], ("a", 3)),
        (["@a!1", ""], ("a", 2)),
    ],
    ids=["no-bang", "zero", "negative-clamped", "lenient", "fraction", "trailing-comma"],
)
def test_mux_2_subscribe_syntax(server, ab, conn, entries, expect):
    resp = conn.get(mux_query(*[ab.fill(e) for e in entries]), CLOSE)
    _answer(conn, resp, f"{expect[0]}-{expect[1]}", expect[1], ab.name(expect[0]))


@pytest.mark.clause("MUX-2")
def test_mux_2_subscribe_list_is_percent_decoded(server, ab, conn):
    a, b = ab
    encoded = urllib.parse.quote(f"{a}!1,{b}!0", safe="")
    assert "%2C" in encoded and "%21" in encoded
    resp = conn.get(f"/channels@firehose?subscribe={encoded}", CLOSE)
    _answer(conn, resp, "a-2", 2, a)


@pytest.mark.clause("MUX-3")
def test_mux_3_frame_format(server, ab, conn):
    a, b = ab
    resp = conn.get(mux_query(f"{a}!0", f"{b}!0"))  # keep-alive: read the first response only
    body = b'{"channel":"' + a.encode() + b'","message":"a-3","last_sequence":3}'
    assert resp.raw == (b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(body)).encode()
                        + b"\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n" + body)
    assert resp.json_keys() == ["channel", "message", "last_sequence"]


@pytest.mark.clause("MUX-4")
@pytest.mark.parametrize(
    "subscriptions, expect",
    [
        (["@a!1", "@b!2"], ("a", 2)),
        (["@b!2", "@a!1"], ("b", 3)),
        (["@a!3", "@b!1"], ("b", 2)),
    ],
    # "@a!7" (ahead) is skipped by the reference; ours answers with a-1 (EXT-13, test_ext.py).
    ids=["first-wins", "order-matters", "caught-up-skipped"],
)
def test_mux_4_first_channel_with_something_answers(server, ab, conn, subscriptions, expect):
    resp = conn.get(mux_query(*[ab.fill(s) for s in subscriptions]), CLOSE)
    _answer(conn, resp, f"{expect[0]}-{expect[1]}", expect[1], ab.name(expect[0]))


@pytest.mark.clause("MUX-4", "LP-3")
def test_mux_4_underwater_gives_newest(server, channel, conn):
    a = f"{channel}/uw"
    server.publish_many(a, [f"uw-{i}" for i in range(1, 11)], {"X-Firehose-Buffer-Size": "3"})
    resp = conn.get(mux_query(f"{a}!6"), CLOSE)
    _answer(conn, resp, "uw-10", 10, a)


@pytest.mark.clause("MUX-5")
@pytest.mark.parametrize("publish_to", ["a", "b", "empty"])
def test_mux_5_waits_for_first_message_on_any_channel(server, ab, conn, publish_to):
    a, b = ab
    empty = f"{a}-empty"
    conn.timeout = server.longpoll_wait
    conn.send_request("GET", mux_query(f"{a}!3", f"{b}!3", f"{empty}!0"), headers=CLOSE)
    conn.assert_silent()
    target, sequence = {"a": (a, 4), "b": (b, 4), "empty": (empty, 1)}[publish_to]
    server.publish(target, "late")
    _answer(conn, conn.read_response(), "late", sequence, target)


@pytest.mark.clause("MUX-6")
def test_mux_6_timeout_gives_one_204(server, channel, conn):
    conn.timeout = server.longpoll_wait
    started = time.monotonic()
    conn.send_request("GET", mux_query(f"{channel}/y!0", f"{channel}/z!0"), headers=CLOSE)
    resp = conn.read_response()
    assert resp.raw == b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\nServer: thin\r\n\r\n"
    assert resp.at - started >= 0.9 * server.longpoll_timeout
    conn.wait_closed(2.0)


@pytest.mark.clause("MUX-7")
@pytest.mark.parametrize("query", ["", "?subscribe=", "?subscribe=,,", "?other=1"])
def test_mux_7_get_without_subscriptions_is_400(server, conn, query):
    resp = conn.get("/channels@firehose" + query)
    assert resp.raw == (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 98\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"
                        + NO_SUBSCRIPTION_BODY)


@pytest.mark.clause("MUX-7")
@pytest.mark.parametrize("body", [b"", b"{}", b"[]", b'{"/a:'], ids=["empty", "empty-object", "empty-array", "invalid-json"])
def test_mux_7_post_without_subscriptions_is_400(server, conn, body):
    resp = conn.post("/channels@firehose", body, {"Content-Type": "application/json"})
    assert resp.raw == expected_response(400, NO_SUBSCRIPTION_BODY)


@pytest.mark.clause("MUX-8")
@pytest.mark.parametrize(
    "body, expect",
    [
        ('{"@a":0,"@b":{"last_message_sequence":1,"params":{"x":"y"}}}', ("a", 3)),
        ('{"@a":3,"@b":{"last_message_sequence":1,"whisky":"tango"}}', ("b", 2)),
        ('{"@a":1.5}', ("a", 2)),
        ('{"@b":2,"@a":1}', ("b", 3)),
        ('[["@a",1]]', ("a", 2)),
        ('[["@b",3],["@a",1]]', ("a", 2)),
        ('{"@a":{"last_message_sequence":2}}', ("a", 3)),
    ],
    ids=["int-and-object", "sibling-keys-ignored", "fraction", "body-order", "pairs", "pairs-order", "object"],
)
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json", None])
def test_mux_8_post_json_body(server, ab, conn, body, expect, content_type):
    headers = dict(CLOSE, **({"Content-Type": content_type} if content_type else {}))
    resp = conn.post("/channels@firehose", ab.fill(body), headers)
    _answer(conn, resp, f"{expect[0]}-{expect[1]}", expect[1], ab.name(expect[0]))


@pytest.mark.clause("MUX-9")
def test_mux_9_post_negative_sequence_is_400(server, ab, conn):
    a, _ = ab
    resp = conn.post("/channels@firehose", json.dumps({a: -1}))
    assert resp.raw == (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 61\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"
                        + NEGATIVE_BODY)
