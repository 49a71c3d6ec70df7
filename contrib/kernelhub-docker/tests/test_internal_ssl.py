"""With internal_ssl, each container gets its server's certificate, read-only and readable
only by the container's user, and the proxy reaches the server over HTTPS."""

from __future__ import annotations

import httpx
import pytest
from docker_steps import container_of, run_in, spawn

pytestmark = pytest.mark.slow


def test_a_container_serves_https_with_its_certificate_mounted_read_only(
        make_hub, docker_sections, engine, new_username, tmp_path):
    hub = make_hub({**docker_sections, "hub": {
        **docker_sections["hub"], "plugins": "internal-ssl", "internal_ssl": "true",
        "internal_certs_location": str(tmp_path / "internal-ssl")}})
    user = hub.new_user(new_username("tess"))
    token = hub.new_token(user)
    spawn(hub.api_as(token), user)

    container = container_of(engine, user)
    mount = next(m for m in container.attrs["Mounts"]
                 if m["Destination"] == "/etc/kernelhub/certs")
    assert mount["RW"] is False
    assert run_in(container, "stat -c '%u %a' /etc/kernelhub/certs/server.key") == "1000 600"
    assert hub.api.get("proxy").json()[f"/user/{user}/"]["target"].startswith("https://")
    status = httpx.get(f"{hub.url}user/{user}/api/status",
                       headers={"Authorization": f"token {token}"}, timeout=30)
    assert status.status_code == 200, status.text
