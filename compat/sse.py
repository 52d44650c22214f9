"""A raw-socket Server-Sent Events client for black-box tests of spec/sse.md (stdlib only).

It sits on a `wire.Connection`, so the test harness closes whatever a test leaves open. The head is
returned as the exact bytes received; the body is de-chunked strictly (hex sizes, no extensions, no
empty chunks before the last, CRLF after every chunk), so a framing mistake fails the test rather
than being smoothed over. What comes out is the event stream as bytes, cut into blocks at each
empty line (`\\n\\n`: the server only ever ends lines with `\\n`).

A heartbeat comment (`: ping\\n\\n`, SSE-10) may come between any two blocks when the server is
configured with a short heartbeat, as a real stream can be idle for a moment under load; so
`event()` and `assert_no_event()` skip heartbeats (and count them in `pings`), while `block()`
returns every block as it arrived.

Everything that waits takes a timeout; a missing block is an AssertionError that shows what was
received, never a hang.
"""

from __future__ import annotations

import re
import socket
import time
from typing import Iterable, Optional, Union

import wire
from wire import DEFAULT_TIMEOUT, QUIET

ACCEPT = ("Accept", "text/event-stream")
PING = b": ping\n\n"

_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")


def _bytes(value: Union[str, bytes]) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


# --------------------------------------------------------------------------------------------
# Expected bytes
# --------------------------------------------------------------------------------------------


def expected_head(*, origin: Optional[str] = None, version: str = "HTTP/1.1") -> bytes:
    """The exact head of SSE-3 (HTTP/1.1) or SSE-12 (HTTP/1.0), with SSE-13's CORS headers."""
    lines = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream", "Cache-Control: no-cache"]
    if origin:
        lines += [f"Access-Control-Allow-Origin: {origin}", "Access-Control-Allow-Credentials: true"]
    if version == "HTTP/1.1":
        lines += ["Transfer-Encoding: chunked", "Connection: keep-alive"]
    else:
        lines.append("Connection: close")
    lines.append("Server: thin")  # framed like every other response (HTTP-1)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def retry_block(milliseconds: int) -> bytes:
    """The first block of every stream (SSE-5)."""
    return b"retry: %d\n\n" % milliseconds


def data_lines(body: Union[str, bytes]) -> bytes:
    """The `data:` lines of a body (SSE-6): one per piece between line breaks of any kind."""
    return b"".join(b"data: " + piece + b"\n" for piece in _LINE_BREAK.split(_bytes(body)))


def event(body: Union[str, bytes], sequence: int) -> bytes:
    """The event of a single-channel message (SSE-6)."""
    return b"id: %d\n" % sequence + data_lines(body) + b"\n"


def position(entries: Iterable) -> str:
    """A multiplexed position id (SSE-16) from [(channel, sequence)] in subscription order."""
    return ",".join(f"{channel}!{sequence}" for channel, sequence in entries)


def mux_event(channel: str, message: Union[str, bytes], sequence: int, at: Iterable) -> bytes:
    """The event of a multiplexed message (SSE-15); `at` is the position after it, as for
    `position()`."""
    return (b"id: " + position(at).encode("utf-8") + b"\n"
            + b"data: " + wire.frame(message, sequence, channel=channel) + b"\n\n")


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


class Stream:
    """One open event stream: its head (exact bytes), then blocks as they arrive."""

    def __init__(self, conn: wire.Connection, head: bytes):
        self.conn = conn
        self.head = head
        self.chunked = b"\r\ntransfer-encoding: chunked\r\n" in head.lower()
        self.data = b""  # decoded stream bytes not yet returned as blocks
        self.ended = False  # the last chunk or the TCP close was seen
        self.closed = False  # the TCP close was seen
        self.truncated = False  # the TCP close came inside a chunk
        self.received = 0  # decoded stream bytes so far
        self.pings = 0  # heartbeats skipped by event() and assert_no_event()

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _decode(self) -> None:
        """Moves what the connection has received into `data`, de-chunking when chunked."""
        buf = self.conn.buf
        if not self.chunked:
            self.data += buf
            self.received += len(buf)
            self.conn.buf = b""
            return
        pos = 0
        while not self.ended:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                assert len(buf) - pos < 32, f"chunk size line too long: {buf[pos:pos + 64]!r}"
                break
            size_text = buf[pos:line_end]
            assert _CHUNK_SIZE.fullmatch(size_text), f"bad chunk size line {size_text!r} (SSE-4)"
            size = int(size_text, 16)
            if size == 0:
                if len(buf) < line_end + 4:
                    break
                assert buf[line_end + 2:line_end + 4] == b"\r\n", f"bad last chunk {buf[pos:pos + 16]!r}"
                pos = line_end + 4
                self.ended = True
                break
            end = line_end + 2 + size
            if len(buf) < end + 2:
                break
            assert buf[end:end + 2] == b"\r\n", f"chunk of {size} bytes not followed by CRLF: {buf[end:end + 8]!r}"
            chunk = buf[line_end + 2:end]
            self.data += chunk
            self.received += size
            pos = end + 2
        self.conn.buf = buf[pos:]
        if self.ended:
            assert not self.conn.buf, f"bytes after the last chunk: {self.conn.buf[:200]!r}"

    def _fill(self, deadline: float) -> bool:
        """Reads more. False once the stream has ended; raises socket.timeout at the deadline."""
        if self.ended:
            return False
        got = self.conn._recv(deadline)
        self._decode()
        if not got:
            # A close inside a chunk is how a cut-off client (SSE-11) sees its queue dropped; any
            # reader waiting for a block still fails, showing what was pending.
            self.closed = self.ended = True
            self.truncated = self.chunked and bool(self.conn.buf)
            return False
        return True

    # -- reading ----------------------------------------------------------------------------

    def block(self, timeout: Optional[float] = None) -> bytes:
        """The next block, up to and including its empty line."""
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._decode()
        scanned = 0
        while True:
            end = self.data.find(b"\n\n", max(0, scanned - 1))
            if end >= 0:
                found, self.data = self.data[:end + 2], self.data[end + 2:]
                return found
            scanned = len(self.data)
            try:
                more = self._fill(deadline)
            except socket.timeout:
                raise AssertionError(
                    f"no complete block within {timeout:.2f}s; pending: {self.data[:600]!r}") from None
            if not more:
                raise AssertionError(f"the stream ended before a complete block; pending: {self.data[:600]!r}"
                                     + (f", inside a chunk: {self.conn.buf[:200]!r}" if self.truncated else ""))

    def event(self, timeout: Optional[float] = None) -> bytes:
        """The next block that is not a heartbeat, within `timeout` in all (heartbeats arriving
        meanwhile must not extend the wait: that turned a missing event into a hang)."""
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no event within {timeout:.2f}s (only heartbeats); pending: {self.data[:600]!r}")
            found = self.block(remaining)
            if found != PING:
                return found
            self.pings += 1

    def events(self, count: int, timeout: Optional[float] = None) -> list:
        return [self.event(timeout) for _ in range(count)]

    def assert_no_event(self, seconds: float = QUIET) -> None:
        """Fail if anything but heartbeats arrives, or the stream ends, within `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            self._decode()
            while self.data.startswith(PING):
                self.data = self.data[len(PING):]
                self.pings += 1
            assert not self.data, f"expected no event for {seconds}s, received {self.data[:600]!r}"
            assert not self.ended, f"expected no event for {seconds}s, but the stream ended"
            try:
                self._fill(deadline)
            except socket.timeout:
                return

    def read_until_closed(self, timeout: float) -> int:
        """Reads and discards everything until the server closes the connection; returns how many
        stream bytes arrived in all (since the stream opened)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.data = b""
                if not self._fill(deadline):
                    break
        except socket.timeout:
            raise AssertionError(
                f"the stream was still open after {timeout:.2f}s ({self.received} bytes received)") from None
        while not self.closed:  # a last chunk: the TCP close must follow
            try:
                if not self.conn._recv(deadline):
                    self.closed = True
                else:
                    raise AssertionError(f"bytes after the last chunk: {self.conn.buf[:200]!r}")
            except socket.timeout:
                raise AssertionError("the stream sent its last chunk but the connection stayed open") from None
        self.data = b""
        return self.received


def open_stream(server: wire.Server, target: str, headers: wire.Headers = None, *, version: str = "HTTP/1.1",
                accept: Optional[str] = ACCEPT[1], timeout: float = DEFAULT_TIMEOUT,
                rcvbuf: Optional[int] = None) -> Stream:
    """Sends a GET for `target` with this `Accept` header (none when None) on a fresh connection and
    reads the response head. The head is not checked: see `subscribe`."""
    conn = server.connect(timeout, rcvbuf=rcvbuf)
    items = ([("Accept", accept)] if accept is not None else []) + wire._header_items(headers)
    conn.send_request("GET", target, headers=items, version=version)
    deadline = time.monotonic() + timeout
    try:
        while b"\r\n\r\n" not in conn.buf:
            if not conn._recv(deadline):
                raise wire.PeerClosed(f"connection closed before a response head; got {conn.buf!r}")
    except socket.timeout:
        raise wire.ResponseTimeout(f"no response head within {timeout:.2f}s; received {conn.buf[:600]!r}") from None
    end = conn.buf.index(b"\r\n\r\n") + 4
    head, conn.buf = conn.buf[:end], conn.buf[end:]
    return Stream(conn, head)


def subscribe(server: wire.Server, target: str, headers: wire.Headers = None, *, origin: Optional[str] = None,
              version: str = "HTTP/1.1", accept: str = ACCEPT[1], rcvbuf: Optional[int] = None) -> Stream:
    """An event stream whose head (SSE-3/SSE-12, CORS per SSE-13 when `origin`) and first block
    (SSE-5) have been checked, byte for byte."""
    items = wire._header_items(headers) + ([("Origin", origin)] if origin is not None else [])
    stream = open_stream(server, target, items, version=version, accept=accept, rcvbuf=rcvbuf)
    expected = expected_head(origin=origin, version=version)
    assert stream.head == expected, f"stream head {stream.head!r} (then {stream.conn.buf[:300]!r}), expected {expected!r}"
    first = stream.block()
    assert first == retry_block(server.sse_retry_ms), f"first block {first!r}, expected {retry_block(server.sse_retry_ms)!r}"
    return stream
