"""The simulated users of bench/soak.py: each one cycles through a hub day, timed per step.

One cycle, as a person with a browser and a notebook server does it:
log in through the form (cookies, as a browser) → start the server (REST, with
the user's own token; a 202 is followed on the progress stream) → the
server's activity report (``POST /hub/api/users/NAME/activity``, the body
jupyterhub-singleuser sends) → whoami, the user's own model, the user's tokens
→ a request through the proxy to the server → work for a while (activity
again every few seconds) → stop → log out. Some cycles walk away instead: they
log out leaving the server running and wait for the idle culler to stop it.

Every request to the hub passes a shared semaphore (``Settings.hub_concurrency``)
so that the load stays inside the hub's overload limits; latency is measured
from when a request gets its place, so the figures are the hub's, not the
semaphore's.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from hub_load import Answer, Connection, LoginFailed, cookie_header, form_login

T = TypeVar("T")


def progress_events(stream: bytes) -> list[dict[str, Any]]:
    """The events of a spawn progress stream (server-sent events, one JSON per ``data:``)."""
    return [json.loads(line[5:]) for line in stream.splitlines() if line.startswith(b"data:")]


@dataclass(frozen=True)
class Settings:
    """How the users behave; bench/soak.py picks them for a full or a quick run."""

    #: Seconds a user keeps the server running before stopping it.
    work_seconds: float
    #: Mean seconds a user stays away between two cycles (uniform, 0.5x to 1.5x).
    away_seconds: float
    #: Seconds between two activity reports while working.
    activity_every: float
    #: The share of cycles that walk away and leave the server to the idle culler.
    walk_away_share: float
    #: How long a walked-away server may take to be culled before that is an error.
    cull_deadline: float
    #: Requests in flight to the hub at most, all users together.
    hub_concurrency: int
    password: str


@dataclass
class Record:
    """What the users did: one (finish time, operation, seconds) per step, and errors."""

    began: float = field(default_factory=time.monotonic)
    steps: list[tuple[float, str, float]] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)
    cycles: int = 0
    culled: int = 0

    def step(self, operation: str, seconds: float) -> None:
        self.steps.append((time.monotonic() - self.began, operation, seconds))

    def error(self, message: str) -> None:
        self.errors.append((time.monotonic() - self.began, message))


class StepFailed(Exception):
    """A step answered something else than it should: the cycle ends there."""


class User:
    """One simulated person; ``run`` cycles until the deadline."""

    def __init__(self, name: str, token: str, hub_port: int, public_port: int,
                 settings: Settings, gate: asyncio.Semaphore, record: Record) -> None:
        self.name = name
        self.quoted = quote(name)
        self.api_headers = {"Authorization": f"token {token}"}
        self.settings = settings
        self.gate = gate
        self.record = record
        # REST calls go to the hub's own port (as servers and services do); the login
        # form and the user's server are reached through the proxy (as browsers do).
        self.api = Connection(hub_port)
        self.public = Connection(public_port)
        #: Started and not yet seen stopped or culled (for the running-servers samples).
        self.server_up = False

    async def run(self, first_delay: float, deadline: float) -> None:
        """Cycle from ``first_delay`` seconds on; no new cycle starts after ``deadline``
        (monotonic); a cycle under way is finished, so every server ends stopped."""
        if time.monotonic() + first_delay >= deadline:
            return  # in a run shorter than a cycle, some users never arrive
        await asyncio.sleep(first_delay)
        try:
            while time.monotonic() < deadline:
                walk_away = random.random() < self.settings.walk_away_share
                try:
                    await self.cycle(walk_away)
                except (StepFailed, LoginFailed) as e:
                    self.record.error(f"{self.name}: {e}")
                    await self.clean_up()
                except (OSError, asyncio.IncompleteReadError) as e:
                    self.record.error(f"{self.name}: connection failed: {e!r}")
                    self.api.close()
                    self.public.close()
                    await self.clean_up()
                self.record.cycles += 1
                away = self.settings.away_seconds * random.uniform(0.5, 1.5)
                await asyncio.sleep(min(away, max(0.0, deadline - time.monotonic())))
        finally:
            self.api.close()
            self.public.close()

    async def cycle(self, walk_away: bool) -> None:
        cookies = await self.timed("login", self.log_in)
        await self.timed("spawn", self.spawn)
        self.server_up = True
        await self.timed("activity", self.report_activity)
        await self.timed("whoami", self.call, "GET", "/hub/api/user")
        await self.timed("own model", self.call, "GET", f"/hub/api/users/{self.quoted}")
        await self.timed("own tokens", self.call, "GET", f"/hub/api/users/{self.quoted}/tokens")
        await self.timed("proxy to server", self.reach_server, cookies)
        if walk_away:
            await self.timed("logout", self.log_out, cookies)
            await self.timed("culled", self.wait_for_cull)
            self.record.culled += 1
        else:
            await self.work()
            await self.timed("stop", self.stop)
            await self.timed("logout", self.log_out, cookies)

    async def timed(self, operation: str, step: Callable[..., Awaitable[T]], *args: object
                    ) -> T:
        began = time.perf_counter()
        result = await step(*args)
        self.record.step(operation, time.perf_counter() - began)
        return result

    # -- the steps -------------------------------------------------------------------------

    async def hub(self, conn: Connection, method: str, path: str, headers: dict[str, str],
                  body: bytes = b"") -> Answer:
        async with self.gate:
            return await conn.request(method, path, headers, body)

    async def call(self, method: str, path: str, body: bytes = b"",
                   expect: tuple[int, ...] = (200,)) -> Answer:
        headers = dict(self.api_headers)
        if body:
            headers["Content-Type"] = "application/json"
        answer = await self.hub(self.api, method, path, headers, body)
        if answer.status not in expect:
            raise StepFailed(f"{answer.status} on {method} {path}: {answer.body[:160]!r}")
        return answer

    async def log_in(self) -> dict[str, str]:
        async with self.gate:
            return await form_login(self.public, "/hub/", self.name, self.settings.password)

    async def spawn(self) -> None:
        answer = await self.call("POST", f"/hub/api/users/{self.quoted}/server",
                                 expect=(201, 202))
        if answer.status == 202:
            # Spawn progress streams are exempt from the hub's limits: no place taken.
            path = f"/hub/api/users/{self.quoted}/server/progress"
            stream = await self.api.request("GET", path, self.api_headers)
            if stream.status != 200 or not any(event.get("ready")
                                               for event in progress_events(stream.body)):
                raise StepFailed(f"{stream.status} on GET {path}, no ready event: "
                                 f"{stream.body[-200:]!r}")

    async def report_activity(self) -> None:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        body = json.dumps({"last_activity": now,
                           "servers": {"": {"last_activity": now}}}).encode()
        await self.call("POST", f"/hub/api/users/{self.quoted}/activity", body)

    async def reach_server(self, cookies: dict[str, str]) -> None:
        path = f"/user/{self.quoted}/api"
        answer = await self.public.request("GET", path, {"Cookie": cookie_header(cookies)})
        if answer.status != 200:
            raise StepFailed(f"{answer.status} on GET {path} through the proxy: "
                             f"{answer.body[:160]!r}")

    async def work(self) -> None:
        """Keep the server busy for ``work_seconds``, reporting activity as a server does,
        so the idle culler leaves it alone."""
        until = time.monotonic() + self.settings.work_seconds
        while (left := until - time.monotonic()) > 0:
            await asyncio.sleep(min(left, self.settings.activity_every))
            await self.timed("activity", self.report_activity)

    async def server_gone(self) -> bool:
        model = json.loads((await self.call("GET", f"/hub/api/users/{self.quoted}")).body)
        self.server_up = bool(model.get("servers")) or model.get("pending") is not None
        return not self.server_up

    async def stop(self) -> None:
        answer = await self.call("DELETE", f"/hub/api/users/{self.quoted}/server",
                                 expect=(202, 204))
        if answer.status == 202:
            await self.poll(self.server_gone, 30.0, "stopped after a 202")
        self.server_up = False

    async def wait_for_cull(self) -> None:
        await self.poll(self.server_gone, self.settings.cull_deadline,
                        "culled (the idle culler did not stop it)", interval=1.0)

    async def poll(self, done: Callable[[], Awaitable[bool]], timeout: float, what: str,
                   interval: float = 0.2) -> None:
        deadline = time.monotonic() + timeout
        while not await done():
            if time.monotonic() > deadline:
                raise StepFailed(f"server not {what} within {timeout:g} s")
            await asyncio.sleep(interval)

    async def log_out(self, cookies: dict[str, str]) -> None:
        answer = await self.hub(self.public, "GET", "/hub/logout",
                                {"Cookie": cookie_header(cookies), "Accept": "text/html"})
        if answer.status not in (200, 302):
            raise StepFailed(f"{answer.status} on GET /hub/logout: {answer.body[:160]!r}")

    async def clean_up(self) -> None:
        """After a failed step: stop the server if it runs, so the next cycle can start."""
        try:
            if not await self.server_gone():
                await self.stop()
        except (StepFailed, OSError, asyncio.IncompleteReadError) as e:
            self.record.error(f"{self.name}: cleaning up after an error failed: {e!r}")
