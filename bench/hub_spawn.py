"""The spawn storm for bench/hub.py: N users start servers at once, then all stop at once.

Every start goes through the REST API at the same moment (POST
/hub/api/users/NAME/server). A 201 means the server was ready (started,
answering, routed) when the hub answered; a 202 means it is still pending,
and the client then follows the spawn's progress stream until its ready
event, as the spawn-pending page does. Once all are ready, each server is
checked through the public port (GET /user/NAME/api must reach the server),
then every server is stopped at once (DELETE); a 202 there is followed by
polling the user until nothing is pending.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import uvloop

#: How long a stop answered 202 may stay pending.
STOP_WAIT = 60.0


@dataclass
class Storm:
    """Seconds from the common start of the storm to each server's ready or stopped."""

    ready: list[float] = field(default_factory=list)
    stopped: list[float] = field(default_factory=list)
    #: How the hub answered the POSTs / DELETEs ({201: 97, 202: 3}).
    start_answers: dict[int, int] = field(default_factory=dict)
    stop_answers: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: The last ready / stopped; None unless every server got there.
    all_ready: float | None = None
    all_stopped: float | None = None

    @staticmethod
    def median(values: list[float]) -> float | None:
        return statistics.median(values) if values else None


def storm(hub_port: int, public_port: int, token: str, users: list[str]) -> Storm:
    return uvloop.run(_storm(hub_port, public_port, token, users))


async def _storm(hub_port: int, public_port: int, token: str, users: list[str]) -> Storm:
    result = Storm()
    headers = {"Authorization": f"token {token}"}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub_port}/hub/api/",
                                 headers=headers, limits=limits, trust_env=False,
                                 timeout=httpx.Timeout(120.0)) as api:
        began = time.perf_counter()
        await asyncio.gather(*(_start(api, name, began, result) for name in users))
        started = len(result.ready)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{public_port}/",
                                     limits=limits, trust_env=False, timeout=30) as public:
            await asyncio.gather(*(_reach(public, name, result) for name in users))
        began = time.perf_counter()
        await asyncio.gather(*(_stop(api, name, began, result) for name in users))
        result.all_ready = max(result.ready) if started == len(users) else None
        result.all_stopped = (max(result.stopped) if len(result.stopped) == len(users)
                              else None)
    return result


async def _start(api: httpx.AsyncClient, name: str, began: float, result: Storm) -> None:
    user = quote(name)
    try:
        answer = await api.post(f"users/{user}/server")
        result.start_answers[answer.status_code] = (
            result.start_answers.get(answer.status_code, 0) + 1)
        if answer.status_code == 202:
            await _follow_progress(api, f"users/{user}/server/progress")
        elif answer.status_code != 201:
            result.failures.append(f"start {name}: {answer.status_code} {answer.text[:200]}")
            return
    except (httpx.HTTPError, RuntimeError) as e:
        result.failures.append(f"start {name}: {type(e).__name__}: {e}")
        return
    result.ready.append(time.perf_counter() - began)


async def _follow_progress(api: httpx.AsyncClient, path: str) -> None:
    """Wait for the ready event of the spawn's event stream; RuntimeError if it fails."""
    async with api.stream("GET", path) as events:
        if events.status_code != 200:
            raise RuntimeError(f"progress answered {events.status_code}")
        async for line in events.aiter_lines():
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("ready"):
                return
            if event.get("failed"):
                raise RuntimeError(event.get("message", "spawn failed"))
    raise RuntimeError("the progress stream ended without a ready event")


async def _reach(public: httpx.AsyncClient, name: str, result: Storm) -> None:
    try:
        answer = await public.get(f"user/{quote(name)}/api")
    except httpx.HTTPError as e:
        result.failures.append(f"reach {name}: {type(e).__name__}: {e}")
        return
    if answer.status_code == 404:
        # Both trivial servers answer 404 outside their own prefix: the route leads to
        # another user's server (two servers given the same port, one of them dead).
        result.failures.append(f"/user/{name}/ reaches another user's server (404 "
                               f"{answer.text[:60].strip()!r})")
    elif answer.status_code != 200 or "version" not in answer.text:
        result.failures.append(f"reach {name} through the proxy: {answer.status_code} "
                               f"{answer.text[:120]}")


async def _stop(api: httpx.AsyncClient, name: str, began: float, result: Storm) -> None:
    user = quote(name)
    try:
        answer = await api.delete(f"users/{user}/server")
        result.stop_answers[answer.status_code] = (
            result.stop_answers.get(answer.status_code, 0) + 1)
        if answer.status_code == 202:
            deadline = time.perf_counter() + STOP_WAIT
            while time.perf_counter() < deadline:
                await asyncio.sleep(0.1)
                model = (await api.get(f"users/{user}")).json()
                if model.get("server") is None and model.get("pending") is None:
                    break
            else:
                result.failures.append(f"stop {name}: still pending after {STOP_WAIT} s")
                return
        elif answer.status_code != 204:
            result.failures.append(f"stop {name}: {answer.status_code} {answer.text[:200]}")
            return
    except httpx.HTTPError as e:
        result.failures.append(f"stop {name}: {type(e).__name__}: {e}")
        return
    result.stopped.append(time.perf_counter() - began)
