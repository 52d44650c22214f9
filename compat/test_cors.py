"""CORS: the Access-Control-Allow-Origin echo (spec/http.md, CORS-n)."""

import json

import pytest

from wire import ACCEPTED, NEGATIVE_BODY, NO_SUBSCRIPTION_BODY, expected_response, frame, lp_query, mux_query

ORIGIN = "http://example.com"
WITH_ORIGIN = {"Origin": ORIGIN}


@pytest.fixture
def one(server, channel):
    server.publish(channel, "o-1")
    return channel


@pytest.mark.clause("CORS-1", "CORS-4")
def test_cors_1_long_poll_200_echoes_origin(server, one, conn):
    resp = conn.get(one, WITH_ORIGIN)
    assert resp.raw == (b"HTTP/1.1 200 OK\r\nContent-Length: 35\r\nAccess-Control-Allow-Origin: http://example.com\r\n"
                        b'Connection: keep-alive\r\nServer: thin\r\n\r\n{"message":"o-1","last_sequence":1}')


@pytest.mark.clause("CORS-1")
@pytest.mark.parametrize("origin", ["HTTP://Example.COM:8080", "https://a.example.org", "file://", "x y, z"])
def test_cors_1_origin_is_echoed_verbatim(server, one, conn, origin):
    resp = conn.get(one, {"Origin": origin})
    assert resp.raw == expected_response(200, frame("o-1", 1), origin=origin)


@pytest.mark.clause("CORS-1", "LP-7")
def test_cors_1_long_poll_400_echoes_origin(server, one, conn):
    resp = conn.get(lp_query(one, -1), WITH_ORIGIN)
    assert resp.raw == expected_response(400, NEGATIVE_BODY, origin=ORIGIN)


@pytest.mark.clause("CORS-1", "LP-6")
def test_cors_1_long_poll_204_echoes_origin(server, channel):
    conn = server.connect(timeout=server.longpoll_wait)
    resp = conn.get(channel, WITH_ORIGIN)
    assert resp.raw == (b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n"
                        b"Access-Control-Allow-Origin: http://example.com\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n")


@pytest.mark.clause("CORS-1", "MUX-3")
def test_cors_1_mux_get_200_echoes_origin(server, one, conn):
    resp = conn.get(mux_query(f"{one}!0"), WITH_ORIGIN)  # only the first response is read
    assert resp.raw == expected_response(200, frame("o-1", 1, channel=one), origin=ORIGIN)


@pytest.mark.clause("CORS-1", "MUX-8")
def test_cors_1_mux_post_200_echoes_origin(server, one, conn):
    body = json.dumps({one: 0}).encode()
    resp = conn.post("/channels@firehose", body, {"Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.raw == expected_response(200, frame("o-1", 1, channel=one), origin=ORIGIN)


@pytest.mark.clause("CORS-1", "MUX-7")
def test_cors_1_mux_400_echoes_origin(server, conn):
    resp = conn.get("/channels@firehose", WITH_ORIGIN)
    assert resp.raw == expected_response(400, NO_SUBSCRIPTION_BODY, origin=ORIGIN)


@pytest.mark.clause("CORS-1", "MUX-9")
def test_cors_1_mux_post_negative_400_echoes_origin(server, one, conn):
    resp = conn.post("/channels@firehose", json.dumps({one: -1}).encode(), WITH_ORIGIN)
    assert resp.raw == expected_response(400, NEGATIVE_BODY, origin=ORIGIN)


@pytest.mark.clause("CORS-2")
def test_cors_2_put_head_and_405_do_not_echo(server, channel, conn):
    assert conn.put(channel, "x", WITH_ORIGIN).raw == ACCEPTED
    assert conn.head(channel, WITH_ORIGIN).raw == expected_response(200)
    assert conn.request("DELETE", channel, None, WITH_ORIGIN).raw == expected_response(
        405, b"DELETE not supported.", allow="GET")
    assert conn.request("OPTIONS", channel, None, WITH_ORIGIN).raw == expected_response(
        405, b"OPTIONS not supported.", allow="GET")


@pytest.mark.clause("CORS-2", "MTH-3")
def test_cors_2_metrics_does_not_echo(server, conn):
    resp = conn.get("/metrics@firehose", WITH_ORIGIN)
    assert resp.status == 200, resp
    assert resp.header_names == ["Content-Length", "Connection", "Server"], resp


@pytest.mark.clause("CORS-3")
def test_cors_3_null_origin_is_echoed(server, one, conn):
    assert conn.get(one, {"Origin": "null"}).raw == expected_response(200, frame("o-1", 1), origin="null")


@pytest.mark.clause("CORS-3")
def test_cors_3_empty_origin_gives_no_header(server, one, conn):
    conn.send(f"GET {one} HTTP/1.1\r\nHost: {conn.hostport}\r\nOrigin:\r\n\r\n".encode())
    assert conn.read_response().raw == expected_response(200, frame("o-1", 1))
    assert conn.get(one, {"Origin": ""}).raw == expected_response(200, frame("o-1", 1))
