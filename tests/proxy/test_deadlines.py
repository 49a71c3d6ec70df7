"""kernel-proxy's client deadlines (--head-timeout, --body-timeout) spare what is not a slow client.

Websockets, responses being streamed or awaited, and bodies that keep
moving outlive both. The deadlines themselves are tested in
``tests/security/test_proxy_slowloris.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import websockets.sync.client

#: Far shorter than every wait below.
SHORT = ("--head-timeout", "300", "--body-timeout", "300")


def test_a_quiet_websocket_outlives_the_head_and_body_timeouts(kernel_proxy, ws_backend):
    proxy = kernel_proxy(*SHORT)
    proxy.add_route("/", ws_backend.url)
    with websockets.sync.client.connect(f"ws://127.0.0.1:{proxy.port}/ws") as ws:
        time.sleep(0.8)
        ws.send("still there?")
        assert ws.recv(timeout=5) == "still there?"


def test_a_response_read_slowly_outlives_the_head_and_body_timeouts(kernel_proxy, backend):
    proxy = kernel_proxy(*SHORT)
    proxy.add_route("/", backend.url)
    size = 8 * 1024 * 1024  # more than the socket buffers hold: the stream has to wait
    with httpx.stream("GET", f"{proxy.public_url}/big?download={size}&chunked=1",
                      trust_env=False) as response:
        chunks = response.iter_bytes()
        received = len(next(chunks))
        time.sleep(0.8)
        received += sum(len(chunk) for chunk in chunks)
    assert received == size


def test_a_slow_answer_outlives_the_body_timeout(kernel_proxy, backend):
    proxy = kernel_proxy(*SHORT)
    proxy.add_route("/", backend.url)
    response = httpx.post(f"{proxy.public_url}/slow?sleep=0.8", content=b"x" * 1000,
                          trust_env=False)
    assert response.json()["body_length"] == 1000


def test_a_body_that_keeps_moving_is_not_cut_off(kernel_proxy, backend):
    proxy = kernel_proxy(*SHORT)
    proxy.add_route("/", backend.url)

    def body() -> Iterator[bytes]:
        for _ in range(6):  # 1.2 s in all, never 0.3 s without a byte
            yield b"x" * 100
            time.sleep(0.2)

    response = httpx.post(f"{proxy.public_url}/up", content=body(),
                          headers={"Content-Length": "600"}, trust_env=False)
    assert response.json()["body_length"] == 600
