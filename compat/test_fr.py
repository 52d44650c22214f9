"""FR: response framing, keep-alive, HTTP/1.0, idle timeout (spec/http.md, FR-n)."""

import time

import pytest

from wire import ACCEPTED, CLOSE, NEGATIVE_BODY, build_request, expected_response, frame, lp_query, mux_query


@pytest.mark.clause("FR-1")
def test_fr_1_status_lines(server, channel, conn):
    cases = [
        (lambda: conn.put(channel, "x"), "HTTP/1.1 202 Accepted"),
        (lambda: conn.get(channel), "HTTP/1.1 200 OK"),
        (lambda: conn.head(channel), "HTTP/1.1 200 OK"),
        (lambda: conn.get(lp_query(channel, -1)), "HTTP/1.1 400 Bad Request"),
        (lambda: conn.request("OPTIONS", channel), "HTTP/1.1 405 Method Not Allowed"),
        (lambda: conn.get("/channels@firehose"), "HTTP/1.1 400 Bad Request"),
    ]
    for make, expected in cases:
        resp = make()
        assert resp.status_line == expected, resp


def _sample(kind, server, channel, conn):
    """One response of each framing shape, with the header names FR-2 requires for it."""
    plain = ["Content-Length", "Connection", "Server"]
    if kind == "put":
        return conn.put(channel, "x"), ["Content-Length", "Content-Type", "Connection", "Server"]
    server.publish(channel, "x")
    if kind == "get-200":
        return conn.get(channel), plain
    if kind == "get-200-origin":
        return (conn.get(channel, {"Origin": "http://example.com"}),
                ["Content-Length", "Access-Control-Allow-Origin", "Connection", "Server"])
    if kind == "get-400":
        return conn.get(lp_query(channel, -1)), plain
    if kind == "head":
        return conn.head(channel), plain
    if kind == "delete-405":
        return conn.request("DELETE", channel), ["Content-Length", "Allow", "Connection", "Server"]
    if kind == "mux-200":
        return conn.get(mux_query(f"{channel}!0"), CLOSE), plain
    if kind == "mux-400":
        return conn.get("/channels@firehose"), plain
    if kind == "metrics":
        return conn.get("/metrics@firehose"), plain
    raise AssertionError(kind)


@pytest.mark.clause("FR-2")
@pytest.mark.parametrize("kind", ["put", "get-200", "get-200-origin", "get-400", "head", "delete-405",
                                  "mux-200", "mux-400", "metrics"])
def test_fr_2_header_order_and_set(server, channel, conn, kind):
    resp, names = _sample(kind, server, channel, conn)
    assert resp.header_names == names, resp
    assert resp.header("Server") == "thin", resp
    assert resp.header("Connection") in ("keep-alive", "close"), resp
    assert int(resp.header("Content-Length")) == len(resp.body), resp
    assert resp.header("Date") is None, resp


@pytest.mark.clause("FR-3")
def test_fr_3_keepalive_serves_many_requests(server, channel, conn):
    assert conn.put(channel, "a").raw == ACCEPTED
    assert conn.get(channel).raw == expected_response(200, frame("a", 1))
    assert conn.head(channel).raw == expected_response(200)
    assert conn.put(channel, "b").raw == ACCEPTED
    assert conn.get(lp_query(channel, 1)).raw == expected_response(200, frame("b", 2))
    assert conn.request("OPTIONS", channel).raw == expected_response(
        405, b"OPTIONS not supported.", allow="GET")
    assert conn.get(lp_query(channel, -1)).raw == expected_response(400, NEGATIVE_BODY)
    assert conn.get(lp_query(channel, 0)).raw == expected_response(200, frame("b", 2))


@pytest.mark.clause("FR-4")
def test_fr_4_connection_close_on_put(server, channel, conn):
    resp = conn.put(channel, "bye", CLOSE)
    assert resp.raw == expected_response(202, content_type="text/plain", connection="close")
    conn.wait_closed(2.0)


@pytest.mark.clause("FR-4")
def test_fr_4_connection_close_on_get(server, channel, conn):
    server.publish(channel, "bye")
    resp = conn.get(channel, CLOSE)
    assert resp.raw == expected_response(200, frame("bye", 1), connection="close")
    conn.wait_closed(2.0)


@pytest.mark.clause("FR-5")
def test_fr_5_http10_is_answered_http11_and_closed(server, channel, conn):
    server.publish(channel, "old")
    resp = conn.request("GET", channel, version="HTTP/1.0")
    assert resp.raw == expected_response(200, frame("old", 1), connection="close")
    conn.wait_closed(2.0)


@pytest.mark.clause("FR-5")
def test_fr_5_http10_put_is_closed(server, channel, conn):
    resp = conn.request("PUT", channel, b"old", version="HTTP/1.0")
    assert resp.raw == expected_response(202, content_type="text/plain", connection="close")
    conn.wait_closed(2.0)
    assert server.latest(channel) == ("old", 1)


@pytest.mark.clause("FR-5")
def test_fr_5_http10_keepalive_stays_open(server, channel, conn):
    server.publish(channel, "old")
    keep = {"Connection": "keep-alive"}
    first = conn.request("GET", channel, headers=keep, version="HTTP/1.0")
    assert first.raw == expected_response(200, frame("old", 1), connection="keep-alive")
    second = conn.request("HEAD", channel, headers=keep, version="HTTP/1.0")
    assert second.raw == expected_response(200, connection="keep-alive")
    third = conn.request("GET", channel, headers=keep, version="HTTP/1.0")
    assert third.raw == first.raw


@pytest.mark.clause("FR-6")
def test_fr_6_body_arriving_in_segments(server, channel, conn):
    body = b"first part|second part|third part"
    request = build_request("PUT", channel, body, host=conn.hostport)
    head_len = len(request) - len(body)
    cut1 = head_len // 2  # in the middle of the header block
    cut2 = head_len + 10  # in the middle of the body
    conn.send(request[:cut1])
    conn.assert_silent(0.3)
    conn.send(request[cut1:cut2])
    conn.assert_silent(0.3)  # the body is not complete: no answer yet
    conn.send(request[cut2:])
    assert conn.read_response().raw == ACCEPTED
    assert server.latest(channel) == (body.decode(), 1)


@pytest.mark.clause("FR-7")
def test_fr_7_idle_connections_are_closed(server, channel):
    idle = server.idle_timeout
    server.publish(channel, "x")
    fresh = server.connect(timeout=server.idle_wait)  # never sends a request
    fresh_opened = time.monotonic()
    used = server.connect(timeout=server.idle_wait)  # idle after one response
    resp = used.get(channel)
    assert resp.raw == expected_response(200, frame("x", 1))

    fresh.wait_closed(server.idle_wait)
    fresh_after = time.monotonic() - fresh_opened
    used.wait_closed(max(0.5, server.idle_wait - (time.monotonic() - resp.at)))
    used_after = time.monotonic() - resp.at

    assert idle * 0.8 <= fresh_after <= server.idle_wait, f"fresh connection closed after {fresh_after:.2f}s"
    assert idle * 0.8 <= used_after <= server.idle_wait, f"keep-alive connection closed after {used_after:.2f}s"


@pytest.mark.clause("FR-8", "LP-6")
def test_fr_8_idle_timer_restarts_after_a_204(server, channel):
    conn = server.connect(timeout=server.longpoll_wait)
    resp = conn.get(channel)  # nothing published: waits for the long-poll timeout
    assert resp.raw == expected_response(204)
    server.publish(channel, "after-204")
    # Idle for longer than (IDLE_TIMEOUT - LONGPOLL_TIMEOUT) but less than IDLE_TIMEOUT since the 204.
    time.sleep(0.6 * server.idle_timeout)
    assert conn.get(channel).raw == expected_response(200, frame("after-204", 1))


@pytest.mark.clause("FR-9")
def test_fr_9_malformed_request_line_gets_400_and_close(server, conn):
    conn.send(b"BLAH\r\n\r\n")
    data = conn.read_until_close(timeout=5)
    assert data.startswith(b"HTTP/1.1 400"), data
