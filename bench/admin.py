"""The admin page with 10,000 users: how long the hub takes to answer what the page asks.

    python bench/admin.py                 # 10,000 users, 200 requests per row
    python bench/admin.py --users 50000 --repeat 100

A real hub (``kernel serve`` via ``kernel.testing.hub``, SQLite, kernel-proxy,
the test server) gets USERS users (``POST /hub/api/users``, 1,000 per
request, timed), 20 of them running servers and a group. Then an admin,
logged in through the form, asks what the admin page asks, each REPEAT times
over one keep-alive connection to the hub's own port, as the page's script
does (cookie, ``X-XSRFToken``, ``Sec-Fetch-Mode: cors``, the pagination
``Accept`` header). Server time is the duration the hub's access log records
for each request (from the first byte in to the last byte out, inside the
hub); the client column adds the loopback round trip and httpx.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from kernel.testing.hub import running_hub

TOKEN = "admin-token-for-the-admin-bench"
TARGET_MS = 200.0
PAGINATED = "application/jupyterhub-pagination+json"
#: (row, path and query): the requests the admin page makes.
WORKLOADS = [
    ("admin page (HTML)", "hub/admin"),
    ("first page, by name", "hub/api/users?offset=0&limit=50&sort=name&include_stopped_servers=1"),
    ("middle page, by name",
     "hub/api/users?offset=5000&limit=50&sort=name&include_stopped_servers=1"),
    ("last page, by name",
     "hub/api/users?offset=LAST&limit=50&sort=name&include_stopped_servers=1"),
    ("search 'user0734'",
     "hub/api/users?offset=0&limit=50&sort=name&name_filter=user0734&include_stopped_servers=1"),
    ("search, no match",
     "hub/api/users?offset=0&limit=50&sort=name&name_filter=nobody&include_stopped_servers=1"),
    ("by last activity", "hub/api/users?offset=0&limit=50&sort=-last_activity"
                         "&include_stopped_servers=1"),
    ("running servers only", "hub/api/users?offset=0&limit=50&sort=name&state=active"
                             "&include_stopped_servers=1"),
    ("200 per page", "hub/api/users?offset=0&limit=200&sort=name&include_stopped_servers=1"),
    ("groups (edit dialog)", "hub/api/groups?offset=0&limit=200"),
]
_LOGGED = re.compile(r" (\d{3}) GET (\S+) .*\) ([0-9.]+)ms$")


def create_users(hub, count: int) -> float:
    api = httpx.Client(base_url=f"{hub.url}hub/api", timeout=300,
                       headers={"Authorization": f"token {TOKEN}"})
    began = time.monotonic()
    for start in range(0, count, 1000):
        names = [f"user{n:05d}" for n in range(start, min(start + 1000, count))]
        answer = api.post("/users", json={"usernames": names})
        answer.raise_for_status()
    took = time.monotonic() - began
    api.post("/groups/staff", json={"users": ["user00001", "user00002"]}).raise_for_status()
    for n in range(0, 20):
        api.post(f"/users/user{n * 37:05d}/server").raise_for_status()
    return took


def measure(hub, repeat: int, users: int) -> list[tuple[str, list[float], list[float]]]:
    browser = hub.client()
    browser.login("admin")
    # The page's script talks to the hub directly here, bypassing the proxy.
    direct = httpx.Client(base_url=hub.hub_url, cookies=browser.cookies, timeout=60)
    headers = {"X-XSRFToken": browser.cookies["_xsrf"], "Sec-Fetch-Mode": "cors",
               "Accept": PAGINATED}
    last = (users // 50) * 50
    results = []
    for row, path in WORKLOADS:
        path = path.replace("LAST", str(last))
        tag = re.sub(r"\W+", "-", row).strip("-")
        url = f"{path}{'&' if '?' in path else '?'}bench={tag}"
        client_ms = []
        for _ in range(repeat):
            began = time.perf_counter()
            answer = direct.get(url, headers=headers)
            client_ms.append((time.perf_counter() - began) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"{row}: {answer.status_code} {answer.text[:200]}")
        results.append((row, client_ms, _server_times(hub, tag)))
    return results


def _server_times(hub, tag: str) -> list[float]:
    times = []
    for line in hub.log.splitlines():
        match = _LOGGED.search(line)
        if match and f"bench={tag}" in match.group(2) and match.group(1) == "200":
            times.append(float(match.group(3)))
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder, running_hub(Path(folder) / "hub", {
            "hub.api_tokens": {TOKEN: "admin"}, "auth": {"admin_users": "admin"},
            "hub": {"allow_named_servers": "true"}}) as hub:
        print(f"creating {args.users:,} users...", file=sys.stderr)
        took = create_users(hub, args.users)
        results = measure(hub, args.repeat, args.users)
    print(f"# admin page, {args.users:,} users (load average before: {load:.2f}, "
          f"{os.cpu_count()} CPUs)")
    print(f"users created through the API, 1,000 per request: {took:.2f} s "
          f"({args.users / took:,.0f} users/s)\n")
    print(f"| request ({args.repeat}x) | server p50 ms | server p95 ms | server max ms "
          f"| client p50 ms | target < {TARGET_MS:.0f} ms |")
    print("|---|---:|---:|---:|---:|---|")
    for row, client, server in results:
        worst = max(server) if server else float("nan")
        print(f"| {row} | {statistics.median(server):.1f} | {percentile(server, 0.95):.1f} "
              f"| {worst:.1f} | {statistics.median(client):.1f} "
              f"| {'met' if percentile(server, 0.95) < TARGET_MS else 'NOT met'} |")


if __name__ == "__main__":
    main()
