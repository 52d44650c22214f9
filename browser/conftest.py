"""Fixtures for the real-browser suite: the server under test, a page server on another origin,
headless Chromium, and a test-side publisher.

    browser/run-local.sh .build/debug
    python3 -m pytest browser --url http://127.0.0.1:7474 [--binary .build/debug/firehose]

Nothing is downloaded: Chromium and its driver are Debian's (`chromium`, `chromium-driver`), the
driver path is given to Selenium so Selenium Manager never runs, and it is told to stay offline
in case it does.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never fetch a driver or browser

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
PAGES = Path(__file__).resolve().parent / "pages"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

# Every wait in the suite is on an explicit condition, bounded by this (seconds).
WAIT = float(os.environ.get("BROWSER_WAIT", "15"))


def pytest_addoption(parser):
    group = parser.getgroup("firehose browser")
    group.addoption("--url", default=os.environ.get("FIREHOSE_URL", "http://127.0.0.1:7474"),
                    help="the server under test (env FIREHOSE_URL)")
    group.addoption("--binary", default=os.environ.get("FIREHOSE_BINARY"),
                    help="the firehose binary, for tests that start servers of their own (env FIREHOSE_BINARY)")
    group.addoption("--longpoll-timeout", type=float, default=float(os.environ.get("BROWSER_LONGPOLL_TIMEOUT", "20")),
                    help="the server's long-poll timeout in seconds (env BROWSER_LONGPOLL_TIMEOUT; default 20)")
    group.addoption("--screenshot", default=os.environ.get("BROWSER_SCREENSHOT"),
                    help="save a screenshot of the demo page here (env BROWSER_SCREENSHOT), e.g. docs/demo.png")


class Publisher:
    """Publishes with plain HTTP PUTs on one keep-alive connection, like any Firehose publisher."""

    def __init__(self, url: str):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=WAIT)

    def put(self, channel: str, body: str, headers: dict | None = None) -> None:
        self.conn.request("PUT", channel, body=body.encode(), headers=headers or {})
        resp = self.conn.getresponse()
        resp.read()
        assert resp.status == 202, f"PUT {channel}: {resp.status}"

    def get(self, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
        """A GET on a fresh connection; the response is read in full (body in .body)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=WAIT)
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.body = resp.read()
        conn.close()
        return resp

    def close(self):
        self.conn.close()


@pytest.fixture(scope="session")
def server(pytestconfig) -> str:
    url = pytestconfig.getoption("--url").rstrip("/")
    parsed = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 80), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"cannot connect to the server under test at {url}: {exc}", pytrace=False)
    return url


@pytest.fixture
def publisher(server):
    pub = Publisher(server)
    yield pub
    pub.close()


@pytest.fixture
def channel(request) -> str:
    """A fresh channel for this test: /browser/<test name>/<random hex>."""
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in request.node.name)
    return f"/browser/{name}/{secrets.token_hex(4)}"


class _PageHandler(SimpleHTTPRequestHandler):
    """Serves browser/pages/ at / and the files of web/, including under the names the server
    itself gives them (/firehose.js@firehose), so a page can import either way."""

    ROUTES = {
        "/firehose.js": WEB / "firehose.js",
        "/firehose.js@firehose": WEB / "firehose.js",
        "/demo.html": WEB / "demo.html",
    }

    def translate_path(self, path):
        plain = urllib.parse.urlsplit(path).path
        if plain in self.ROUTES:
            return str(self.ROUTES[plain])
        return str(PAGES / plain.lstrip("/"))

    def guess_type(self, path):
        if str(path).endswith(".js"):
            return "text/javascript; charset=utf-8"  # module scripts need a JavaScript type
        return super().guess_type(path)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")  # always the file as it is now
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def pages() -> str:
    """Base URL of a page server on its own port: pages loaded from it are cross-origin to the
    server under test."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def driver():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            pytest.fail(f"{path} is missing: apt-get install chromium chromium-driver (make test-browser does)",
                        pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=900,640", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    drv.set_script_timeout(WAIT)
    drv.set_page_load_timeout(WAIT)
    yield drv
    drv.quit()


def wait_for(driver, condition, what: str, timeout: float = WAIT):
    """Waits until condition(driver) is truthy (polled), failing with `what` after `timeout`."""
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, message=f"timed out waiting for {what}")


def js(script: str):
    """A WebDriverWait condition that evaluates a JS expression in the page."""
    return lambda d: d.execute_script(f"return {script}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RestartableServer:
    """A firehose server of the test's own, on the Redis backend (a throwaway redis-server), so
    it can be killed and started again on the same port with every channel's sequence and
    buffer intact: a real server-side cut that clients must survive by resuming."""

    def __init__(self, binary: str, workdir: Path, extra_args: list[str]):
        self.binary, self.workdir, self.extra_args = binary, workdir, extra_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.redis_url = f"redis://127.0.0.1:{redis_port}/0"
        self.proc = None
        self.start()

    def start(self):
        log = open(self.workdir / "firehose.log", "ab")
        self.proc = subprocess.Popen(
            [self.binary, "server", "--host", "127.0.0.1", "--port", str(self.port), "--backend", "redis",
             "--redis-url", self.redis_url, *self.extra_args], stdout=log, stderr=log)
        # Ready when the health check passes: with Redis, both of its connections are up.
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.workdir / "firehose.log").read_text()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("HEAD", "/")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.05)  # polling interval of a bounded readiness check
        raise AssertionError(f"firehose did not become ready on {self.url}")

    def kill(self):
        """SIGKILL: every connection is cut at once, nothing is said to the clients."""
        self.proc.kill()
        self.proc.wait(timeout=WAIT)

    def restart(self):
        self.kill()
        self.start()

    def stop(self):
        for proc in (self.proc, self.redis):
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=WAIT)


def server_flags(binary: str) -> str:
    """The server's --help text, to pass optional flags only to a server that has them."""
    return subprocess.run([binary, "server", "--help"], capture_output=True, text=True, timeout=WAIT).stdout


@pytest.fixture
def restartable(pytestconfig, tmp_path):
    binary = pytestconfig.getoption("--binary")
    if not binary:
        pytest.fail("this test starts servers of its own: give --binary (or FIREHOSE_BINARY)", pytrace=False)
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is missing (make deps installs it)", pytrace=False)
    # A short EventSource retry keeps the browser's own reconnect quick.
    extra = ["--sse-retry-ms", "200"] if "--sse-retry-ms" in server_flags(binary) else []
    srv = RestartableServer(binary, tmp_path, extra)
    yield srv
    srv.stop()
