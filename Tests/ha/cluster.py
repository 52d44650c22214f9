"""A throwaway Redis high-availability setup on loopback for the failover test (stdlib only).

A master, one replica and three sentinels (Debian's redis-sentinel), and firehose nodes that find
the master through those sentinels; every port is picked free at run time, every process is
stopped on every path (`Cluster.close`), and every wait has a bound.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import http.client
from typing import Callable, Optional

MASTER_NAME = "hamaster"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Polls `condition` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# -- a minimal RESP client -------------------------------------------------------------------

def redis_command(port: int, *args, timeout: float = 1.0):
    """One command on a fresh connection; the reply, or None when Redis is unreachable."""
    replies = redis_pipeline(port, list(args), timeout=timeout)
    return replies[0] if replies else None


def redis_pipeline(port: int, *commands: list, timeout: float = 1.0):
    """Commands sent together on one fresh connection; their replies, or None when Redis is unreachable."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            parts = []
            for args in commands:
                parts.append(b"*%d\r\n" % len(args))
                for arg in args:
                    data = arg if isinstance(arg, bytes) else str(arg).encode()
                    parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
            s.sendall(b"".join(parts))
            reader = s.makefile("rb")
            return [_read_reply(reader) for _ in commands]
    except OSError:
        return None


def replica_confirms(master: int) -> bool:
    """Whether `WAIT 1` on the master confirms a write (what `--redis-min-replicas 1` needs)."""
    replies = redis_pipeline(master, ["SET", "firehose-test:wait", "1"], ["WAIT", "1", "100"])
    return bool(replies) and isinstance(replies[1], int) and replies[1] >= 1


def _read_reply(reader):
    line = reader.readline()
    if not line:
        raise OSError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(reader) for _ in range(n)]
    raise OSError(f"unexpected reply {line!r}")


# -- processes ---------------------------------------------------------------------------------

class Cluster:
    def __init__(self, workdir: str, firehose: str):
        self.workdir = workdir
        self.firehose = firehose
        self.processes: list[subprocess.Popen] = []
        self.redis: dict[int, subprocess.Popen] = {}
        self.sentinel_ports: list[int] = []
        self.nodes: list[tuple[subprocess.Popen, int, str]] = []
        self.tracked: list = []

    def track(self, client):
        """A subscriber or publisher (anything with `stop()`) that `close` stops first; returns it."""
        self.tracked.append(client)
        return client

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        out = open(os.path.join(self.workdir, log), "ab")
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.processes.append(process)
        return process

    def start_redis(self, port: int, replica_of: Optional[int] = None) -> None:
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.workdir, "--dbfilename", f"dump-{port}.rdb", "--loglevel", "warning",
                # Redis 7 waits 5 s before a diskless full sync (for more replicas to join): none will.
                "--repl-diskless-sync-delay", "0"]
        if replica_of:
            args += ["--replicaof", "127.0.0.1", str(replica_of)]
        self.redis[port] = self._spawn(args, f"redis-{port}.log")
        wait_for(lambda: redis_command(port, "PING") == "PONG", 5, f"redis on {port}")
        if replica_of:
            wait_for(lambda: b"master_link_status:up" in (redis_command(port, "INFO", "replication") or b""), 10,
                     f"redis on {port} to sync from {replica_of}")
            # A replica just synced can be up, and even listed online by its master, yet not
            # acknowledge WAIT for a further half second or so (measured: the node's first publishes
            # after a resync got 503 "0 of the 1 replicas"): wait until WAIT counts it.
            wait_for(lambda: replica_confirms(replica_of), 10, f"redis on {replica_of} to count the replica on {port} in WAIT")

    def kill_redis(self, port: int) -> None:
        process = self.redis.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(5)

    def start_sentinels(self, master_port: int, count: int = 3) -> None:
        binary = shutil.which("redis-sentinel")
        assert binary, "redis-sentinel is not installed (make test-redis-ha installs Debian's redis-sentinel)"
        for i in range(count):
            port = free_port()
            config = os.path.join(self.workdir, f"sentinel-{port}.conf")
            with open(config, "w") as f:
                # Short timings keep the test under a minute: down after 2 s, failover timeout 4 s. (With 1 s,
                # the sentinels once judged the just-promoted master down 1.02 s after the switch and
                # failed over a second time, to the replica still syncing.)
                f.write(f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n"
                        f"sentinel down-after-milliseconds {MASTER_NAME} 2000\n"
                        f"sentinel failover-timeout {MASTER_NAME} 4000\n"
                        f"sentinel parallel-syncs {MASTER_NAME} 1\n")
            self._spawn([binary, config], f"sentinel-{port}.log")
            self.sentinel_ports.append(port)
            wait_for(lambda: redis_command(port, "PING") == "PONG", 5, f"sentinel on {port}")

    def start_replicated_master(self) -> tuple[int, int]:
        """A master, one replica and three sentinels that know both and each other: (master, replica)."""
        master, replica = free_port(), free_port()
        self.start_redis(master)
        self.start_redis(replica, replica_of=master)
        self.start_sentinels(master)
        wait_for(self.sentinels_ready, 20, "the sentinels to find the replica and each other", interval=0.2)
        return master, replica

    def sentinel_master(self, sentinel: int) -> Optional[int]:
        reply = redis_command(sentinel, "SENTINEL", "get-master-addr-by-name", MASTER_NAME)
        return int(reply[1]) if isinstance(reply, list) and len(reply) == 2 else None

    def sentinels_ready(self) -> bool:
        """Every sentinel knows the replica and the other sentinels (else a failover cannot start)."""
        for port in self.sentinel_ports:
            replicas = redis_command(port, "SENTINEL", "replicas", MASTER_NAME)
            others = redis_command(port, "SENTINEL", "sentinels", MASTER_NAME)
            if not isinstance(replicas, list) or len(replicas) < 1:
                return False
            if not isinstance(others, list) or len(others) < len(self.sentinel_ports) - 1:
                return False
        return True

    def start_node(self, extra: list[str], redis_port: Optional[int] = None) -> int:
        """A node on the sentinels, or straight on the Redis at `redis_port`."""
        index = len(self.nodes)
        log = os.path.join(self.workdir, f"node{index}.log")
        args = [self.firehose, "server", "--host", "127.0.0.1", "--port", "0", "--backend", "redis",
                "--long-poll-timeout", "2", "--log-level", "info"]
        if redis_port:
            args += ["--redis-url", f"redis://127.0.0.1:{redis_port}/0"]
        else:
            sentinels = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
            # The URL's host and port are unused with sentinels (port 1: nothing listens there).
            args += ["--redis-url", "redis://127.0.0.1:1/0", "--redis-sentinels", sentinels, "--redis-master", MASTER_NAME]
        args += extra
        process = self._spawn(args, f"node{index}.log")

        def port():
            assert process.poll() is None, f"node {index} exited: {open(log).read()}"
            found = re.search(r"listening on http://[^ ]*:(\d+)", open(log).read())
            return int(found.group(1)) if found else None
        node_port = wait_for(port, 10, f"node {index} to listen")
        wait_for(lambda: head(node_port) == 200, 10, f"node {index} to reach the master")
        self.nodes.append((process, node_port, log))
        return node_port

    def close(self) -> None:
        for client in reversed(self.tracked):
            client.stop()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        for process in self.processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)  # the fixture printed the logs if the test failed

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{open(os.path.join(self.workdir, name), errors='replace').read()[-3000:]}"
                         for name in sorted(os.listdir(self.workdir)) if name.endswith(".log"))


# -- HTTP and WebSocket clients ---------------------------------------------------------------

def head(port: int) -> Optional[int]:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("HEAD", "/")
        status = connection.getresponse().status
        connection.close()
        return status
    except OSError:
        return None


def publish(port: int, channel: str, body: str, timeout: float = 5) -> tuple[int, str]:
    """PUT a message: (status, body); status 0 when the node could not be reached or did not answer."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request("PUT", f"/{channel}", body=body.encode())
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        connection.close()
        return response.status, text
    except OSError as error:
        return 0, str(error)


class Subscriber:
    """Receives a channel on a thread and records every message body in arrival order."""

    def __init__(self, name: str):
        self.name = name
        self.bodies: list[str] = []
        self.sequences: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(10)

    def _record(self, payload: bytes):
        message = json.loads(payload)
        self.bodies.append(message["message"])
        self.sequences.append(message["last_sequence"])


class LongPollSubscriber(Subscriber):
    def __init__(self, port: int, channel: str):
        super().__init__(f"long-poll on {port}")
        self.port, self.channel = port, channel

    def _run(self):
        last = 0
        while not self._stop.is_set():
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("GET", f"/{self.channel}?last_message_sequence={last}")
                response = connection.getresponse()
                payload = response.read()
                connection.close()
            except OSError as error:
                self.errors.append(str(error))
                self._stop.wait(0.1)
                continue
            if response.status == 200:
                self._record(payload)
                last = self.sequences[-1]
            elif response.status != 204:
                self.errors.append(f"{response.status} {payload[:200]!r}")
                self._stop.wait(0.1)


class WebSocketSubscriber(Subscriber):
    def __init__(self, port: int, channel: str):
        super().__init__(f"WebSocket on {port}")
        self.port, self.channel = port, channel
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{self.channel} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head_bytes = b""
        while b"\r\n\r\n" not in head_bytes:
            chunk = self.sock.recv(4096)
            assert chunk, "WebSocket handshake: connection closed"
            head_bytes += chunk
        assert head_bytes.startswith(b"HTTP/1.1 101"), head_bytes
        self.buffer = head_bytes.split(b"\r\n\r\n", 1)[1]
        self._send(0x1, b'{"message_sequence":0}')
        self.sock.settimeout(0.2)

    def _send(self, opcode: int, payload: bytes):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode]) + (bytes([0x80 | len(payload)]) if len(payload) < 126
                                          else bytes([0x80 | 126]) + len(payload).to_bytes(2, "big"))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _frame(self):
        data = self.buffer
        if len(data) < 2:
            return None
        length, offset = data[1] & 0x7F, 2
        if length == 126:
            if len(data) < 4:
                return None
            length, offset = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            if len(data) < 10:
                return None
            length, offset = int.from_bytes(data[2:10], "big"), 10
        if len(data) < offset + length:
            return None
        self.buffer = data[offset + length:]
        return data[0] & 0x0F, data[offset:offset + length]

    def _run(self):
        while not self._stop.is_set():
            frame = self._frame()
            if frame is None:
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError as error:
                    self.errors.append(str(error))
                    return
                if not chunk:
                    self.errors.append("closed by the server")
                    return
                self.buffer += chunk
                continue
            opcode, payload = frame
            if opcode == 0x1:
                self._record(payload)
            elif opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                self.errors.append(f"close frame {payload!r}")
                return

    def stop(self):
        super().stop()
        self.sock.close()
