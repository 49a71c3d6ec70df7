"""Watches the engine's event stream so that a container that dies is noticed at once.

The hub polls each server every ``poll_interval`` (30 s by default); Docker
says when a container dies within milliseconds. One thread per hub reads the
stream of ``die`` events of this hub's containers (by the ``kernelhub.hub``
label) and asks the hub to poll that server now. When the stream breaks (the
engine restarted), the thread reconnects and asks for the events since the
last one it saw, so none is lost.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from .engine import connect
from .spawner import HUB_LABEL_KEY, SERVER_LABEL_KEY, USER_LABEL_KEY, DockerSpawner

if TYPE_CHECKING:
    from kernel.api import Hub

log = logging.getLogger("kernelhub.docker.events")

#: Seconds between attempts to reach an engine that went away.
RECONNECT_DELAY = 2.0


class DeathWatch:
    """A thread that turns the engine's ``die`` events into ``hub.lifecycle.poll_now``."""

    def __init__(self, hub: Hub, base_url: str, hub_label: str) -> None:
        self.hub = hub
        self.base_url = base_url
        self.filters = {"type": "container", "event": ["die"],
                        "label": [f"{HUB_LABEL_KEY}={hub_label}"]}
        self._loop = asyncio.get_running_loop()
        self._stopping = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._watch, name="docker-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop watching: closing the stream ends the thread's blocking read."""
        self._stopping.set()
        if self._stream is not None:
            self._stream.close()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        since: float | None = None
        while not self._stopping.is_set():
            client = None
            try:
                client = connect(self.base_url)
                self._stream = client.events(decode=True, filters=self.filters,
                                             since=since)
                log.info("Watching the Docker engine's events for dying containers")
                for event in self._stream:
                    since = event["timeNano"] / 1e9
                    self._loop.call_soon_threadsafe(self._died, event)
                if not self._stopping.is_set():
                    log.warning("The Docker engine ended its event stream (restarting?); "
                                "reconnecting in %s s", RECONNECT_DELAY)
            except Exception as e:
                if self._stopping.is_set():
                    return
                log.warning("Lost the Docker engine's event stream (%s); reconnecting in "
                            "%s s", e, RECONNECT_DELAY)
            finally:
                if client is not None:
                    client.close()
            if not self._stopping.is_set():
                time.sleep(RECONNECT_DELAY)
            since = since or time.time()

    def _died(self, event: dict[str, Any]) -> None:
        """On the event loop: the hub polls the server whose container this was."""
        labels = event.get("Actor", {}).get("Attributes", {})
        user = self.hub.users.get(labels.get(USER_LABEL_KEY, ""))
        server = user.server(labels.get(SERVER_LABEL_KEY, "")) if user else None
        spawner = server.spawner if server else None
        if server is None or not isinstance(spawner, DockerSpawner) \
                or spawner.container_id != event.get("id"):
            return  # not a container this hub runs now (an old one, replaced or removed)
        log.info("Container %s of %s died (exit code %s); checking the server now",
                 spawner.container_id[:12], server.log_name, labels.get("exitCode"))
        self.hub.lifecycle.poll_now(server)
