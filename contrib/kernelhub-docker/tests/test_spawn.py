"""A user's server as a container: labelled, reached through the proxy, running kernels,
and a home that outlives the container.

A real hub process (kernel-proxy, SQLite) spawns real containers of the local
image on a private Docker engine; jupyterhub-singleuser runs inside them.
"""

from __future__ import annotations

import httpx
import pytest
from docker_steps import container_of, spawn, spawn_following_progress, stop

from kernel.testing.hub import wait_until
from kernel.testing.kernels import execute, start_kernel

pytestmark = pytest.mark.slow


def test_a_spawned_server_is_a_labelled_container_that_runs_jupyterlab_and_kernels(
        make_hub, docker_sections, engine, local_image, new_username):
    hub = make_hub(docker_sections)
    user = hub.new_user(new_username("alice"))
    token = hub.new_token(user)
    client = hub.process.client()
    assert client.login(user).status_code in (200, 302)

    messages = spawn_following_progress(hub.api_as(token), user)
    assert f"Creating container jupyter-{user}" in messages
    assert f"Starting container jupyter-{user}" in messages
    assert messages[-1] == f"Server ready at /user/{user}/"

    container = container_of(engine, user)
    assert container.status == "running"
    assert container.name == f"jupyter-{user}"
    assert container.labels == {"kernelhub.hub": "kernelhub", "kernelhub.user": user,
                                "kernelhub.server": ""}
    assert container.image.tags == [local_image]
    assert container.attrs["HostConfig"]["Init"] is True
    assert container.attrs["Config"]["User"] == "1000:100"
    server_url = f"{hub.url}user/{user}/"
    headers = {"Authorization": f"token {token}"}
    # JupyterLab's own API, through kernel-proxy, after the server checked the token
    # with the hub.
    settings = httpx.get(f"{server_url}lab/api/settings", headers=headers, timeout=30)
    assert settings.status_code == 200, settings.text
    assert settings.json()["settings"]
    kernel = start_kernel(server_url, token)
    assert execute(server_url, token, kernel, "1+1") == "2"


def test_a_file_in_the_home_survives_stop_container_removal_and_a_new_spawn(
        make_hub, docker_sections, engine, new_username):
    hub = make_hub(docker_sections)
    user = hub.new_user(new_username("alice"))
    token = hub.new_token(user)
    api = hub.api_as(token)
    contents = f"{hub.url}user/{user}/api/contents/kept.txt"
    headers = {"Authorization": f"token {token}"}
    spawn(api, user)
    first = container_of(engine, user).id
    written = httpx.put(contents, headers=headers, timeout=30,
                        json={"type": "file", "format": "text", "content": "still here"})
    assert written.status_code in (200, 201), written.text

    stop(api, user)
    assert engine.containers.list(all=True, filters={"label": f"kernelhub.user={user}"}) \
        == []  # removed (remove = true), its volume kept
    assert engine.volumes.get(f"jupyterhub-user-{user}")

    spawn(api, user)
    assert container_of(engine, user).id != first
    read = httpx.get(contents, headers=headers, timeout=30)
    assert read.status_code == 200, read.text
    assert read.json()["content"] == "still here"


def test_with_remove_false_the_stopped_container_stays_until_the_next_start_replaces_it(
        make_hub, docker_sections, engine, new_username):
    hub = make_hub({**docker_sections,
                    "docker": {**docker_sections["docker"], "remove": "false"}})
    user = hub.new_user(new_username("bob"))
    api = hub.api_as(hub.new_token(user))
    spawn(api, user)
    first = container_of(engine, user)

    stop(api, user)
    first.reload()
    assert first.status == "exited"

    spawn(api, user)
    second = container_of(engine, user)  # exactly one: the old one was replaced
    assert second.id != first.id
    assert second.status == "running"


def test_a_named_server_is_a_container_of_its_own_next_to_the_default_one(
        make_hub, docker_sections, engine, new_username):
    hub = make_hub({**docker_sections,
                    "hub": {**docker_sections["hub"], "allow_named_servers": "true"}})
    user = hub.new_user(new_username("hal"))
    token = hub.new_token(user)
    api = hub.api_as(token)
    spawn(api, user)
    named = api.post(f"users/{user}/servers/lab", json={})
    assert named.status_code in (201, 202), named.text
    wait_until(lambda: api.get(f"users/{user}").json()["servers"].get("lab", {}).get("ready"),
               timeout=180, what=f"{user}'s server 'lab' ready")

    containers = {c.labels["kernelhub.server"]: c for c in engine.containers.list(
        filters={"label": f"kernelhub.user={user}"})}
    assert {name: c.name for name, c in containers.items()} == {
        "": f"jupyter-{user}", "lab": f"jupyter-{user}--lab"}
    for prefix in (f"user/{user}/", f"user/{user}/lab/"):
        status = httpx.get(f"{hub.url}{prefix}api/status",
                           headers={"Authorization": f"token {token}"}, timeout=30)
        assert status.status_code == 200, (prefix, status.text)
