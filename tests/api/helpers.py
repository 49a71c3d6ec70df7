"""What the REST API tests share: a hub's API over HTTP, fresh names, tokens with scopes.

Every request goes to a running hub through its public port (the proxy in
front, as clients reach a real deployment); nothing is mocked.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from kernel.testing.hub import HubProcess, wait_until

ADMIN_TOKEN = "admin-token-1234567890"
PAGINATION = {"Accept": "application/jupyterhub-pagination+json"}

#: hub.ini of the hubs the API tests use: an admin with a known token, named servers, and
#: admin_access, without which kernelhub's admin role lacks access:servers and shares
#: (JupyterHub 6.1.1's admin role always has them; the tests compare with it).
HUB_SECTIONS: dict[str, dict[str, str]] = {
    "hub": {"allow_named_servers": "true", "admin_access": "true"},
    "hub.api_tokens": {ADMIN_TOKEN: "admin"},
    "auth": {"admin_users": "admin"},
}

_names = itertools.count()
T = TypeVar("T")


def unique(prefix: str) -> str:
    """A user, group or server name no other test uses (lower case, a valid slug)."""
    return f"{prefix}-{os.getpid() % 1000}-{next(_names)}"


def api_client(hub: HubProcess, token: str | None = ADMIN_TOKEN, **kwargs: Any) -> httpx.Client:
    """An httpx client for ``/hub/api/``, authenticated with ``token`` (none: anonymous)."""
    headers = {"Authorization": f"token {token}"} if token else {}
    return httpx.Client(base_url=f"{hub.url}hub/api/", headers=headers, timeout=30, **kwargs)


def new_user(api: httpx.Client, prefix: str = "user", **body: Any) -> str:
    name = unique(prefix)
    response = api.post(f"users/{name}", json=body or None)
    assert response.status_code == 201, response.text
    return name


def new_group(api: httpx.Client, *members: str, prefix: str = "group") -> str:
    name = unique(prefix)
    response = api.post(f"groups/{name}", json={"users": list(members)})
    assert response.status_code == 201, response.text
    return name


def new_token(api: httpx.Client, owner: str, **body: Any) -> str:
    """A new token of ``owner`` (created by the admin), with the ``scopes``/``roles`` given."""
    response = api.post(f"users/{owner}/tokens", json=body)
    assert response.status_code == 201, response.text
    return response.json()["token"]


def start_server(api: httpx.Client, user: str, server: str = "") -> None:
    path = f"users/{user}/servers/{server}" if server else f"users/{user}/server"
    response = api.post(path)
    assert response.status_code in (201, 202), response.text
    wait_until(lambda: api.get(path if server else f"users/{user}/server").json()["ready"])


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> None:
    """A JupyterHub error: the status, and JSON ``{"status", "message"}`` saying it."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"status", "message"}, body
    assert body["status"] == status
    if message is not None:
        assert message in (body["message"] or ""), body


def idle_server_is_culled(api: httpx.Client, culler_output: Callable[[], str]) -> str:
    """Start an idle and a busy server, wait for a culler to stop the idle one (and only
    it, and not delete its user); the idle user's name. ``culler_output`` says what the
    culler printed, for the failure message."""
    name = new_user(api, "idle")
    start_server(api, name)
    busy = new_user(api, "busy")
    start_server(api, busy)
    # busy's server reports activity, as jupyterhub-singleuser would; the mock server
    # never does, so idle's last_activity stays at its start.

    def culled() -> bool:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        api.post(f"users/{busy}/activity", json={"servers": {"": {"last_activity": now}}})
        return not api.get(f"users/{name}").json()["servers"]

    try:
        wait_until(culled, timeout=30, interval=0.5)
    except AssertionError:
        raise AssertionError(f"the idle culler did not cull; its output:\n{culler_output()}") \
            from None
    assert api.get(f"users/{name}/server").json()["stopped"] is True
    assert api.get(f"users/{busy}").json()["servers"][""]["ready"] is True
    assert api.get(f"users/{name}").status_code == 200  # --cull-users is off
    api.delete(f"users/{busy}/server")
    return name
