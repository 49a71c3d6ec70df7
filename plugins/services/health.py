"""Health checks: does each service with a URL answer HTTP?

Every ``service_check_interval`` seconds each service's URL gets one GET
(any answer below 500 counts, a redirect to a login page too). The result
is kept on the service (the REST API shows it as ``health``); a change is
logged (a warning when a service stops answering) and sent to the ``log``
hook as ``service.up`` or ``service.down``. Checks run side by side, so one
slow service does not delay the others.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from kernel.hub import Hub
from kernel.services import Service

log = logging.getLogger("kernelhub.services")


async def check_periodically(hub: Hub, interval: float) -> None:
    """Check every service with a URL now, then every ``interval`` seconds, until cancelled."""
    while True:
        await check_all(hub, timeout=min(interval, 10.0))
        await asyncio.sleep(interval)


async def check_all(hub: Hub, *, timeout: float) -> None:
    # A managed service not checked yet is starting: its runner reports when it answers
    # (or does not within its timeout), so "cannot reach" is not said before it could.
    await asyncio.gather(*(check(hub, s, timeout=timeout) for s in list(hub.services)
                           if s.url and not (s.spec.managed and s.health.status == "unknown")))


async def check(hub: Hub, service: Service, *, timeout: float) -> None:
    assert hub.http is not None and service.url is not None
    try:
        response = await hub.http.get(service.url, follow_redirects=False, timeout=timeout)
    except httpx.TransportError as e:
        problem: str | None = f"no answer at {service.url} ({type(e).__name__})"
    else:
        problem = (f"{service.url} answers HTTP {response.status_code}"
                   if response.status_code >= 500 else None)
    record(hub, service, problem)


def record(hub: Hub, service: Service, problem: str | None) -> None:
    """Keep a check's result (None: it answers); log and report a change."""
    if problem is None:
        if service.health.set("up"):
            log.info("%s service %s answers at %s", service.kind.title(), service.name,
                     service.url)
            hub.emit("service.up", service=service.name)
    elif service.health.set("down", problem):
        log.warning("Cannot reach %s service %s: %s", service.kind, service.name, problem)
        hub.emit("service.down", service=service.name, reason=problem)
