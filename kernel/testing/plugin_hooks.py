"""Start and stop a plugin-test hub's plugins without starting the hub (see ``build_hub``).

    hub = build_hub({"hub": {"plugins": "jsonlog"}})
    start_plugins(hub)   # hub_startup, as the hub runs it: a failure raises PluginError
    hub.emit("login", user="alice")
    stop_plugins(hub)    # hub_shutdown, in reverse order; failures are logged
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.hub import Hub


def start_plugins(hub: Hub) -> None:
    """Run the ``hub_startup`` hooks as the starting hub does."""
    asyncio.run(hub.hooks.hub_startup())


def stop_plugins(hub: Hub) -> None:
    """Run the ``hub_shutdown`` hooks as the stopping hub does (also after a failed start)."""
    asyncio.run(hub.hooks.hub_shutdown())
