"""A page with no client library: the browser's own EventSource on a channel (the SSE extension).
The browser's automatic reconnect, with Last-Event-ID, is what resumes it after a cut."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from conftest import Publisher, js, wait_for

pytestmark = pytest.mark.extension


def body(i: int) -> str:
    return f'event {i} "q" ü\nline two\n\nafter a blank line'


def open_stream(driver, pages: str, stream_url: str):
    driver.get(f"{pages}/eventsource.html?stream={urllib.parse.quote(stream_url, safe='')}")


def wait_for_id(driver, sequence: int, what: str):
    wait_for(driver, js(f"window.received.some(e => e.id === '{sequence}')"),
             f"{what}: event id {sequence} (page saw {json.dumps(driver.execute_script('return window.received')[-3:])}, "
             f"opens {driver.execute_script('return window.opens')})")


def check_exactly_once(driver, last: int):
    got = driver.execute_script("return window.received")
    assert [e["id"] for e in got] == [str(i) for i in range(1, last + 1)], got
    assert [e["data"] for e in got] == [body(i) for i in range(1, last + 1)]


def test_plain_eventsource_receives_every_message_once_in_order(driver, pages, server, publisher, channel):
    publisher.put(channel, body(1))
    open_stream(driver, pages, f"{server}{channel}")
    wait_for_id(driver, 1, "the newest message on connecting")
    for i in range(2, 31):
        publisher.put(channel, body(i))
    wait_for_id(driver, 30, "the burst")
    check_exactly_once(driver, 30)
    assert driver.execute_script("return window.opens") == 1


def test_plain_eventsource_resumes_after_a_server_side_cut(driver, pages, restartable, channel):
    """The server is killed mid-stream (a cut the page is not told about) and started again on
    the same port with its channels kept in Redis. The browser reconnects by itself, sending the
    last event id, and receives what was published meanwhile once, in order."""
    pub = Publisher(restartable.url)
    pub.put(channel, body(1))
    open_stream(driver, pages, f"{restartable.url}{channel}")
    wait_for_id(driver, 1, "the newest message on connecting")
    for i in range(2, 6):
        pub.put(channel, body(i))
    wait_for_id(driver, 5, "the first burst")
    pub.close()
    restartable.kill()
    wait_for(driver, js("window.errors >= 1"), "the browser to notice the cut")
    restartable.start()
    pub = Publisher(restartable.url)
    for i in range(6, 11):
        pub.put(channel, body(i))
    wait_for_id(driver, 10, "the messages published across the cut")
    check_exactly_once(driver, 10)
    assert driver.execute_script("return window.opens") >= 2
    pub.close()
