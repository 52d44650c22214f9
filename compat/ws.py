"""A small RFC 6455 WebSocket client over raw sockets, for black-box protocol tests (stdlib only).

It sits on top of `wire.Connection`, so the handshake is read with the same exact-bytes HTTP reader
the HTTP tests use, and the test harness closes whatever sockets a test leaves open. Nothing is
hidden from a test: every received frame exposes its FIN bit, reserved bits, opcode, mask bit,
header bytes and payload, and frames of any shape can be sent, including broken ones (unmasked,
reserved bits set, unknown opcodes, lying lengths, fragmented control frames).

One thing is done behind the tests' back, on purpose: a PING control frame from the server is
answered with a PONG (same payload) and skipped whenever a test reads the next frame with `recv()`
or one of the helpers built on it, or listens for silence. The reference server never pings, but
ours may ping a connection that has been idle for a long time to find dead peers, and a real
browser answers such pings by itself. A test that wants to see server pings reads with
`recv_frame()` (nothing answered, nothing skipped) or looks at `WebSocket.pings`.

Everything that waits takes a timeout; a missing frame is an AssertionError that shows what was
received, never a hang.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import struct
import time
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

import wire
from wire import DEFAULT_TIMEOUT, QUIET

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
OPCODE_NAMES = {CONTINUATION: "continuation", TEXT: "text", BINARY: "binary", CLOSE: "close", PING: "ping",
                PONG: "pong"}

RSV1, RSV2, RSV3 = 0x40, 0x20, 0x10

PING_JSON = b'{"ping":"PING"}'  # what the JS client sends as its keep-alive (WS-9)
PONG_JSON = b'{"pong":"PONG"}'  # the server's answer to it

Bytes = Union[bytes, bytearray, str]


def _bytes(data: Bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


# --------------------------------------------------------------------------------------------
# Handshake
# --------------------------------------------------------------------------------------------


def new_key() -> str:
    """A fresh Sec-WebSocket-Key: 16 random bytes, base64."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def accept_for(key: str) -> str:
    """The Sec-WebSocket-Accept value a server must return for `key` (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def expected_handshake(key: str) -> bytes:
    """The exact 101 response of spec WS-2."""
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_for(key)}\r\n"
        "\r\n"
    ).encode("ascii")


def upgrade_request(target: str, hostport: str, key: Optional[str], headers: wire.Headers = None,
                    omit: Iterable[str] = ()) -> bytes:
    """A browser-like upgrade request. The default headers (Host, Upgrade, Connection,
    Sec-WebSocket-Key, Sec-WebSocket-Version: 13) come first, in that order; a header given in
    `headers` with the same name (case-insensitive) replaces the default in place, other given
    headers follow; names in `omit` are left out. `key=None` sends no Sec-WebSocket-Key."""
    defaults = [("Host", hostport), ("Upgrade", "websocket"), ("Connection", "Upgrade")]
    if key is not None:
        defaults.append(("Sec-WebSocket-Key", key))
    defaults.append(("Sec-WebSocket-Version", "13"))
    given = wire._header_items(headers)
    given_names = {str(name).lower() for name, _ in given}
    omitted = {name.lower() for name in omit}
    lines = [f"GET {target} HTTP/1.1"]
    for name, value in defaults:
        if name.lower() in omitted:
            continue
        if name.lower() in given_names:
            for gname, gvalue in given:
                if str(gname).lower() == name.lower():
                    lines.append(f"{gname}: {gvalue}")
        else:
            lines.append(f"{name}: {value}")
    default_names = {name.lower() for name, _ in defaults}
    lines += [f"{name}: {value}" for name, value in given
              if str(name).lower() not in default_names and str(name).lower() not in omitted]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def mask_bytes(data: bytes, key: bytes) -> bytes:
    """XOR `data` with the 4-byte masking key repeated (masking and unmasking are the same)."""
    if not data:
        return b""
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def length_field(length: int) -> bytes:
    """The 7-bit length and, when needed, the 16- or 64-bit extended length (mask bit clear)."""
    if length <= 125:
        return bytes([length])
    if length <= 0xFFFF:
        return bytes([126]) + struct.pack("!H", length)
    return bytes([127]) + struct.pack("!Q", length)


def encode_frame(opcode: int, payload: Bytes = b"", *, fin: bool = True, rsv: int = 0, mask: bool = True,
                 mask_key: Optional[bytes] = None, announce: Optional[int] = None) -> bytes:
    """One frame. Clients must mask (`mask=False` builds a broken frame on purpose). `rsv` is OR-ed
    into the first byte (RSV1/RSV2/RSV3). `announce` puts a different length in the header than
    the payload has (a header announcing a huge message, followed by little or no payload)."""
    payload = _bytes(payload)
    first = (0x80 if fin else 0) | (rsv & 0x70) | (opcode & 0x0F)
    length = len(payload) if announce is None else announce
    head = bytearray([first]) + length_field(length)
    if mask:
        head[1] |= 0x80
        key = secrets.token_bytes(4) if mask_key is None else bytes(mask_key)
        return bytes(head) + key + mask_bytes(payload, key)
    return bytes(head) + payload


def close_payload(code: Optional[int] = 1000, reason: Bytes = b"") -> bytes:
    """The payload of a close frame: a 2-byte status code and a UTF-8 reason; empty for no code."""
    if code is None:
        return b""
    return struct.pack("!H", code) + _bytes(reason)


@dataclass
class Frame:
    fin: bool
    rsv: int  # the three reserved bits as they sit in the first byte (0x70 mask)
    opcode: int
    masked: bool
    payload: bytes  # unmasked
    header: bytes  # the header bytes exactly as received (including any masking key)

    @property
    def is_control(self) -> bool:
        return self.opcode >= 0x8

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")

    def json(self, pairs: bool = False):
        """The payload parsed as JSON; with `pairs`, objects are lists of (key, value) in wire order."""
        return json.loads(self.payload.decode("utf-8"), object_pairs_hook=list if pairs else None)

    @property
    def close_code(self) -> Optional[int]:
        assert self.opcode == CLOSE, f"not a close frame: {self!r}"
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self) -> bytes:
        assert self.opcode == CLOSE, f"not a close frame: {self!r}"
        return self.payload[2:]

    def __repr__(self) -> str:
        name = OPCODE_NAMES.get(self.opcode, f"opcode-{self.opcode:#x}")
        shown = self.payload if len(self.payload) <= 300 else self.payload[:300] + b"...<%d bytes>" % len(self.payload)
        flags = ("FIN" if self.fin else "no-FIN") + (f" rsv={self.rsv >> 4:03b}" if self.rsv else "") + (
            " MASKED" if self.masked else "")
        return f"<Frame {name} {flags} header={self.header.hex()} {shown!r}>"


def decode_frame(data: bytes) -> Optional[tuple]:
    """(Frame, bytes consumed) for the frame at the start of `data`, or None when `data` does not
    hold a whole frame yet."""
    if len(data) < 2:
        return None
    first, second = data[0], data[1]
    length = second & 0x7F
    pos = 2
    if length == 126:
        if len(data) < 4:
            return None
        length = struct.unpack("!H", data[2:4])[0]
        pos = 4
    elif length == 127:
        if len(data) < 10:
            return None
        length = struct.unpack("!Q", data[2:10])[0]
        pos = 10
    masked = bool(second & 0x80)
    key = b""
    if masked:
        if len(data) < pos + 4:
            return None
        key = data[pos:pos + 4]
        pos += 4
    if len(data) < pos + length:
        return None
    payload = data[pos:pos + length]
    if masked:
        payload = mask_bytes(payload, key)
    frame = Frame(fin=bool(first & 0x80), rsv=first & 0x70, opcode=first & 0x0F, masked=masked,
                  payload=payload, header=data[:pos])
    return frame, pos + length


def _needed(data: bytes) -> int:
    """How many bytes the frame starting at `data` needs in all, as far as its header tells yet."""
    if len(data) < 2:
        return 2
    length = data[1] & 0x7F
    pos = 2
    if length == 126:
        if len(data) < 4:
            return 4
        length, pos = struct.unpack("!H", data[2:4])[0], 4
    elif length == 127:
        if len(data) < 10:
            return 10
        length, pos = struct.unpack("!Q", data[2:10])[0], 10
    if data[1] & 0x80:
        pos += 4
    return pos + length


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


class WebSocket:
    """An open WebSocket: the TCP connection after a 101."""

    def __init__(self, conn: wire.Connection, handshake: wire.Response, key: str):
        self.conn = conn
        self.handshake = handshake  # the 101 response exactly as received
        self.key = key
        self.pings: list = []  # payloads of the server pings seen (and answered) so far
        self.close_sent = False

    # -- plumbing ---------------------------------------------------------------------------

    def __enter__(self) -> "WebSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Drop the TCP connection (no close handshake)."""
        self.conn.close()

    @property
    def timeout(self) -> float:
        return self.conn.timeout

    # -- sending ----------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.conn.send(data)

    def send_frame(self, opcode: int, payload: Bytes = b"", **kw) -> None:
        """Any single frame; keyword arguments as in `encode_frame`."""
        self.conn.send(encode_frame(opcode, payload, **kw))

    def send_text(self, text: Bytes, **kw) -> None:
        """A text message in one frame (`bytes` are sent as they are, valid UTF-8 or not)."""
        self.send_frame(TEXT, text, **kw)

    def send_json(self, value) -> None:
        """A text message holding `value` as compact JSON, as a browser's JSON.stringify makes it."""
        self.send_text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def send_binary(self, data: Bytes, **kw) -> None:
        self.send_frame(BINARY, data, **kw)

    def send_ping(self, payload: Bytes = b"") -> None:
        self.send_frame(PING, payload)

    def send_pong(self, payload: Bytes = b"") -> None:
        self.send_frame(PONG, payload)

    def send_close(self, code: Optional[int] = 1000, reason: Bytes = b"") -> None:
        self.close_sent = True
        self.send_frame(CLOSE, close_payload(code, reason))

    def send_fragmented(self, pieces: Sequence[Bytes], opcode: int = TEXT, between: Optional[dict] = None) -> None:
        """One message split into frames: the first carries `opcode` with FIN clear, the others
        are continuation frames, the last with FIN set. `between` maps a piece index i to raw bytes
        (typically a control frame) sent right after piece i. Everything goes out in one write."""
        assert len(pieces) >= 2, "a fragmented message needs at least two pieces"
        out = bytearray()
        last = len(pieces) - 1
        for i, piece in enumerate(pieces):
            out += encode_frame(opcode if i == 0 else CONTINUATION, piece, fin=(i == last))
            if between and i in between:
                out += between[i]
        self.conn.send(bytes(out))

    # -- receiving --------------------------------------------------------------------------

    def _frame_or_none(self, deadline: float) -> Optional[Frame]:
        """The next whole frame, or None when the deadline passes first. Raises PeerClosed when
        the server closes the connection in the middle of (or before) a frame."""
        conn = self.conn
        while True:
            decoded = decode_frame(conn.buf)
            if decoded is not None:
                frame, used = decoded
                conn.buf = conn.buf[used:]
                return frame
            try:
                if not conn._recv(deadline):
                    where = f"after {len(conn.buf)} bytes of a frame: {conn.buf[:200]!r}" if conn.buf else "between frames"
                    raise wire.PeerClosed(f"the server closed the connection {where}")
            except socket.timeout:
                return None

    def recv_frame(self, timeout: Optional[float] = None) -> Frame:
        """The very next frame, whatever it is. Nothing is answered or skipped."""
        timeout = self.timeout if timeout is None else timeout
        frame = self._frame_or_none(time.monotonic() + timeout)
        if frame is None:
            partial = f"; {len(self.conn.buf)} bytes of an incomplete frame: {self.conn.buf[:200]!r}" if self.conn.buf else ""
            need = f" (its header announces {_needed(self.conn.buf)} bytes)" if len(self.conn.buf) >= 2 else ""
            raise wire.ResponseTimeout(f"no complete frame within {timeout:.2f}s{partial}{need}")
        return frame

    def _answer_ping(self, frame: Frame) -> None:
        self.pings.append(frame.payload)
        if not self.close_sent:
            try:
                self.send_pong(frame.payload)
            except OSError:
                pass  # the server went away; the next read will tell

    def recv(self, timeout: Optional[float] = None) -> Frame:
        """The next frame that is not a server PING; pings met on the way are answered and recorded
        in `self.pings`. The timeout covers the whole wait."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if frame.opcode == PING and frame.fin:
                self._answer_ping(frame)
                continue
            return frame

    def recv_text(self, timeout: Optional[float] = None) -> bytes:
        """The payload of the next data frame, which must be a whole message as the server sends it
        (WS-6): one unmasked text frame, FIN set, no reserved bits, valid UTF-8."""
        frame = self.recv(timeout)
        assert frame.opcode == TEXT, f"expected a text frame, got {frame!r}"
        assert frame.fin, f"the server fragmented a message: {frame!r}"
        assert not frame.masked, f"the server masked a frame: {frame!r}"
        assert frame.rsv == 0, f"the server set reserved bits: {frame!r}"
        try:
            frame.payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AssertionError(f"text frame is not valid UTF-8 ({exc}): {frame!r}") from None
        return frame.payload

    def recv_texts(self, count: int, timeout: Optional[float] = None) -> list:
        """The payloads of the next `count` data frames (one timeout for all of them)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        got = []
        for _ in range(count):
            try:
                got.append(self.recv_text(max(0.0, deadline - time.monotonic())))
            except wire.ResponseTimeout as exc:
                raise wire.ResponseTimeout(f"received {len(got)} of {count} frames {got[:10]!r}: {exc}") from None
        return got

    def recv_json(self, timeout: Optional[float] = None, *, pairs: bool = False):
        """The next data frame parsed as JSON (see `recv_text`); with `pairs`, objects come back
        as lists of (key, value) in wire order."""
        payload = self.recv_text(timeout)
        try:
            return json.loads(payload.decode("utf-8"), object_pairs_hook=list if pairs else None)
        except ValueError as exc:
            raise AssertionError(f"text frame is not JSON ({exc}): {payload[:300]!r}") from None

    def assert_silent(self, seconds: float = QUIET) -> None:
        """Fail if a frame other than a server PING arrives, or the connection closes, within
        `seconds`. Server pings are answered and recorded."""
        deadline = time.monotonic() + seconds
        while True:
            frame = self._frame_or_none(deadline)
            if frame is None:
                assert not self.conn.buf, f"expected silence for {seconds}s, received part of a frame: {self.conn.buf[:200]!r}"
                return
            if frame.opcode == PING and frame.fin:
                self._answer_ping(frame)
                continue
            raise AssertionError(f"expected silence for {seconds}s, received {frame!r}")

    def expect_close(self, code: Optional[int], timeout: Optional[float] = None) -> Frame:
        """The next frame (server pings skipped) must be a well-formed close frame with this status
        code (None: an empty close frame), and then the server must close the TCP connection. When
        the close was the server's idea, it is answered with a close frame first, as RFC 6455
        asks of a client. Returns the close frame."""
        timeout = self.timeout if timeout is None else timeout
        frame = self.recv(timeout)
        assert frame.opcode == CLOSE, f"expected a close frame with code {code}, got {frame!r}"
        assert frame.fin and not frame.masked and frame.rsv == 0, f"malformed close frame {frame!r}"
        assert len(frame.payload) != 1 and len(frame.payload) <= 125, f"malformed close frame {frame!r}"
        try:
            frame.close_reason.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError(f"close reason is not UTF-8: {frame!r}") from None
        assert frame.close_code == code, f"expected close code {code}, got {frame.close_code}: {frame!r}"
        if not self.close_sent:
            try:
                self.send_close(frame.close_code)
            except OSError:
                pass  # the server may already have closed the TCP connection
        self.wait_closed(timeout)
        return frame

    def wait_closed(self, timeout: Optional[float] = None) -> None:
        """The server closes the TCP connection without sending anything more."""
        timeout = self.timeout if timeout is None else timeout
        assert not self.conn.buf, f"unexpected bytes before the TCP close: {self.conn.buf[:200]!r}"
        deadline = time.monotonic() + timeout
        try:
            while self.conn._recv(deadline):
                pass
        except socket.timeout:
            raise AssertionError(f"the TCP connection is still open after {timeout:.2f}s; "
                                 f"received {self.conn.buf[:200]!r}") from None
        assert not self.conn.buf, f"unexpected bytes before the TCP close: {self.conn.buf[:200]!r}"


# --------------------------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------------------------


def handshake(server: wire.Server, target: str, headers: wire.Headers = None, *, key: Optional[str] = "",
              omit: Iterable[str] = (), timeout: float = DEFAULT_TIMEOUT, extra: bytes = b"") -> tuple:
    """Send an upgrade request on a fresh connection and read the answer, whatever it is.
    Returns (connection, response, key). `key=""` makes a random key, `key=None` sends none.
    `extra` is sent in the same write, right after the request."""
    key = new_key() if key == "" else key
    conn = server.connect(timeout=timeout)
    conn.send(upgrade_request(target, conn.hostport, key, headers, omit) + extra)
    return conn, conn.read_response(), key


def connect(server: wire.Server, target: str, headers: wire.Headers = None, *, key: Optional[str] = "",
            timeout: float = DEFAULT_TIMEOUT, extra: bytes = b"") -> WebSocket:
    """Open a WebSocket on `target` (a path with an optional query). Checks that the answer is a
    101 with the right Sec-WebSocket-Accept (the exact bytes are WS-2's business)."""
    conn, resp, key = handshake(server, target, headers, key=key, timeout=timeout, extra=extra)
    assert resp.status == 101, f"expected 101 Switching Protocols for {target}, got {resp!r}"
    assert resp.header("Sec-WebSocket-Accept") == accept_for(key), f"wrong Sec-WebSocket-Accept: {resp!r}"
    return WebSocket(conn, resp, key)
