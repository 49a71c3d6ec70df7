"""The hub keeps an externally run proxy's routes right (either implementation).

With ``[proxy] should_start = false`` the hub drives a proxy it did not start,
as JupyterHub does with an external configurable-http-proxy.
"""

from __future__ import annotations

import httpx
from starlette.testclient import TestClient

from kernel.testing.hub import PASSWORD, hub_app
from tests.proxy.conftest import TOKEN


def external(proxy) -> dict[str, dict[str, str]]:
    return {"hub": {"ip": "127.0.0.1", "port": str(proxy.port)},
            "proxy": {"should_start": "false", "api_url": proxy.api_url,
                      "auth_token": TOKEN}}


def test_start_up_removes_stale_hub_routes_and_keeps_foreign_ones(proxy_process, tmp_path):
    proxy = proxy_process()
    proxy.add_route("/user/ghost", "http://127.0.0.1:9", jupyterhub=True)
    proxy.add_route("/someone-else", "http://127.0.0.1:9")
    app = hub_app(tmp_path, external(proxy))
    with TestClient(app):
        routes = proxy.routes()
    assert "/user/ghost" not in routes
    assert routes["/someone-else"]["target"] == "http://127.0.0.1:9"
    assert routes["/"]["hub"] is True and routes["/"]["jupyterhub"] is True


def test_a_server_is_routed_while_running_and_unrouted_after(proxy_process, tmp_path):
    proxy = proxy_process()
    app = hub_app(tmp_path, external(proxy))
    with TestClient(app) as client:
        page = client.get("/hub/login")
        xsrf = page.text.split('name="_xsrf" value="', 1)[1].split('"', 1)[0]
        client.post("/hub/login", data={"username": "alice", "password": PASSWORD,
                                        "_xsrf": xsrf}, follow_redirects=False)
        headers = {"X-XSRFToken": client.cookies["_xsrf"]}
        assert client.post("/hub/api/users/alice/server", headers=headers).status_code == 201
        route = proxy.routes()["/user/alice"]
        assert route["user"] == "alice" and route["server_name"] == ""
        assert "Hello, alice" in proxy.get("/user/alice/").text
        assert client.delete("/hub/api/users/alice/server", headers=headers).status_code == 204
        assert "/user/alice" not in proxy.routes()
    # The hub did not start this proxy, so it leaves it running.
    assert proxy.process.poll() is None
    assert httpx.get(f"{proxy.api_url}/api/routes",
                     headers={"Authorization": f"token {TOKEN}"}).status_code == 200
