"""Starting our own firehose processes for the operations tests (spec/operations.md).

These tests send real signals to a real server, so each starts its own process from the binary in
FIREHOSE_BINARY (compat/run-local.sh sets it) instead of using the suite's shared server; without
it they are skipped. Every wait has a bound.
"""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from typing import Optional

import pytest

BINARY = os.environ.get("FIREHOSE_BINARY")


def need_binary():
    if not BINARY:
        pytest.skip("FIREHOSE_BINARY is not set (compat/run-local.sh sets it)")


def raise_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        pytest.skip(f"this test needs {wanted} file descriptors; the limit is {soft}")


class Process:
    """One `firehose server` on loopback with an admin listener, ports read from its log."""

    def __init__(self, *args: str, admin: bool = True, env: Optional[dict] = None, port: int = 0,
                 log_path: Optional[str] = None):
        need_binary()
        self.log_file = tempfile.NamedTemporaryFile(prefix="firehose-ops-", suffix=".log", delete=False)
        # With --log-file the start-up lines go there: read them from it.
        self.log_path = log_path or self.log_file.name
        argv = [BINARY, "server", "--host", "127.0.0.1", "--port", str(port)]
        if admin:
            argv += ["--admin-address", "127.0.0.1:0"]
        argv += list(args)
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.log_file, env=full_env)
        self.port = self._wait_for(r"listening on http://[^ ]*:(\d+)")
        self.admin_port = self._wait_for(r"admin listener on http://[^ ]*:(\d+)") if admin else None

    def log(self) -> str:
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def _wait_for(self, pattern: str, timeout: float = 10) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log())
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                raise AssertionError(f"firehose exited at start-up ({self.proc.returncode}):\n{self.log()}")
            time.sleep(0.02)
        raise AssertionError(f"firehose did not log /{pattern}/ within {timeout} s:\n{self.log()}")

    def signal(self, number: int = signal.SIGTERM) -> None:
        self.proc.send_signal(number)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"firehose still running after {timeout} s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        try:
            os.unlink(self.log_file.name)
        except OSError:
            pass

    # --- requests ---

    def request(self, method: str, path: str, body: bytes = b"", admin: bool = False, timeout: float = 5,
                headers: Optional[dict] = None) -> tuple:
        """One request on a fresh connection: (status, headers dict, body bytes)."""
        port = self.admin_port if admin else self.port
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
            sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            return read_response(sock, timeout, head=method == "HEAD")

    def json(self, path: str, admin: bool = True) -> tuple:
        status, _, body = self.request("GET", path, admin=admin)
        return status, json.loads(body) if body else None

    def publish(self, channel: str, body: str, admin: bool = False) -> int:
        return self.request("PUT", channel, body.encode())[0]


def read_response(sock: socket.socket, timeout: float = 5, head: bool = False) -> tuple:
    """Reads one HTTP response (Content-Length or close-delimited): (status, headers, body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response head: {data!r}")
        data += chunk
    head_bytes, rest = data.split(b"\r\n\r\n", 1)
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if head or status in (204, 304):
        return status, headers, b""
    if "content-length" in headers:
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, headers, rest[:length]
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return status, headers, rest
        rest += chunk


def open_long_poll(port: int, channel: str, sequence: int = 0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET {channel}?last_message_sequence={sequence} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return sock


def open_websocket(port: int, channel: str) -> socket.socket:
    """A WebSocket on `channel` after a checked 101 (nothing read past the handshake)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    sock.sendall(f"GET {channel} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed during the WebSocket handshake: {data!r}"
        data += chunk
    assert data.startswith(b"HTTP/1.1 101"), data
    assert data.endswith(b"\r\n\r\n"), f"bytes after the 101: {data!r}"
    return sock


def read_ws_frame(sock: socket.socket, timeout: float = 5) -> tuple:
    """(opcode, payload) of the next unmasked server frame."""
    sock.settimeout(timeout)

    def exactly(n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            if not chunk:
                raise AssertionError(f"closed after {len(out)} of {n} frame bytes")
            out += chunk
        return out

    first, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(exactly(2), "big")
    elif length == 127:
        length = int.from_bytes(exactly(8), "big")
    return first & 0x0F, exactly(length)


def masked_close(code: int = 1000) -> bytes:
    mask = secrets.token_bytes(4)
    payload = code.to_bytes(2, "big")
    return bytes([0x88, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def masked_text(payload: bytes) -> bytes:
    assert len(payload) < 126
    mask = secrets.token_bytes(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")


class RedisServer:
    """A throwaway redis-server (no persistence) on a free loopback port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="firehose-ops-redis-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.start()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Starts (or starts again, on the same port) and waits for PING."""
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir, "--daemonize", "no", "--loglevel",
                                      "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.ping(), 5, "redis-server answering PING")

    def command(self, *args: str):
        """One command over RESP; returns the decoded reply (ints, bytes, lists, None)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            out = f"*{len(args)}\r\n".encode() + b"".join(
                f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args)
            sock.sendall(out)
            reader = sock.makefile("rb")
            return _resp(reader)

    def ping(self) -> bool:
        try:
            return self.command("PING") == b"PONG"
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(5)


def _resp(reader):
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise AssertionError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)
        return data[:-2]
    if kind == b"*":
        return [_resp(reader) for _ in range(int(rest))]
    raise AssertionError(f"unexpected RESP {line!r}")
