"""kernel-proxy streams bodies in bounded memory, and survives backends that die mid-response.

configurable-http-proxy differs on the second point: it leaves the client
waiting when the backend goes away mid-body, so these tests are kernel-proxy's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from .conftest import Backend

SIZE = 200 * 1024 * 1024
#: kernel-proxy's resident memory must stay under this while 200 MB pass through.
RSS_LIMIT_KIB = 150 * 1024


class PeakRss:
    """Samples a process's resident memory on a thread, keeping the peak."""

    def __init__(self, proxy) -> None:
        self.proxy = proxy
        self.peak_kib = proxy.rss_kib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_kib = max(self.peak_kib, self.proxy.rss_kib())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def test_a_200_mb_download_to_a_slow_client_keeps_memory_bounded(kernel_proxy, backend):
    proxy = kernel_proxy()
    proxy.add_route("/", backend.url)
    received = 0
    with PeakRss(proxy) as rss, httpx.stream("GET", f"{proxy.public_url}/big?download={SIZE}",
                                             trust_env=False, timeout=60) as response:
        chunks = response.iter_bytes(1024 * 1024)
        received += len(next(chunks))
        time.sleep(1.0)  # the backend could send everything meanwhile: the proxy must push back
        for chunk in chunks:
            received += len(chunk)
    assert received == SIZE
    assert rss.peak_kib < RSS_LIMIT_KIB


def test_a_200_mb_upload_to_a_slow_backend_keeps_memory_bounded(kernel_proxy, backend):
    proxy = kernel_proxy()
    proxy.add_route("/", backend.url)

    def body() -> Iterator[bytes]:
        for _ in range(SIZE // len(Backend.PATTERN)):
            yield Backend.PATTERN

    with PeakRss(proxy) as rss:
        response = httpx.put(f"{proxy.public_url}/up?slow_read=1", content=body(),
                             headers={"Content-Length": str(SIZE)}, trust_env=False, timeout=60)
    assert response.json()["body_length"] == SIZE
    assert rss.peak_kib < RSS_LIMIT_KIB


def test_a_backend_dropping_the_connection_mid_response_cuts_it_short(kernel_proxy, backend):
    proxy = kernel_proxy()
    proxy.add_route("/", backend.url)
    with pytest.raises(httpx.RemoteProtocolError):
        proxy.get("/file?abort_after=1000000")
    assert proxy.get("/still/serving").status_code == 200


def test_a_backend_killed_mid_response_cuts_it_short(kernel_proxy, backend, killable_backend):
    proxy = kernel_proxy()
    proxy.add_route("/user/doomed", killable_backend.url)
    proxy.add_route("/user/alice", backend.url)
    with httpx.stream("GET", proxy.public_url + "/user/doomed/file", trust_env=False) as response:
        assert response.status_code == 200
        chunks = response.iter_bytes()
        received = len(next(chunks))
        killable_backend.kill()
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in chunks:
                received += len(chunk)
    assert received < killable_backend.announced
    assert proxy.get("/user/alice/still/serving").status_code == 200
