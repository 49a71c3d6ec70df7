"""Steps the Docker spawner's tests share: spawning through the REST API, finding containers."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import docker
import httpx
from websockets.sync.client import connect

from kernel.testing.hub import wait_until
from kernel.testing.kernels import channels_url, execute_request

#: Containers take a few seconds to answer; a busy machine makes it more.
READY_TIMEOUT = 180.0


def spawn(api: httpx.Client, user: str, options: dict[str, Any] | None = None) -> dict:
    """Ask for ``user``'s server through the REST API; its model once it is ready."""
    response = api.post(f"users/{user}/server", json=options or {})
    assert response.status_code in (201, 202), response.text
    return wait_until(lambda: (m := api.get(f"users/{user}").json()["servers"].get(""))
                      and m["ready"] and m, timeout=READY_TIMEOUT,
                      what=f"{user}'s server ready")


def spawn_following_progress(api: httpx.Client, user: str) -> list[str]:
    """Ask for ``user``'s server without waiting, then follow the spawn's progress stream (a
    late follower gets every event from the start) to its end; the messages."""
    with contextlib.suppress(httpx.ReadTimeout):  # the POST would wait for the server
        api.post(f"users/{user}/server", timeout=0.2)
    with api.stream("GET", f"users/{user}/server/progress", timeout=READY_TIMEOUT) as events:
        assert events.status_code == 200, events.read()
        return [json.loads(line[5:]).get("message", "") for line in events.iter_lines()
                if line.startswith("data:")]


def stop(api: httpx.Client, user: str) -> None:
    """Stop ``user``'s server through the REST API and wait until it is gone."""
    response = api.delete(f"users/{user}/server")
    assert response.status_code in (202, 204), response.text
    wait_until(lambda: "" not in api.get(f"users/{user}").json()["servers"],
               timeout=READY_TIMEOUT, what=f"{user}'s server stopped")


def container_of(engine: docker.DockerClient, user: str) -> Any:
    """The one container labelled as ``user``'s (stopped ones too)."""
    found = engine.containers.list(all=True, filters={"label": f"kernelhub.user={user}"})
    assert len(found) == 1, f"expected one container of {user}, found {found}"
    return found[0]


def run_in(container: Any, command: str) -> str:
    """A shell command's output, run in ``container`` (docker exec)."""
    result = container.exec_run(["sh", "-c", command])
    assert result.exit_code == 0, result.output
    return result.output.decode().strip()


def run_until_the_kernel_dies(server_url: str, token: str, kernel_id: str, code: str,
                              timeout: float = 120) -> str:
    """Send ``code`` to the kernel over its websocket and wait until the server reports the
    kernel's death (``restarting``, or ``dead`` when it cannot restart it); that state."""
    ws_url = channels_url(server_url, kernel_id)
    request = execute_request(code)
    deadline = time.monotonic() + timeout
    with connect(ws_url, additional_headers={"Authorization": f"token {token}"},
                 open_timeout=timeout) as ws:
        ws.send(json.dumps(request))
        while True:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message["msg_type"] == "execute_result":
                raise AssertionError(f"the kernel survived {code!r}")
            state = message["content"].get("execution_state") \
                if message["msg_type"] == "status" else None
            if state in ("restarting", "dead"):
                return state
