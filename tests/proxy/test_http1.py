"""kernel-proxy's own HTTP/1.1 pieces: chunked-body framing and X-Forwarded-* headers."""

from __future__ import annotations

import pytest

from plugins.kernel_proxy.http1 import ChunkedScanner, forwarded, response

BODY = b"5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nTrailer: yes\r\n\r\n"


def test_chunked_scanner_finds_the_end_of_a_body_in_one_piece():
    assert ChunkedScanner().end(BODY + b"GET / HTTP/1.1") == len(BODY)


def test_chunked_scanner_finds_the_end_whatever_the_pieces():
    for cut in range(1, len(BODY)):
        scanner = ChunkedScanner()
        assert scanner.end(BODY[:cut]) == -1
        assert scanner.end(BODY[cut:]) == len(BODY) - cut


@pytest.mark.parametrize("body", [
    b"zz\r\n", b"-5\r\nhello\r\n", b"0x5\r\nhello\r\n", b"5\nhello\r\n", b"2\r\nhello\r\n",
    b"9" * 20 + b"\r\n",
])
def test_chunked_scanner_rejects_malformed_chunking(body):
    with pytest.raises(ValueError):
        ChunkedScanner().end(body)


def test_forwarded_headers_are_appended_as_chp_appends_them():
    lines = forwarded(b"Host: hub:8000\r\n", None, b"10.0.0.1", b"hub:8000", False, False)
    assert lines == (b"Host: hub:8000\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Port: 8000\r\n"
                     b"X-Forwarded-Proto: http\r\nX-Forwarded-Host: hub:8000\r\n")


def test_forwarded_headers_extend_the_clients_own():
    headers = [(b"Host", b"hub"), (b"X-Forwarded-For", b"203.0.113.7"),
               (b"X-Forwarded-Host", b"outer")]
    lines = forwarded(b"", headers, b"10.0.0.1", b"hub", True, False)
    assert b"x-forwarded-for: 203.0.113.7,10.0.0.1\r\n" in lines
    assert b"x-forwarded-port: 443\r\n" in lines
    assert b"X-Forwarded-Host: outer\r\n" in lines
    assert lines.count(b"X-Forwarded-Host") == 1


def test_websocket_requests_get_ws_proto_and_no_forwarded_host():
    lines = forwarded(b"", None, b"10.0.0.1", b"hub", False, True)
    assert b"X-Forwarded-Proto: ws\r\n" in lines
    assert b"X-Forwarded-Host" not in lines


def test_response_is_a_complete_message():
    assert response(404, b"Not Found", close=True) == (
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nNot Found")
