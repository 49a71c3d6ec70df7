"""The conformance suite every spawner plugin should pass.

Subclass ``SpawnerConformance`` in your plugin's tests and provide a
``hub_sections`` fixture that chooses your spawner (and whatever it needs);
every test here then runs against real servers started by your plugin::

    from kernel.testing.spawner import SpawnerConformance

    class TestSlurmSpawner(SpawnerConformance):
        @pytest.fixture
        def hub_sections(self):
            return {"hub": {"spawner_class": "slurm"}, "slurm": {"partition": "debug"}}

The servers run ``kernel.testing.mockserver`` unless your sections set
``[spawner] cmd``. Each test drives the spawner the way the hub does: start,
wait for HTTP, poll, save and reload its state as a restarted hub would, stop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from kernel.readiness import wait_for_http
from kernel.spawner import Spawner, server_url
from kernel.users import Server

if TYPE_CHECKING:
    from kernel.hub import Hub


class SpawnerConformance:
    """Tests of the Spawner contract (see kernel.spawner); subclass to run them."""

    @pytest.fixture
    def hub_sections(self) -> dict[str, dict[str, str]]:
        raise NotImplementedError("override hub_sections to choose your spawner")

    @pytest.fixture
    def hub(self, tmp_path: Path, hub_sections: dict[str, dict[str, str]]) -> Iterator[Hub]:
        from kernel.testing.hub import hub_app

        app = hub_app(tmp_path / "hub", hub_sections)
        yield app.state.hub
        app.state.hub.db.close()

    @pytest.fixture
    def server(self, hub: Hub) -> Server:
        async def make() -> Server:
            user = await hub.users.ensure("conformance")
            return await hub.users.server(user, "")

        return asyncio.run(make())

    def new_spawner(self, hub: Hub, server: Server) -> Spawner:
        spawner = hub.new_spawner(server)
        spawner.api_token = "conformance-token"
        spawner.oauth_client_id = "jupyterhub-user-conformance"
        return spawner

    def test_a_spawner_that_never_started_polls_as_stopped(self, hub: Hub, server: Server) -> None:
        assert asyncio.run(self.new_spawner(hub, server).poll()) == 0

    def test_start_returns_where_the_server_answers(self, hub: Hub, server: Server) -> None:
        spawner = self.new_spawner(hub, server)

        async def scenario() -> None:
            url = await _start(spawner)
            try:
                async with httpx.AsyncClient() as client:
                    status = await wait_for_http(client, f"{url}{spawner.prefix}api",
                                                 spawner.http_timeout, spawner.poll)
                assert status < 500
                assert await spawner.poll() is None
            finally:
                await spawner.stop(now=True)

        asyncio.run(scenario())

    def test_stop_ends_the_server_and_poll_says_so(self, hub: Hub, server: Server) -> None:
        spawner = self.new_spawner(hub, server)

        async def scenario() -> int | None:
            await _start(spawner)
            await spawner.stop()
            return await spawner.poll()

        assert isinstance(asyncio.run(scenario()), int)

    def test_state_is_json_and_finds_the_server_again(self, hub: Hub, server: Server) -> None:
        first = self.new_spawner(hub, server)

        async def scenario() -> None:
            await _start(first)
            state = json.loads(json.dumps(first.get_state()))  # as the database keeps it
            again = self.new_spawner(hub, server)  # as a restarted hub makes it
            again.load_state(state)
            try:
                assert await again.poll() is None
            finally:
                await again.stop(now=True)
            assert await again.poll() is not None
            assert await first.poll() is not None

        asyncio.run(scenario())

    def test_clear_state_forgets_the_server(self, hub: Hub, server: Server) -> None:
        spawner = self.new_spawner(hub, server)

        async def scenario() -> None:
            await _start(spawner)
            await spawner.stop(now=True)
            spawner.clear_state()
            assert await spawner.poll() == 0

        asyncio.run(scenario())

    def test_progress_is_an_async_iterator_of_dicts(self, hub: Hub, server: Server) -> None:
        spawner = self.new_spawner(hub, server)

        async def scenario() -> list[dict[str, Any]]:
            events = []
            async for event in spawner.progress():
                events.append(event)
                if len(events) > 100:
                    break
            return events

        assert all(isinstance(e, dict) for e in asyncio.run(scenario()))


async def _start(spawner: Spawner) -> str:
    """Start like the hub does: within start_timeout; the server's URL."""
    async with asyncio.timeout(spawner.start_timeout):
        return server_url(await spawner.start(), spawner.scheme)
