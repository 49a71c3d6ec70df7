"""The `docker` spawner: each user's server runs in a Docker container.

Choose it with ``[hub] spawner_class = docker`` and set it up in ``[docker]``
(see the package's README). The hub talks to the engine through the Docker
SDK in worker threads, and watches the engine's event stream so that a
container that dies is noticed at once rather than at the next poll.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.api import StashKey, hookimpl

from .engine import ENGINE
from .events import DeathWatch
from .options import ALL, DOCKER_HOST, HUB_LABEL
from .spawner import DockerSpawner

if TYPE_CHECKING:
    from kernel.api import Hub, OptionRegistry, Server, User

DEATH_WATCH = StashKey[DeathWatch]()

__all__ = ["DockerSpawner"]


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(*ALL)


@hookimpl
def spawn(hub: Hub, user: User, server: Server) -> DockerSpawner:
    return DockerSpawner(hub, user, server)


@hookimpl
def hub_startup(hub: Hub) -> None:
    watch = hub.stash[DEATH_WATCH] = DeathWatch(hub, hub.config[DOCKER_HOST],
                                                 hub.config[HUB_LABEL])
    watch.start()


@hookimpl
def hub_shutdown(hub: Hub) -> None:
    watch = hub.stash.get(DEATH_WATCH)
    if watch is not None:
        watch.close()
    engine = hub.stash.get(ENGINE)
    if engine is not None:
        engine.close()
