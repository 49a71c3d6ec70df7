"""How a hub sheds a burst of five times its capacity: what is admitted, how fast, what it costs.

    python bench/overload.py                       # the test's limits: 4 working, 4 queued
    python bench/overload.py --limit 64 --queue 128 --rounds 10
    python bench/overload.py --direct    # to the hub's own port, not through the proxy

One hub (``kernel.testing.hub.running_hub``, SQLite, the dummy login) with
the given [hub] concurrent_request_limit and request_queue_size. Each round
sends, all at once through the hub's proxy, 5 x (limit + queue) requests:
half GET /hub/api/users/NAME with that user's own token, half form logins.
Then one request, right after the round, measures recovery. It prints, over
all rounds: how many requests were admitted and shed (429, 503), p50 and p99
latency of each as the client saw it, the latency of the first request
after a burst, the same percentiles inside the hub (from its access log:
from the request reaching the hub's app to its answer, queueing included),
and the hub's resident memory before and at its peak. The tests in tests/faults/
assert the outcomes; only this script reports times.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import uvloop
from hub_load import Connection

from kernel.testing.hub import PASSWORD, HubClient, running_hub

ADMIN_TOKEN = "admin-token-for-the-overload-bench"
#: An access log line of the burst: status and the hub's own time for the request.
ACCESS_LINE = re.compile(r"kernelhub\.access\] (\d{3}) (?:GET /hub/api/users/user|POST /hub/login)"
                         r".* ([\d.]+)ms$", re.MULTILINE)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[p - 1]


async def timed(conn: Connection, method: str, path: str, headers: dict[str, str],
                body: bytes = b"") -> tuple[int, float]:
    began = time.perf_counter()
    answer = await conn.request(method, path, headers, body)
    return answer.status, time.perf_counter() - began


async def one_round(port: int, tokens: dict[str, str],
                    forms: list[tuple[dict[str, str], str]]) -> list[tuple[int, float]]:
    """Every request of the round at once, each on a keep-alive connection opened before,
    with hub_load's bare client: cheap enough that the hub, not the client, is measured."""
    connections = [await Connection.open(port) for _ in range(2 * len(tokens))]
    calls = []
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    pairs = zip(tokens.items(), forms, strict=True)
    for i, ((name, token), (form, cookie)) in enumerate(pairs):
        calls.append(timed(connections[2 * i], "GET", f"/hub/api/users/{name}",
                           {"Authorization": f"token {token}"}))
        calls.append(timed(connections[2 * i + 1], "POST", "/hub/login",
                           {**form_type, "Cookie": cookie}, urlencode(form).encode()))
    try:
        return await asyncio.gather(*calls)
    finally:
        for conn in connections:
            conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--queue", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--direct", action="store_true",
                        help="send the bursts to the hub's own port, bypassing the proxy")
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
                port = hub.hub_port if args.direct else hub.public_port
                for status, seconds in uvloop.run(one_round(port, tokens, forms)):
                    if status in shed:
                        shed[status].append(seconds)
                    elif status in (200, 302):
                        admitted.append(seconds)
                    else:
                        other[status] = other.get(status, 0) + 1
                began = time.perf_counter()
                admin.get("users/admin").raise_for_status()
                recovery.append(time.perf_counter() - began)
        finally:
            done.set()
            sampler.join()
        inside_hub: dict[str, list[float]] = {"admitted": [], "shed": []}
        for status, ms in ACCESS_LINE.findall(hub.log):
            kind = "shed" if status in ("429", "503") else "admitted"
            inside_hub[kind].append(float(ms) / 1000)

    sent = args.rounds * 2 * per_kind
    route = "to the hub directly" if args.direct else "through the proxy"
    print(f"limit {args.limit}, queue {args.queue}: {args.rounds} bursts of {2 * per_kind} "
          f"requests (5x capacity) {route}, {sent} in all")
    print("| answer | requests | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for label, values in (("admitted (200/302)", admitted), ("429", shed[429]),
                          ("503", shed[503]), ("first request after a burst", recovery)):
        print(f"| {label} | {len(values)} | {percentile(values, 50) * 1000:.1f} | "
              f"{percentile(values, 99) * 1000:.1f} |")
    for label, values in (("admitted, inside the hub", inside_hub["admitted"]),
                          ("shed, inside the hub", inside_hub["shed"])):
        print(f"| {label} | {len(values)} | {percentile(values, 50) * 1000:.1f} | "
              f"{percentile(values, 99) * 1000:.1f} |")
    if other:
        print(f"other answers: {other}")
    print(f"hub RSS: {rss_before / 1024:.1f} MiB before, {peak / 1024:.1f} MiB at peak")


if __name__ == "__main__":
    main()
