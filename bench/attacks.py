#!/usr/bin/env python3
"""Replays the hardening issue's attacks against a firehose binary and prints, per attack, what
the server's process looked like afterwards: RSS, open fds, and the time that matters. Loopback
only; starts and stops its own servers. Stdlib only.

    python3 bench/attacks.py path/to/firehose [attack ...]

Run it against a build before and after a change to fill the "before -> after" table.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, *args):
        self.port = free_port()
        self.proc = subprocess.Popen([binary, "server", "--host", HOST, "--port", str(self.port), "--log-level", "error", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((HOST, self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}")
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def rss_mb(self) -> float:
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
        return float("nan")

    def fds(self) -> int:
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except FileNotFoundError:
            return -1

    def established(self) -> int:
        """Server-side TCP connections on its port that are open (ESTABLISHED or CLOSE_WAIT)."""
        count = 0
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].split(":")[1], 16) == self.port and fields[3] in ("01", "08"):
                    count += 1
        return count

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.kill()
        self.proc.wait()

    def connect(self, timeout=5.0) -> socket.socket:
        s = socket.create_connection((HOST, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def request(self, raw: bytes, timeout=5.0) -> bytes:
        with self.connect(timeout) as s:
            s.sendall(raw)
            return read_response(s)


def read_response(s: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def put(server, channel, body: bytes) -> bytes:
    return server.request(b"PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (channel, len(body)) + body)


def websocket(server, path: bytes, rcvbuf=None) -> socket.socket:
    s = server.connect()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % path)
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def masked(opcode: int, payload: bytes) -> bytes:
    header = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return header + b"\0\0\0\0" + payload  # a zero mask: the payload goes as is


# --- attacks: each returns a dict of figures -------------------------------------------------

def multiplex_100k(binary):
    server = Server(binary)
    try:
        body = b"{" + b",".join(b'"/c%d":0' % i for i in range(100_000)) + b"}"
        put(server, b"/plain", b"x")
        s = server.connect(timeout=120)
        start = time.monotonic()
        s.sendall(b"POST /channels@firehose HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        time.sleep(0.05)  # the server is reading or parsing the body now
        get_start = time.monotonic()
        server.request(b"GET /plain?last_message_sequence=0 HTTP/1.1\r\nHost: x\r\n\r\n", timeout=120)
        get_ms = (time.monotonic() - get_start) * 1000
        answer = read_response(s)
        total_ms = (time.monotonic() - start) * 1000
        return {"POST answered (ms)": round(total_ms), "status": answer.split(b"\r\n")[0].decode(),
                "GET beside it (ms)": round(get_ms, 1), "RSS MB": round(server.rss_mb())}
    finally:
        server.stop()


def ping_flood(binary):
    server = Server(binary)
    try:
        before = server.rss_mb()
        s = websocket(server, b"/flood", rcvbuf=4096)
        burst = masked(0x9, b"A" * 125) * 1000
        sent, start = 0, time.monotonic()
        try:
            s.settimeout(3)
            while sent < 300 * 1024 * 1024 and time.monotonic() - start < 10:
                s.sendall(burst)
                sent += len(burst)
        except OSError:
            pass
        time.sleep(0.5)
        return {"pings sent (MB)": round(sent / 2**20), "RSS MB": f"{before:.0f} -> {server.rss_mb():.0f}",
                "seconds": round(time.monotonic() - start, 1)}
    finally:
        server.stop()


def slowloris(binary, connections=200):
    server = Server(binary, "--idle-timeout", "3")
    try:
        socks = []
        for _ in range(connections):
            s = server.connect()
            s.sendall(b"G")
            socks.append(s)
        start = time.monotonic()
        fds = {}
        while time.monotonic() - start < 12:
            time.sleep(1)
            for s in socks:
                try:
                    s.send(b"a")  # one byte a second, below every idle timeout
                except OSError:
                    pass
            fds[round(time.monotonic() - start)] = server.fds()
        return {"server fds at 0/6/12 s": f"{fds.get(1)} / {fds.get(6)} / {fds.get(12)}",
                "note": "idle 3 s; request timeout: the smaller of --request-timeout and idle (after)"}
    finally:
        for s in socks:
            s.close()
        server.stop()


def control_frame(binary):
    server = Server(binary, "--ws-ping-interval", "5")
    try:
        s = websocket(server, b"/ctl")
        start = time.monotonic()
        s.sendall(bytes([0x89, 0x80 | 126, 0, 126, 0, 0, 0, 0]))  # a ping announcing 126 bytes, then nothing
        s.settimeout(15)
        try:
            frame = s.recv(16)
        except OSError:
            frame = b""
        return {"answer": frame.hex() or "nothing", "after (s)": round(time.monotonic() - start, 2)}
    finally:
        server.stop()


def absurd_flags(binary):
    out = {}
    for flag, value in [("--idle-timeout", "1e19"), ("--long-poll-timeout", "inf"), ("--ws-max-message-size", "9223372036854775807"),
                        ("--ws-max-buffered", "100")]:
        port = free_port()
        proc = subprocess.Popen([binary, "server", "--host", HOST, "--port", str(port), flag, value],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1)
        if proc.poll() is None:
            try:
                s = socket.create_connection((HOST, port), timeout=2)
                s.sendall(b"GET /a?last_message_sequence=0 HTTP/1.1\r\nHost: x\r\n\r\n")
                s.settimeout(2)
                try:
                    s.recv(100)
                except OSError:
                    pass
            except OSError:
                pass
            time.sleep(0.5)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            out[f"{flag} {value}"] = "kept running"
        else:
            err = proc.stderr.read().decode(errors="replace").strip().splitlines()
            out[f"{flag} {value}"] = f"exit {proc.returncode}: {err[0][:90] if err else ''}"
    return out


def metrics_flood(binary):
    server = Server(binary)
    try:
        pad = b"n" * 4000
        conn = server.connect()
        for i in range(2000):
            body = b"x"
            conn.sendall(b"PUT /%s%d HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n" % (pad, i) + body)
            read_response(conn)
        before = server.rss_mb()
        readers = []
        for _ in range(10):
            s = server.connect()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /metrics@firehose HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
            readers.append(s)
        time.sleep(2)
        after = server.rss_mb()
        start = time.monotonic()
        answer = server.request(b"GET /metrics@firehose HTTP/1.1\r\nHost: x\r\n\r\n", timeout=30)
        return {"RSS MB": f"{before:.0f} -> {after:.0f}", "document bytes": len(answer),
                "reading client answered (ms)": round((time.monotonic() - start) * 1000)}
    finally:
        server.stop()


def read_stream(s: socket.socket, enough: int, seconds=10.0) -> int:
    """Reads what the server sends on `s` until `enough` bytes came, it closed, or `seconds` passed."""
    s.settimeout(seconds)
    got = 0
    try:
        while got < enough:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
    except OSError:
        pass
    return got


def control_bodies(binary):
    server = Server(binary)
    try:
        before = server.rss_mb()
        body = b"\x01" * (5 * 1024 * 1024 - 16)
        statuses = []
        for i in range(4):
            statuses.append(put(server, b"/big", body).split(b"\r\n")[0].decode()[9:12])
        # Read every message over long-poll, multiplexed long-poll, WebSocket (single and
        # multiplexed) and Server-Sent Events (single and multiplexed): every format there is.
        for seq in range(4):
            server.request(b"GET /big?last_message_sequence=%d HTTP/1.1\r\nHost: x\r\n\r\n" % seq, timeout=60)
            server.request(b"GET /channels@firehose?subscribe=/big!%d HTTP/1.1\r\nHost: x\r\n\r\n" % seq, timeout=60)
        encoded = 4 * 30 * 1024 * 1024
        ws = websocket(server, b"/big")
        ws.sendall(masked(0x1, b'{"message_sequence":0}'))
        read_stream(ws, encoded)
        mux = websocket(server, b"/channels@firehose?subscribe=/big!0")
        read_stream(mux, encoded)
        for target in (b"/big", b"/channels@firehose?subscribe=/big!0"):
            sse = server.connect()
            sse.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: 0\r\n\r\n" % target)
            read_stream(sse, 4 * 5 * 1024 * 1024 if target == b"/big" else encoded)
            sse.close()
        ws.close()
        mux.close()
        time.sleep(0.5)
        return {"publishes": "/".join(statuses), "RSS MB": f"{before:.0f} -> {server.rss_mb():.0f}"}
    finally:
        server.stop()


def closing_unread(binary):
    server = Server(binary, "--ws-max-buffered", str(256 * 1024 * 1024))
    try:
        s = websocket(server, b"/unread", rcvbuf=4096)
        s.sendall(masked(0x1, b'{"message_sequence":0}'))
        payload = b"x" * 65536
        conn = server.connect()
        for _ in range(300):
            conn.sendall(b"PUT /unread HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
            read_response(conn)
        conn.close()
        time.sleep(1)
        before = server.established()
        s.sendall(bytes([0x81, 0x00]))  # unmasked: a protocol error; the close is queued behind 19 MB
        time.sleep(15)
        return {"server connections before -> 15 s after the close began": f"{before} -> {server.established()}",
                "fds": server.fds()}
    finally:
        server.stop()


ATTACKS = {"multiplex": multiplex_100k, "ping-flood": ping_flood, "slowloris": slowloris, "control-frame": control_frame,
           "flags": absurd_flags, "metrics": metrics_flood, "control-bodies": control_bodies, "closing": closing_unread}

if __name__ == "__main__":
    binary, names = sys.argv[1], sys.argv[2:] or list(ATTACKS)
    for name in names:
        try:
            result = ATTACKS[name](binary)
        except Exception as error:  # noqa: BLE001 - a crash of the server is a result too
            result = {"error": repr(error)[:200]}
        print(f"{name}: {json.dumps(result)}", flush=True)
