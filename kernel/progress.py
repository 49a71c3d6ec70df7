"""The progress of one spawn: events a page or an API client can follow as they happen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any


class ProgressLog:
    """The events of the current (or last) spawn of a server, in order.

    Events are JupyterHub's progress dicts: ``{"progress": 0..100, "message": ...}``,
    ending with one that has ``"ready": True`` or ``"failed": True``. A follower
    that joins late first gets every event so far.
    """

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.finished = False
        #: How a failed spawn ended, as an HTTP status: 4xx when the request was refused
        #: (options the spawner would not take), else 500.
        self.failure_status = 500
        self._changed = asyncio.Event()

    def reset(self) -> None:
        """Start a new spawn's log."""
        self.events = []
        self.finished = False
        self.failure_status = 500
        self._notify()

    def add(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self._notify()

    def finish(self, event: dict[str, Any]) -> None:
        """Add the last event (ready or failed); followers stop after it."""
        self.finished = True
        self.add(event)

    @property
    def failed(self) -> dict[str, Any] | None:
        """The final event of a failed spawn, if the last spawn failed."""
        if self.finished and self.events and self.events[-1].get("failed"):
            return self.events[-1]
        return None

    async def follow(self) -> AsyncIterator[dict[str, Any]]:
        """Every event so far, then each new one, until the spawn finishes."""
        sent = 0
        log = self.events
        while True:
            if self.events is not log:  # a new spawn began: follow it from its start
                log, sent = self.events, 0
            while sent < len(log):
                yield log[sent]
                sent += 1
            if self.finished and self.events is log:
                return
            changed = self._changed
            await changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
