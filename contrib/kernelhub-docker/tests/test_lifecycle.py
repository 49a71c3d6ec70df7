"""A container's life as the hub sees it: a killed container is noticed from the engine's
event stream (not at the next poll), and a restarted hub keeps running containers and
their routes (``cleanup_servers = false``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Iterator

import docker
import httpx
import pytest
from docker_steps import container_of, spawn
from kernelhub_docker.local_image import import_image
from kernelhub_docker.private_engine import EngineUnavailable, PrivateEngine, private_engine

from kernel.testing.hub import free_port, hub_app, running_hub, wait_until
from kernel.testing.infra import skip_or_fail
from kernel.testing.pytest_plugin import ADMIN_TOKEN

pytestmark = pytest.mark.slow


def test_docker_kill_is_noticed_from_the_event_stream_and_the_server_marked_stopped(
        make_hub, docker_sections, engine, new_username):
    # An hour between polls: only the event stream can tell the hub in time.
    hub = make_hub({**docker_sections,
                    "spawner": {**docker_sections["spawner"], "poll_interval": "3600"}})
    user = hub.new_user(new_username("dora"))
    api = hub.api_as(hub.new_token(user))
    spawn(api, user)

    killed_at = time.monotonic()
    container_of(engine, user).kill()
    wait_until(lambda: "" not in hub.api.get(f"users/{user}").json()["servers"],
               timeout=30, what="the killed server marked stopped")
    print(f"docker kill noticed after {time.monotonic() - killed_at:.3f} s")
    assert "died (exit code 137)" in hub.log
    routes = hub.api.get("proxy").json()
    assert f"/user/{user}/" not in routes


def test_a_restarted_hub_keeps_a_running_container_and_its_route(
        tmp_path, docker_sections, engine, new_username):
    user = new_username("erin")
    # The same ports after the restart: the container was told where the hub's API is.
    sections = {**docker_sections,
                "hub": {**docker_sections["hub"], "cleanup_servers": "false",
                        "hub_port": str(free_port())},
                "proxy": {"api_url": f"http://127.0.0.1:{free_port()}"},
                "hub.api_tokens": {ADMIN_TOKEN: "admin"}, "auth": {"admin_users": "admin"}}
    public_port = free_port()
    admin = {"Authorization": f"token {ADMIN_TOKEN}"}
    with running_hub(tmp_path / "hub", sections, public_port=public_port) as hub:
        api = httpx.Client(base_url=f"{hub.url}hub/api/", headers=admin, timeout=30)
        assert api.post(f"users/{user}").status_code == 201
        spawn(api, user)
        before = container_of(engine, user).id

    after_shutdown = container_of(engine, user)
    assert after_shutdown.status == "running"
    with running_hub(tmp_path / "hub", sections, public_port=public_port) as hub:
        api = httpx.Client(base_url=f"{hub.url}hub/api/", headers=admin, timeout=30)
        wait_until(lambda: api.get(f"users/{user}").json()["servers"][""]["ready"],
                   timeout=120, what=f"{user}'s server taken over by the restarted hub")
        assert f"/user/{user}/" in api.get("proxy").json()
        token = api.post(f"users/{user}/tokens", json={}).json()["token"]
        status = httpx.get(f"{hub.url}user/{user}/api/status",
                           headers={"Authorization": f"token {token}"}, timeout=30)
        assert status.status_code == 200, status.text
        assert container_of(engine, user).id == before
        api.delete(f"users/{user}/server")
        wait_until(lambda: "" not in api.get(f"users/{user}").json()["servers"], timeout=120,
                   what=f"{user}'s server stopped")


def test_a_hub_killed_during_a_spawn_finds_its_container_again(
        tmp_path, docker_sections, engine, new_username):
    user = new_username("fred")
    sections = {**docker_sections,
                "hub": {**docker_sections["hub"], "cleanup_servers": "false"},
                "hub.api_tokens": {ADMIN_TOKEN: "admin"}, "auth": {"admin_users": "admin"}}
    admin = {"Authorization": f"token {ADMIN_TOKEN}"}
    with running_hub(tmp_path / "hub", sections) as hub:
        api = httpx.Client(base_url=f"{hub.url}hub/api/", headers=admin, timeout=30)
        assert api.post(f"users/{user}").status_code == 201
        with contextlib.suppress(httpx.ReadTimeout):  # don't wait for the spawn
            api.post(f"users/{user}/server", timeout=0.2)
        # Running means created, saved (save_state) and started: the hub dies now, before
        # jupyterhub-singleuser answers.
        wait_until(lambda: engine.containers.list(filters={"label": f"kernelhub.user={user}"}),
                   timeout=120, interval=0.02, what=f"{user}'s container running")
        hub.stop(signal.SIGKILL)
        first = container_of(engine, user).id

        hub.start(timeout=60)
        wait_until(lambda: api.get(f"users/{user}").json()["servers"][""]["ready"],
                   timeout=180, what=f"{user}'s server ready after the restart")
        assert container_of(engine, user).id == first  # the same one; no second container
        token = api.post(f"users/{user}/tokens", json={}).json()["token"]
        status = httpx.get(f"{hub.url}user/{user}/api/status",
                           headers={"Authorization": f"token {token}"}, timeout=30)
        assert status.status_code == 200, status.text


def test_a_start_after_load_state_continues_with_the_saved_container(
        tmp_path, mockserver_sections, engine, new_username):
    # What a hub does with a start the previous one saved (save_state) but never finished.
    hub = hub_app(tmp_path / "hub", mockserver_sections).state.hub
    name = new_username("gina")

    async def scenario() -> tuple[object, object]:
        user = await hub.users.ensure(name)
        server = await hub.users.server(user, "")
        first = hub.new_spawner(server)
        first.api_token = "the-token-of-the-first-start"
        where = await first.start()
        again = hub.new_spawner(server)  # as the next hub makes it
        again.load_state(json.loads(json.dumps(first.get_state())))
        try:
            return where, await again.start()
        finally:
            await again.stop(now=True)

    try:
        first_address, continued_address = asyncio.run(scenario())
    finally:
        hub.db.close()
    assert continued_address == first_address
    created = [e for e in engine.events(since=0, until=int(time.time()) + 1, decode=True,
                                        filters={"event": "create",
                                                 "label": f"kernelhub.user={name}"})]
    assert len(created) == 1


@pytest.fixture
def restartable_engine() -> Iterator[PrivateEngine]:
    """An engine of this test's own (restarting the session's would disturb the others),
    with the local image."""
    try:
        with private_engine() as engine:
            client = docker.DockerClient(base_url=engine.address, version="auto")
            import_image(client)
            client.close()
            yield engine
    except EngineUnavailable as e:
        skip_or_fail(f"no Docker engine: {e}")


def test_after_the_engine_restarts_a_killed_container_is_still_noticed_at_once(
        make_hub, docker_sections, restartable_engine, local_image, new_username):
    hub = make_hub({**docker_sections,
                    "docker": {**docker_sections["docker"], "host": restartable_engine.address},
                    "spawner": {**docker_sections["spawner"], "poll_interval": "3600"}})
    before, after = hub.new_user(new_username("ivy")), hub.new_user(new_username("jay"))
    spawn(hub.api_as(hub.new_token(before)), before)

    # dockerd stops its containers on the way down: the hub hears of it, over the stream
    # that is closing or, once the engine is back, over the new one.
    restartable_engine.restart()
    wait_until(lambda: "" not in hub.api.get(f"users/{before}").json()["servers"],
               timeout=60, what=f"{before}'s server marked stopped after the engine restart")

    spawn(hub.api_as(hub.new_token(after)), after)
    client = docker.DockerClient(base_url=restartable_engine.address, version="auto")
    try:
        container_of(client, after).kill()
    finally:
        client.close()
    wait_until(lambda: "" not in hub.api.get(f"users/{after}").json()["servers"],
               timeout=30, what="a container killed after the restart noticed")
    assert "reconnecting in" in hub.log
    assert hub.log.count("Watching the Docker engine's events") >= 2
    hub.process.stop()  # before its engine goes
