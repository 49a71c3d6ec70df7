"""Steps kernelhub-slurm's tests share: spawning through the REST API, following progress."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from kernel.testing.hub import wait_until

#: Jobs start in seconds; a machine busy with other test suites makes it more.
READY_TIMEOUT = 180.0


def request_spawn(api: httpx.Client, user: str, options: dict[str, Any] | None = None) -> None:
    """Ask for ``user``'s server without waiting for it (the POST would wait a while)."""
    with contextlib.suppress(httpx.ReadTimeout):
        response = api.post(f"users/{user}/server", json=options or {}, timeout=0.5)
        assert response.status_code in (201, 202), response.text


def progress_messages(api: httpx.Client, user: str) -> Iterator[str]:
    """The messages of ``user``'s spawn progress as they come (from its start), to its end."""
    with api.stream("GET", f"users/{user}/server/progress", timeout=READY_TIMEOUT) as events:
        assert events.status_code == 200, events.read()
        for line in events.iter_lines():
            if line.startswith("data:"):
                yield json.loads(line[5:]).get("message", "")


def first_message(api: httpx.Client, user: str, wanted: Callable[[str], bool]) -> str:
    """The first progress message of ``user``'s spawn for which ``wanted`` is true."""
    seen = []
    for message in progress_messages(api, user):
        if wanted(message):
            return message
        seen.append(message)
    raise AssertionError(f"no such progress message; the spawn said: {seen}")


def server_model(api: httpx.Client, user: str) -> dict[str, Any] | None:
    return api.get(f"users/{user}").json()["servers"].get("")


def wait_ready(api: httpx.Client, user: str) -> dict[str, Any]:
    return wait_until(lambda: (model := server_model(api, user)) and model["ready"] and model,
                      timeout=READY_TIMEOUT, what=f"{user}'s server ready")


def wait_gone(api: httpx.Client, user: str, timeout: float = READY_TIMEOUT) -> None:
    wait_until(lambda: server_model(api, user) is None, timeout=timeout,
               what=f"{user}'s server gone")


def stop(api: httpx.Client, user: str) -> None:
    response = api.delete(f"users/{user}/server")
    assert response.status_code in (202, 204), response.text
    wait_gone(api, user)
