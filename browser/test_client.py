"""firehose.js in a real Chromium: every transport alone, multiplexed, falling back, cross-origin,
and resuming across a server restart. Each test checks exactly-once, in-order delivery of what
a test-side publisher PUTs, by reading what the page's onMessage saw.

The page (browser/pages/client.html) is served by a page server on its own port, so the client
always talks to the server under test cross-origin, as a page on another site would.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from conftest import free_port, js, wait_for

TRANSPORTS = [
    pytest.param("sse", marks=pytest.mark.extension, id="sse"),
    pytest.param("websocket", id="websocket"),
    pytest.param("longpoll", id="longpoll"),
]
N = 20


def body(channel: str, i: int) -> str:
    # Quotes, a backslash, non-ASCII, an emoji and a line break: the body must arrive unchanged
    # on every transport (SSE splits it into data: lines and the browser joins them with \n).
    return f'{channel} #{i} "q" \\ ü 🚀\nsecond line'


def open_client(driver, pages: str, **config):
    driver.get(f"{pages}/client.html?config={urllib.parse.quote(json.dumps(config))}")


def received(driver, channel: str | None = None):
    items = driver.execute_script("return window.received")
    return [item for item in items if channel is None or item["channel"] == channel]


def wait_until_sequence(driver, channel: str, sequence: int, what: str):
    wait_for(driver, js(f"window.received.some(m => m.channel === {json.dumps(channel)} && m.sequence >= {sequence})"),
             f"{what}: sequence {sequence} on {channel} (page saw {received(driver, channel)[-3:]}, "
             f"states {driver.execute_script('return window.states')[-4:]})")


def check_exactly_once(driver, channel: str, last: int, first: int = 1):
    got = received(driver, channel)
    assert [m["sequence"] for m in got] == list(range(first, last + 1)), got
    assert [m["message"] for m in got] == [body(channel, i) for i in range(first, last + 1)]


def seed_then_burst(driver, publisher, channels: list[str], n: int = N):
    """Publishes message 1 on each channel before the page subscribes and waits for it (so the
    subscription is known to be live: a client at 0 gets only the newest message), then publishes
    2..n interleaved across the channels and waits for the last of each."""
    for ch in channels:
        wait_until_sequence(driver, ch, 1, "the seed message")
    for i in range(2, n + 1):
        for ch in channels:
            publisher.put(ch, body(ch, i))
    for ch in channels:
        wait_until_sequence(driver, ch, n, "the whole burst")
        check_exactly_once(driver, ch, n)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_each_transport_alone_delivers_exactly_once_in_order(driver, pages, server, publisher, channel, transport):
    publisher.put(channel, body(channel, 1))
    open_client(driver, pages, url=server, channel=channel, transports=[transport])
    seed_then_burst(driver, publisher, [channel])
    assert {m["transport"] for m in received(driver)} == {transport}
    assert driver.execute_script("return window.client.state") == "connected"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_multiplexed_channels_share_one_connection(driver, pages, server, publisher, channel, transport):
    channels = [f"{channel}/a", f"{channel}/b", f"{channel}/c"]
    for ch in channels:
        publisher.put(ch, body(ch, 1))
    open_client(driver, pages, url=server, channels=channels, transports=[transport])
    seed_then_burst(driver, publisher, channels, n=10)
    assert {m["transport"] for m in received(driver)} == {transport}


def test_longpoll_repolls_after_the_servers_204(driver, pages, server, publisher, channel, pytestconfig):
    """An idle long-poll ends in 204 at the server's timeout; the client asks again at once and
    still gets everything after it."""
    publisher.put(channel, body(channel, 1))
    open_client(driver, pages, url=server, channel=channel, transports=["longpoll"])
    wait_until_sequence(driver, channel, 1, "the seed message")
    # Resource Timing records each finished request: the seed's 200, then the idle poll's 204.
    path = json.dumps(channel)
    finished = f"performance.getEntriesByType('resource').filter(e => new URL(e.name).pathname === {path}).length"
    wait_for(driver, js(f"{finished} >= 2"), "a long-poll answered 204",
             timeout=pytestconfig.getoption("--longpoll-timeout") * 2 + 5)
    for i in range(2, 6):
        publisher.put(channel, body(channel, i))
    wait_until_sequence(driver, channel, 5, "messages after the 204")
    check_exactly_once(driver, channel, 5)


def test_falls_back_to_websocket_when_sse_cannot_connect(driver, pages, server, publisher, channel):
    """The first transport's URL refuses connections (nothing listens there): the client moves on
    to the next one at once and delivers everything over it."""
    dead = f"http://127.0.0.1:{free_port()}"
    publisher.put(channel, body(channel, 1))
    open_client(driver, pages, url=server, channel=channel, transports=[{"type": "sse", "url": dead}, "websocket"])
    seed_then_burst(driver, publisher, [channel])
    states = driver.execute_script("return window.states")
    assert states[0] == {"state": "connecting", "transport": "sse", "reason": None}, states
    assert {"state": "connected", "transport": "websocket", "reason": None} in states, states
    assert {m["transport"] for m in received(driver)} == {"websocket"}


@pytest.mark.extension
def test_default_order_prefers_sse(driver, pages, server, publisher, channel):
    publisher.put(channel, body(channel, 1))
    open_client(driver, pages, url=server, channel=channel)
    seed_then_burst(driver, publisher, [channel], n=5)
    assert {m["transport"] for m in received(driver)} == {"sse"}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cross_origin_page_passes_its_access_token(driver, pages, server, publisher, channel, transport):
    """The page and the server are different origins (the server echoes Origin); params travel as
    query parameters, which the server ignores (LP-9) and an auth layer may read."""
    publisher.put(channel, body(channel, 1))
    open_client(driver, pages, url=server, channel=channel, transports=[transport],
                params={"access_token": "tok-123"})
    assert driver.execute_script("return location.origin") != server
    seed_then_burst(driver, publisher, [channel], n=5)
    url = urllib.parse.urlsplit(driver.execute_script("return window.client.connectionURL"))
    assert url.path == channel and urllib.parse.parse_qs(url.query)["access_token"] == ["tok-123"], url


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_resumes_after_a_server_restart_without_loss_or_duplicates(driver, pages, restartable, channel, transport):
    """The server is killed (every connection cut) and started again on the same port with its
    channels kept in Redis; messages published while the client was away arrive once, in order."""
    from conftest import Publisher

    pub = Publisher(restartable.url)
    pub.put(channel, body(channel, 1))
    open_client(driver, pages, url=restartable.url, channel=channel, transports=[transport],
                initialRetryMs=100, maxRetryMs=500)
    wait_until_sequence(driver, channel, 1, "the seed message")
    for i in range(2, 6):
        pub.put(channel, body(channel, i))
    wait_until_sequence(driver, channel, 5, "the first burst")
    restartable.kill()
    wait_for(driver, js("window.states.some(s => s.state === 'reconnecting')"), "the client to notice the cut")
    restartable.start()
    pub.close()
    pub = Publisher(restartable.url)
    for i in range(6, 11):
        pub.put(channel, body(channel, i))
    wait_until_sequence(driver, channel, 10, "the messages published after the restart")
    check_exactly_once(driver, channel, 10)
    pub.close()
