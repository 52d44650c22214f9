"""OPS: running the server in production (spec/operations.md, OPS-n): health and readiness, the
drain on SIGTERM/SIGINT, the admin listener, Prometheus metrics, logs, the CLI, port sharing.

Every test starts its own server process (compat/ops_process.py) because most send it real
signals; all are extensions, skipped without FIREHOSE_BINARY.
"""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest

from ops_process import (Process, RedisServer, masked_close, masked_text, open_long_poll, open_websocket, raise_file_limit, read_response,
                         read_ws_frame, wait_until)


@pytest.fixture
def proc(request):
    started = []

    def start(*args, **kw):
        p = Process(*args, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def ready_status(p) -> int:
    """/ready's status; 0 when the connection was closed unanswered (the drain closes connections
    that have sent nothing yet, as it closes idle ones)."""
    try:
        return p.request("GET", "/ready", admin=True)[0]
    except (ConnectionResetError, AssertionError):
        return 0


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


# --- OPS-1: public health ---------------------------------------------------------------------


@pytest.mark.extension
@pytest.mark.clause("OPS-1")
def test_ops_1_health_is_json_readiness_and_head_still_pings(proc):
    p = proc(admin=False)
    status, headers, body = p.request("GET", "/health@firehose")
    assert status == 200 and headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["status"] == "ok" and doc["draining"] is False and doc["backend"] == "memory"
    status, headers, body = p.request("HEAD", "/any/path")
    assert (status, body) == (200, b"")
    # Reserved: a publish there does not make a channel the health check would shadow.
    assert p.request("GET", "/health@firehose?last_message_sequence=0")[0] == 200


# --- OPS-2: the drain ---------------------------------------------------------------------------


@pytest.mark.extension
@pytest.mark.clause("OPS-2")
def test_ops_2_drain_answers_1000_long_polls_204_and_closes_1000_websockets_1001(proc):
    raise_file_limit(5000)
    p = proc("--drain-timeout", "10", "--long-poll-timeout", "60", "--idle-timeout", "60")
    polls = [open_long_poll(p.port, "/drain/lp") for _ in range(1000)]
    sockets = [open_websocket(p.port, "/drain/ws") for _ in range(1000)]
    wait_until(lambda: p.json("/health")[1]["connections"] >= 1001 and p.json("/health")[1]["websockets"] == 1000,
               20, "1000 held long-polls and 1000 WebSockets")
    # A request still arriving when the signal comes is finished, on the public port, after it.
    late = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    late.sendall(b"GET /health@firehose HTTP/1.1\r\nHost: t\r\n")
    wait_until(lambda: p.json("/health")[1]["connections"] >= 1002, 5, "the late connection accepted")
    started = time.monotonic()
    p.signal(signal.SIGTERM)
    # Readiness is 503 as soon as the signal is handled (the admin listener stays up during the
    # drain), and by the time the public listener refuses connections it has long been 503.
    wait_until(lambda: ready_status(p) == 503, 2, "readiness 503")
    status, doc = p.json("/ready")
    assert status == 503 and doc["status"] == "draining" and doc["reason"] == "draining"
    assert refused(p.port)
    late.sendall(b"\r\n")
    status, headers, body = read_response(late)
    assert status == 503 and json.loads(body)["status"] == "draining" and headers["connection"] == "close"
    late.close()
    for sock in polls:
        status, headers, _ = read_response(sock, timeout=5)
        assert status == 204 and headers.get("connection") == "close"
        sock.close()
    for sock in sockets:
        opcode, payload = read_ws_frame(sock, timeout=5)
        assert (opcode, payload[:2]) == (0x8, (1001).to_bytes(2, "big"))
        sock.sendall(masked_close(1001))
        sock.close()
    assert p.wait_exit(10) == 0
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"drain took {elapsed:.1f} s"
    assert "drained: every connection closed" in p.log()


@pytest.mark.extension
@pytest.mark.clause("OPS-2")
def test_ops_2_drain_timeout_then_exit_and_second_signal_exits_at_once(proc):
    # A request that never completes keeps the drain waiting: the timeout ends it.
    p = proc("--drain-timeout", "1", "--idle-timeout", "60")
    assert p.publish("/late/b", "b1") == 202
    stuck = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    stuck.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\n")
    # Requests that complete during the drain: a HEAD ping is 503; a long-poll that would wait is
    # 204 at once; one with a message due gets it. Each closes its connection.
    late = {}
    for name, start in (("head", b"HEAD / HTTP/1.1\r\n"), ("wait", b"GET /late/a?last_message_sequence=0 HTTP/1.1\r\n"),
                        ("due", b"GET /late/b?last_message_sequence=0 HTTP/1.1\r\n")):
        late[name] = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        late[name].sendall(start + b"Host: t\r\n")
    wait_until(lambda: p.json("/health")[1]["connections"] >= 5, 5, "the stuck connections open")
    started = time.monotonic()
    p.signal(signal.SIGTERM)
    wait_until(lambda: ready_status(p) == 503, 2, "readiness 503")
    for sock in late.values():
        sock.sendall(b"\r\n")
    assert read_response(late["head"], head=True)[0] == 503
    status, headers, _ = read_response(late["wait"])
    assert status == 204 and headers["connection"] == "close"
    status, _, body = read_response(late["due"])
    assert status == 200 and json.loads(body)["message"] == "b1"
    assert p.wait_exit(5) == 0
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3, elapsed
    assert "drain timeout (1.0 s) passed with 1 connections open" in p.log()
    stuck.close()

    q = proc("--drain-timeout", "60", "--idle-timeout", "60")
    stuck = socket.create_connection(("127.0.0.1", q.port), timeout=5)
    stuck.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\n")
    wait_until(lambda: q.json("/health")[1]["connections"] >= 2, 5, "the stuck connection open")
    q.signal(signal.SIGINT)
    wait_until(lambda: ready_status(q) == 503, 5, "readiness 503")
    assert q.proc.poll() is None  # still draining
    started = time.monotonic()
    q.signal(signal.SIGINT)
    q.wait_exit(5)
    assert time.monotonic() - started < 1
    stuck.close()


@pytest.mark.extension
@pytest.mark.clause("OPS-2")
def test_ops_2_drain_ends_sse_streams_and_finishes_keep_alive_connections(proc):
    p = proc("--drain-timeout", "5", "--idle-timeout", "60")
    stream = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    stream.sendall(b"GET /drain/sse HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
    stream.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head:
        head += stream.recv(4096)
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower()
    idle = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    idle.sendall(b"PUT /drain/x HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx")
    assert read_response(idle)[0] == 202
    p.signal(signal.SIGTERM)
    rest = head.split(b"\r\n\r\n", 1)[1]
    while not rest.endswith(b"0\r\n\r\n"):
        chunk = stream.recv(4096)
        assert chunk, f"stream closed without its last chunk: {rest!r}"
        rest += chunk
    assert stream.recv(4096) == b""  # then closed
    idle.settimeout(5)
    assert idle.recv(4096) == b""  # the idle keep-alive connection is closed at once
    assert p.wait_exit(5) == 0


# --- OPS-3: the admin listener: liveness, readiness ---------------------------------------------


@pytest.mark.extension
@pytest.mark.clause("OPS-3")
def test_ops_3_admin_health_and_ready_and_nothing_else_on_it(proc):
    p = proc()
    status, doc = p.json("/health")
    assert status == 200 and doc["status"] == "ok"
    status, doc = p.json("/ready")
    assert status == 200 and doc["status"] == "ok"
    with socket.create_connection(("127.0.0.1", p.admin_port), timeout=5) as sock:
        sock.sendall(b"HEAD /ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(4096):
            raw += chunk
        assert raw.startswith(b"HTTP/1.1 200") and raw.endswith(b"\r\n\r\n")  # no body after a HEAD
    assert p.request("GET", "/some/channel", admin=True)[0] == 404  # no channels on the admin port
    assert p.request("PUT", "/some/channel", b"x", admin=True)[0] == 404


@pytest.mark.extension
@pytest.mark.clause("OPS-3")
def test_ops_3_ready_is_503_while_redis_is_down(proc):
    redis = RedisServer()
    try:
        p = proc("--backend", "redis", "--redis-url", redis.url, "--redis-timeout", "0.5")
        wait_until(lambda: p.json("/ready")[0] == 200, 5, "ready with Redis up")
        assert scrape(p)["firehose_redis_connected"] == 1
        redis.stop()
        status, doc = wait_until(lambda: (lambda r: r if r[0] == 503 else None)(p.json("/ready")), 5, "ready 503")
        assert doc["reason"] == "backend down"
        assert p.request("GET", "/health@firehose")[0] == 503
        assert p.request("HEAD", "/x")[0] == 503
        assert p.json("/health")[0] == 200  # alive all the same
        assert p.publish("/down/a", "lost") == 503
        samples = scrape(p)
        assert samples["firehose_redis_connected"] == 0 and samples["firehose_publish_errors_total"] == 1
        redis.start()
        wait_until(lambda: p.json("/ready")[0] == 200, 10, "ready again with Redis back")
        samples = scrape(p)
        assert samples["firehose_redis_connected"] == 1 and samples["firehose_redis_reconnects_total"] == 2  # both
    finally:
        redis.stop()


# --- OPS-4: Prometheus metrics ------------------------------------------------------------------


def scrape(p) -> dict:
    """{sample name + sorted labels: value} from the admin /metrics, parsed by prometheus_client."""
    parser = pytest.importorskip("prometheus_client.parser")
    status, headers, body = p.request("GET", "/metrics", admin=True)
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in parser.text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            key = sample.name + "".join(f"|{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[key] = sample.value
    return samples


@pytest.mark.extension
@pytest.mark.clause("OPS-4")
def test_ops_4_metrics_parse_and_count_what_happened(proc):
    p = proc("--long-poll-timeout", "0.5")
    before = scrape(p)
    for name in ("firehose_messages_published_total", "firehose_long_poll_timeouts_total",
                 "firehose_slow_consumers_disconnected_total", "firehose_redis_reconnects_total",
                 "firehose_publish_errors_total", "firehose_waiting_long_polls", "firehose_channels",
                 "firehose_buffered_messages", "firehose_buffered_bytes", "firehose_redis_connected",
                 "firehose_draining", "firehose_publish_duration_seconds_count"):
        assert name in before, name
    for key in ("firehose_messages_delivered_total|transport=long_poll", "firehose_messages_delivered_total|transport=websocket",
                "firehose_requests_rejected_total|reason=method_not_allowed", "firehose_connections|transport=http",
                "firehose_connections|transport=websocket", "firehose_subscriptions|transport=websocket",
                "firehose_publish_duration_seconds_bucket|le=+Inf"):
        assert key in before, key
    assert before["firehose_messages_published_total"] == 0

    for body in ("a1", "a2", "a3"):
        assert p.publish("/m/a", body) == 202
    status, _, body = p.request("GET", "/m/a?last_message_sequence=2")
    assert status == 200 and json.loads(body)["message"] == "a3"
    ws = open_websocket(p.port, "/m/b")
    ws.sendall(masked_text(b'{"message_sequence":0}'))
    wait_until(lambda: scrape(p)["firehose_subscriptions|transport=websocket"] == 1, 5, "the WebSocket subscribed")
    for body in ("b1", "b2"):
        assert p.publish("/m/b", body) == 202
    for expected in ("b1", "b2"):
        opcode, payload = read_ws_frame(ws)
        assert opcode == 1 and json.loads(payload)["message"] == expected
    assert p.request("DELETE", "/m/a")[0] == 405
    assert p.request("GET", "/m/c?last_message_sequence=0", timeout=5)[0] == 204

    after = scrape(p)
    assert after["firehose_messages_published_total"] == 5
    assert after["firehose_messages_delivered_total|transport=long_poll"] == 1
    assert after["firehose_messages_delivered_total|transport=websocket"] == 2
    assert after["firehose_requests_rejected_total|reason=method_not_allowed"] == 1
    assert after["firehose_long_poll_timeouts_total"] == 1
    assert after["firehose_connections|transport=websocket"] == 1
    assert after["firehose_waiting_long_polls"] == 0
    assert after["firehose_channels"] == 2  # /m/a and /m/b; /m/c held nothing once its poll ended
    assert after["firehose_buffered_messages"] == 5
    assert after["firehose_buffered_bytes"] == 10
    assert after["firehose_publish_duration_seconds_count"] == 5
    assert after["firehose_publish_duration_seconds_bucket|le=+Inf"] == 5
    assert after["firehose_publish_duration_seconds_sum"] > 0
    assert after["firehose_redis_connected"] == 1 and after["firehose_draining"] == 0
    ws.close()


@pytest.mark.extension
@pytest.mark.clause("OPS-4")
def test_ops_4_public_metrics_off_hides_the_json_metrics(proc):
    p = proc("--public-metrics", "off")
    assert p.request("GET", "/metrics@firehose")[0] == 404
    q = proc(env={"PUBLIC_METRICS": "on"})
    status, _, body = q.request("GET", "/metrics@firehose")
    assert status == 200 and isinstance(json.loads(body), list)


# --- OPS-5: channels on the admin listener ------------------------------------------------------


def _channels_roundtrip(p):
    for body in ("x1", "x2", "x3"):
        assert p.publish("/adm/one", body) == 202
    assert p.publish("/adm/two", "y") == 202
    assert p.publish("/other/three", "z") == 202
    poll = open_long_poll(p.port, "/adm/one", 3)
    wait_until(lambda: p.json("/channels/adm/one")[1]["subscribers"]["long_poll"] == 1, 5, "the long-poll held")
    status, info = p.json("/channels/adm/one")
    assert status == 200
    assert info["channel"] == "/adm/one" and info["sequence"] == 3 and info["buffered"] == 3 and info["bytes"] == 6
    assert 0 < info["ttl"] <= 86400
    assert info["subscribers"] == {"long_poll": 1, "websocket": 0, "sse": 0}
    assert p.json("/channels/adm/none")[0] == 404
    status, listing = p.json("/channels?prefix=/adm/&limit=10")
    assert status == 200 and listing["channels"] == ["/adm/one", "/adm/two"]
    assert p.json("/channels?prefix=/&limit=1")[1]["channels"] == ["/adm/one"]
    assert p.request("GET", "/channels?limit=0", admin=True)[0] == 400
    assert p.request("GET", "/channels?limit=1001", admin=True)[0] == 400
    # DELETE: the waiting long-poll is answered 204; the next publish is sequence 1.
    status, _, body = p.request("DELETE", "/channels/adm/one", admin=True)
    assert status == 200 and json.loads(body) == {"channel": "/adm/one", "dropped": True}
    status, headers, _ = read_response(poll)
    assert status == 204
    poll.close()
    assert p.json("/channels/adm/one")[0] == 404
    assert p.request("DELETE", "/channels/adm/one", admin=True)[0] == 404
    assert p.publish("/adm/one", "again") == 202
    status, _, body = p.request("GET", "/adm/one?last_message_sequence=0")
    assert status == 200 and json.loads(body) == {"message": "again", "last_sequence": 1}


@pytest.mark.extension
@pytest.mark.clause("OPS-5")
def test_ops_5_channel_info_list_and_delete_memory(proc):
    _channels_roundtrip(proc())


@pytest.mark.extension
@pytest.mark.clause("OPS-5")
def test_ops_5_channel_info_list_and_delete_redis(proc):
    redis = RedisServer()
    try:
        p = proc("--backend", "redis", "--redis-url", redis.url)
        wait_until(lambda: p.json("/ready")[0] == 200, 5, "ready with Redis up")
        _channels_roundtrip(p)
        assert redis.command("GET", "firehose:/adm/one:sequence") == b"1"
        assert redis.command("EXISTS", "firehose:/adm/two:sequence") == 1
    finally:
        redis.stop()


# --- OPS-6: logs --------------------------------------------------------------------------------


def _json_lines(text: str) -> list:
    lines = [line for line in text.splitlines() if line.strip()]
    docs = [json.loads(line) for line in lines]  # every line is one JSON object
    for doc in docs:
        assert isinstance(doc["time"], str) and doc["level"] in ("debug", "info", "warn", "error")
        assert isinstance(doc["message"], str)
    return docs


def _access(p, count: int) -> list:
    return wait_until(lambda: (lambda found: found if len(found) >= count else None)(
        [d for d in _json_lines(p.log()) if d["message"] == "access"]), 5, f"{count} access lines")


@pytest.mark.extension
@pytest.mark.clause("OPS-6")
def test_ops_6_json_log_and_access_log_with_trusted_proxies(proc):
    p = proc("--log-format", "json", "--access-log", "--trusted-proxies", "127.0.0.1, 10.0.0.0/8")
    assert p.request("PUT", "/j/a", b"hello", headers={"X-Forwarded-For": "203.0.113.9, 10.1.2.3"})[0] == 202
    status, _, body = p.request("GET", "/j/a?last_message_sequence=0&token=secret")
    assert status == 200
    ws = open_websocket(p.port, "/j/a")
    ws.sendall(masked_text(b'{"message_sequence":0}'))
    assert read_ws_frame(ws)[0] == 1
    ws.sendall(masked_close(1000))
    assert read_ws_frame(ws)[0] == 8
    ws.close()
    lines = _access(p, 3)
    publish, poll, socket_line = lines[0], lines[1], lines[2]
    assert publish["client"] == "203.0.113.9"  # the right-most hop that is not a trusted proxy
    assert (publish["method"], publish["path"], publish["status"], publish["transport"]) == ("PUT", "/j/a", 202, "http")
    assert publish["bytes"] > 0 and publish["duration"] >= 0
    assert poll["client"] == "127.0.0.1" and poll["path"] == "/j/a"  # no query string in the log
    assert (poll["status"], poll["transport"]) == (200, "long_poll")
    assert (socket_line["status"], socket_line["transport"], socket_line["method"]) == (101, "websocket", "GET")
    assert socket_line["bytes"] == len(json.dumps({"message": "hello", "last_sequence": 1}, separators=(",", ":")))
    assert any("listening on" in d["message"] for d in _json_lines(p.log()))

    # Without --trusted-proxies the header is not believed.
    q = proc("--access-log", env={"LOG_FORMAT": "json"})
    assert q.request("PUT", "/j/b", b"x", headers={"X-Forwarded-For": "203.0.113.9"})[0] == 202
    assert _access(q, 1)[0]["client"] == "127.0.0.1"


@pytest.mark.extension
@pytest.mark.clause("OPS-6")
def test_ops_6_sighup_reopens_the_log_file(proc, tmp_path):
    path = tmp_path / "firehose.log"
    p = proc("--log-file", str(path), "--access-log", log_path=str(path))
    assert p.publish("/h/a", "before") == 202
    wait_until(lambda: "PUT" in path.read_text() and "access" in path.read_text(), 5, "the first access line")
    rotated = tmp_path / "firehose.log.1"
    path.rename(rotated)
    p.signal(signal.SIGHUP)
    wait_until(lambda: path.exists() and "reopened" in path.read_text(), 5, "the log reopened")
    assert p.publish("/h/a", "after") == 202
    wait_until(lambda: "access" in path.read_text(), 5, "an access line in the new file")
    assert "reopened" not in rotated.read_text()
    assert p.proc.poll() is None  # SIGHUP does not stop the server


# --- OPS-7: the command line --------------------------------------------------------------------


@pytest.mark.extension
@pytest.mark.clause("OPS-7")
def test_ops_7_ruby_spellings_start_a_server_and_publish():
    import subprocess

    import ops_process

    bare = subprocess.run([ops_process.BINARY], capture_output=True, text=True, timeout=10)
    assert bare.returncode == 0 and "USAGE: firehose <subcommand>" in bare.stdout + bare.stderr
    assert "--help" in subprocess.run([ops_process.BINARY, "server", "--help"], capture_output=True, text=True,
                                      timeout=10).stdout

    p = Process("-s", "thin", admin=True)
    try:
        assert "--server thin ignored" in p.log()
        published = subprocess.run([ops_process.BINARY, "publish", "-t", "60", "-n", "3", "-i", "0.05", "-b", "2",
                                    f"http://127.0.0.1:{p.port}/cli/a", "hello"], capture_output=True, timeout=10)
        assert published.returncode == 0, published.stderr
        status, info = p.json("/channels/cli/a")
        assert status == 200 and (info["sequence"], info["buffered"]) == (3, 2) and 0 < info["ttl"] <= 60
    finally:
        p.stop()


@pytest.mark.extension
@pytest.mark.clause("OPS-7")
def test_ops_7_short_host_and_port_ipv6_url_and_ruby_log_levels(tmp_path):
    import subprocess

    import ops_process
    ops_process.need_binary()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "fatal.log"
    with open(log, "w") as err:
        server = subprocess.Popen([ops_process.BINARY, "server", "-h", "127.0.0.1", "-p", str(port)], stderr=err,
                                  env={**__import__("os").environ, "LOG_LEVEL": "fatal"})
    try:
        wait_until(lambda: not refused(port) if server.poll() is None else True, 10, "-h/-p server listening")
        assert server.poll() is None, log.read_text()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_response(sock, head=True)[0] == 200
        assert "INFO" not in log.read_text()  # fatal maps to error: no info lines
    finally:
        server.kill()
        server.wait(5)
    if not socket.has_ipv6:
        return
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return
    log6 = tmp_path / "v6.log"
    with open(log6, "w") as err:
        server = subprocess.Popen([ops_process.BINARY, "server", "--host", "::", "--port", "0"], stderr=err)
    try:
        found = wait_until(lambda: "listening on" in log6.read_text() and log6.read_text(), 10, "the start-up line")
        assert "listening on http://[::]:" in found
    finally:
        server.kill()
        server.wait(5)


# --- OPS-8: several processes on one port -------------------------------------------------------


def _which_node(nodes, port: int):
    """A keep-alive connection to `port` and the index of the node (of `nodes`) that accepted it:
    a long-poll on a fresh channel shows up in that node's /channels info."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    probe = f"/rp/probe-{time.monotonic_ns()}"
    sock.sendall(f"GET {probe}?last_message_sequence=0 HTTP/1.1\r\nHost: t\r\n\r\n".encode())

    def holder():
        for index, node in enumerate(nodes):
            if node.json(f"/channels{probe}")[0] == 200:
                return index + 1
        return None

    index = wait_until(holder, 5, "the probe long-poll held somewhere") - 1
    assert nodes[0].publish(probe, "probe") == 202  # through either process: Redis carries it
    status, _, _ = read_response(sock)
    assert status == 200
    return sock, index


@pytest.mark.extension
@pytest.mark.clause("OPS-8")
def test_ops_8_two_processes_share_a_port_and_each_publish_reaches_both(proc):
    raise_file_limit(2000)
    redis = RedisServer()
    try:
        a = proc("--backend", "redis", "--redis-url", redis.url, "--reuse-port", "--long-poll-timeout", "30")
        b = proc("--backend", "redis", "--redis-url", redis.url, "--reuse-port", "--long-poll-timeout", "30",
                 port=a.port)
        assert b.port == a.port
        nodes = [a, b]
        for node in nodes:
            wait_until(lambda: node.json("/ready")[0] == 200, 5, "ready with Redis")
        # A publisher connection on each node.
        publishers = {}
        for _ in range(200):
            if len(publishers) == 2:
                break
            sock, index = _which_node(nodes, a.port)
            if index in publishers:
                sock.close()
            else:
                publishers[index] = sock
        assert len(publishers) == 2, "every probe connection went to one process"
        polls = [open_long_poll(a.port, "/rp/ch") for _ in range(200)]
        waiting = wait_until(lambda: (lambda w: w if sum(w) == 200 else None)(
            [scrape(node)["firehose_waiting_long_polls"] for node in nodes]), 10, "200 long-polls held")
        assert min(waiting) > 0, f"one process served none: {waiting}"
        for sequence, index in ((1, 0), (2, 1)):
            pub = publishers[index]
            pub.sendall(f"PUT /rp/ch HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nm{sequence}".encode())
            assert read_response(pub)[0] == 202
            for sock in polls:
                status, _, body = read_response(sock)
                assert status == 200 and json.loads(body) == {"message": f"m{sequence}", "last_sequence": sequence}
                sock.sendall(f"GET /rp/ch?last_message_sequence={sequence} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            # Every re-poll is held again before the next publish.
            wait_until(lambda: sum(scrape(node)["firehose_waiting_long_polls"] for node in nodes) == 200, 10,
                       "the re-polls held")
        for sock in polls + list(publishers.values()):
            sock.close()
    finally:
        redis.stop()
