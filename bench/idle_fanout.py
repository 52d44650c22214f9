#!/usr/bin/env python3
"""Idle memory per connection and one-message fan-out time of a Firehose 1.x server.

Opens N subscriber connections on one channel (waiting long-polls or subscribed WebSockets),
measures the server's RSS before and after (once it has settled), then publishes ONE message and
measures how long it takes until every connection has received it. The server's CPU time and the
tool's own CPU time are reported for both phases, so a reader can tell whether the load generator
was the bottleneck.

Python 3.11 standard library only; loopback only. See bench/README.md.

    python3 bench/idle_fanout.py --pid "$(pgrep -n firehose)" --connections 10000 --transport ws
"""

from __future__ import annotations

import argparse
import base64
import collections
import errno
import hashlib
import heapq
import ipaddress
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import resource
import secrets
import select
import socket
import sys
import time
import traceback
import urllib.parse
from array import array

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PING_PAYLOAD = b'{"ping":"PING"}'
TOOL = "idle_fanout"

# Per-worker counters in a shared array (the worker writes its own row, the parent only reads).
C_ALIVE, C_ACKED, C_HOLDING, C_FAILED, C_DELIVERED, C_RECONNECTS, C_REPOLLS, C_STARTED = range(8)
NCOUNTERS = 8

# Per-slot (logical connection) final status.
S_PENDING, S_OK, S_WRONG, S_CLOSED, S_FAILED_OPEN = 0, 1, 2, 3, 4

# Connection states.
ST_CONNECTING, ST_LP_WAIT, ST_WS_HANDSHAKE, ST_WS_SUBSCRIBING, ST_WS_HOLD, ST_DONE = range(6)

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def raise_nofile() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard_target = 1 << 20
    else:
        hard_target = hard
    if soft != hard_target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard_target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# --------------------------------------------------------------------------------------------
# /proc readings
# --------------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def read_rss(pid: int) -> int:
    """VmRSS of pid, in bytes."""
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmRSS:"):
                parts = line.split()
                return int(parts[1]) * 1024  # always reported in kB
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status (a kernel thread or a zombie?)")


def read_cpu(pid: int) -> float | None:
    """utime + stime of pid (all its threads), in seconds; None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def read_threads(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rindex(b")") + 2:].split()[17])


def count_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def settle_rss(pid: int, until: float, interval: float = 0.5, tolerance: float = 0.01,
               label: str = "", progress=None) -> tuple[int, bool, int]:
    """Read RSS every `interval` s until two consecutive readings differ by at most `tolerance`
    (relative), or until monotonic time `until`. Returns (rss, settled, readings)."""
    prev = read_rss(pid)
    readings = 1
    while True:
        if time.monotonic() + interval > until:
            return prev, False, readings
        time.sleep(interval)
        cur = read_rss(pid)
        readings += 1
        if progress:
            progress(cur)
        if abs(cur - prev) <= tolerance * max(prev, 1):
            return cur, True, readings
        prev = cur


# --------------------------------------------------------------------------------------------
# WebSocket helpers
# --------------------------------------------------------------------------------------------


def ws_client_frame(payload: bytes, opcode: int = 1) -> bytes:
    """One masked client frame (FIN set)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    if n:
        key = (mask * (n // 4 + 1))[:n]
        body = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    else:
        body = b""
    return head + mask + body


def ws_key_pair() -> tuple[bytes, bytes]:
    key = base64.b64encode(os.urandom(16))
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
    return key, accept


# --------------------------------------------------------------------------------------------
# Worker process
# --------------------------------------------------------------------------------------------


class Conn:
    __slots__ = ("slot", "sock", "fd", "state", "buf", "out", "want_out", "accept", "closed")

    def __init__(self, slot: int, sock: socket.socket):
        self.slot = slot
        self.sock = sock
        self.fd = sock.fileno()
        self.state = ST_CONNECTING
        self.buf = b""
        self.out = b""
        self.want_out = False
        self.accept = b""
        self.closed = False


class Worker:
    def __init__(self, wid: int, cfg: dict, ctl, counters, shared_acc):
        self.wid = wid
        self.cfg = cfg
        self.ctl = ctl
        self.cnt = counters
        self.base = wid * NCOUNTERS
        self.shared_acc = shared_acc
        self.n = cfg["slots"][wid]
        self.transport = cfg["transport"]
        self.ws = self.transport == "ws"
        self.family = cfg["family"]
        self.addr = tuple(cfg["sockaddr"])
        self.src_ips = cfg["source_ips"]
        self.deadline_ns = cfg["deadline_ns"]
        self.grace_ns = int(cfg["grace"] * 1e9)
        self.window = cfg["batch"]
        self.nworkers = cfg["workers"]
        self.max_attempts = 1 + cfg["retries"]
        self.rate = (cfg["open_rate"] / self.nworkers) if cfg["open_rate"] else 0.0
        self.ws_pong = cfg["ws_pong"]
        self.ping_ns = int(cfg["ws_ping"] * 1e9) if self.ws_pong else 0
        self.expect_seq = cfg["sequence"] + 1
        self.prefix = cfg["prefix"]
        host = cfg["host_header"].encode()
        chan = cfg["channel"].encode()
        if self.ws:
            self.req_head = (b"GET " + chan + b" HTTP/1.1\r\nHost: " + host +
                             b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
            self.subscribe = json.dumps({"message_sequence": cfg["sequence"]},
                                        separators=(",", ":")).encode()
        else:
            self.get_req = (b"GET " + chan + b"?last_message_sequence=" +
                            str(cfg["sequence"]).encode() + b" HTTP/1.1\r\nHost: " + host +
                            b"\r\nUser-Agent: " + TOOL.encode() + b"\r\n\r\n")

        self.ep = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.status = bytearray(self.n)
        self.recv_ns = array("q", bytes(8 * self.n))
        self.attempts = array("i", bytes(4 * self.n))
        self.ever_held = bytearray(self.n)
        self.pending_open: collections.deque[int] = collections.deque()
        # Slots whose connection the server closed cleanly after an answer (e.g. a 204 with
        # Connection: close): re-opened first, not rate-limited, not counted as a failure.
        self.reopen: collections.deque[int] = collections.deque()
        self.retry_heap: list[tuple[int, int]] = []
        self.pings: collections.deque = collections.deque()
        self.settled = 0
        self.opening = False
        self.armed = False
        self.ready_sent = False
        self.done_sent = False
        self.done_ns = 0
        self.result_sent = False
        self.tokens = 0.0
        self.last_token_ns = 0
        self.errors: collections.Counter = collections.Counter()
        self.wrong_samples: list[str] = []
        self.duplicates = 0
        self.early = 0
        self.unexpected = 0
        self.drops_while_holding = 0
        self.embedded_t0 = 0
        self.first_ready_ns = 0
        self.last_ready_ns = 0
        self.src_i = 0

    # ---- counters -------------------------------------------------------------------------

    def inc(self, idx: int, d: int = 1) -> None:
        self.cnt[self.base + idx] += d

    # ---- opening --------------------------------------------------------------------------

    def window_room(self) -> int:
        """How many connections this worker may start now without overrunning the listen
        backlog: (client sockets alive) - (sockets the server has accepted) stays < batch."""
        cnt = self.cnt
        alive = 0
        acked = 0
        for w in range(self.nworkers):
            alive += cnt[w * NCOUNTERS + C_ALIVE]
            acked += cnt[w * NCOUNTERS + C_ACKED]
        acc = self.shared_acc.value
        if self.ws or acc < 0:
            acc = acked
        room = self.window - max(0, alive - acc)
        if room <= 0:
            return 0
        return min(-(-room // self.nworkers), self.window)

    def open_some(self, now: int) -> None:
        heap = self.retry_heap
        while heap and heap[0][0] <= now:
            self.pending_open.append(heapq.heappop(heap)[1])
        if not self.pending_open and not self.reopen:
            return
        allow = self.window_room()
        while allow > 0 and self.reopen:
            self.open_slot(self.reopen.popleft(), failure_retry=False)
            allow -= 1
        if self.rate and self.pending_open:
            if self.last_token_ns:
                self.tokens = min(self.tokens + self.rate * (now - self.last_token_ns) / 1e9,
                                  max(1.0, self.rate / 20))
            else:
                self.tokens = 1.0
            self.last_token_ns = now
            allow = min(allow, int(self.tokens))
        while allow > 0 and self.pending_open:
            self.open_slot(self.pending_open.popleft())
            allow -= 1
            if self.rate:
                self.tokens -= 1

    def open_slot(self, slot: int, failure_retry: bool = True) -> None:
        if failure_retry:
            self.attempts[slot] += 1
        try:
            s = socket.socket(self.family, socket.SOCK_STREAM)
        except OSError as e:
            self.errors["socket(): " + (e.strerror or str(e))] += 1
            self.give_up(slot)  # out of descriptors: retrying will not help
            return
        s.setblocking(False)
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.src_ips:
                try:
                    s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                except OSError:
                    pass
                s.bind((self.src_ips[self.src_i % len(self.src_ips)], 0))
                self.src_i += 1
            err = s.connect_ex(self.addr)
        except OSError as e:
            err = e.errno or -1
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.errors["connect: " + os.strerror(err)] += 1
            self.retry_or_give_up(slot)
            return
        c = Conn(slot, s)
        self.conns[c.fd] = c
        self.ep.register(c.fd, select.EPOLLOUT)
        self.inc(C_ALIVE)
        self.inc(C_STARTED)

    def retry_or_give_up(self, slot: int) -> None:
        now = time.monotonic_ns()
        if (self.attempts[slot] < self.max_attempts and now < self.deadline_ns
                and (self.opening or self.ever_held[slot])):
            if self.ever_held[slot] or self.armed:
                self.inc(C_RECONNECTS)
            delay = 50_000_000 * self.attempts[slot]
            heapq.heappush(self.retry_heap, (now + delay, slot))
        else:
            self.give_up(slot)

    def give_up(self, slot: int) -> None:
        if self.status[slot] == S_PENDING:
            self.status[slot] = S_CLOSED if self.ever_held[slot] else S_FAILED_OPEN
            self.settled += 1
            self.inc(C_FAILED)

    def stop_opening(self) -> None:
        """No new connections from now on; reconnects of slots that were holding go on."""
        self.opening = False
        keep = collections.deque()
        for slot in self.pending_open:
            if self.ever_held[slot]:
                keep.append(slot)
            else:
                self.errors["not opened before the open deadline"] += 1
                self.give_up(slot)
        self.pending_open = keep
        heap = []
        for due, slot in self.retry_heap:
            if self.ever_held[slot]:
                heap.append((due, slot))
            else:
                self.errors["not opened before the open deadline"] += 1
                self.give_up(slot)
        heapq.heapify(heap)
        self.retry_heap = heap

    # ---- connection plumbing --------------------------------------------------------------

    def send(self, c: Conn, data: bytes) -> None:
        if c.out:
            c.out += data
        else:
            c.out = data
        self.flush(c)

    def flush(self, c: Conn) -> None:
        try:
            n = c.sock.send(c.out)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as e:
            self.drop(c, "send: " + (e.strerror or str(e)))
            return
        c.out = c.out[n:]
        if c.out and not c.want_out:
            self.ep.modify(c.fd, select.EPOLLIN | select.EPOLLOUT)
            c.want_out = True
        elif not c.out and c.want_out:
            self.ep.modify(c.fd, select.EPOLLIN)
            c.want_out = False

    def close(self, c: Conn) -> None:
        if c.closed:
            return
        c.closed = True
        del self.conns[c.fd]
        try:
            self.ep.unregister(c.fd)
        except OSError:
            pass
        c.sock.close()
        self.inc(C_ALIVE, -1)
        if c.state in (ST_LP_WAIT, ST_WS_HOLD):
            self.inc(C_HOLDING, -1)
        if c.state in (ST_LP_WAIT, ST_WS_SUBSCRIBING, ST_WS_HOLD, ST_DONE):
            self.inc(C_ACKED, -1)

    def drop(self, c: Conn, reason: str) -> None:
        """The connection failed or the server closed it."""
        if c.closed:
            return
        was_holding = c.state in (ST_LP_WAIT, ST_WS_HOLD)
        done = c.state == ST_DONE
        self.close(c)
        if done:
            return  # already delivered; a close after that is fine
        self.errors[reason] += 1
        if was_holding:
            self.drops_while_holding += 1
        self.retry_or_give_up(c.slot)

    def became_holding(self, c: Conn, now: int) -> None:
        self.inc(C_HOLDING)
        if not self.ever_held[c.slot]:
            self.ever_held[c.slot] = 1
            if not self.first_ready_ns:
                self.first_ready_ns = now
            self.last_ready_ns = now

    # ---- events ---------------------------------------------------------------------------

    def on_connected(self, c: Conn, now: int) -> None:
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.drop(c, "connect: " + os.strerror(err))
            return
        self.ep.modify(c.fd, select.EPOLLIN)
        if self.ws:
            key, c.accept = ws_key_pair()
            c.state = ST_WS_HANDSHAKE
            self.send(c, self.req_head + key + b"\r\n\r\n")
        else:
            c.state = ST_LP_WAIT
            self.inc(C_ACKED)
            self.became_holding(c, now)
            self.send(c, self.get_req)

    def on_readable(self, c: Conn, now: int) -> None:
        try:
            data = c.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.drop(c, "recv: " + (e.strerror or str(e)))
            return
        if not data:
            self.drop(c, "closed by server" if c.state != ST_CONNECTING else "connect: EOF")
            return
        c.buf = c.buf + data if c.buf else data
        if self.ws:
            if c.state == ST_WS_HANDSHAKE:
                if not self.ws_handshake(c, now):
                    return
            self.ws_frames(c, now)
        else:
            self.lp_responses(c, now)

    def lp_responses(self, c: Conn, now: int) -> None:
        while not c.closed:
            buf = c.buf
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = buf[:end].lower()
            length = 0
            i = head.find(b"\r\ncontent-length:")
            if i >= 0:
                j = head.find(b"\r\n", i + 2)
                length = int(head[i + 17:j if j >= 0 else len(head)])
            total = end + 4 + length
            if len(buf) < total:
                return
            body = buf[end + 4:total]
            c.buf = buf[total:]
            code = head[9:12]
            keep = b"\r\nconnection: close" not in head
            if code == b"204":
                self.inc(C_REPOLLS)
                if c.state != ST_LP_WAIT:
                    self.unexpected += 1
                elif keep:
                    self.send(c, self.get_req)  # same sequence: keep waiting
                else:
                    # The server closes after its 204 (Thin does so above ~100 connections):
                    # reconnect at once and poll again with the same sequence.
                    self.close(c)
                    self.inc(C_RECONNECTS)
                    self.reopen.append(c.slot)
                    return
            elif code == b"200":
                if c.state == ST_LP_WAIT:
                    self.inc(C_HOLDING, -1)
                    c.state = ST_DONE
                    self.deliver(c.slot, body, now)
                else:
                    self.unexpected += 1
            else:
                self.drop(c, "long-poll answered " + buf[:end].split(b"\r\n")[0].decode("latin-1"))
                return
            if not keep and not c.closed:
                self.close(c)
                return

    def ws_handshake(self, c: Conn, now: int) -> bool:
        buf = c.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = buf[:end]
        c.buf = buf[end + 4:]
        status_line = head.split(b"\r\n", 1)[0]
        if status_line[9:12] != b"101":
            self.drop(c, "handshake: " + status_line.decode("latin-1", "replace"))
            return False
        if c.accept not in head:
            self.drop(c, "handshake: wrong Sec-WebSocket-Accept")
            return False
        c.accept = b""
        self.inc(C_ACKED)
        if not self.ws_pong:
            c.state = ST_WS_HOLD
            self.became_holding(c, now)
            self.send(c, ws_client_frame(self.subscribe))
            return not c.closed
        c.state = ST_WS_SUBSCRIBING
        # Subscribe, then ping: the pong proves the server has processed the subscription.
        self.send(c, ws_client_frame(self.subscribe) + ws_client_frame(PING_PAYLOAD))
        return not c.closed

    def ws_frames(self, c: Conn, now: int) -> None:
        while not c.closed:
            buf = c.buf
            blen = len(buf)
            if blen < 2:
                return
            b0 = buf[0]
            b1 = buf[1]
            n = b1 & 0x7F
            hl = 2
            if n == 126:
                if blen < 4:
                    return
                n = int.from_bytes(buf[2:4], "big")
                hl = 4
            elif n == 127:
                if blen < 10:
                    return
                n = int.from_bytes(buf[2:10], "big")
                hl = 10
            mask = b""
            if b1 & 0x80:  # servers must not mask, but be lenient
                mask = buf[hl:hl + 4]
                hl += 4
            if blen < hl + n:
                return
            payload = buf[hl:hl + n]
            c.buf = buf[hl + n:]
            if mask:
                key = (mask * (n // 4 + 1))[:n]
                payload = (int.from_bytes(payload, "big") ^
                           int.from_bytes(key, "big")).to_bytes(n, "big")
            op = b0 & 0x0F
            if op == 1 or op == 2:
                if payload.startswith(b'{"pong"'):
                    if c.state == ST_WS_SUBSCRIBING:
                        c.state = ST_WS_HOLD
                        self.became_holding(c, now)
                        if self.ping_ns and not self.armed:
                            self.pings.append((now + self.ping_ns, c))
                    continue
                if c.state in (ST_WS_HOLD, ST_WS_SUBSCRIBING):
                    if c.state == ST_WS_HOLD:
                        self.inc(C_HOLDING, -1)
                    c.state = ST_DONE
                    self.deliver(c.slot, payload, now)
                elif c.state == ST_DONE:
                    self.duplicates += 1
                    if len(self.wrong_samples) < 5:
                        self.wrong_samples.append("extra frame: " + payload[:200].decode("utf-8", "replace"))
                else:
                    self.unexpected += 1
            elif op == 9:
                self.send(c, ws_client_frame(payload, 10))
            elif op == 8:
                self.drop(c, "WebSocket close frame from server")
                return
            elif op == 10:
                pass
            else:
                self.unexpected += 1

    def deliver(self, slot: int, body: bytes, now: int) -> None:
        if self.status[slot] != S_PENDING:
            self.duplicates += 1
            return
        ok = False
        try:
            obj = json.loads(body)
            msg = obj.get("message")
            ok = (isinstance(msg, str) and msg.startswith(self.prefix)
                  and obj.get("last_sequence") == self.expect_seq)
            if ok and not self.embedded_t0:
                self.embedded_t0 = int(msg[len(self.prefix):].split()[0])
        except (ValueError, AttributeError, IndexError):
            ok = False
        if not self.armed:
            self.early += 1
            ok = False
        if not ok and len(self.wrong_samples) < 5:
            self.wrong_samples.append(body[:200].decode("utf-8", "replace"))
        self.status[slot] = S_OK if ok else S_WRONG
        self.recv_ns[slot] = now
        self.settled += 1
        if ok:
            self.inc(C_DELIVERED)

    # ---- control --------------------------------------------------------------------------

    def on_control(self) -> bool:
        """Returns False when told to stop."""
        while self.ctl.poll():
            msg = self.ctl.recv()
            kind = msg[0]
            if kind == "open":
                self.opening = True
                self.pending_open.extend(range(self.n))
            elif kind == "stop_open":
                self.stop_opening()
                if not self.ready_sent:  # report what is holding now, in-flight ones or not
                    self.ready_sent = True
                    self.ctl.send(("ready", self.wid, self.cnt[self.base + C_HOLDING],
                                   self.first_ready_ns, self.last_ready_ns))
            elif kind == "go":
                self.stop_opening()
                self.armed = True
                self.pings.clear()
                self.ctl.send(("armed", self.wid))
            elif kind == "stop":
                return False
        return True

    def check_phase(self, now: int) -> None:
        if self.opening and not self.ready_sent:
            holding = self.cnt[self.base + C_HOLDING]
            if (self.settled + holding >= self.n and not self.pending_open and not self.retry_heap
                    and not self.reopen):
                self.ready_sent = True
                self.ctl.send(("ready", self.wid, holding, self.first_ready_ns, self.last_ready_ns))
        if self.armed and not self.done_sent:
            if self.settled >= self.n or now >= self.deadline_ns:
                self.done_sent = True
                self.done_ns = now
                self.ctl.send(("done", self.wid, now))
        if self.done_sent and not self.result_sent:
            if now >= self.done_ns + self.grace_ns or now >= self.deadline_ns:
                self.send_result()

    def send_result(self) -> None:
        self.result_sent = True
        self.ctl.send(("result", self.wid, {
            "pid": os.getpid(),
            "status": bytes(self.status),
            "recv_ns": self.recv_ns.tobytes(),
            "errors": dict(self.errors),
            "wrong_samples": self.wrong_samples,
            "duplicates": self.duplicates,
            "early": self.early,
            "unexpected": self.unexpected,
            "drops_while_holding": self.drops_while_holding,
            "embedded_t0": self.embedded_t0,
            "reconnects": self.cnt[self.base + C_RECONNECTS],
            "repolls": self.cnt[self.base + C_REPOLLS],
        }))

    def send_pings(self, now: int) -> None:
        pings = self.pings
        while pings and pings[0][0] <= now:
            _, c = pings.popleft()
            if c.closed or c.state != ST_WS_HOLD:
                continue
            self.send(c, ws_client_frame(PING_PAYLOAD))
            if not c.closed:
                pings.append((now + self.ping_ns, c))

    # ---- main loop ------------------------------------------------------------------------

    def run(self) -> None:
        ctl_fd = self.ctl.fileno()
        self.ep.register(ctl_fd, select.EPOLLIN)
        ep = self.ep
        conns = self.conns
        EPOLLOUT = select.EPOLLOUT
        EPOLLIN_ERR = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR
        parent = os.getppid()
        next_parent_check = 0
        while True:
            now = time.monotonic_ns()
            if now >= next_parent_check:
                next_parent_check = now + 1_000_000_000
                if os.getppid() != parent or now > self.deadline_ns + 60_000_000_000:
                    return  # orphaned, or far past the deadline: never linger
            if self.pending_open or self.retry_heap or self.reopen:
                self.open_some(now)
                timeout = 0.002 if self.pending_open or self.retry_heap or self.reopen else 0.05
            else:
                timeout = 0.05
            events = ep.poll(timeout, 8192)
            # One timestamp per batch: every socket in it had its data before poll returned,
            # so processing the earlier ones does not delay the later ones' receive times.
            now = time.monotonic_ns()
            for fd, ev in events:
                if fd == ctl_fd:
                    if not self.on_control():
                        return
                    continue
                c = conns.get(fd)
                if c is None:
                    continue
                if c.state == ST_CONNECTING:
                    self.on_connected(c, now)
                    continue
                if ev & EPOLLOUT and c.out:
                    self.flush(c)
                    if c.closed:
                        continue
                if ev & EPOLLIN_ERR:
                    self.on_readable(c, now)
            if self.pings and not self.armed:
                self.send_pings(now)
            self.check_phase(now)
            if self.result_sent:
                # Keep the sockets open until the parent has finished measuring.
                while os.getppid() == parent:
                    if not self.on_control():
                        return
                    self.ctl.poll(1.0)
                return


def worker_main(wid, cfg, ctl, counters, shared_acc) -> None:
    try:
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
        soft, hard = raise_nofile()
        w = Worker(wid, cfg, ctl, counters, shared_acc)
        ctl.send(("hello", wid, os.getpid(), soft, hard))
        w.run()
    except (EOFError, BrokenPipeError):
        pass
    except BaseException:
        try:
            ctl.send(("error", wid, traceback.format_exc()))
        except Exception:
            pass


# --------------------------------------------------------------------------------------------
# Parent: blocking HTTP helpers for the control connection
# --------------------------------------------------------------------------------------------


def read_response(sock: socket.socket, deadline: float) -> tuple[int, bytes, bytes, int]:
    """Read one Content-Length framed response. Returns (status, head, body, t_head_ns)."""
    buf = b""
    t_head = 0
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            if not t_head:
                t_head = time.monotonic_ns()
            head = buf[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            if len(buf) >= end + 4 + length:
                return int(head[9:12]), head, buf[end + 4:end + 4 + length], t_head
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete response (got {buf[:200]!r})")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"server closed the connection (got {buf[:200]!r})")
        buf += chunk


def connect(family, sockaddr, timeout: float) -> socket.socket:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sockaddr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def http_once(family, sockaddr, host_header: str, method: str, target: str, body: bytes,
              timeout: float) -> tuple[int, bytes]:
    with connect(family, sockaddr, timeout) as s:
        req = (f"{method} {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {TOOL}\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        if method != "PUT" and not body:
            req = (f"{method} {target} HTTP/1.1\r\nHost: {host_header}\r\n"
                   f"User-Agent: {TOOL}\r\n\r\n").encode()
        s.sendall(req)
        status, _, rbody, _ = read_response(s, time.monotonic() + timeout)
        return status, rbody


# --------------------------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------------------------


def percentile(sorted_vals: list, p: float):
    if not sorted_vals:
        return None
    k = max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1)
    return sorted_vals[k]


def fmt_bytes(n: float) -> str:
    if abs(n) >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if abs(n) >= 1 << 10:
        return f"{n / 1024:.1f} KiB"
    return f"{n:.0f} B"


def ms(ns) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Idle memory per connection and one-message fan-out time of a Firehose server "
                    "(loopback only).")
    p.add_argument("--url", default="http://127.0.0.1:7474", help="server base URL (loopback only)")
    p.add_argument("--pid", type=int, required=True, help="PID of the server process (for RSS and CPU)")
    p.add_argument("--connections", "-n", type=int, default=10000, help="subscriber connections (default 10000)")
    p.add_argument("--transport", choices=("longpoll", "ws"), default="longpoll")
    p.add_argument("--channel", default=None, help="channel path (default /bench/idle/<random hex>)")
    p.add_argument("--workers", type=int, default=2, help="client worker processes (default 2)")
    p.add_argument("--open-rate", type=float, default=0.0,
                   help="connections per second while opening (default 0: as fast as the server "
                        "accepts, at most --batch not yet accepted)")
    p.add_argument("--batch", type=int, default=256,
                   help="at most this many connections opened but not yet accepted by the server "
                        "(keeps the listen backlog from overflowing; default 256)")
    p.add_argument("--timeout", type=float, default=120.0, help="overall time limit in seconds (default 120)")
    p.add_argument("--grace", type=float, default=0.5,
                   help="seconds to keep listening after the last delivery, to catch duplicates (default 0.5)")
    p.add_argument("--ws-ping", type=float, default=20.0,
                   help='WebSocket keep-alive: each idle WS sends {"ping":"PING"} this often, in '
                        "seconds, until the fan-out (default 20, like the JS client; 0 = never)")
    p.add_argument("--ws-no-pong", action="store_true",
                   help="count a WebSocket as holding as soon as its subscribe frame is sent, instead "
                        'of after the answer to a {"ping":"PING"} sent right behind it; no keep-alive '
                        "pings (for servers without ping support)")
    p.add_argument("--retries", type=int, default=3,
                   help="reconnects per connection after a failure or a server close (default 3)")
    p.add_argument("--settle-max", type=float, default=30.0,
                   help="longest wait for the RSS to settle, in seconds (default 30)")
    p.add_argument("--source-ips", type=int, default=0,
                   help="spread client sockets over this many source addresses 127.0.0.1.. "
                        "(IPv4 only; default: 1, or enough for 25000 sockets each above 25000)")
    p.add_argument("--json", action="store_true", help="print one JSON object line instead of text")
    a = p.parse_args(argv)
    if a.connections < 1:
        p.error("--connections must be at least 1")
    if a.workers < 1:
        p.error("--workers must be at least 1")
    a.workers = min(a.workers, a.connections)
    if a.batch < 1:
        p.error("--batch must be at least 1")
    if a.timeout <= 0:
        p.error("--timeout must be positive")
    return p, a


def resolve_loopback(p, url: str):
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "ws"):
        p.error(f"--url must be http:// (got {url!r})")
    host = u.hostname
    if not host:
        p.error(f"--url has no host: {url!r}")
    port = u.port or 80
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        p.error(f"cannot resolve {host}: {e}")
    for fam, _, _, _, sa in infos:
        ip = ipaddress.ip_address(sa[0].split("%")[0])
        if not ip.is_loopback:
            p.error(f"refusing non-loopback host {host} ({sa[0]}): this tool only loads 127.0.0.0/8 or ::1")
    host_header = u.netloc.rsplit("@", 1)[-1]
    # Use the first address that accepts a connection (localhost may list ::1 first while the
    # server listens on 127.0.0.1 only).
    last_err = None
    for fam, _, _, _, sa in infos:
        try:
            connect(fam, sa, 5).close()
            return fam, sa, host_header, port
        except OSError as e:
            last_err = e
    raise RuntimeError(f"cannot connect to {url}: {last_err}")


class Run:
    def __init__(self, parser, args):
        self.p = parser
        self.a = args
        self.t_start = time.monotonic()
        self.deadline = self.t_start + args.timeout
        self.open_deadline = self.t_start + 0.75 * args.timeout
        self.procs: list = []
        self.ctls: list = []
        self.result: dict = {}

    # ---- helpers --------------------------------------------------------------------------

    def snapshot(self) -> dict:
        tool = [read_cpu(os.getpid())] + [read_cpu(pr.pid) for pr in self.procs]
        return {"t": time.monotonic_ns(), "server": read_cpu(self.a.pid), "tool": tool}

    def cpu_phase(self, a: dict, b: dict) -> dict:
        wall = (b["t"] - a["t"]) / 1e9
        per = [None if (x is None or y is None) else round(y - x, 3)
               for x, y in zip(a["tool"], b["tool"])]
        srv = None if a["server"] is None or b["server"] is None else round(b["server"] - a["server"], 3)
        tool = round(sum(v for v in per if v is not None), 3)
        return {"wall_s": round(wall, 3), "server_cpu_s": srv, "tool_cpu_s": tool,
                "tool_cpu_per_process_s": per,
                "server_cpu_pct": None if srv is None or wall <= 0 else round(100 * srv / wall, 1),
                "tool_cpu_pct": None if wall <= 0 else round(100 * tool / wall, 1)}

    def counters(self) -> list[int]:
        tot = [0] * NCOUNTERS
        for w in range(self.a.workers):
            for k in range(NCOUNTERS):
                tot[k] += self.cnt[w * NCOUNTERS + k]
        return tot

    def recv_from(self, until: float, want: str, pending: set, on_tick=None, tick: float = 0.05):
        """Collect `want` messages from the workers in `pending` until none is left or `until`."""
        got = {}
        conn_to_w = {self.ctls[w]: w for w in range(len(self.ctls))}
        while pending and time.monotonic() < until:
            ready = multiprocessing.connection.wait([self.ctls[w] for w in pending],
                                                    timeout=min(tick, max(0.0, until - time.monotonic())))
            for conn in ready:
                w = conn_to_w[conn]
                try:
                    msg = conn.recv()
                except EOFError:
                    raise RuntimeError(f"worker {w} exited unexpectedly")
                if msg[0] == "error":
                    raise RuntimeError(f"worker {msg[1]} failed:\n{msg[2]}")
                if msg[0] == want:
                    got[w] = msg
                    pending.discard(w)
                else:
                    self.stray.append(msg)
            if on_tick:
                on_tick()
        return got

    # ---- run ------------------------------------------------------------------------------

    def run(self) -> int:
        a = self.a
        if not os.path.exists(f"/proc/{a.pid}/status"):
            self.p.error(f"no process {a.pid}")
        fam, sa, host_header, port = resolve_loopback(self.p, a.url)
        channel = a.channel or f"/bench/idle/{secrets.token_hex(8)}"
        if not channel.startswith("/") or "?" in channel or " " in channel or "#" in channel:
            self.p.error("--channel must start with / and contain no ?, # or space")
        soft, hard = raise_nofile()
        nonce = secrets.token_hex(8)
        per = [a.connections // a.workers + (1 if i < a.connections % a.workers else 0)
               for i in range(a.workers)]
        src_ips: list[str] = []
        nsrc = a.source_ips or (1 + (a.connections - 1) // 25000 if a.connections > 25000 else 0)
        if nsrc > 1:
            if fam != socket.AF_INET or not sa[0].startswith("127."):
                self.p.error("--source-ips needs an IPv4 127.x server address")
            src_ips = [f"127.0.0.{i + 1}" for i in range(min(nsrc, 254))]
        R = self.result = {
            "tool": TOOL, "url": a.url, "pid": a.pid, "transport": a.transport, "channel": channel,
            "connections": a.connections, "workers": a.workers, "connections_per_worker": per,
            "clk_tck": CLK_TCK, "nofile_limit": [soft, hard], "server_threads": read_threads(a.pid),
        }
        self.stray: list = []
        log(f"{TOOL}: {a.transport}, {a.connections} connections on {channel}, {a.workers} workers, "
            f"server pid {a.pid} at {sa[0]}:{port}")

        # 1. Warm-up message, and the channel's current sequence.
        warm = f"{TOOL}-warmup {nonce}".encode()
        st, _ = http_once(fam, sa, host_header, "PUT", channel, warm, 10)
        if st != 202:
            raise RuntimeError(f"warm-up PUT answered {st}, expected 202")
        st, body = http_once(fam, sa, host_header, "GET", channel + "?last_message_sequence=0", b"", 10)
        if st != 200:
            raise RuntimeError(f"sequence GET answered {st}, expected 200")
        obj = json.loads(body)
        seq = int(obj["last_sequence"])
        if obj.get("message") != warm.decode():
            log(f"warning: the newest message of {channel} is not our warm-up message; someone else "
                f"is publishing to it (sequence {seq})")
        R["sequence_before"] = seq
        log(f"warm-up published; channel at sequence {seq}; waiting for the idle RSS to settle")

        # 2. Idle RSS before opening anything.
        rss_before, ok_before, _ = settle_rss(a.pid, min(self.open_deadline, time.monotonic() + a.settle_max))
        fds_before = count_fds(a.pid)
        R["fd_counting"] = fds_before is not None

        # 3. Workers.
        ctx = multiprocessing.get_context("fork")
        self.cnt = ctx.Array("q", a.workers * NCOUNTERS, lock=False)
        acc = ctx.Value("q", -1, lock=False)
        cfg = {
            "slots": per, "transport": a.transport, "family": fam, "sockaddr": sa,
            "host_header": host_header, "channel": channel, "sequence": seq,
            "prefix": f"{TOOL} {nonce} mono_ns=", "deadline_ns": int(self.deadline * 1e9),
            "grace": a.grace, "batch": a.batch, "workers": a.workers, "retries": a.retries,
            "open_rate": a.open_rate, "ws_ping": a.ws_ping, "ws_pong": not a.ws_no_pong,
            "source_ips": src_ips,
        }
        for w in range(a.workers):
            parent_end, child_end = ctx.Pipe(duplex=True)
            pr = ctx.Process(target=worker_main, args=(w, cfg, child_end, self.cnt, acc),
                             name=f"{TOOL}-worker-{w}", daemon=True)
            pr.start()
            child_end.close()
            self.procs.append(pr)
            self.ctls.append(parent_end)
        hello = self.recv_from(time.monotonic() + 10, "hello", set(range(a.workers)))
        if len(hello) < a.workers:
            raise RuntimeError("workers did not start")
        for w, (_, _, wpid, wsoft, whard) in hello.items():
            if per[w] + 32 > wsoft:
                raise RuntimeError(
                    f"worker {w} must hold {per[w]} sockets but its RLIMIT_NOFILE is {wsoft} "
                    f"(hard {whard}): use more --workers or raise the hard limit")

        # 4. Open phase.
        snap_open0 = self.snapshot()
        for c in self.ctls:
            c.send(("open",))
        t_open0 = time.monotonic()
        last_progress = [t_open0, 0]
        fd_state = {"next": 0.0, "stuck_since": None, "off": fds_before is None}

        def update_accepted():
            now = time.monotonic()
            if fd_state["off"] or now < fd_state["next"]:
                return
            t = time.perf_counter()
            n = count_fds(a.pid)
            cost = time.perf_counter() - t
            if n is None:
                fd_state["off"] = True
                acc.value = -1
                return
            acc.value = max(0, n - fds_before)
            # Guard against a wrong --pid: the server's descriptor count must follow our connects.
            if acc.value == 0 and self.counters()[C_ACKED] >= min(a.batch, a.connections):
                if fd_state["stuck_since"] is None:
                    fd_state["stuck_since"] = now
                elif now - fd_state["stuck_since"] > 2.0:
                    log(f"warning: process {a.pid} has not gained any descriptor while "
                        f"{self.counters()[C_ACKED]} connections are established: is --pid the "
                        f"server? Pacing on client-side connects instead.")
                    fd_state["off"] = True
                    acc.value = -1
                    return
            else:
                fd_state["stuck_since"] = None
            # Poll often, but spend at most ~5% of a core on it.
            fd_state["next"] = now + max(0.005, 20 * cost)

        def progress(phase: str):
            now = time.monotonic()
            if now - last_progress[0] < 1.0:
                return
            c = self.counters()
            rate = (c[C_HOLDING] - last_progress[1]) / (now - last_progress[0])
            last_progress[0], last_progress[1] = now, c[C_HOLDING]
            srv = "" if fds_before is None else f", server fds +{(count_fds(a.pid) or fds_before) - fds_before}"
            try:
                rss = fmt_bytes(read_rss(a.pid))
            except (OSError, RuntimeError):
                rss = "?"
            log(f"[{now - self.t_start:6.1f}s] {phase}: holding {c[C_HOLDING]}/{a.connections}, "
                f"sockets {c[C_ALIVE]}, failed {c[C_FAILED]}, reconnects {c[C_RECONNECTS]}, "
                f"204 re-polls {c[C_REPOLLS]}{srv}, server RSS {rss}, {rate:.0f} conn/s")

        def open_tick():
            if a.transport == "longpoll":
                update_accepted()
            progress("open")

        pending = set(range(a.workers))
        ready = self.recv_from(self.open_deadline, "ready", pending, on_tick=open_tick, tick=0.005)
        open_complete = len(ready) == a.workers
        if not open_complete:
            log(f"open phase not finished after {self.open_deadline - self.t_start:.0f} s "
                f"(75% of --timeout): going on with the connections that are holding")
            for c in self.ctls:
                c.send(("stop_open",))
            more = self.recv_from(time.monotonic() + 2, "ready", set(pending))
            ready.update(more)
        snap_open1 = self.snapshot()
        t_open1 = time.monotonic()
        # From now on reconnects are paced on client-side connects (the descriptor count is no
        # longer polled, and a frozen value would stall them).
        acc.value = -1
        c = self.counters()
        firsts = [m[3] for m in ready.values() if m[3]]
        lasts = [m[4] for m in ready.values() if m[4]]
        open_s = (max(lasts) - min(firsts)) / 1e9 if firsts and lasts else None
        R["open"] = {
            "complete": open_complete, "holding": c[C_HOLDING], "failed": c[C_FAILED],
            "sockets_started": c[C_STARTED], "reconnects": c[C_RECONNECTS], "repolls_204": c[C_REPOLLS],
            "seconds": round(t_open1 - t_open0, 3),
            "first_to_last_holding_s": None if open_s is None else round(open_s, 3),
            "rate_per_s": round(c[C_HOLDING] / (t_open1 - t_open0), 1) if t_open1 > t_open0 else None,
        }
        R["cpu_open"] = self.cpu_phase(snap_open0, snap_open1)
        log(f"open: {c[C_HOLDING]} holding after {t_open1 - t_open0:.2f} s, {c[C_FAILED]} failed; "
            f"waiting for the server RSS to settle")

        # 5. Idle RSS with everything holding.
        def settle_progress(rss):
            cc = self.counters()
            log(f"[{time.monotonic() - self.t_start:6.1f}s] settle: server RSS {fmt_bytes(rss)}, "
                f"holding {cc[C_HOLDING]}, 204 re-polls {cc[C_REPOLLS]}")

        settle_until = min(time.monotonic() + a.settle_max, self.deadline - 5)
        rss_after, ok_after, readings = settle_rss(a.pid, settle_until, progress=settle_progress)
        holding = self.counters()[C_HOLDING]
        fds_after = count_fds(a.pid)
        R["memory"] = {
            "rss_before_bytes": rss_before, "rss_holding_bytes": rss_after,
            "settled_before": ok_before, "settled_holding": ok_after,
            "holding_at_reading": holding,
            "per_connection_bytes": round((rss_after - rss_before) / holding, 1) if holding else None,
            "per_connection_kib": round((rss_after - rss_before) / holding / 1024, 3) if holding else None,
            "server_fds_before": fds_before, "server_fds_holding": fds_after,
        }

        # 6. Fan-out: arm the workers, then ONE PUT on its own connection.
        put_sock = connect(fam, sa, 10)
        for cc in self.ctls:
            cc.send(("go",))
        armed = self.recv_from(time.monotonic() + 10, "armed", set(range(a.workers)))
        if len(armed) < a.workers:
            raise RuntimeError("workers did not acknowledge go")
        holding_at_go = self.counters()[C_HOLDING]
        head_tpl = f"PUT {channel} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {TOOL}\r\n" \
                   f"Content-Type: text/plain\r\nContent-Length: "
        snap_fan0 = self.snapshot()
        t0 = time.monotonic_ns()
        wall0 = time.time_ns()
        body = f"{TOOL} {nonce} mono_ns={t0} wall_ns={wall0}".encode()
        put_sock.sendall(head_tpl.encode() + str(len(body)).encode() + b"\r\n\r\n" + body)
        put_status, put_err, t202 = None, None, None
        try:
            put_status, _, _, t202 = read_response(
                put_sock, max(min(self.deadline, time.monotonic() + 30), time.monotonic() + 2))
        except (OSError, TimeoutError, ConnectionError) as e:
            put_err = str(e)
        finally:
            put_sock.close()
        if put_status != 202:
            log(f"the bench PUT answered {put_status or put_err!r}, expected 202")

        last_fan_progress = [time.monotonic()]

        def fan_tick():
            now = time.monotonic()
            if now - last_fan_progress[0] >= 1.0:
                last_fan_progress[0] = now
                cc = self.counters()
                log(f"[{now - self.t_start:6.1f}s] fan-out: delivered {cc[C_DELIVERED]}/{a.connections}, "
                    f"failed {cc[C_FAILED]}, reconnects {cc[C_RECONNECTS]}")

        done = self.recv_from(self.deadline + 2, "done", set(range(a.workers)), on_tick=fan_tick)
        snap_fan1 = self.snapshot()
        results = {}
        for m in self.stray:
            if m[0] == "result":
                results[m[1]] = m
        results.update(self.recv_from(self.deadline + 5, "result",
                                      set(range(a.workers)) - set(results)))
        rss_fanout = read_rss(a.pid)

        # 7. Results.
        status = bytearray()
        recv = array("q")
        errors: collections.Counter = collections.Counter()
        samples: list = []
        dup = early = unexpected = drops = 0
        embedded = set()
        for w in range(a.workers):
            if w not in results:
                status += bytes([S_PENDING]) * per[w]
                recv.extend([0] * per[w])
                errors["worker gave no result"] += per[w]
                continue
            r = results[w][2]
            status += r["status"]
            rr = array("q")
            rr.frombytes(r["recv_ns"])
            recv.extend(rr)
            errors.update(r["errors"])
            samples += r["wrong_samples"]
            dup += r["duplicates"]
            early += r["early"]
            unexpected += r["unexpected"]
            drops += r["drops_while_holding"]
            if r["embedded_t0"]:
                embedded.add(r["embedded_t0"])
        lat = sorted(recv[i] - t0 for i in range(len(status)) if status[i] == S_OK)
        n_ok = len(lat)
        n_wrong = status.count(S_WRONG)
        n_failed_open = status.count(S_FAILED_OPEN)
        n_lost = status.count(S_PENDING) + status.count(S_CLOSED)
        all_delivered = n_ok == a.connections and dup == 0
        R["fanout"] = {
            "sequence": seq + 1, "holding_at_put": holding_at_go,
            "put_status": put_status, "put_error": put_err,
            "put_202_ms": ms(t202 - t0) if t202 else None,
            "last_delivery_ms": ms(lat[-1]) if n_ok else None,
            "all_delivered": all_delivered,
            "p50_ms": ms(percentile(lat, 50)), "p99_ms": ms(percentile(lat, 99)),
            "mean_ms": ms(sum(lat) / n_ok) if n_ok else None,
            "min_ms": ms(lat[0]) if n_ok else None,
            "delivered_ok": n_ok, "wrong": n_wrong, "duplicates": dup, "early": early,
            "lost": n_lost, "failed_open": n_failed_open, "unexpected_responses": unexpected,
            "drops_while_holding": drops,
            "send_time_in_body_matches": embedded <= {t0},
            "wrong_samples": samples[:5],
        }
        R["cpu_fanout"] = self.cpu_phase(snap_fan0, snap_fan1)
        # The phase ends at the last worker's "done": every connection settled, or the deadline.
        R["cpu_fanout"]["ended_by"] = ("all settled" if n_ok + n_wrong + n_failed_open + status.count(S_CLOSED)
                                       == a.connections else "timeout")
        R["errors"] = dict(errors.most_common(20))
        R["memory"]["rss_after_fanout_bytes"] = rss_fanout

        # 8. Let the workers close everything.
        for cc in self.ctls:
            try:
                cc.send(("stop",))
            except OSError:
                pass
        for pr in self.procs:
            pr.join(timeout=5)
        R["elapsed_s"] = round(time.monotonic() - self.t_start, 3)
        R["client_bound_hint"] = self.client_bound_hint()
        return 0 if all_delivered and n_wrong == 0 else 1

    def client_bound_hint(self) -> str:
        f = self.result.get("cpu_fanout") or {}
        per = [v for v in (f.get("tool_cpu_per_process_s") or [])[1:] if v is not None]
        wall = f.get("wall_s") or 0
        if wall <= 0 or not per:
            return "unknown"
        busiest = max(per) / wall
        if busiest >= 0.8:
            return (f"likely: the busiest worker used {100 * busiest:.0f}% of a core during the fan-out, "
                    f"so the measured fan-out time is bounded by the client; try more --workers")
        return f"unlikely: the busiest worker used {100 * busiest:.0f}% of a core during the fan-out"

    def cleanup(self) -> None:
        for c in self.ctls:
            try:
                c.send(("stop",))
            except OSError:
                pass
        for pr in self.procs:
            pr.join(timeout=2)
            if pr.is_alive():
                pr.terminate()
                pr.join(timeout=2)


def print_human(R: dict) -> None:
    o, m, f = R.get("open", {}), R.get("memory", {}), R.get("fanout", {})
    co, cf = R.get("cpu_open", {}), R.get("cpu_fanout", {})

    def v(x, unit=""):
        return "n/a" if x is None else f"{x}{unit}"

    print(f"{TOOL}: {R['transport']}, {R['connections']} connections on {R['channel']} "
          f"({R['workers']} workers) against {R['url']}, server pid {R['pid']}")
    print(f"open:     {o.get('holding')} holding in {o.get('seconds')} s ({v(o.get('rate_per_s'))} conn/s)"
          f"{'' if o.get('complete') else ' [INCOMPLETE]'}; failed {o.get('failed')}, "
          f"reconnects {o.get('reconnects')}, 204 re-polls {o.get('repolls_204')}")
    if m:
        per_b = m.get("per_connection_bytes")
        print(f"memory:   server RSS {fmt_bytes(m['rss_before_bytes'])} -> {fmt_bytes(m['rss_holding_bytes'])}"
              f" with {m['holding_at_reading']} holding"
              f"{'' if m['settled_holding'] else ' (NOT settled)'}: "
              f"{v(None if per_b is None else round(per_b))} B/connection ({v(m.get('per_connection_kib'))} KiB)")
    if f:
        print(f"fan-out:  PUT answered {f.get('put_status') or f.get('put_error')} in {v(f.get('put_202_ms'), ' ms')}; "
              f"last of {f['delivered_ok']} deliveries at {v(f.get('last_delivery_ms'), ' ms')}; "
              f"p50 {v(f.get('p50_ms'), ' ms')}, p99 {v(f.get('p99_ms'), ' ms')}")
        verdict = "OK" if f.get("all_delivered") and not f.get("wrong") else "PROBLEM"
        print(f"verify:   {verdict}: ok {f['delivered_ok']}/{R['connections']}, wrong {f['wrong']}, "
              f"duplicates {f['duplicates']}, lost {f['lost']}, failed to open {f['failed_open']}, "
              f"dropped while holding {f['drops_while_holding']}")
        for s in f.get("wrong_samples") or []:
            print(f"          sample: {s}")

    def cpu_line(name, c):
        if not c:
            return
        end = " (phase ended by the TIMEOUT)" if c.get("ended_by") == "timeout" else ""
        print(f"cpu {name}: wall {c['wall_s']} s{end}; server {v(c['server_cpu_s'], ' s')} "
              f"({v(c['server_cpu_pct'], '%')}); tool {c['tool_cpu_s']} s ({v(c['tool_cpu_pct'], '%')}, "
              f"per process {c['tool_cpu_per_process_s']})")

    cpu_line("open   ", co)
    cpu_line("fan-out", cf)
    print(f"client-bound: {R.get('client_bound_hint')}")
    if R.get("errors"):
        print("errors:   " + "; ".join(f"{k} x{n}" for k, n in R["errors"].items()))


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    import signal
    signal.signal(signal.SIGTERM, _sigterm)
    parser, args = parse_args(argv)
    run = Run(parser, args)
    code = 1
    try:
        code = run.run()
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    except Exception as e:  # report what we have
        log(f"error: {e}")
        run.result["fatal_error"] = str(e)
        code = 1
    finally:
        run.cleanup()
    if run.result:
        if args.json:
            print(json.dumps(run.result, separators=(",", ":")))
        elif "open" in run.result:
            print_human(run.result)
    return code


if __name__ == "__main__":
    sys.exit(main())
