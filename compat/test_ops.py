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

from ops_process import (Process, masked_close, open_long_poll, open_websocket, raise_file_limit, read_response,
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
    stuck = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    stuck.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\n")
    wait_until(lambda: p.json("/health")[1]["connections"] >= 2, 5, "the stuck connection open")
    started = time.monotonic()
    p.signal(signal.SIGTERM)
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
