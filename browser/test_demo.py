"""The live demo page (web/demo.html): subscribing, showing messages with their sequence and
transport, and publishing from its text box. With --screenshot PATH the last demo test that gets
this far saves what the page looks like (docs/demo.png is one such run)."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from conftest import js, wait_for


def demo_received(driver):
    return driver.execute_script("return window.demo.received")


def wait_until_sequence(driver, sequence: int, what: str):
    wait_for(driver, js(f"window.demo && window.demo.received.some(m => m.sequence >= {sequence})"),
             f"{what}: sequence {sequence} (page saw {json.dumps(driver.execute_script('return window.demo && window.demo.received'))})")


def screenshot(driver, pytestconfig):
    path = pytestconfig.getoption("--screenshot")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(path), path


def test_demo_page_from_another_origin_shows_messages_live(driver, pages, server, publisher, channel, pytestconfig):
    """The page as a file of web/, served elsewhere and pointed at the server with ?server=."""
    messages = ["hello", "a message with\ntwo lines", "<b>not bold</b> & not markup", "grüße ✓"]
    publisher.put(channel, messages[0])
    query = urllib.parse.urlencode({"server": server, "channel": channel})
    driver.get(f"{pages}/demo.html?{query}")
    wait_until_sequence(driver, 1, "the newest message on subscribing")
    for text in messages[1:]:
        publisher.put(channel, text)
    wait_until_sequence(driver, len(messages), "the messages published")
    got = demo_received(driver)
    assert [m["sequence"] for m in got] == [1, 2, 3, 4]
    assert [m["message"] for m in got] == messages
    # Newest first, as text (the markup is not interpreted), with the transport that brought it.
    rows = driver.find_elements(By.CSS_SELECTOR, "#log tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows] == ["4", "3", "2", "1"]
    assert rows[1].find_elements(By.TAG_NAME, "td")[3].text == messages[2]
    assert rows[0].find_elements(By.TAG_NAME, "td")[1].text == got[-1]["transport"]
    assert driver.find_element(By.ID, "state").get_attribute("data-state") == "connected"
    screenshot(driver, pytestconfig)


@pytest.mark.extension
def test_demo_page_served_by_the_server_publishes_and_receives(driver, server, publisher, channel, pytestconfig):
    """/demo@firehose from the binary: it loads /firehose.js@firehose, subscribes to the channel in
    its form, and its Publish button PUTs to the same origin; the test publishes too."""
    publisher.put(channel, "seed from the test")
    driver.get(f"{server}/demo@firehose?{urllib.parse.urlencode({'channel': channel})}")
    wait_until_sequence(driver, 1, "the newest message on subscribing")
    box = driver.find_element(By.ID, "message")
    for i, text in enumerate(["typed in the page", "and published with fetch"], start=1):
        box.send_keys(text)
        driver.find_element(By.CSS_SELECTOR, "#publish button").click()
        wait_for(driver, js(f"window.demo.published >= {i}"), f"publish {i} to be accepted")
    publisher.put(channel, "from the test again")
    wait_until_sequence(driver, 4, "every message")
    got = demo_received(driver)
    assert [m["sequence"] for m in got] == [1, 2, 3, 4]
    assert [m["message"] for m in got] == ["seed from the test", "typed in the page", "and published with fetch",
                                          "from the test again"]
    assert driver.find_element(By.ID, "message").get_attribute("value") == ""
    screenshot(driver, pytestconfig)
