"""Overload protection: the hub works on a bounded number of requests and sheds the rest.

Every request the hub answers goes through ``Overload`` (after the access log,
so shed requests are logged and counted like any other). It belongs to one of
three kinds:

- **exempt**: ``/hub/health``, ``/hub/api/health``, static files and
  progress streams. The proxy and load balancers decide from the health
  checks whether the hub lives, so those must answer however busy it is;
  static files and the progress streams of spawns cost next to nothing while
  they wait, and counting a progress stream would let a few slow spawns hold
  places for minutes.
- **server calls**: what users' servers ask the hub while users work:
  activity reports, the OAuth token exchange and identity checks
  (``/hub/api/user``, ``/hub/api/authorizations/``). They get their own
  budget ([hub] concurrent_server_request_limit) so that a burst of logins
  cannot starve running servers, and a server fleet reporting activity at
  once cannot lock people out.
- **everything else** (pages, logins, the REST API): [hub]
  concurrent_request_limit.

Each budget admits up to its limit at once; further requests wait in a FIFO
queue of at most [hub] request_queue_size for at most
request_queue_timeout seconds. A request that finds the queue full, or
waits too long, gets 503. In the shared budget, a client (its API token
or login cookie) with concurrent_request_limit_per_client requests in the
hub already, working or queued, gets 429 at once: one greedy script is
refused before it fills the queue that everyone shares. Both carry ``Retry-After``;
API routes answer JSON, pages a small page that retries by itself.

Memory is bounded: the hub holds at most limit + queue requests per budget,
and a client's count lives only while it has a request in the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.config.overload_options import (
    PER_CLIENT_LIMIT,
    QUEUE_SIZE,
    QUEUE_TIMEOUT,
    REQUEST_LIMIT,
    RETRY_AFTER,
    SERVER_REQUEST_LIMIT,
)
from kernel.web.identity import login_cookie

if TYPE_CHECKING:
    from kernel.hub import Hub

log = logging.getLogger("kernelhub.overload")

#: Seconds without a shed request before the hub logs that the overload is over, so that
#: a hub hovering at its limit does not log a begin and an end for every request.
QUIET_BEFORE_RECOVERY = 2.0


class Shed(Exception):
    """A budget cannot take this request: its queue is full, or it waited too long."""


@dataclass
class Budget:
    """How many requests of one kind the hub works on at once, and who waits for a place."""

    name: str
    #: 0: no limit.
    limit: int
    queue_size: int
    queue_timeout: float
    in_flight: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)

    async def acquire(self) -> None:
        """Take a place, waiting in the queue if need be; Shed when none comes."""
        if not self.limit or (self.in_flight < self.limit and not self.waiting):
            self.in_flight += 1
            return
        if len(self.waiting) >= self.queue_size:
            raise Shed(f"{self.name} queue full ({self.queue_size} waiting)")
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(place)
        try:
            async with asyncio.timeout(self.queue_timeout):
                await place
        except BaseException as e:
            if place.done() and not place.cancelled():
                # The place came just as the wait ended: give it on.
                self.release()
            else:
                place.cancel()
                with contextlib.suppress(ValueError):
                    self.waiting.remove(place)
            if isinstance(e, TimeoutError):
                raise Shed(f"{self.name}: waited {self.queue_timeout:g} s for a place") from None
            raise

    def release(self) -> None:
        """Give the place to the longest waiting request, or free it."""
        while self.waiting:
            place = self.waiting.popleft()
            if not place.done():
                place.set_result(None)
                return
        self.in_flight -= 1

    @property
    def full(self) -> bool:
        return bool(self.limit) and self.in_flight >= self.limit


class Overload:
    """ASGI middleware applying the hub's request budgets: see the module docstring."""

    def __init__(self, app: ASGIApp, hub: Hub) -> None:
        self.app = app
        config = hub.config
        prefix = hub.urls.hub_prefix
        queue = (config[QUEUE_SIZE], config[QUEUE_TIMEOUT])
        self.requests = Budget("requests", config[REQUEST_LIMIT], *queue)
        self.server_calls = Budget("server calls", config[SERVER_REQUEST_LIMIT], *queue)
        self.per_client_limit = config[PER_CLIENT_LIMIT]
        self.retry_after = str(config[RETRY_AFTER])
        self.api_prefix = prefix + "api/"
        self.login_cookie = login_cookie(hub).encode()
        self.exempt_prefixes = (prefix + "health", prefix + "api/health", prefix + "static/",
                                prefix + "logo")
        self.server_call_prefixes = (prefix + "api/oauth2/token", prefix + "api/authorizations/")
        self.server_call_paths = (prefix + "api/user",)
        #: Requests in the hub (working or queued) per client key.
        self.per_client: Counter[bytes] = Counter()
        #: When shedding began and last shed (monotonic seconds), how many were shed since.
        self.shedding_since: float | None = None
        self.last_shed = 0.0
        self.shed_count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        budget = self.budget_for(scope) if scope["type"] == "http" else None
        if budget is None:
            await self.app(scope, receive, send)
            return
        client = self.client_key(scope) if budget is self.requests else None
        if client is None:
            await self.within(budget, scope, receive, send)
            return
        if self.per_client_limit and self.per_client[client] >= self.per_client_limit:
            await self.shed(scope, receive, send, 429,
                            "Too many requests from this client at once")
            return
        self.per_client[client] += 1
        try:
            await self.within(budget, scope, receive, send)
        finally:
            self.per_client[client] -= 1
            if not self.per_client[client]:
                del self.per_client[client]

    async def within(self, budget: Budget, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request once ``budget`` has a place for it; 503 when none comes."""
        try:
            await budget.acquire()
        except Shed as e:
            await self.shed(scope, receive, send, 503, f"The hub is busy ({e})")
            return
        try:
            await self.app(scope, receive, send)
        finally:
            budget.release()
            self.note_recovery(budget)

    def budget_for(self, scope: Scope) -> Budget | None:
        """The budget a request counts against; None when it is exempt."""
        path: str = scope["path"]
        if path.startswith(self.exempt_prefixes) or (
                path.startswith(self.api_prefix) and path.endswith("/progress")):
            return None
        if (path.startswith(self.server_call_prefixes) or path in self.server_call_paths
                or (path.startswith(self.api_prefix + "users/") and path.endswith("/activity"))):
            return self.server_calls
        return self.requests

    def client_key(self, scope: Scope) -> bytes | None:
        """Who sent the request: a digest of its API token or login cookie; None without.

        The credential is not checked here (that costs a database look-up): a
        client inventing tokens only spreads itself over more keys, and the
        shared budget still bounds it. Digests, so no secret is kept in memory.
        Requests without a credential have no per-client limit: an address is
        not a client (a class behind one NAT logs in at once, and every request
        through the hub's proxy comes from it); their floods are for the shared
        budget, the login throttle and the front proxy's rate limits.
        """
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hashlib.blake2b(value, digest_size=16).digest()
            if name == b"cookie" and self.login_cookie in value:
                morsel = SimpleCookie(value.decode("latin-1")).get(self.login_cookie.decode())
                if morsel is not None:
                    return hashlib.blake2b(morsel.value.encode("latin-1"),
                                           digest_size=16).digest()
        return None

    async def shed(self, scope: Scope, receive: Receive, send: Send, status: int,
                   message: str) -> None:
        """Answer ``status`` with Retry-After: JSON for the API, a retrying page otherwise."""
        self.shed_count += 1
        self.last_shed = time.monotonic()
        if self.shedding_since is None:
            self.shedding_since = self.last_shed
            log.warning("Overloaded, shedding requests with 429/503 (%s; %d working, %d queued, "
                        "%d clients): see docs/operations.md to size [hub] "
                        "concurrent_request_limit and request_queue_size", message,
                        self.requests.in_flight + self.server_calls.in_flight,
                        len(self.requests.waiting) + len(self.server_calls.waiting),
                        len(self.per_client))
        headers = {"Retry-After": self.retry_after}
        response: Response
        if scope["path"].startswith(self.api_prefix):
            response = JSONResponse({"status": status, "message": message},
                                    status_code=status, headers=headers)
        else:
            refresh = (f'<meta http-equiv="refresh" content="{self.retry_after}">'
                       if scope["method"] == "GET" else "")
            response = HTMLResponse(
                f"<!doctype html><title>{status}: the hub is busy</title>{refresh}"
                f"<p>{message}. Please try again in {self.retry_after} seconds.</p>",
                status_code=status, headers=headers)
        await response(scope, receive, send)

    def note_recovery(self, budget: Budget) -> None:
        """Log once when shedding ends: a place is free, nobody waits, none shed lately."""
        if (self.shedding_since is None or budget.full or budget.waiting
                or time.monotonic() - self.last_shed < QUIET_BEFORE_RECOVERY):
            return
        log.warning("No longer overloaded: shed %d requests in %.1f s", self.shed_count,
                    self.last_shed - self.shedding_since)
        self.shedding_since = None
        self.shed_count = 0
