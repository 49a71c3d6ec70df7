"""How a hub sheds a burst of five times its capacity: what is admitted, how fast, what it costs.

    python bench/overload.py                       # the test's limits: 4 working, 4 queued
    python bench/overload.py --limit 64 --queue 128 --rounds 10

One hub (``kernel.testing.hub.running_hub``, SQLite, the dummy login) with
the given [hub] concurrent_request_limit and request_queue_size. Each round
sends, all at once through the hub's proxy, 5 x (limit + queue) requests:
half GET /hub/api/users/NAME with that user's own token, half form logins.
Then one request, right after the round, measures recovery. It prints, over
all rounds: how many requests were admitted and shed (429, 503), p50 and p99
latency of each, the latency of the first request after a burst, and the
hub's resident memory before and at its peak. The tests in tests/faults/
assert the outcomes; only this script reports times.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from kernel.testing.hub import PASSWORD, HubClient, HubProcess, running_hub

ADMIN_TOKEN = "admin-token-for-the-overload-bench"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[p - 1]


async def timed(client: httpx.AsyncClient, method: str, url: str, **kwargs: object
                ) -> tuple[int, float]:
    began = time.perf_counter()
    answer = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    return answer.status_code, time.perf_counter() - began


async def one_round(hub: HubProcess, tokens: dict[str, str],
                    forms: list[tuple[dict[str, str], str]]) -> list[tuple[int, float]]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=hub.url, timeout=60, limits=limits) as client:
        calls = []
        for (name, token), (form, cookie) in zip(tokens.items(), forms, strict=True):
            calls.append(timed(client, "GET", f"hub/api/users/{name}",
                               headers={"Authorization": f"token {token}"}))
            calls.append(timed(client, "POST", "hub/login", data=form,
                               headers={"Cookie": cookie}))
        return await asyncio.gather(*calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--queue", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    per_kind = 5 * (args.limit + args.queue) // 2
    sections = {"hub": {"concurrent_request_limit": str(args.limit),
                        "request_queue_size": str(args.queue)},
                "hub.api_tokens": {ADMIN_TOKEN: "admin"}, "auth": {"admin_users": "admin"}}
    with tempfile.TemporaryDirectory() as folder, running_hub(Path(folder), sections) as hub:
        assert hub.process is not None
        admin = httpx.Client(base_url=f"{hub.url}hub/api/", timeout=60,
                             headers={"Authorization": f"token {ADMIN_TOKEN}"})
        names = [f"user{i}" for i in range(per_kind)]
        admin.post("users", json={"usernames": names}).raise_for_status()
        tokens = {name: admin.post(f"users/{name}/tokens", json={}).json()["token"]
                  for name in names}
        rss_before = peak = rss_kib(hub.process.pid)
        admitted: list[float] = []
        shed: dict[int, list[float]] = {429: [], 503: []}
        other: dict[int, int] = {}
        recovery: list[float] = []
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.01):
                peak = max(peak, rss_kib(hub.process.pid))  # type: ignore[union-attr]

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            for round_number in range(args.rounds):
                forms = []
                for i in range(per_kind):
                    browser = HubClient(hub)
                    form = {"username": f"r{round_number}l{i}", "password": PASSWORD,
                            "_xsrf": browser.xsrf()}
                    forms.append((form, "; ".join(f"{k}={v}" for k, v in
                                                  browser.cookies.items())))
                for status, seconds in asyncio.run(one_round(hub, tokens, forms)):
                    if status in shed:
                        shed[status].append(seconds)
                    elif status in (200, 302):
                        admitted.append(seconds)
                    else:
                        other[status] = other.get(status, 0) + 1
                began = time.perf_counter()
                admin.get("users/user0").raise_for_status()
                recovery.append(time.perf_counter() - began)
        finally:
            done.set()
            sampler.join()

    sent = args.rounds * 2 * per_kind
    print(f"limit {args.limit}, queue {args.queue}: {args.rounds} bursts of {2 * per_kind} "
          f"requests (5x capacity), {sent} in all")
    print("| answer | requests | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for label, values in (("admitted (200/302)", admitted), ("429", shed[429]),
                          ("503", shed[503]), ("first request after a burst", recovery)):
        print(f"| {label} | {len(values)} | {percentile(values, 50) * 1000:.1f} | "
              f"{percentile(values, 99) * 1000:.1f} |")
    if other:
        print(f"other answers: {other}")
    print(f"hub RSS: {rss_before / 1024:.1f} MiB before, {peak / 1024:.1f} MiB at peak")


if __name__ == "__main__":
    main()
