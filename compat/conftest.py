"""Options and fixtures for the compatibility suite.

    python3 -m pytest compat --url http://127.0.0.1:7474
    FIREHOSE_URL=http://127.0.0.1:7474 COMPAT_LONGPOLL_TIMEOUT=2 COMPAT_IDLE_TIMEOUT=3 python3 -m pytest compat

COMPAT_LONGPOLL_TIMEOUT and COMPAT_IDLE_TIMEOUT (seconds) must match the server under test
(reference values 20 and 30). For the event-stream extension (spec/sse.md, compat/test_sse.py) so
must COMPAT_SSE_HEARTBEAT (seconds, the server's --sse-heartbeat, default 15),
COMPAT_SSE_RETRY_MS (its --sse-retry-ms, default 2000) and COMPAT_MAX_BUFFERED (bytes, its
--ws-max-buffered, default 1048576).
"""

from __future__ import annotations

import os

import pytest

import wire


def pytest_addoption(parser):
    group = parser.getgroup("firehose compat")
    group.addoption(
        "--url",
        default=os.environ.get("FIREHOSE_URL", "http://127.0.0.1:7474"),
        help="base URL of the server under test (env FIREHOSE_URL; default http://127.0.0.1:7474)",
    )
    group.addoption(
        "--publish-url",
        default=os.environ.get("FIREHOSE_PUBLISH_URL"),
        help="another node sharing the server's backend: the suite's set-up publishes go there while "
        "subscriptions go to --url, so every such test checks delivery across nodes "
        "(env FIREHOSE_PUBLISH_URL; default: --url)",
    )
    group.addoption(
        "--longpoll-timeout",
        type=float,
        default=float(os.environ.get("COMPAT_LONGPOLL_TIMEOUT", "20")),
        help="the server's long-poll timeout in seconds (env COMPAT_LONGPOLL_TIMEOUT; default 20)",
    )
    group.addoption(
        "--idle-timeout",
        type=float,
        default=float(os.environ.get("COMPAT_IDLE_TIMEOUT", "30")),
        help="the server's keep-alive idle timeout in seconds (env COMPAT_IDLE_TIMEOUT; default 30)",
    )
    group.addoption(
        "--sse-heartbeat",
        type=float,
        default=float(os.environ.get("COMPAT_SSE_HEARTBEAT", "15")),
        help="seconds of silence after which the server sends an event stream `: ping` "
        "(env COMPAT_SSE_HEARTBEAT; default 15)",
    )
    group.addoption(
        "--sse-retry-ms",
        type=int,
        default=int(os.environ.get("COMPAT_SSE_RETRY_MS", "2000")),
        help="the `retry:` value the server starts event streams with (env COMPAT_SSE_RETRY_MS; default 2000)",
    )
    group.addoption(
        "--max-buffered",
        type=int,
        default=int(os.environ.get("COMPAT_MAX_BUFFERED", str(1 << 20))),
        help="bytes queued for a client that does not read before the server cuts it off "
        "(env COMPAT_MAX_BUFFERED; default 1048576)",
    )


@pytest.fixture(scope="session")
def server(pytestconfig) -> wire.Server:
    """The server under test. Fails every test that needs it when it cannot be reached."""
    srv = wire.Server(
        pytestconfig.getoption("--url"),
        pytestconfig.getoption("--longpoll-timeout"),
        pytestconfig.getoption("--idle-timeout"),
        publish_url=pytestconfig.getoption("--publish-url"),
        sse_heartbeat=pytestconfig.getoption("--sse-heartbeat"),
        sse_retry_ms=pytestconfig.getoption("--sse-retry-ms"),
        max_buffered=pytestconfig.getoption("--max-buffered"),
    )
    try:
        srv.connect(timeout=3).close()
        srv.connect_publisher(timeout=3).close()
    except OSError as exc:
        pytest.fail(f"cannot connect to the server under test at {srv.url}: {exc}", pytrace=False)
    return srv


@pytest.fixture
def channel(request) -> str:
    """A fresh channel name for this test: /compat/<test name>/<random hex>."""
    return wire.Server.channel(request.node.name)


@pytest.fixture
def eight(server, channel):
    """A channel holding m1 .. m8 (sequence 8, all buffered), like the channel probed on the reference."""
    server.publish_many(channel, [f"m{i}" for i in range(1, 9)])
    return channel


@pytest.fixture
def conn(server) -> wire.Connection:
    """A keep-alive connection for this test."""
    return server.connect()


@pytest.fixture
def ab(server, channel) -> wire.ChannelPair:
    """Two fresh channels holding three messages each: a-1..a-3 and b-1..b-3 (interleaved)."""
    pair = wire.ChannelPair(f"{channel}/a", f"{channel}/b")
    with server.connect() as conn:
        for i in range(1, 4):
            for ch, prefix in ((pair.a, "a"), (pair.b, "b")):
                resp = conn.put(ch, f"{prefix}-{i}")
                assert resp.raw == wire.ACCEPTED, resp
    return pair


@pytest.fixture(autouse=True)
def _close_connections():
    """Close whatever connections a test left open, so one test's sockets never leak into the next."""
    yield
    for leftover in list(wire.OPEN_CONNECTIONS):
        try:
            leftover.close()
        except OSError:
            pass
