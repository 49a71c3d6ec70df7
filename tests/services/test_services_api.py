"""Services in the REST API: their models, their tokens and roles, and external services
added and deleted at run time."""

from __future__ import annotations

import httpx

from tests.api.helpers import (
    ADMIN_TOKEN,
    api_client,
    assert_error,
    new_token,
    unique,
    wait_until,
)
from tests.services.conftest import ADMIN_SERVICE_TOKEN, EXTERNAL_TOKEN, SECOND_TOKEN


def test_services_are_listed_with_jupyterhub_s_model(hub):
    with api_client(hub) as api:
        services = api.get("services").json()
    assert set(services) == {"whoami", "external", "admin-tool"}
    whoami = services["whoami"]
    assert {k: whoami[k] for k in ("kind", "name", "roles", "admin", "url", "prefix", "info",
                                   "display")} == {
        "kind": "service", "name": "whoami", "roles": ["reader"], "admin": False,
        "url": hub.sections["service:whoami"]["url"], "prefix": "/services/whoami/",
        "info": {"owner": "the tests"}, "display": True}
    assert whoami["command"][-1].endswith("whoami_service.py") and whoami["pid"] > 0
    assert whoami["health"]["status"] == "up"
    tool = services["admin-tool"]
    assert (tool["url"], tool["prefix"], tool["command"], tool["pid"]) == ("", "", [], 0)
    assert (tool["admin"], tool["roles"], tool["display"]) == (True, ["admin"], False)


def test_what_a_reader_sees_of_a_service_depends_on_its_scopes(hub):
    with api_client(hub) as api:
        names_only = new_token(api, "admin", scopes=["list:services"])
        roles_token = new_token(api, "admin", scopes=["read:roles:services"])
    with api_client(hub, names_only) as client:
        listed = client.get("services")
        assert listed.status_code == 200
        assert listed.json()["whoami"] == {"kind": "service", "name": "whoami", "admin": False}
        assert_error(client.get("services/nobody"), 404)
    with api_client(hub, roles_token) as client:
        assert client.get("services/whoami").json() == {
            "kind": "service", "name": "whoami", "admin": False, "roles": ["reader"]}
    with api_client(hub, None) as anonymous:
        assert_error(anonymous.get("services"), 403)


def test_a_service_token_identifies_the_service(hub):
    for token in (EXTERNAL_TOKEN, SECOND_TOKEN):
        with api_client(hub, token) as client:
            me = client.get("user").json()
        assert (me["kind"], me["name"], me["admin"]) == ("service", "external", False)
        # It may read its own name here, but does not hold it: JupyterHub lists nothing.
        assert me["scopes"] == []
        assert "roles" not in me and "url" not in me  # its name is all it may read
        assert me["token_id"].startswith("a") and me["session_id"] is None
    with api_client(hub, EXTERNAL_TOKEN) as client:
        # It holds no role: it may identify itself, nothing more.
        assert_error(client.get("users"), 403)


def test_a_service_with_admin_true_is_an_admin(hub):
    with api_client(hub, ADMIN_SERVICE_TOKEN) as client:
        name = unique("made-by-service")
        created = client.post("users", json={"usernames": [name], "admin": True})
        assert created.status_code == 201, created.text
        assert created.json()[0]["admin"] is True
        token = client.post(f"users/{name}/tokens", json={})
        assert token.status_code == 201
        assert token.json()["note"] == "Requested via api by service admin-tool"
        assert client.delete(f"users/{name}").status_code == 204


def test_an_external_service_is_added_routed_and_deleted_at_run_time(hub, service_python):
    name = unique("runtime")
    token = "runtime-service-token-0123456789"
    body = {"url": "http://127.0.0.1:1", "api_token": token, "info": {"why": "a test"}}
    with api_client(hub) as api:
        created = api.post(f"services/{name}", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["prefix"] == f"/services/{name}/"
        assert api.get("proxy").json()[f"/services/{name}/"]["target"] == "http://127.0.0.1:1"
        with api_client(hub, token) as client:
            assert client.get("user").json()["name"] == name
        assert_error(api.post(f"services/{name}", json=body), 409)
        assert api.delete(f"services/{name}").status_code == 200
        assert f"/services/{name}/" not in api.get("proxy").json()
        assert_error(api.get(f"services/{name}"), 404)
        with api_client(hub, token) as client:
            assert_error(client.get("user"), 403)  # its token went with it
        assert_error(api.delete(f"services/{name}"), 404)


def test_what_cannot_be_done_to_services_at_run_time(hub):
    with api_client(hub) as api:
        assert_error(api.delete("services/whoami"), 405,
                     "Service whoami is not modifiable at runtime: it is defined in hub.ini")
        assert_error(api.post(f"services/{unique('managed')}", json={"command": ["sleep"]}),
                     400)
        assert_error(api.post(f"services/{unique('bad')}", json={"url": "ftp://x"}), 400)
        assert_error(api.post(f"services/{unique('bad')}", json={"url": 3}), 400)
        assert_error(api.post(f"services/{unique('bad')}", json={"colour": "red"}), 400)
        assert_error(api.post(f"services/{unique('bad')}",
                              json={"oauth_client_id": "mine"}), 400)
        assert_error(api.post(f"services/{unique('bad')}", json={"oauth_no_confirm": True}),
                     400, "service.oauth_redirect_uri: a service without a url that uses "
                          "OAuth needs oauth_redirect_uri")
    # Someone who may manage services cannot hand out what they do not hold.
    with api_client(hub, ADMIN_TOKEN) as api:
        maker = new_token(api, "admin", scopes=["admin:services"])
    with api_client(hub, maker) as client:
        assert_error(client.post(f"services/{unique('x')}", json={"admin": True}), 400)
        assert_error(client.post(f"services/{unique('x')}",
                                 json={"url": "http://127.0.0.1:1",
                                       "oauth_client_allowed_scopes": ["admin:users"]}), 400)
        made = client.post(f"services/{unique('x')}", json={"url": "http://127.0.0.1:1"})
        assert made.status_code == 201, made.text
    with api_client(hub, EXTERNAL_TOKEN) as client:
        assert_error(client.post(f"services/{unique('x')}", json={}), 403)


def test_service_health_follows_the_service(hub, service_python, external_port):
    # The external service is not running (only the next test runs it).
    with api_client(hub) as api:
        wait_until(lambda: api.get("services/external").json()["health"]["status"] == "down",
                   timeout=10)
        health = api.get("services/external").json()["health"]
        assert f"no answer at http://127.0.0.1:{external_port}" in health["reason"]
        assert health["since"].endswith("Z")
    assert "Cannot reach external service external" in hub.log


def test_the_service_route_reaches_the_service(hub, external_service):
    response = httpx.get(f"{hub.url}services/external/env", timeout=10)
    assert response.status_code == 200
    assert response.json()["JUPYTERHUB_SERVICE_NAME"] == "external"
    with api_client(hub) as api:
        assert api.get("services/external").json()["health"]["status"] == "up"
    assert "External service external answers at" in hub.log
