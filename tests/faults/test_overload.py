"""Overload: a real hub under a burst of five times its capacity sheds the excess and recovers.

The hub here works on 4 requests at once with 4 more queued (a capacity of
8), so the burst sends 40 API calls with users' tokens and 40 form logins at
once. Before it, one greedy client starts twice its per-client limit of
servers at once, each slow to start (so its requests are all in the hub
together). Everything goes through the hub's proxy, as users' requests do. Latency under the
burst is measured in bench/overload.py, not asserted here.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from kernel.testing.hub import PASSWORD, HubClient, HubProcess, running_hub, wait_until

ADMIN_TOKEN = "admin-token-for-the-overload-tests"
LIMIT, QUEUE, PER_CLIENT = 4, 4, 3
CAPACITY = LIMIT + QUEUE
BURST = 5 * CAPACITY
RETRY_AFTER = "3"
#: How much the hub's resident memory may grow under the burst. The queue bounds it: 90
#: requests, however many are shed, cannot need more than a few MiB.
RSS_GROWTH_LIMIT_KIB = 30 * 1024

SECTIONS = {
    "hub": {"concurrent_request_limit": str(LIMIT),
            "concurrent_request_limit_per_client": str(PER_CLIENT),
            "concurrent_server_request_limit": str(LIMIT),
            "request_queue_size": str(QUEUE), "request_queue_timeout": "5",
            "overload_retry_after": RETRY_AFTER},
    "hub.api_tokens": {ADMIN_TOKEN: "admin"},
    "auth": {"admin_users": "admin"},
    "spawner.environment": {"MOCKSERVER_START_DELAY": "2"},
}
SECTIONS["hub"]["allow_named_servers"] = "true"


@dataclass
class Burst:
    """What the hub answered during the burst, and its memory before and at most during it."""

    api: list[httpx.Response] = field(default_factory=list)
    logins: list[httpx.Response] = field(default_factory=list)
    greedy: list[httpx.Response] = field(default_factory=list)
    health: list[httpx.Response] = field(default_factory=list)
    activity: list[httpx.Response] = field(default_factory=list)
    #: One API call, one login and the user list, each sent once right after the burst.
    after: dict[str, httpx.Response] = field(default_factory=dict)
    rss_before_kib: int = 0
    rss_peak_kib: int = 0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def api(hub: HubProcess, token: str = ADMIN_TOKEN) -> httpx.Client:
    return httpx.Client(base_url=f"{hub.url}hub/api/", timeout=60,
                        headers={"Authorization": f"token {token}"})


async def send_greedy(hub: HubProcess, result: Burst) -> None:
    """The admin starts 2 * PER_CLIENT named servers at once, each taking 2 s to start."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=60) as client:
        headers = {"Authorization": f"token {ADMIN_TOKEN}"}
        result.greedy = await asyncio.gather(*(
            client.post(f"hub/api/users/admin/servers/greedy{i}", headers=headers)
            for i in range(2 * PER_CLIENT)))


async def send_burst(hub: HubProcess, tokens: dict[str, str],
                     login_forms: list[tuple[dict[str, str], str]], result: Burst
                     ) -> None:
    """Everything at once: users' API calls, logins, the greedy client; and meanwhile, one
    after the other, health checks and a server's activity reports."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=hub.url, timeout=60, limits=limits) as client:
        def as_user(name: str) -> dict[str, str]:
            return {"Authorization": f"token {tokens[name]}"}

        api_calls = [client.get(f"hub/api/users/{name}", headers=as_user(name))
                     for name in tokens]
        logins = [client.post("hub/login", data=form, headers={"Cookie": cookie})
                  for form, cookie in login_forms]
        # Interleaved, so that the first to arrive (and be admitted) are of both kinds.
        interleaved = [call for pair in zip(api_calls, logins, strict=True) for call in pair]
        everything = asyncio.gather(*interleaved)
        server = {"Authorization": f"token {tokens['user0']}"}
        while not everything.done():
            result.health.append(await client.get("hub/health"))
            result.activity.append(await client.post(
                "hub/api/users/user0/activity", headers=server,
                json={"last_activity": "2026-01-01T00:00:00Z"}))
        answers = await everything
        result.api, result.logins = answers[0::2], answers[1::2]


@pytest.fixture(scope="module")
def burst(tmp_path_factory: pytest.TempPathFactory) -> Burst:
    with running_hub(tmp_path_factory.mktemp("overload"), SECTIONS) as hub:
        admin = api(hub)
        names = [f"user{i}" for i in range(BURST)]
        assert admin.post("users", json={"usernames": names}).status_code == 201
        tokens = {name: admin.post(f"users/{name}/tokens", json={}).json()["token"]
                  for name in names}
        login_forms = []
        for i in range(BURST):
            browser = HubClient(hub)
            form = {"username": f"login{i}", "password": PASSWORD, "_xsrf": browser.xsrf()}
            cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
            login_forms.append((form, cookie))
        assert hub.process is not None
        result = Burst(rss_before_kib=rss_kib(hub.process.pid))
        result.rss_peak_kib = result.rss_before_kib
        done = threading.Event()

        def sample_memory() -> None:
            assert hub.process is not None
            while not done.wait(0.01):
                result.rss_peak_kib = max(result.rss_peak_kib, rss_kib(hub.process.pid))

        sampler = threading.Thread(target=sample_memory)
        sampler.start()
        try:
            asyncio.run(send_greedy(hub, result))
            asyncio.run(send_burst(hub, tokens, login_forms, result))
        finally:
            done.set()
            sampler.join()
        result.after = {"api": api(hub, tokens["user1"]).get("users/user1"),
                        "login": HubClient(hub).login("after"),
                        "users": admin.get("users")}
        return result


def test_the_burst_is_shed_with_503_and_the_greedy_client_with_429(burst: Burst):
    statuses = [r.status_code for r in burst.api + burst.logins]
    assert 503 in statuses, statuses
    greedy = sorted(r.status_code for r in burst.greedy)
    assert greedy.count(429) == PER_CLIENT, greedy


def test_every_shed_answer_says_when_to_retry(burst: Burst):
    shed = [r for r in burst.api + burst.logins + burst.greedy if r.status_code in (429, 503)]
    assert shed
    assert {r.headers.get("Retry-After") for r in shed} == {RETRY_AFTER}


def test_shed_api_calls_answer_json_and_shed_logins_a_page(burst: Burst):
    shed_api = [r for r in burst.api + burst.greedy if r.status_code in (429, 503)]
    assert shed_api
    for answer in shed_api:
        assert answer.json()["status"] == answer.status_code
        assert answer.json()["message"]
    shed_logins = [r for r in burst.logins if r.status_code == 503]
    assert shed_logins
    for answer in shed_logins:
        assert answer.headers["content-type"].startswith("text/html")
        assert "busy" in answer.text


def test_admitted_requests_succeed(burst: Burst):
    admitted_api = [r for r in burst.api if r.status_code not in (429, 503)]
    admitted_spawns = [r for r in burst.greedy if r.status_code != 429]
    admitted_logins = [r for r in burst.logins if r.status_code not in (429, 503)]
    assert admitted_api and admitted_logins
    assert {r.status_code for r in admitted_api} == {200}
    assert {r.status_code for r in admitted_spawns} <= {201, 202}, admitted_spawns
    for answer in admitted_logins:
        assert answer.status_code == 302, answer.text
        assert "jupyterhub-hub-login" in answer.cookies


def test_health_checks_and_servers_activity_are_never_shed(burst: Burst):
    assert burst.health and {r.status_code for r in burst.health} == {200}
    assert burst.activity and {r.status_code for r in burst.activity} == {200}


def test_memory_stays_bounded_under_the_burst(burst: Burst):
    assert burst.rss_peak_kib - burst.rss_before_kib < RSS_GROWTH_LIMIT_KIB


def test_the_hub_serves_again_at_once_after_the_burst(burst: Burst):
    after = burst.after
    assert after["api"].status_code == 200
    assert after["login"].status_code == 302
    assert after["users"].status_code == 200
    assert len(after["users"].json()) >= BURST


def test_a_request_waits_in_the_queue_then_gets_503_and_a_full_queue_503_at_once(tmp_path):
    """One place, held for 2 s by a slow spawn; a queue of one that waits half a second."""
    sections = {**SECTIONS, "hub": {**SECTIONS["hub"], "concurrent_request_limit": "1",
                                     "concurrent_request_limit_per_client": "0",
                                     "request_queue_size": "1",
                                     "request_queue_timeout": "0.5"}}
    with running_hub(tmp_path / "hub", sections) as hub:
        admin = api(hub)
        with ThreadPoolExecutor(3) as pool:
            spawn = pool.submit(admin.post, "users/admin/servers/slow")

            def spawn_pending() -> bool:
                # /hub/api/user is a server call: its budget is not the one the spawn holds.
                servers = admin.get("user").json().get("servers", {})
                return servers.get("slow", {}).get("pending") == "spawn"

            wait_until(spawn_pending, 20, what="the slow spawn holding the hub's one place")
            waiting, turned_away = pool.map(lambda _: admin.get("users"), range(2))
            assert spawn.result().status_code in (201, 202)
        after = admin.get("users")
    messages = sorted(r.json()["message"] for r in (waiting, turned_away))
    assert [r.status_code for r in (waiting, turned_away)] == [503, 503]
    assert "queue full" in messages[0] and "waited 0.5 s" in messages[1], messages
    assert after.status_code == 200
