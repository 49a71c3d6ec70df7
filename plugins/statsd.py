"""The `statsd` plugin: JupyterHub's statsd metrics (5.x names), sent to a statsd daemon over UDP.

JupyterHub 6 dropped statsd; this plugin keeps the dashboards built on it
working. ``[hub] statsd_host`` (empty: send nothing), ``statsd_port`` and
``statsd_prefix`` keep JupyterHub's names. What is sent, under the prefix:

- counters ``login.request``, ``login.success``, ``login.failure``,
  ``logout``, ``redirects.user_after_login``, ``csp_report`` and
  ``spawner.failure.{timeout,error,http_error}``;
- timings (ms) ``login.authenticate.success``/``failure``,
  ``spawner.success``, ``spawner.failure`` and ``spawner.stop``;
- gauges ``users.running`` (servers that are ready) and ``users.active`` (of
  those, the ones whose user was active within ``[hub] active_user_window``),
  every ``[hub] last_activity_interval`` seconds, as JupyterHub sent them.

Each sample is one UDP datagram on a non-blocking socket: the hub never
waits for statsd, and a sample that cannot be sent is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from statsd import StatsClient

from kernel import hookimpl
from kernel.clock import utcnow
from kernel.config import Option, OptionRegistry
from kernel.config.types import Integer, Text
from kernel.events import Measurement
from kernel.hub import Hub
from kernel.stash import StashKey

log = logging.getLogger("kernelhub.statsd")

client_key = StashKey[StatsClient]()

#: Measurements that are one count each: measurement name -> statsd counter.
COUNTED = {"login_requests": "login.request", "logout_duration_seconds": "logout",
           "redirects_user_after_login": "redirects.user_after_login",
           "csp_reports": "csp_report"}
#: The ``reason`` of a failed spawn -> JupyterHub's counter (``exited``: the server died
#: while the hub waited for it to answer, which JupyterHub counted as an HTTP error).
SPAWN_FAILURES = {"timeout": "spawner.failure.timeout", "error": "spawner.failure.error",
                  "exited": "spawner.failure.http_error"}

# JupyterHub's names, in [hub].
HOST = Option("hub", "statsd_host", Text(), "",
              "The statsd daemon's host; empty: send nothing.")
PORT = Option("hub", "statsd_port", Integer(minimum=1), 8125,
              "The statsd daemon's UDP port.")
PREFIX = Option("hub", "statsd_prefix", Text(), "jupyterhub",
                "The prefix of every metric name.")


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(HOST, PORT, PREFIX)


class NonBlockingStatsClient(StatsClient):
    """statsd's UDP client on a non-blocking socket: a full send buffer drops the sample
    (the client already ignores send errors) instead of stalling the event loop."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        # getaddrinfo may query DNS: the caller runs this in a thread.
        super().__init__(host, port, prefix or None, ipv6=":" in host)
        self._sock.setblocking(False)


@hookimpl
async def hub_startup(hub: Hub) -> None:
    config = hub.config
    host, port, prefix = config[HOST], config[PORT], config[PREFIX]
    if not host:
        log.warning("The statsd plugin is enabled but [hub] statsd_host is empty: no statsd "
                    "metrics are sent")
        return
    try:
        client = await asyncio.to_thread(NonBlockingStatsClient, host, port, prefix)
    except OSError as e:
        raise RuntimeError(f"[hub] statsd_host: cannot resolve {host!r} ({e}); "
                           "correct it, or leave it empty to send no statsd metrics") from e
    hub.stash[client_key] = client
    hub.background(send_gauges_every(hub, client, config.hub.last_activity_interval),
                   name="statsd gauges")
    log.info("Sending statsd metrics to %s:%d as %s.*", host, port, prefix)


@hookimpl
def hub_shutdown(hub: Hub) -> None:
    client = hub.stash.get(client_key)
    if client is not None:
        client.close()
        del hub.stash[client_key]


@hookimpl
def metrics(hub: Hub, measurement: Measurement) -> None:
    client = hub.stash.get(client_key)
    if client is not None:
        send(client, measurement)


def send(client: StatsClient, measurement: Measurement) -> None:
    """Send what JupyterHub sent to statsd for this measurement (often nothing)."""
    name, status = measurement.name, measurement.labels.get("status")
    milliseconds = measurement.value * 1000
    if name == "login_duration_seconds":
        client.incr(f"login.{status}")
        client.timing(f"login.authenticate.{status}", milliseconds)
    elif name == "server_spawn_duration_seconds":
        if status == "success":
            client.timing("spawner.success", milliseconds)
        elif measurement.labels.get("reason") in SPAWN_FAILURES:
            client.incr(SPAWN_FAILURES[measurement.labels["reason"]])
            client.timing("spawner.failure", milliseconds)
    elif name == "server_stop_seconds" and status == "success":
        client.timing("spawner.stop", milliseconds)
    elif name in COUNTED:
        client.incr(COUNTED[name])


async def send_gauges_every(hub: Hub, client: StatsClient, interval: float) -> None:
    """``users.running`` and ``users.active`` every ``interval`` seconds, until cancelled."""
    window = timedelta(seconds=hub.config.hub.active_user_window)
    while True:
        ready = [server for server in hub.lifecycle.active if server.ready]
        cutoff = utcnow() - window
        active = sum(1 for server in ready if server.user.last_activity is not None
                     and server.user.last_activity >= cutoff)
        client.gauge("users.running", len(ready))
        client.gauge("users.active", active)
        await asyncio.sleep(interval)
