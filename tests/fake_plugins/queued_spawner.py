"""A spawner whose start waits after launching, as a batch job waits in its queue.

It saves its state (the process and its port) as soon as the process runs, so a
hub killed while it waits finds the server; given that state, ``start()``
continues with the running process instead of launching another.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kernel.api import OptionRegistry, Server, User, hookimpl
from plugins.localprocess import simple
from plugins.localprocess.simple import SimpleLocalProcessSpawner

#: How long the start waits after launching unless [spawner.environment] QUEUE_SECONDS
#: says: long enough to kill a hub meanwhile.
QUEUE_SECONDS = "4"


class QueuedSpawner(SimpleLocalProcessSpawner):
    async def start(self) -> tuple[str, int]:
        if await self.poll() is None:
            where = (self.ip or "127.0.0.1", self.port)  # launched by a previous hub
        else:
            where = await super().start()
            await self.save_state()
        await asyncio.sleep(float(self.environment.get("QUEUE_SECONDS", QUEUE_SECONDS)))
        return where

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "port": self.port}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.port = state.get("port", self.port)


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    simple.declare_options(options)  # runs its servers as `simple` does, with its options


@hookimpl
def spawn(hub: Any, user: User, server: Server) -> QueuedSpawner:
    return QueuedSpawner(hub, user, server)
