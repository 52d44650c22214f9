"""The files of web/ as the server serves them from its binary: GET /firehose.js@firehose and
GET /demo@firehose (plain HTTP, no browser needed)."""

from __future__ import annotations

import pytest

from conftest import WEB

pytestmark = pytest.mark.extension


def test_firehose_js_is_served_with_cache_headers(publisher):
    resp = publisher.get("/firehose.js@firehose")
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/javascript; charset=utf-8"
    assert resp.getheader("Cache-Control") == "public, max-age=300"
    etag = resp.getheader("ETag")
    assert etag and etag.startswith('"') and etag.endswith('"'), etag
    assert resp.body == (WEB / "firehose.js").read_bytes()


def test_firehose_js_revalidates_with_304(publisher):
    etag = publisher.get("/firehose.js@firehose").getheader("ETag")
    resp = publisher.get("/firehose.js@firehose", {"If-None-Match": etag})
    assert resp.status == 304
    assert resp.body == b""
    assert resp.getheader("ETag") == etag
    # Another validator gets the file again.
    assert publisher.get("/firehose.js@firehose", {"If-None-Match": '"not-it"'}).status == 200


def test_demo_page_is_served_as_html(publisher):
    resp = publisher.get("/demo@firehose")
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
    assert resp.body == (WEB / "demo.html").read_bytes()
