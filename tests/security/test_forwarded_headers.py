"""Only the hub's own proxy and trusted front proxies may say who the client is.

Users' servers run on the hub's machine and reach the hub from loopback, as
the proxy does; rotating ``X-Forwarded-For`` from there must not give each
login attempt a fresh client address. A real hub (``running_hub``) behind
kernel-proxy, and behind configurable-http-proxy when it is installed.
"""

from __future__ import annotations

import re

import httpx
import pytest

from kernel.testing.hub import running_hub, wait_until
from tests.proxy.conftest import chp_command

#: One free failure per name, so four per client address.
THROTTLE = {"auth": {"throttle_failed_logins": "1", "throttle_max_delay": "60"}}
CHP = {"hub": {"proxy_class": "configurable-http-proxy"}}


def _xsrf(client: httpx.Client) -> str:
    page = client.get("hub/login")
    return re.search(r'name="_xsrf" value="([^"]+)"', page.text)[1]


def _failed_logins_with_rotating_forwarded_for(client: httpx.Client, count: int) -> list[int]:
    """Each attempt for a new name from a new forged address; the statuses."""
    statuses = []
    for n in range(count):
        answer = client.post("hub/login", headers={"X-Forwarded-For": f"198.51.100.{n}"},
                             data={"username": f"guess{n}", "password": "wrong",
                                   "_xsrf": _xsrf(client)})
        statuses.append(answer.status_code)
    return statuses


def _access_line(hub, path: str) -> str:
    return wait_until(lambda: next((line for line in hub.log.splitlines()
                                    if f" {path} " in line), None),
                      what=f"an access log line for {path}", log=hub.directory / "hub.log")


def test_a_loopback_peer_that_is_not_the_proxy_cannot_rotate_its_address(tmp_path):
    with running_hub(tmp_path, THROTTLE) as hub, httpx.Client(base_url=hub.hub_url) as client:
        # Straight to the hub, as a user's server on the same machine can.
        statuses = _failed_logins_with_rotating_forwarded_for(client, 5)
        log = hub.log
    assert statuses == [403, 403, 403, 403, 429]
    assert "from 127.0.0.1" in log and "from 198.51.100." not in log


@pytest.mark.parametrize("proxy", ["kernel-proxy", "configurable-http-proxy"])
def test_through_the_proxy_a_forged_address_counts_as_the_proxys_peer(tmp_path, proxy):
    sections = dict(THROTTLE)
    if proxy == "configurable-http-proxy":
        sections |= CHP | {"configurable-http-proxy": {"command": chp_command()[0]}}
    with running_hub(tmp_path, sections) as hub, httpx.Client(base_url=hub.url) as client:
        statuses = _failed_logins_with_rotating_forwarded_for(client, 5)
    assert statuses == [403, 403, 403, 403, 429]


@pytest.mark.parametrize("proxy", ["kernel-proxy", "configurable-http-proxy"])
def test_through_the_proxy_the_hub_sees_the_real_client_address(tmp_path, proxy):
    sections: dict[str, dict[str, str]] = {}
    if proxy == "configurable-http-proxy":
        sections = CHP | {"configurable-http-proxy": {"command": chp_command()[0]}}
    # From 127.0.0.2: an address the proxy (on 127.0.0.1) is not, nor the hub.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with running_hub(tmp_path, sections) as hub, \
            httpx.Client(base_url=hub.url, transport=transport) as client:
        client.get("hub/api/?seen=real", headers={"X-Forwarded-For": "198.51.100.7"})
        line = _access_line(hub, "/hub/api/?seen=real")
    assert "(-@127.0.0.2)" in line


def test_a_trusted_front_proxy_names_the_client(tmp_path):
    # An operator's nginx at 127.0.0.2, in front of the hub's proxy.
    front = {"hub": {"trusted_downstream_ips": "127.0.0.2"}}
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with running_hub(tmp_path, front) as hub, \
            httpx.Client(base_url=hub.url, transport=transport) as client:
        client.get("hub/api/?seen=front", headers={"X-Forwarded-For": "203.0.113.9"})
        line = _access_line(hub, "/hub/api/?seen=front")
    assert "(-@203.0.113.9)" in line
