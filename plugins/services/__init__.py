"""The `services` plugin: runs managed services and checks that services answer.

A ``[service:NAME]`` section with a ``command`` is a *managed* service: the
hub starts it once it is listening, with JupyterHub's service environment
(``managed.py``), restarts it with growing pauses when it exits, and stops it
when the hub stops. Every ``service_check_interval`` seconds each service
with a ``url`` is asked whether it answers (``health.py``); the answer is in
the REST API's service model (``health``), and a change is logged and sent
to the ``log`` hook (``service.up``, ``service.down``).

What a service *is* (its URL, tokens, OAuth client, roles and route) is the
kernel's (``kernel.services``); this plugin only adds the keys that run one.
"""

from __future__ import annotations

import asyncio

from kernel import hookimpl
from kernel.config import Option, OptionRegistry
from kernel.config.types import Command, Integer, Number, Table, Text
from kernel.hub import Hub
from kernel.stash import StashKey
from plugins.services.health import check_periodically
from plugins.services.managed import ManagedService

running = StashKey[list[ManagedService]]()


# Read through the kernel's service specs (``kernel.services``), which ``managed.py`` runs.
COMMAND = Option("service:*", "command", Command(), [],
                 "Run the service: the hub starts this command, restarts it when it exits "
                 "and stops it with the hub.")
CWD = Option("service:*", "cwd", Text(), "",
             "The managed service's working folder (default: the hub's).")
ENVIRONMENT = Option("service:*", "environment", Table(), {},
                     "Extra environment variables for the managed service, `NAME = value` per "
                     "line ([service:NAME.environment]); they win over the hub's.")
USER = Option("service:*", "user", Text(), "",
              "The Unix account the managed service runs as (the hub must be root); "
              "default: the hub's own.")
TIMEOUT = Option("service:*", "timeout", Number(minimum=0.1), 30.0,
                 "Seconds to wait for the service's url to answer after it starts.")
CHECK_INTERVAL = Option("hub", "service_check_interval", Integer(minimum=1), 60,
                        "Seconds between checks that each service with a url answers.")


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(COMMAND, CWD, ENVIRONMENT, USER, TIMEOUT, CHECK_INTERVAL)


@hookimpl
def hub_startup(hub: Hub) -> None:
    managed = [ManagedService(hub, s) for s in hub.services if s.spec.managed]
    for service in managed:
        service.start()
    hub.stash[running] = managed
    hub.background(check_periodically(hub, hub.config[CHECK_INTERVAL]),
                   name="service health checks")


@hookimpl
async def hub_shutdown(hub: Hub) -> None:
    await asyncio.gather(*(service.stop() for service in hub.stash.get(running, [])))
