"""Access control with bearer tokens (spec/auth.md, AUTH-n): an extension, tested against the second
server that compat/run-local.sh starts with --jwt-secret, --auth all and --jwt-cookie firehose_token
(the `auth` fixture; skipped when the suite is not given one)."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

import tokens
import ws
from wire import ACCEPTED, Server, lp_query, mux_query

pytestmark = pytest.mark.extension

COOKIE = "firehose_token"
ORIGIN = "http://app.example"


def fresh(label: str) -> str:
    return Server.channel(label)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def hs(auth, **grants) -> str:
    return tokens.hs256(tokens.claims(**grants), auth.secret)


def everything(auth) -> str:
    """A token that may do anything: for setting up a test's channels."""
    return hs(auth, topics=["/**"])


def publish(auth, channel: str, body: str = "m") -> None:
    with auth.connect() as conn:
        resp = conn.put(channel, body, bearer(everything(auth)))
    assert resp.raw == ACCEPTED, resp


def q(token: str) -> str:
    return urllib.parse.quote(token, safe="")


def assert_no_token(resp) -> None:
    assert resp.status == 401, resp
    assert resp.header("WWW-Authenticate") == "Bearer", resp
    assert resp.body == b"", resp


def assert_invalid(resp) -> None:
    assert resp.status == 401, resp
    assert resp.header("WWW-Authenticate") == 'Bearer error="invalid_token"', resp
    assert resp.body == b"", resp


def assert_forbidden(resp) -> None:
    assert resp.status == 403, resp
    assert resp.header("WWW-Authenticate") is None, resp
    assert resp.body == b"", resp


# -- AUTH-1: off by default ------------------------------------------------------------------


@pytest.mark.clause("AUTH-1")
def test_auth_1_no_key_means_credentials_are_ignored(server, channel):
    """The main server has no key: junk credentials change nothing."""
    junk = {"Authorization": "Bearer not.a.token", "Cookie": f"{COOKIE}=junk"}
    with server.connect() as conn:
        assert conn.put(channel, "open", junk).raw == ACCEPTED
        resp = conn.get(lp_query(channel, 0) + "&access_token=junk", junk)
    assert resp.status == 200 and resp.message() == ("open", 1), resp


# -- AUTH-2: what is guarded -------------------------------------------------------------------


@pytest.mark.clause("AUTH-2", "AUTH-8")
def test_auth_2_all_guards_publish_and_subscribe(auth):
    channel = fresh("auth2")
    with auth.connect() as conn:
        assert_no_token(conn.put(channel, "x"))
        assert_no_token(conn.get(lp_query(channel, 0)))


# -- AUTH-3: token sources and precedence --------------------------------------------------------


@pytest.mark.clause("AUTH-3")
@pytest.mark.parametrize("source", ["header", "lowercase-scheme", "query", "cookie", "quoted-cookie"])
def test_auth_3_each_source_carries_the_token(auth, source):
    channel = fresh("auth3")
    publish(auth, channel, "hello")
    token = hs(auth, subscribe=[channel])
    target, headers = lp_query(channel, 0), {}
    if source == "header":
        headers = bearer(token)
    elif source == "lowercase-scheme":
        headers = {"Authorization": f"bearer {token}"}
    elif source == "query":
        target += "&access_token=" + q(token)
    elif source == "cookie":
        headers = {"Cookie": f"other=1; {COOKIE}={token}"}
    else:
        headers = {"Cookie": f'{COOKIE}="{token}"'}
    resp = auth.get(target, headers)
    assert resp.status == 200 and resp.message() == ("hello", 1), resp


@pytest.mark.clause("AUTH-3")
def test_auth_3_header_wins_over_query_and_query_over_cookie(auth):
    channel = fresh("auth3p")
    publish(auth, channel)
    good, bad = hs(auth, subscribe=[channel]), hs(auth, subscribe=["/elsewhere"])
    target = lp_query(channel, 0)
    assert auth.get(target + "&access_token=" + q(bad), bearer(good)).status == 200
    assert_forbidden(auth.get(target + "&access_token=" + q(good), bearer(bad)))
    assert_invalid(auth.get(target + "&access_token=" + q(good), bearer("garbage")))
    assert auth.get(target + "&access_token=" + q(good), {"Cookie": f"{COOKIE}={bad}"}).status == 200
    assert_forbidden(auth.get(target + "&access_token=" + q(bad), {"Cookie": f"{COOKIE}={good}"}))
    # Another scheme carries no token: the query parameter is used.
    assert auth.get(target + "&access_token=" + q(good), {"Authorization": "Basic dXNlcjpwdw=="}).status == 200
    assert_no_token(auth.get(target, {"Authorization": "Basic dXNlcjpwdw=="}))


@pytest.mark.clause("AUTH-3", "AUTH-10")
def test_auth_3_what_the_js_client_sends_with_params(auth):
    """`new Firehose.Consumer({uri: ..., params: {access_token: T}})`: the token rides in the query of
    every long-poll and of the WebSocket URL, next to last_message_sequence."""
    channel = fresh("auth3js")
    publish(auth, channel, "one")
    token = hs(auth, subscribe=[channel])
    origin = {"Origin": ORIGIN}
    with auth.connect(timeout=auth.longpoll_wait) as conn:
        resp = conn.get(f"{channel}?last_message_sequence=0&access_token={q(token)}", origin)
        assert resp.status == 200 and resp.message() == ("one", 1), resp
        assert resp.header("Access-Control-Allow-Origin") == ORIGIN
        conn.send_request("GET", f"{channel}?last_message_sequence=1&access_token={q(token)}", headers=origin)
        conn.assert_silent()
        publish(auth, channel, "two")
        resp = conn.read_response()
        assert resp.status == 200 and resp.message() == ("two", 2), resp
    sock = ws.connect(auth, f"{channel}?access_token={q(token)}", origin)
    sock.send_json({"message_sequence": 1})
    assert json.loads(sock.recv_text()) == {"message": "two", "last_sequence": 2}
    sock.assert_silent()
    publish(auth, channel, "three")
    assert json.loads(sock.recv_text()) == {"message": "three", "last_sequence": 3}


# -- AUTH-4: algorithms and keys -------------------------------------------------------------------


@pytest.mark.clause("AUTH-4")
@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_auth_4_public_key_algorithms_verify(auth, algorithm):
    key = auth.es256_key if algorithm == "ES256" else auth.rs256_key
    if key is None or not tokens.have_asymmetric():
        pytest.skip(f"no {algorithm} key given, or the cryptography package is missing")
    channel = fresh("auth4")
    sign = tokens.es256 if algorithm == "ES256" else tokens.rs256
    with auth.connect() as conn:
        assert conn.put(channel, "signed", bearer(sign(tokens.claims(publish=[channel]), key))).raw == ACCEPTED
        tampered = sign(tokens.claims(publish=["/other"]), key).rsplit(".", 1)[1]
        forged = tokens.signing_input(tokens.claims(publish=[channel]), {"alg": algorithm, "typ": "JWT"}) + "." + tampered
        assert_invalid(conn.put(channel, "x", bearer(forged)))


@pytest.mark.clause("AUTH-4")
@pytest.mark.parametrize("case", ["wrong-secret", "alg-none", "alg-none-signed", "hs512", "crit", "typ",
                                  "padded", "truncated", "huge", "not-jwt"])
def test_auth_4_refused_tokens(auth, case):
    channel = fresh("auth4r")
    grant = tokens.claims(publish=[channel])
    token = {
        "wrong-secret": lambda: tokens.hs256(grant, b"x" * 32),
        "alg-none": lambda: tokens.unsigned(grant),
        "alg-none-signed": lambda: tokens.hs256(grant, auth.secret, {"alg": "none"}),
        "hs512": lambda: tokens.hs256(grant, auth.secret, {"alg": "HS512", "typ": "JWT"}),
        "crit": lambda: tokens.hs256(grant, auth.secret, {"alg": "HS256", "crit": ["exp"]}),
        "typ": lambda: tokens.hs256(grant, auth.secret, {"alg": "HS256", "typ": "JWE"}),
        "padded": lambda: tokens.hs256(grant, auth.secret) + "=",
        "truncated": lambda: tokens.hs256(grant, auth.secret)[:-2],
        "huge": lambda: tokens.hs256(dict(grant, pad="x" * 9000), auth.secret),
        "not-jwt": lambda: "abc",
    }[case]()
    with auth.connect() as conn:
        assert_invalid(conn.put(channel, "x", bearer(token)))
        # The same request with a good token works: the refusal was the token's.
        assert conn.put(channel, "x", bearer(tokens.hs256(grant, auth.secret))).raw == ACCEPTED


@pytest.mark.clause("AUTH-4")
def test_auth_4_algorithm_confusion_is_refused(auth):
    """HS256 "signed" with the server's own public key text as the secret."""
    if auth.es256_key is None or not tokens.have_asymmetric():
        pytest.skip("no ES256 key given, or the cryptography package is missing")
    channel = fresh("auth4c")
    public = tokens.public_pem(auth.es256_key)
    for secret in (public, public.strip()):
        assert_invalid(auth.request("PUT", channel, b"x", bearer(tokens.hs256(tokens.claims(publish=[channel]), secret))))


# -- AUTH-5: claims ------------------------------------------------------------------------------


@pytest.mark.clause("AUTH-5")
@pytest.mark.parametrize("form", ["publish-array", "topics-string", "topics-array"])
def test_auth_5_claim_forms_grant_publish(auth, form):
    channel = fresh("auth5")
    grants = {"publish-array": {"publish": [channel]},
              "topics-string": {"topics": f" /nothing ,{channel} , ,/other"},
              "topics-array": {"topics": ["/nothing", channel]}}[form]
    with auth.connect() as conn:
        assert conn.put(channel, "ok", bearer(hs(auth, **grants))).raw == ACCEPTED
        resp = conn.get(lp_query(channel, 0), bearer(hs(auth, **grants)))
        # topics grants both; publish alone does not grant subscribe.
        if form == "publish-array":
            assert_forbidden(resp)
        else:
            assert resp.status == 200 and resp.message() == ("ok", 1), resp


@pytest.mark.clause("AUTH-5")
def test_auth_5_subscribe_alone_does_not_grant_publish_and_no_grant_grants_nothing(auth):
    channel = fresh("auth5s")
    publish(auth, channel, "m")
    with auth.connect() as conn:
        token = hs(auth, subscribe=[channel])
        assert conn.get(lp_query(channel, 0), bearer(token)).status == 200
        assert_forbidden(conn.put(channel, "x", bearer(token)))
        assert_forbidden(conn.put(channel, "x", bearer(hs(auth))))


@pytest.mark.clause("AUTH-5")
@pytest.mark.parametrize("claims", [{"publish": "/a"}, {"publish": [5]}, {"topics": 7}, {"subscribe": ["no-slash"]},
                                    {"publish": ["/a/**/b"]}])
def test_auth_5_malformed_grants_make_the_token_invalid(auth, claims):
    channel = fresh("auth5m")
    token = tokens.hs256(dict(tokens.claims(topics=["/**"]), **claims), auth.secret)
    assert_invalid(auth.request("PUT", channel, b"x", bearer(token)))


# -- AUTH-6: patterns ------------------------------------------------------------------------------


@pytest.mark.clause("AUTH-6")
@pytest.mark.parametrize("pattern, suffix, allowed", [
    ("{base}/chat/*", "/chat/x", True),
    ("{base}/chat/*", "/chat/x/y", False),
    ("{base}/chat/*", "/chat/", False),
    ("{base}/chat/*", "/chat", False),
    ("{base}/users/42/**", "/users/42", True),
    ("{base}/users/42/**", "/users/42/a", True),
    ("{base}/users/42/**", "/users/42/a/b", True),
    ("{base}/users/42/**", "/users/420", False),
    ("{base}/a*", "/ab", False),
    ("{base}/a*", "/a*", True),
    ("{base}/exact", "/exact", True),
    ("{base}/exact", "/exact/more", False),
    ("{base}/*/x", "/any/x", True),
    ("/**", "/anything/at/all", True),
])
def test_auth_6_pattern_matching(auth, pattern, suffix, allowed):
    base = fresh("auth6")
    channel = base + suffix
    resp = auth.request("PUT", channel, b"p", bearer(hs(auth, publish=[pattern.format(base=base)])))
    if allowed:
        assert resp.raw == ACCEPTED, resp
    else:
        assert_forbidden(resp)


# -- AUTH-7: time ----------------------------------------------------------------------------------


@pytest.mark.clause("AUTH-7")
def test_auth_7_expired_and_not_yet_valid_tokens_are_invalid(auth):
    channel = fresh("auth7")
    now = int(time.time())
    grant = {"publish": [channel]}
    expired = tokens.hs256(dict(grant, exp=now - 5), auth.secret)
    early = tokens.hs256(dict(grant, nbf=now + 60, exp=now + 120), auth.secret)
    started = tokens.hs256(dict(grant, nbf=now - 5, exp=now + 120), auth.secret)
    forever = tokens.hs256(grant, auth.secret)
    text_exp = tokens.hs256(dict(grant, exp=str(now + 60)), auth.secret)
    with auth.connect() as conn:
        assert_invalid(conn.put(channel, "x", bearer(expired)))
        assert_invalid(conn.put(channel, "x", bearer(early)))
        assert_invalid(conn.put(channel, "x", bearer(text_exp)))
        assert conn.put(channel, "x", bearer(started)).raw == ACCEPTED
        assert conn.put(channel, "x", bearer(forever)).raw == ACCEPTED


# -- AUTH-8: HTTP answers --------------------------------------------------------------------------


@pytest.mark.clause("AUTH-8")
def test_auth_8_exact_answers_with_cors(auth):
    channel = fresh("auth8")
    origin = {"Origin": ORIGIN}
    with auth.connect() as conn:
        resp = conn.get(lp_query(channel, 0), origin)
        assert resp.raw.startswith(b"HTTP/1.1 401 Unauthorized\r\n"), resp
        assert_no_token(resp)
        assert resp.header("Access-Control-Allow-Origin") == ORIGIN
        resp = conn.get(lp_query(channel, 0), dict(origin, **bearer("a.b.c")))
        assert_invalid(resp)
        assert resp.header("Access-Control-Allow-Origin") == ORIGIN
        resp = conn.get(lp_query(channel, 0), dict(origin, **bearer(hs(auth, subscribe=["/other"]))))
        assert resp.raw.startswith(b"HTTP/1.1 403 Forbidden\r\n"), resp
        assert_forbidden(resp)
        assert resp.header("Access-Control-Allow-Origin") == ORIGIN
        # The connection is still usable after the refusals.
        assert conn.put(channel, "x", bearer(hs(auth, publish=[channel]))).raw == ACCEPTED


@pytest.mark.clause("AUTH-8")
def test_auth_8_server_sent_events_are_refused_before_the_stream(auth):
    channel = fresh("auth8sse")
    sse = {"Accept": "text/event-stream"}
    with auth.connect() as conn:
        assert_no_token(conn.get(channel, sse))
        assert_forbidden(conn.get(channel, dict(sse, **bearer(hs(auth, subscribe=["/other"])))))


# -- AUTH-9: multiplexed long-poll ----------------------------------------------------------------


@pytest.mark.clause("AUTH-9")
def test_auth_9_multiplexed_long_poll_with_one_forbidden_channel(auth):
    base = fresh("auth9")
    allowed, secret = f"{base}/open", f"{base}/secret"
    publish(auth, allowed, "o")
    publish(auth, secret, "s")
    token = bearer(hs(auth, subscribe=[allowed]))
    with auth.connect() as conn:
        assert_forbidden(conn.get(mux_query(f"{allowed}!0", f"{secret}!0"), token))
        assert_forbidden(conn.post("/channels@firehose", json.dumps({allowed: 0, secret: 0}), token))
        resp = conn.get(mux_query(f"{allowed}!0"), token)
        assert resp.status == 200 and resp.json() == {"channel": allowed, "message": "o", "last_sequence": 1}, resp


# -- AUTH-10: WebSocket upgrade ----------------------------------------------------------------------


@pytest.mark.clause("AUTH-10")
def test_auth_10_websocket_upgrade_refused_before_101(auth):
    base = fresh("auth10")
    allowed, secret = f"{base}/open", f"{base}/secret"
    token = hs(auth, subscribe=[allowed])
    conn, resp, _ = ws.handshake(auth, allowed)
    assert_no_token(resp)
    assert conn.read_until_close() == b""
    _, resp, _ = ws.handshake(auth, secret, bearer(token))
    assert_forbidden(resp)
    _, resp, _ = ws.handshake(auth, f"{allowed}?access_token=junk")
    assert_invalid(resp)
    _, resp, _ = ws.handshake(auth, f"/channels@firehose?subscribe={allowed}!0,{secret}!0&access_token={q(token)}")
    assert_forbidden(resp)
    sock = ws.connect(auth, f"/channels@firehose?subscribe={allowed}!0&access_token={q(token)}")
    sock.assert_silent()  # subscribed for sure (across nodes too) before the publish
    publish(auth, allowed, "live")
    assert json.loads(sock.recv_text()) == {"channel": allowed, "message": "live", "last_sequence": 1}


# -- AUTH-11: multiplex_subscribe on an open socket ---------------------------------------------------


@pytest.mark.clause("AUTH-11")
def test_auth_11_forbidden_multiplex_subscribe_gets_an_error_frame(auth):
    base = fresh("auth11")
    first, allowed, secret = f"{base}/first", f"{base}/open", f"{base}/secret"
    token = hs(auth, subscribe=[first, allowed])
    sock = ws.connect(auth, f"/channels@firehose?subscribe={first}!0", bearer(token))
    sock.send_json({"multiplex_subscribe": [{"channel": secret, "message_sequence": 0},
                                            {"channel": allowed, "message_sequence": 0}]})
    assert json.loads(sock.recv_text()) == {"error": "forbidden", "channel": secret}
    sock.assert_silent()
    publish(auth, secret, "hidden")
    publish(auth, allowed, "a")
    publish(auth, first, "f")
    got = [json.loads(text) for text in sock.recv_texts(2)]
    assert {"channel": allowed, "message": "a", "last_sequence": 1} in got, got
    assert {"channel": first, "message": "f", "last_sequence": 1} in got, got
    sock.assert_silent()


# -- AUTH-12, AUTH-13: expiry of open connections ---------------------------------------------------


@pytest.mark.clause("AUTH-12")
def test_auth_12_websocket_closes_with_1008_when_its_token_expires(auth):
    channel = fresh("auth12")
    # Expiring 2 to 3 s from now: room for the delivery below, even over Redis on a loaded machine.
    token = tokens.hs256({"subscribe": [channel], "exp": int(time.time()) + 3}, auth.secret)
    sock = ws.connect(auth, f"{channel}?access_token={q(token)}")
    sock.send_json({"last_message_sequence": 0})
    sock.assert_silent(0.5)
    publish(auth, channel, "before")
    assert json.loads(sock.recv_text()) == {"message": "before", "last_sequence": 1}
    started = time.monotonic()
    frame = sock.expect_close(1008, timeout=5)
    assert frame.close_reason == b"token expired", frame
    assert time.monotonic() - started < 4
    # A token without exp keeps its socket.
    forever = tokens.hs256({"subscribe": [channel]}, auth.secret)
    sock = ws.connect(auth, channel, bearer(forever))
    sock.send_json({"last_message_sequence": 1})
    sock.assert_silent(1.0)


@pytest.mark.clause("AUTH-13")
def test_auth_13_event_stream_ends_when_its_token_expires(auth):
    channel = fresh("auth13")
    publish(auth, channel, "m")
    token = tokens.hs256({"subscribe": [channel], "exp": int(time.time()) + 2}, auth.secret)
    with auth.connect(timeout=6) as conn:
        conn.send_request("GET", channel, headers=dict(bearer(token), Accept="text/event-stream"))
        started = time.monotonic()
        data = conn.read_until_close(timeout=6)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n"), data
    assert b"Transfer-Encoding: chunked" in data and data.endswith(b"0\r\n\r\n"), data
    assert time.monotonic() - started < 4.5


# -- AUTH-14, AUTH-15: origins and preflight --------------------------------------------------------

OTHER_ORIGIN = "https://second.example:8443"
STRANGER = "https://stranger.example"


@pytest.mark.clause("AUTH-14")
def test_auth_14_cors_echo_only_for_allowed_origins(auth):
    channel = fresh("auth14")
    publish(auth, channel, "m")
    token = bearer(hs(auth, subscribe=[channel]))
    for origin, echoed in ((ORIGIN, ORIGIN), ("HTTPS://Second.Example:8443", "HTTPS://Second.Example:8443"),
                           (STRANGER, None), ("null", None)):
        resp = auth.get(lp_query(channel, 0), dict(token, Origin=origin))
        assert resp.status == 200 and resp.message() == ("m", 1), resp
        assert resp.header("Access-Control-Allow-Origin") == echoed, resp
    # Refusals carry the echo only for allowed origins too.
    assert auth.get(lp_query(channel, 0), {"Origin": STRANGER}).header("Access-Control-Allow-Origin") is None


@pytest.mark.clause("AUTH-14")
def test_auth_14_websocket_from_a_disallowed_origin_is_refused(auth):
    channel = fresh("auth14ws")
    token = bearer(hs(auth, subscribe=[channel]))
    conn, resp, _ = ws.handshake(auth, channel, dict(token, Origin=STRANGER))
    assert_forbidden(resp)
    assert conn.read_until_close() == b""
    ws.connect(auth, channel, dict(token, Origin=OTHER_ORIGIN)).close()
    ws.connect(auth, channel, token).close()


@pytest.mark.clause("AUTH-15")
def test_auth_15_preflight_for_allowed_origins(auth):
    channel = fresh("auth15")
    with auth.connect() as conn:
        resp = conn.request("OPTIONS", channel, None, {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
                                                       "Access-Control-Request-Headers": "authorization"})
        assert resp.status == 204, resp
        assert resp.header("Access-Control-Allow-Origin") == ORIGIN
        assert "Authorization" in resp.header("Access-Control-Allow-Headers").split(", ")
        assert set(resp.header("Access-Control-Allow-Methods").split(", ")) >= {"GET", "PUT", "POST"}
        assert resp.header("Access-Control-Max-Age") == "600"
        assert resp.header("Access-Control-Allow-Credentials") == "true"
        assert conn.request("OPTIONS", channel, None, {"Origin": STRANGER}).status == 403
        assert conn.request("OPTIONS", channel).status == 403
        # Still keep-alive: the next request on the connection is served.
        assert conn.put(channel, "after", bearer(hs(auth, publish=[channel]))).raw == ACCEPTED


@pytest.mark.clause("AUTH-15")
def test_auth_15_no_key_and_any_origin_keeps_the_reference_405(server, channel):
    resp = server.request("OPTIONS", channel, None, {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"})
    assert resp.status == 405 and resp.header("Allow") == "GET", resp


# -- AUTH-16: the authorization hook ------------------------------------------------------------------


def hook_log(hook_url: str) -> list:
    with Server(hook_url, 1, 1).connect() as conn:
        resp = conn.get("/")
    assert resp.status == 200, resp
    return resp.json()


@pytest.mark.clause("AUTH-16")
def test_auth_16_hook_answers_become_the_clients(hooked):
    server, hook = hooked
    base = fresh("auth16")
    credentials = {"Cookie": "session=abc", "Authorization": "Token xyz", "Origin": ORIGIN}
    with server.connect() as conn:
        assert conn.put(f"{base}/allow?x=1", "m", credentials).raw == ACCEPTED
        resp = conn.get(lp_query(f"{base}/allow", 0), credentials)
        assert resp.status == 200 and resp.message() == ("m", 1), resp
        assert_no_token(conn.get(f"{base}/unauth"))
        assert_forbidden(conn.get(f"{base}/deny"))
        resp = conn.get(f"{base}/broken")
        assert resp.status == 503, resp
    asked = [entry for entry in hook_log(hook) if entry["body"]["channel"].startswith(base)]
    assert asked[0] == {"body": {"action": "publish", "channel": f"{base}/allow", "method": "PUT",
                                 "path": f"{base}/allow?x=1", "client": "127.0.0.1"},
                        "cookie": "session=abc", "authorization": "Token xyz", "origin": ORIGIN,
                        "content_type": "application/json"}, asked[0]
    assert asked[1]["body"]["action"] == "subscribe" and asked[1]["body"]["method"] == "GET", asked[1]
    assert len(asked) == 5, asked


@pytest.mark.clause("AUTH-16")
def test_auth_16_silent_hook_is_503_and_delays_no_one_else(hooked):
    server, _ = hooked
    base = fresh("auth16slow")
    slow = server.connect(timeout=5)
    started = time.monotonic()
    slow.send_request("PUT", f"{base}/slow", b"s")
    with server.connect() as conn:
        for i in range(3):
            asked = time.monotonic()
            assert conn.put(f"{base}/allow{i}", "a").raw == ACCEPTED
            assert time.monotonic() - asked < 0.5
    resp = slow.read_response()
    assert resp.status == 503, resp
    assert 0.9 < time.monotonic() - started < 2.5
    # WebSocket upgrades are judged by the hook too.
    _, resp, _ = ws.handshake(server, f"{base}/deny")
    assert_forbidden(resp)
    ws.connect(server, f"{base}/allow").close()
