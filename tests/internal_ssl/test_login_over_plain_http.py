"""With internal_ssl, the proxy reaches the hub over TLS while people may reach the proxy
over plain http: the hub decides whether its cookies are Secure from the browser's
scheme (X-Forwarded-Proto), as JupyterHub does, not from its own connection, or
nobody could log in (a browser drops Secure cookies that arrive over http)."""

from __future__ import annotations

import pytest

from kernel.testing.hub import running_hub
from tests.proxy.conftest import chp_command


@pytest.mark.parametrize("proxy", ["kernel-proxy", "configurable-http-proxy"])
def test_people_log_in_over_a_plain_http_public_address(tmp_path, proxy):
    sections = {"hub": {"plugins": "internal-ssl", "internal_ssl": "true",
                        "internal_certs_location": str(tmp_path / "internal-ssl"),
                        "proxy_class": proxy}}
    if proxy == "configurable-http-proxy":
        sections[proxy] = {"command": chp_command()[0], "pid_file": str(tmp_path / "chp.pid")}
    with running_hub(tmp_path / "hub", sections, timeout=60) as hub, hub.client() as browser:
        # httpx's cookie jar, like a browser, sends no Secure cookie over http.
        answer = browser.login("alice")
        assert answer.status_code == 302, answer.text
        assert all("secure" not in header.lower()
                   for header in answer.headers.get_list("set-cookie"))
        assert browser.get("hub/api/user").json()["name"] == "alice"
