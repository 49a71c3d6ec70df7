"""The hub's side of the proxy: the API token, and the route table it keeps right."""

from __future__ import annotations

import httpx
from starlette.testclient import TestClient

from kernel.testing.hub import hub_app
from plugins.support.chp_client import api_path, routespec_from_api_path


def test_configproxy_auth_token_from_the_environment_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFIGPROXY_AUTH_TOKEN", "from-the-environment")
    app = hub_app(tmp_path)
    assert app.state.hub.proxy.auth_token == "from-the-environment"
    with TestClient(app):  # the hub starts its proxy with that token
        api = app.state.hub.proxy.api_url
        assert httpx.get(f"{api}/api/routes",
                         headers={"Authorization": "token from-the-environment"}
                         ).status_code == 200
        assert httpx.get(f"{api}/api/routes",
                         headers={"Authorization": "token wrong"}).status_code == 403


def test_a_configured_token_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFIGPROXY_AUTH_TOKEN", "from-the-environment")
    app = hub_app(tmp_path, {"proxy": {"auth_token": "from-hub-ini"}})
    assert app.state.hub.proxy.auth_token == "from-hub-ini"


def test_without_any_token_a_started_proxy_gets_a_random_one(tmp_path, monkeypatch):
    monkeypatch.delenv("CONFIGPROXY_AUTH_TOKEN", raising=False)
    first = hub_app(tmp_path / "a").state.hub.proxy.auth_token
    second = hub_app(tmp_path / "b").state.hub.proxy.auth_token
    assert len(first) == 64 and first != second


def test_routespecs_and_api_paths_convert_both_ways():
    assert api_path("/") == "/"
    assert api_path("/user/alice/") == "/user/alice"
    assert api_path("/user/a b/") == "/user/a%20b"
    assert routespec_from_api_path("/user/a b") == "/user/a%20b/"
    assert routespec_from_api_path("/") == "/"
    # '@' stays as it is in server URLs (JupyterHub's escaping), so the key read back
    # from the proxy is the routespec the hub added.
    assert api_path("/user/ann@example.org/") == "/user/ann@example.org"
    assert routespec_from_api_path("/user/ann@example.org") == "/user/ann@example.org/"
    assert routespec_from_api_path("/user/50%/gpu") == "/user/50%25/gpu/"
    # With subdomains the key starts with the host, which the routespec does not.
    assert api_path("alice.hub.example.org/user/alice/") == "/alice.hub.example.org/user/alice"
    assert routespec_from_api_path("/alice.hub.example.org/user/alice", host_routing=True) \
        == "alice.hub.example.org/user/alice/"
    assert routespec_from_api_path("/", host_routing=True) == "/"
