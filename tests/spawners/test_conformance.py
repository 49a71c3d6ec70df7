"""The built-in local spawners pass the spawner conformance suite."""

from __future__ import annotations

import asyncio
import os
import pwd

import pytest

from kernel.testing.spawner import SpawnerConformance


class TestSimpleSpawner(SpawnerConformance):
    @pytest.fixture
    def hub_sections(self):
        return {"hub": {"spawner_class": "simple"}}


class TestLocalProcessSpawnerAsTheHubsOwnUser(SpawnerConformance):
    """Without root, localprocess can only run servers as the hub's own account."""

    @pytest.fixture
    def hub_sections(self):
        return {"hub": {"spawner_class": "localprocess"}}

    @pytest.fixture
    def server(self, hub):
        async def make():
            user = await hub.users.ensure(pwd.getpwuid(os.getuid()).pw_name)
            return await hub.users.server(user, "")

        return asyncio.run(make())
