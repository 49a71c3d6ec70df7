"""Servers report activity and their owners use them, whatever servers and tokens came before.

The real jupyterhub-singleuser posts its activity to the hub as soon as it starts
(``POST /hub/api/users/NAME/activity`` with its own token); the hub logs each
post with its status, and the server logs ``Error notifying Hub of activity``
when one fails. Servers and tokens come and go here in long interleaved
sequences, as on a busy hub: each server's reports must succeed, each owner's
own tokens must work on their servers, and nobody else's may.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from kernel.testing.hub import HubProcess, running_hub, wait_until
from tests.e2e.test_singleuser import ADMIN_TOKEN, sections

SERVICE_TOKEN = "launcher-token-for-the-activity-tests"


def activity_config(singleuser_cmd: str) -> dict[str, dict[str, str]]:
    return sections(singleuser_cmd, **{
        "hub": {"allow_named_servers": "true"},
        # A service that starts people's servers and makes their tokens (the class-list
        # script of the issue).
        "service:launcher": {"api_token": SERVICE_TOKEN},
        "role:launcher": {"scopes": "servers, tokens, read:users", "services": "launcher"},
    })


@pytest.fixture
def hub(tmp_path, singleuser_cmd):
    with running_hub(tmp_path / "hub", activity_config(singleuser_cmd)) as hub:
        yield hub


def client(hub: HubProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{hub.url}hub/api/", timeout=60,
                        headers={"Authorization": f"token {token}"})


class Activity:
    """The hub's log of activity posts: the statuses of each user's posts so far."""

    def __init__(self, hub: HubProcess) -> None:
        self.hub = hub

    def statuses(self, user: str) -> list[int]:
        pattern = rf"(\d{{3}}) POST /hub/api/users/{re.escape(user)}/activity "
        return [int(status) for status in re.findall(pattern, self.hub.log)]

    def failures(self) -> list[str]:
        return [line for line in self.hub.log.splitlines()
                if "Error notifying Hub of activity" in line
                or re.search(r"\b[45]\d\d POST /hub/api/users/[^/]+/activity ", line)]


def start(hub: HubProcess, api: httpx.Client, user: str, server: str = "") -> None:
    """Start ``user``'s server as ``api``'s caller; wait until it is ready and has posted
    its first activity report, and check that every report of the user succeeded."""
    reports = len(Activity(hub).statuses(user))
    path = f"users/{user}/servers/{server}" if server else f"users/{user}/server"
    response = api.post(path)
    assert response.status_code in (201, 202), (path, response.status_code, response.text)
    watcher = client(hub, ADMIN_TOKEN)
    wait_until(lambda: watcher.get(f"users/{user}").json()["servers"].get(server, {})
               .get("ready"), timeout=60, what=f"{user}/{server} ready", log=hub.directory
               / "hub.log")
    wait_until(lambda: len(Activity(hub).statuses(user)) > reports, timeout=30,
               what=f"{user}/{server}'s first activity report", log=hub.directory / "hub.log")
    statuses = Activity(hub).statuses(user)
    assert set(statuses) == {200}, (user, server, statuses, Activity(hub).failures())


def stop(hub: HubProcess, api: httpx.Client, user: str, server: str = "",
         remove: bool = False) -> None:
    path = f"users/{user}/servers/{server}" if server else f"users/{user}/server"
    response = api.request("DELETE", path, json={"remove": True} if remove else None)
    assert response.status_code in (202, 204), (path, response.status_code, response.text)
    watcher = client(hub, ADMIN_TOKEN)
    wait_until(lambda: server not in watcher.get(f"users/{user}").json()["servers"],
               timeout=30, what=f"{user}/{server} stopped")


def server_api(hub: HubProcess, user: str, server: str, token: str, path: str) -> int:
    prefix = f"{hub.url}user/{user}/" + (f"{server}/" if server else "")
    return httpx.get(f"{prefix}api/{path}", timeout=30,
                     headers={"Authorization": f"token {token}"}).status_code


def assert_owner_only(hub: HubProcess, user: str, server: str, own: list[str],
                      others: list[str]) -> None:
    """Each of the owner's tokens works on the server's API; nobody else's does."""
    for token in own:
        for path in ("status", "kernels"):
            assert server_api(hub, user, server, token, path) == 200, (user, server, path)
    for token in others:
        assert server_api(hub, user, server, token, "status") == 403, (user, server)


def new_token(api: httpx.Client, owner: str) -> str:
    """A token of ``owner`` with the default scopes, made by ``api``'s caller."""
    response = api.post(f"users/{owner}/tokens", json={"note": "activity test"})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def test_a_server_reports_activity_after_another_users_server_came_and_went(hub, unix_user):
    """The issue's sequence: bob starts and stops his own server with his own token; a
    service then starts alice's, whose activity posts must not be refused."""
    admin, launcher = client(hub, ADMIN_TOKEN), client(hub, SERVICE_TOKEN)
    alice, bob = unix_user().pw_name, unix_user().pw_name
    for name in (alice, bob):
        assert admin.post(f"users/{name}").status_code == 201
    bob_token = new_token(admin, bob)
    start(hub, client(hub, bob_token), bob)
    stop(hub, client(hub, bob_token), bob)
    start(hub, launcher, alice)
    alice_token = new_token(admin, alice)
    assert_owner_only(hub, alice, "", [alice_token], [bob_token])
    assert Activity(hub).failures() == []


def test_interleaved_servers_and_tokens_keep_to_their_owners(hub, unix_user):
    """Three people; default and named servers started, stopped and restarted; tokens made
    by a service, by the admin and by the users themselves. Each step comes right after a
    server's token was revoked, when the next token takes the place it left."""
    began = time.monotonic()
    admin, launcher = client(hub, ADMIN_TOKEN), client(hub, SERVICE_TOKEN)
    ann, ben, cat = (unix_user().pw_name for _ in range(3))
    for name in (ann, ben, cat):
        assert admin.post(f"users/{name}").status_code == 201
    tokens = {ann: [new_token(launcher, ann)], ben: [new_token(admin, ben)],
              cat: [new_token(launcher, cat)]}
    # Users make tokens for themselves with the ones they were given.
    tokens[ben].append(new_token(client(hub, tokens[ben][0]), ben))
    tokens[cat].append(new_token(client(hub, tokens[cat][0]), cat))

    def check(user: str, server: str = "") -> None:
        others = [t for name, own in tokens.items() if name != user for t in own]
        assert_owner_only(hub, user, server, tokens[user], others)

    start(hub, client(hub, tokens[ben][1]), ben)
    check(ben)
    stop(hub, client(hub, tokens[ben][1]), ben)
    start(hub, launcher, ann)
    check(ann)
    stop(hub, launcher, ann)
    # A token the service makes for ben, with the default scopes, starts his named server.
    tokens[ben].append(new_token(launcher, ben))
    start(hub, client(hub, tokens[ben][-1]), ben, "b2")
    check(ben, "b2")
    start(hub, client(hub, tokens[cat][1]), cat, "lab")
    check(cat, "lab")
    stop(hub, client(hub, tokens[cat][0]), cat, "lab")
    # ann makes a token herself and restarts her server with it; cat restarts "lab".
    tokens[ann].append(new_token(client(hub, tokens[ann][0]), ann))
    start(hub, client(hub, tokens[ann][-1]), ann)
    check(ann)
    start(hub, launcher, cat, "lab")
    check(cat, "lab")
    check(ben, "b2")
    assert Activity(hub).failures() == []
    assert time.monotonic() - began < 90
