"""Spawn limits hold under a burst: concurrent_spawn_limit and active_server_limit answer 429."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from kernel.testing.hub import running_hub

TOKEN = "admin-token-for-the-limit-tests"


def sections(**hub: str) -> dict[str, dict[str, str]]:
    return {"hub": hub, "hub.api_tokens": {TOKEN: "admin"}, "auth": {"admin_users": "admin"},
            "spawner.environment": {"MOCKSERVER_START_DELAY": "2"}}


def burst(hub, names: list[str]) -> list[httpx.Response]:
    api = httpx.Client(base_url=f"{hub.url}hub/api", timeout=60,
                       headers={"Authorization": f"token {TOKEN}"})
    assert api.post("/users", json={"usernames": names}).status_code == 201
    with ThreadPoolExecutor(len(names)) as pool:
        return list(pool.map(lambda name: api.post(f"/users/{name}/server"), names))


def test_concurrent_spawn_limit_turns_the_rest_of_a_burst_away(tmp_path):
    with running_hub(tmp_path / "hub", sections(concurrent_spawn_limit="2")) as hub:
        answers = burst(hub, [f"burst{i}" for i in range(6)])
    started = [a for a in answers if a.status_code in (201, 202)]
    refused = [a for a in answers if a.status_code == 429]
    assert len(started) == 2 and len(refused) == 4
    for answer in refused:
        assert 30 <= int(answer.headers["Retry-After"]) <= 60
        assert answer.json()["message"].startswith("Too many users trying to log in right now")


def test_active_server_limit_counts_running_servers(tmp_path):
    with running_hub(tmp_path / "hub", sections(active_server_limit="2")) as hub:
        first = burst(hub, ["one", "two"])
        assert [a.status_code for a in first] == [201, 201]
        third = burst(hub, ["three"])[0]
        assert third.status_code == 429
        assert "Active user limit exceeded" in third.json()["message"]
        assert "Retry-After" in third.headers
