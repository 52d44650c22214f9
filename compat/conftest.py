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
    group.addoption(
        "--auth-url",
        default=os.environ.get("FIREHOSE_AUTH_URL"),
        help="a second server with access control on (spec/auth.md): started with --jwt-secret, --auth all "
        "--jwt-cookie firehose_token and --allowed-origins http://app.example,https://second.example:8443, and with the public keys of --jwt-es256-key and --jwt-rs256-key "
        "when given. test_auth.py skips without it (env FIREHOSE_AUTH_URL)",
    )
    group.addoption("--jwt-secret", default=os.environ.get("FIREHOSE_JWT_SECRET"),
                    help="the --jwt-secret of the --auth-url server (env FIREHOSE_JWT_SECRET)")
    group.addoption("--jwt-es256-key", default=os.environ.get("COMPAT_JWT_ES256_KEY"),
                    help="a P-256 private key file (PEM) whose public key the --auth-url server trusts")
    group.addoption("--jwt-rs256-key", default=os.environ.get("COMPAT_JWT_RS256_KEY"),
                    help="an RSA private key file (PEM) whose public key the --auth-url server trusts")
    group.addoption("--hook-server-url", default=os.environ.get("FIREHOSE_HOOK_SERVER_URL"),
                    help="a server started with --auth all --auth-timeout 1 and --auth-url pointing at "
                    "compat/hook_server.py; the AUTH-16 tests skip without it")
    group.addoption("--hook-url", default=os.environ.get("COMPAT_HOOK_URL"),
                    help="the base URL of that compat/hook_server.py, whose GET / lists what it was sent")


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


class AuthServer(wire.Server):
    """The server with access control on, and what the suite knows of its keys."""

    def __init__(self, url: str, longpoll_timeout: float, idle_timeout: float, secret: bytes,
                 es256_key: "bytes | None", rs256_key: "bytes | None"):
        super().__init__(url, longpoll_timeout, idle_timeout)
        self.secret = secret
        self.es256_key = es256_key
        self.rs256_key = rs256_key


@pytest.fixture(scope="session")
def auth(pytestconfig) -> AuthServer:
    """The access-control server; the test is skipped when the suite was not given one."""
    url, secret = pytestconfig.getoption("--auth-url"), pytestconfig.getoption("--jwt-secret")
    if not url or not secret:
        pytest.skip("no access-control server: give --auth-url and --jwt-secret (compat/run-local.sh does)")

    def read(option):
        path = pytestconfig.getoption(option)
        return open(path, "rb").read() if path else None

    srv = AuthServer(url, pytestconfig.getoption("--longpoll-timeout"), pytestconfig.getoption("--idle-timeout"),
                     secret.encode("utf-8"), read("--jwt-es256-key"), read("--jwt-rs256-key"))
    try:
        srv.connect(timeout=3).close()
    except OSError as exc:
        pytest.fail(f"cannot connect to the access-control server at {url}: {exc}", pytrace=False)
    return srv


@pytest.fixture(scope="session")
def hooked(pytestconfig):
    """(server asking the hook, the hook's base URL); the test is skipped without them."""
    url, hook = pytestconfig.getoption("--hook-server-url"), pytestconfig.getoption("--hook-url")
    if not url or not hook:
        pytest.skip("no hook server: give --hook-server-url and --hook-url (compat/run-local.sh does)")
    return wire.Server(url, pytestconfig.getoption("--longpoll-timeout"), pytestconfig.getoption("--idle-timeout")), hook
