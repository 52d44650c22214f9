"""ENC: how a message body is encoded in the JSON a consumer receives (spec/http.md, ENC-n).

Expected encodings are written out literally here rather than computed, so they do not depend on
the suite's own encoder (wire.json_string), which is only used for the 1 MiB case.
"""

import json

import pytest

from wire import CLOSE, expected_response, frame, json_string, mux_query

CONTROL_BYTES = bytes(range(0x20)) + b"\x7f"
CONTROL_JSON = (
    b'"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f'
    b'\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f'
    b'\x7f"'
)
UNICODE = "café ☃ 😀 \u2028 \u2029".encode("utf-8")


def _long_poll_body(message_json: bytes, sequence: int = 1) -> bytes:
    return b'{"message":' + message_json + b',"last_sequence":' + str(sequence).encode() + b"}"


def _roundtrip(server, channel, body: bytes):
    server.publish(channel, body)
    return server.poll(channel, 0)


@pytest.mark.clause("ENC-1")
def test_enc_1_json_body_is_not_parsed(server, channel):
    resp = _roundtrip(server, channel, b'{"a":[1,2,{"b":null}],"c":"d"}')
    expected = _long_poll_body(b'"{\\"a\\":[1,2,{\\"b\\":null}],\\"c\\":\\"d\\"}"')
    assert resp.raw == expected_response(200, expected)


@pytest.mark.clause("ENC-2")
def test_enc_2_quotes_and_backslashes_escaped_slash_not(server, channel):
    resp = _roundtrip(server, channel, b'he said "hi" \\ back\\slash / slash')
    expected = _long_poll_body(b'"he said \\"hi\\" \\\\ back\\\\slash / slash"')
    assert resp.raw == expected_response(200, expected)


@pytest.mark.clause("ENC-3")
def test_enc_3_line_breaks(server, channel):
    resp = _roundtrip(server, channel, b"line1\nline2\r\nline3\n")
    assert resp.raw == expected_response(200, _long_poll_body(b'"line1\\nline2\\r\\nline3\\n"'))


@pytest.mark.clause("ENC-3")
def test_enc_3_control_bytes_and_del(server, channel):
    resp = _roundtrip(server, channel, CONTROL_BYTES)
    assert resp.raw == expected_response(200, _long_poll_body(CONTROL_JSON))


@pytest.mark.clause("ENC-4")
def test_enc_4_unicode_is_raw_utf8(server, channel):
    resp = _roundtrip(server, channel, UNICODE)
    assert resp.raw == expected_response(200, _long_poll_body(b'"' + UNICODE + b'"'))
    assert b"\\u" not in resp.body


@pytest.mark.clause("ENC-4")
def test_enc_4_no_html_escaping(server, channel):
    body = b"<script>alert('x')</script> & </"
    resp = _roundtrip(server, channel, body)
    assert resp.raw == expected_response(200, _long_poll_body(b'"' + body + b'"'))


@pytest.mark.clause("ENC-5")
def test_enc_5_one_mebibyte_round_trip(server, channel):
    chunk = 'quote " backslash \\ newline \n tab \t e-acute é snowman ☃ slash / ctl \x01 sep \u2028 '
    text = (chunk * (2**20 // len(chunk.encode("utf-8")) + 1)).encode("utf-8")[: 2**20]
    body = text.decode("utf-8", errors="ignore").encode("utf-8")  # cut at a character boundary
    assert 2**20 - 4 < len(body) <= 2**20
    expected_json = json_string(body)
    # The suite's encoder agrees with a standard JSON encoder in this configuration.
    assert expected_json == json.dumps(body.decode("utf-8"), ensure_ascii=False).encode("utf-8")

    with server.connect(timeout=30) as conn:
        assert conn.put(channel, body).status == 202
        resp = conn.get(channel)
    assert resp.raw == expected_response(200, _long_poll_body(expected_json))
    assert resp.json()["message"].encode("utf-8") == body


@pytest.mark.clause("ENC-6", "MUX-3")
def test_enc_6_mux_frames_use_the_same_encoding(server, channel):
    body = b'say "hi"\n\t\\ / ' + UNICODE + b" \x00\x1f\x7f <&>"
    server.publish(channel, body)
    resp = server.get(mux_query(f"{channel}!0"), CLOSE)
    message_json = (b'"say \\"hi\\"\\n\\t\\\\ / ' + UNICODE + b' \\u0000\\u001f\x7f <&>"')
    expected = b'{"channel":"' + channel.encode() + b'","message":' + message_json + b',"last_sequence":1}'
    assert resp.raw == expected_response(200, expected, connection="close")
    assert expected == frame(body, 1, channel=channel)
