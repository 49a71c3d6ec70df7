"""The hub's connection to the Docker engine, whose blocking SDK calls run in worker threads.

One ``Engine`` per hub (kept in its stash): the Docker SDK's client blocks on
every call, so each call goes through a thread pool of its own, sized for a
spawn storm, and the hub's event loop never waits on the engine.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import docker
from docker.errors import ImageNotFound, NotFound

from kernel.api import StashKey

from .options import DOCKER_HOST

if TYPE_CHECKING:
    from kernel.api import Hub

P = ParamSpec("P")
T = TypeVar("T")

#: Engine calls at once: enough for a spawn storm; each holds one connection of the client.
THREADS = 16


def connect(base_url: str) -> docker.DockerClient:
    """A client for the engine at ``base_url`` (empty: DOCKER_HOST or the default socket)."""
    if base_url:
        return docker.DockerClient(base_url=base_url, version="auto", max_pool_size=THREADS)
    return docker.from_env(version="auto", max_pool_size=THREADS)


class Engine:
    """The Docker engine, called without blocking the event loop."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="docker")
        self._client: docker.DockerClient | None = None
        self._connecting = threading.Lock()

    @property
    def client(self) -> docker.DockerClient:
        """The SDK's client, connected on first use (from a worker thread: it asks the
        engine for its API version)."""
        with self._connecting:  # a storm's first calls all arrive at once
            if self._client is None:
                self._client = connect(self.base_url)
        return self._client

    async def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)`` in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads,
                                          functools.partial(function, *args, **kwargs))

    async def api(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A method of the SDK's low-level client (``inspect_container``, ``stop``...)."""
        return await self.call(lambda: getattr(self.client.api, method)(*args, **kwargs))

    async def inspect(self, container: str) -> dict[str, Any] | None:
        """What the engine knows of a container; None when there is no such container."""
        try:
            return await self.api("inspect_container", container)
        except NotFound:
            return None

    async def has_image(self, image: str) -> bool:
        try:
            await self.api("inspect_image", image)
        except ImageNotFound:
            return False
        return True

    async def pull(self, image: str) -> None:
        """Pull ``image`` from its registry (its tag, else ``latest``)."""
        await self.api("pull", image)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()


ENGINE = StashKey[Engine]()


def engine_of(hub: Hub) -> Engine:
    """The hub's engine connection, made on first use."""
    engine = hub.stash.get(ENGINE)
    if engine is None:
        engine = hub.stash.setdefault(ENGINE, Engine(hub.config[DOCKER_HOST]))
    return engine
