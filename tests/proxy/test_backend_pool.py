"""kernel-proxy's pool of kept-alive backend connections."""

from __future__ import annotations

import concurrent.futures


def test_a_stale_kept_alive_connection_is_retried_on_a_new_one(kernel_proxy, backend):
    proxy = kernel_proxy()
    proxy.add_route("/", backend.url)
    first = proxy.get("/first?once=1").json()
    second = proxy.get("/second").json()  # the pooled connection dies unanswered: retried
    assert second["target"] == "/second"
    assert second["connection"] != first["connection"]


def test_a_backend_answering_connection_close_is_not_reused(kernel_proxy, backend):
    proxy = kernel_proxy()
    proxy.add_route("/", backend.url)
    first = proxy.get("/first?close=1").json()
    assert proxy.get("/second").json()["connection"] != first["connection"]


def test_concurrent_requests_each_get_a_backend_connection(kernel_proxy, backend):
    proxy = kernel_proxy()
    proxy.add_route("/", backend.url)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: proxy.get(f"/n{n}?sleep=0.2").json(), range(8)))
    assert sorted(answer["target"] for answer in answers) == sorted(
        f"/n{n}?sleep=0.2" for n in range(8))
    assert len({answer["connection"] for answer in answers}) == 8
