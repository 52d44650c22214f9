"""A small raw-socket HTTP/1.1 client for black-box protocol tests.

Nothing here interprets HTTP more than needed to find where one response ends, so tests can assert
exact status lines, header order and body bytes. Everything that waits takes a timeout; a missing
answer is an AssertionError with the bytes seen so far, never a hang.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
import urllib.parse
import weakref
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence, Union

# Default time to wait for an answer that should come at once.
DEFAULT_TIMEOUT = float(os.environ.get("COMPAT_TIMEOUT", "5"))
# How long to listen when asserting that nothing arrives.
QUIET = float(os.environ.get("COMPAT_QUIET", "0.75"))

REASONS = {
    100: "Continue",
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    405: "Method Not Allowed",
}

Headers = Union[None, Sequence[tuple], dict]


class ResponseTimeout(AssertionError):
    """No complete response arrived in time."""


class PeerClosed(AssertionError):
    """The server closed the connection before a complete response arrived."""


# --------------------------------------------------------------------------------------------
# Expected bytes
# --------------------------------------------------------------------------------------------

_JSON_ESCAPES = {
    0x22: b'\\"',
    0x5C: b"\\\\",
    0x08: b"\\b",
    0x09: b"\\t",
    0x0A: b"\\n",
    0x0C: b"\\f",
    0x0D: b"\\r",
}


def json_string(value: Union[str, bytes]) -> bytes:
    """Encode a message the way the reference server does (spec ENC-2..ENC-4).

    Only `"`, `\\` and bytes below 0x20 are escaped (lowercase `\\u00xx` except the five short
    forms); everything else, including `/`, 0x7F and all non-ASCII UTF-8, passes through raw.
    """
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    out = bytearray(b'"')
    for byte in raw:
        esc = _JSON_ESCAPES.get(byte)
        if esc is not None:
            out += esc
        elif byte < 0x20:
            out += b"\\u%04x" % byte
        else:
            out.append(byte)
    out += b'"'
    return bytes(out)


def frame(message: Union[str, bytes], sequence: int, channel: Optional[str] = None) -> bytes:
    """The long-poll body for one message (LP-1), or the multiplexed one (MUX-3) with a channel."""
    parts = []
    if channel is not None:
        parts.append(b'"channel":' + json_string(channel))
    parts.append(b'"message":' + json_string(message))
    parts.append(b'"last_sequence":' + str(int(sequence)).encode())
    return b"{" + b",".join(parts) + b"}"


NEGATIVE_BODY = b"The last_message_sequence parameter may not be less than zero"
NO_SUBSCRIPTION_BODY = (
    b'{"error":"Subscription failed",'
    b'"reason":"No subscription data given - can\'t subscribe to nothing"}'
)


def numbered_frame(i: int) -> bytes:
    """The frame of message `m<i>` at sequence i (see the `eight` fixture)."""
    return frame(f"m{i}", i)


def expected_response(
    status: int,
    body: bytes = b"",
    *,
    content_type: Optional[str] = None,
    allow: Optional[str] = None,
    origin: Optional[str] = None,
    connection: str = "keep-alive",
) -> bytes:
    """The exact bytes of a response framed as spec FR-1/FR-2 prescribe."""
    lines = [f"HTTP/1.1 {status} {REASONS[status]}", f"Content-Length: {len(body)}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if allow is not None:
        lines.append(f"Allow: {allow}")
    if origin is not None:
        lines.append(f"Access-Control-Allow-Origin: {origin}")
    lines.append(f"Connection: {connection}")
    lines.append("Server: thin")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


ACCEPTED = expected_response(202, content_type="text/plain")  # PUB-1, on a keep-alive connection
CLOSE = {"Connection": "close"}


# --------------------------------------------------------------------------------------------
# Requests and responses
# --------------------------------------------------------------------------------------------


def _header_items(headers: Headers) -> list:
    if headers is None:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)


def build_request(
    method: str,
    target: str,
    body: Optional[bytes] = None,
    headers: Headers = None,
    *,
    version: str = "HTTP/1.1",
    host: Optional[str] = None,
) -> bytes:
    """Serialise a request. `Host` is added first unless given; `Content-Length` is added last when
    there is a body and neither Content-Length nor Transfer-Encoding was given."""
    items = _header_items(headers)
    names = {str(k).lower() for k, _ in items}
    lines = [f"{method} {target} {version}"]
    if host is not None and "host" not in names:
        lines.append(f"Host: {host}")
    lines += [f"{k}: {v}" for k, v in items]
    if body is not None and not names & {"content-length", "transfer-encoding"}:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return head + (body or b"")


@dataclass
class Response:
    raw: bytes  # the whole response as received: head and body
    status_line: str
    status: int
    headers: list  # [(name, value)] in the order received
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it was complete

    @property
    def header_names(self) -> list:
        return [name for name, _ in self.headers]

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def json_keys(self) -> list:
        """Top-level keys of a JSON object body, in wire order."""
        return [k for k, _ in json.loads(self.body.decode("utf-8"), object_pairs_hook=list)]

    def message(self) -> tuple:
        """(message, last_sequence) of a 200 long-poll body."""
        assert self.status == 200, f"expected a 200 with a message, got {self!r}"
        data = self.json()
        return data["message"], data["last_sequence"]

    def __repr__(self) -> str:
        shown = self.raw if len(self.raw) <= 600 else self.raw[:600] + b"...<%d bytes>" % len(self.raw)
        return f"<Response {shown!r}>"


# Every open connection, so the test harness can close whatever a test left open.
OPEN_CONNECTIONS: "weakref.WeakSet[Connection]" = weakref.WeakSet()


class Connection:
    """One TCP connection to the server, with a receive buffer that keeps whatever arrived after
    the last parsed response (stray responses, pipelined answers)."""

    def __init__(self, host: str, port: int, timeout: float = DEFAULT_TIMEOUT, *, hostport: str = "",
                 rcvbuf: Optional[int] = None):
        self.host, self.port = host, port
        self.hostport = hostport or f"{host}:{port}"
        self.timeout = timeout
        if rcvbuf is None:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        else:
            # A small receive buffer makes a client that does not read fill up quickly. It must be
            # set before connecting: the TCP window scale is agreed in the handshake.
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        OPEN_CONNECTIONS.add(self)

    # -- plumbing ---------------------------------------------------------------------------

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            OPEN_CONNECTIONS.discard(self)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _recv(self, deadline: float) -> bool:
        """Read what is available into the buffer. False on EOF (or reset); raises socket.timeout
        when the deadline passes with nothing read."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 16)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    # -- reading ----------------------------------------------------------------------------

    def read_response(self, timeout: Optional[float] = None, *, head_request: bool = False) -> Response:
        """Read exactly one response. Its body is `Content-Length` bytes; none for HEAD, 1xx, 204
        and 304; everything up to EOF when there is no Content-Length."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        try:
            while b"\r\n\r\n" not in self.buf:
                if not self._recv(deadline):
                    raise PeerClosed(f"connection closed before a complete response head; got {self.buf!r}")
            end_of_head = self.buf.index(b"\r\n\r\n") + 4
            head = self.buf[:end_of_head].decode("latin-1")
            lines = head[:-4].split("\r\n")
            status_line = lines[0]
            parts = status_line.split(" ", 2)
            assert len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit(), (
                f"malformed status line {status_line!r} in {self.buf!r}"
            )
            status = int(parts[1])
            headers = []
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                assert sep, f"malformed header line {line!r} in {self.buf!r}"
                headers.append((name, value.strip(" \t")))
            length = None
            for name, value in headers:
                if name.lower() == "content-length":
                    length = int(value)
            if head_request or 100 <= status < 200 or status in (204, 304):
                end = end_of_head
            elif length is not None:
                end = end_of_head + length
                while len(self.buf) < end:
                    if not self._recv(deadline):
                        raise PeerClosed(
                            f"connection closed after {len(self.buf) - end_of_head} of {length} body bytes; "
                            f"head {self.buf[:end_of_head]!r}"
                        )
            else:
                while self._recv(deadline):
                    pass
                end = len(self.buf)
        except socket.timeout:
            raise ResponseTimeout(
                f"no complete response within {timeout:.2f}s; received so far: {self.buf[:600]!r}"
            ) from None
        raw, self.buf = self.buf[:end], self.buf[end:]
        return Response(raw=raw, status_line=status_line, status=status, headers=headers,
                        body=raw[end_of_head:])

    def assert_silent(self, seconds: float = QUIET) -> None:
        """Fail if any byte arrives, or the peer closes, within `seconds`."""
        assert not self.buf, f"unexpected bytes already received: {self.buf[:600]!r}"
        assert not self.eof, "connection already closed by the server"
        deadline = time.monotonic() + seconds
        try:
            got = self._recv(deadline)
        except socket.timeout:
            return
        if got:
            raise AssertionError(f"expected silence for {seconds}s, received {self.buf[:600]!r}")
        raise AssertionError(f"expected silence for {seconds}s, but the server closed the connection")

    def wait_closed(self, timeout: float) -> float:
        """Wait for the server to close the connection without sending anything more. Returns the
        seconds waited."""
        assert not self.buf, f"unexpected bytes received before the close: {self.buf[:600]!r}"
        start = time.monotonic()
        deadline = start + timeout
        try:
            got = self._recv(deadline)
        except socket.timeout:
            raise AssertionError(f"connection still open after {timeout:.2f}s") from None
        assert not got, f"expected the connection to close, received {self.buf[:600]!r}"
        return time.monotonic() - start

    def read_until_close(self, timeout: Optional[float] = None) -> bytes:
        """Everything until the server closes the connection (including what is buffered)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        try:
            while self._recv(deadline):
                pass
        except socket.timeout:
            raise AssertionError(
                f"connection still open after {timeout:.2f}s; received {self.buf[:600]!r}"
            ) from None
        data, self.buf = self.buf, b""
        return data

    # -- requests ---------------------------------------------------------------------------

    def send_request(self, method: str, target: str, body: Optional[bytes] = None,
                     headers: Headers = None, *, version: str = "HTTP/1.1") -> None:
        self.send(build_request(method, target, body, headers, version=version, host=self.hostport))

    def request(self, method: str, target: str, body: Optional[bytes] = None, headers: Headers = None,
                *, version: str = "HTTP/1.1", timeout: Optional[float] = None) -> Response:
        self.send_request(method, target, body, headers, version=version)
        return self.read_response(timeout, head_request=(method == "HEAD"))

    def get(self, target: str, headers: Headers = None, **kw) -> Response:
        return self.request("GET", target, None, headers, **kw)

    def put(self, channel: str, body: Union[bytes, str] = b"", headers: Headers = None, **kw) -> Response:
        if isinstance(body, str):
            body = body.encode("utf-8")
        return self.request("PUT", channel, body, headers, **kw)

    def post(self, target: str, body: Union[bytes, str] = b"", headers: Headers = None, **kw) -> Response:
        if isinstance(body, str):
            body = body.encode("utf-8")
        return self.request("POST", target, body, headers, **kw)

    def head(self, target: str, headers: Headers = None, **kw) -> Response:
        return self.request("HEAD", target, None, headers, **kw)


# --------------------------------------------------------------------------------------------
# The server under test
# --------------------------------------------------------------------------------------------


def lp_query(channel: str, sequence) -> str:
    return f"{channel}?last_message_sequence={sequence}"


def mux_query(*subscriptions: str, path: str = "/channels@firehose") -> str:
    """`mux_query("/a!0", "/b!2")` -> `/channels@firehose?subscribe=/a!0,/b!2`."""
    return f"{path}?subscribe={','.join(subscriptions)}"


@dataclass(frozen=True)
class ChannelPair:
    """Two channels; tests write templates with @a and @b for their names."""

    a: str
    b: str

    def __iter__(self):
        return iter((self.a, self.b))

    def fill(self, template: str) -> str:
        return template.replace("@a", self.a).replace("@b", self.b)

    def name(self, key: str) -> str:
        return {"a": self.a, "b": self.b}[key]


class Server:
    """Where the server under test lives and how long its timers are, plus one-shot helpers that
    each use a fresh connection."""

    def __init__(self, url: str, longpoll_timeout: float, idle_timeout: float, publish_url: Optional[str] = None,
                 *, sse_heartbeat: float = 15.0, sse_retry_ms: int = 2000, max_buffered: int = 1 << 20):
        self.url = url
        self.host, self.port, self.hostport = self._split(url)
        # Where publish()/publish_many() send: another node sharing the backend, or this one.
        self.publish_url = publish_url or url
        self.publish_host, self.publish_port, self.publish_hostport = self._split(self.publish_url)
        self.longpoll_timeout = longpoll_timeout
        self.idle_timeout = idle_timeout
        # Event streams (spec/sse.md): heartbeat seconds, retry milliseconds, and the bytes a client
        # that does not read may have queued before it is cut off.
        self.sse_heartbeat = sse_heartbeat
        self.sse_retry_ms = sse_retry_ms
        self.max_buffered = max_buffered

    @staticmethod
    def _split(url: str):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected a URL like http://127.0.0.1:7474, got {url!r}")
        return parts.hostname, parts.port or 80, parts.netloc

    @property
    def quiet_after_longpoll(self) -> float:
        """How long to listen for a stray response: past the long-poll timeout, but short of the
        idle timeout, whose close would otherwise be mistaken for one."""
        return max(self.longpoll_timeout + 0.3, min(self.longpoll_wait, 0.9 * self.idle_timeout))

    @property
    def longpoll_wait(self) -> float:
        """How long to wait for a long-poll 204: the timeout plus a margin."""
        return self.longpoll_timeout + max(2.0, 0.25 * self.longpoll_timeout)

    @property
    def idle_wait(self) -> float:
        return self.idle_timeout + max(2.0, 0.25 * self.idle_timeout)

    def connect(self, timeout: float = DEFAULT_TIMEOUT, *, rcvbuf: Optional[int] = None) -> Connection:
        return Connection(self.host, self.port, timeout, hostport=self.hostport, rcvbuf=rcvbuf)

    def connect_publisher(self, timeout: float = DEFAULT_TIMEOUT) -> Connection:
        return Connection(self.publish_host, self.publish_port, timeout, hostport=self.publish_hostport)

    @staticmethod
    def channel(label: str) -> str:
        """A channel name no other test (or other traffic) uses."""
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:48].strip("_") or "t"
        return f"/compat/{safe}/{secrets.token_hex(6)}"

    def follow_long_poll(self, channel: str, after: int, until: int, name: str, received: list, problems: list,
                         keep_going: Callable[[], bool] = lambda: True) -> None:
        """A long-poll client that re-polls at once with each returned sequence over one keep-alive
        connection, from `after` until it has seen `until`. It appends each sequence to `received`,
        and to `problems` any message that is not `m-<sequence>` and any error. Meant for a thread."""
        try:
            with self.connect(timeout=self.longpoll_wait) as conn:
                last = after
                while last < until and keep_going():
                    resp = conn.get(lp_query(channel, last))
                    if resp.status == 204:
                        continue
                    message, sequence = resp.message()
                    if message != f"m-{sequence}":
                        problems.append(f"{name}: message {message!r} with sequence {sequence}")
                    received.append(sequence)
                    last = sequence
        except Exception as exc:  # reported by the test, in its own thread
            problems.append(f"{name}: {exc!r}")

    def publish(self, channel: str, body: Union[bytes, str] = b"", headers: Headers = None) -> Response:
        with self.connect_publisher() as conn:
            resp = conn.put(channel, body, headers)
        assert resp.status == 202, f"PUT {channel} was not accepted: {resp!r}"
        return resp

    def publish_many(self, channel: str, bodies: Iterable, headers: Headers = None) -> None:
        with self.connect_publisher() as conn:
            for body in bodies:
                resp = conn.put(channel, body, headers)
                assert resp.status == 202, f"PUT {channel} was not accepted: {resp!r}"

    def request(self, method: str, target: str, body: Optional[bytes] = None, headers: Headers = None,
                **kw) -> Response:
        with self.connect() as conn:
            return conn.request(method, target, body, headers, **kw)

    def get(self, target: str, headers: Headers = None, **kw) -> Response:
        return self.request("GET", target, None, headers, **kw)

    def poll(self, channel: str, sequence=0, headers: Headers = None) -> Response:
        """A long-poll that is expected to answer at once."""
        return self.get(lp_query(channel, sequence), headers)

    def long_poll(self, target: str, headers: Headers = None) -> Connection:
        """Send a GET that may wait, on a fresh connection whose timeout covers the long-poll."""
        conn = self.connect(timeout=self.longpoll_wait)
        conn.send_request("GET", target, headers=headers)
        return conn

    def waiting(self, target: str, headers: Headers = None, quiet: float = QUIET) -> Connection:
        """A long-poll that must be waiting: nothing may come back for `quiet` seconds. Once this
        returns, the server has surely registered it, so a publish made now is the one it gets."""
        conn = self.long_poll(target, headers)
        conn.assert_silent(quiet)
        return conn

    def latest(self, channel: str) -> tuple:
        """(message, sequence) of the newest message; the channel must have one."""
        return self.poll(channel, 0).message()

    def metrics(self) -> list:
        resp = self.get("/metrics@firehose")
        assert resp.status == 200, f"metrics endpoint failed: {resp!r}"
        return resp.json()
