"""Gauges read from the hub's state when Prometheus scrapes: servers, users and routes.

Nothing has to keep these counts up to date: each scrape reads them from
memory. Servers come from ``hub.lifecycle.active`` (only servers that are not
stopped, never every user). Active users need a look at every user's
``last_activity``, so, as in JupyterHub, that count is refreshed at most every
``[prometheus] active_users_update_interval`` seconds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from kernel.clock import utcnow

if TYPE_CHECKING:
    from kernel.hub import Hub

#: JupyterHub's ``period`` labels of ``active_users``.
ACTIVE_PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7),
                  "30d": timedelta(days=30)}

#: kernelhub's ``state`` label of ``kernelhub_servers``, from ``Server.pending``.
SERVER_STATES = {None: "ready", "spawn": "spawning", "stop": "stopping", "check": "checking"}


class HubStateCollector(Collector):
    """``running_servers``, ``total_users``, ``active_users``, ``kernelhub_servers`` and
    ``kernelhub_proxy_routes``."""

    def __init__(self, hub: Hub, prefix: str, *, active_users: bool,
                 active_users_interval: float) -> None:
        self.hub = hub
        self.prefix = prefix
        self.active_users = active_users
        self.active_users_interval = active_users_interval
        self._active_counts: dict[str, int] = {}
        self._counted_at = -float("inf")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        prefix = self.prefix
        active = self.hub.lifecycle.active
        yield GaugeMetricFamily(f"{prefix}_running_servers",
                                "The number of user servers currently running",
                                value=len(active))
        yield GaugeMetricFamily(f"{prefix}_total_users", "Total number of users",
                                value=len(self.hub.users))
        if self.active_users:
            family = GaugeMetricFamily(
                f"{prefix}_active_users",
                "Number of users who were active in the given time period", labels=["period"])
            for period, count in self._active_user_counts().items():
                family.add_metric([period], count)
            yield family
        pending = Counter(server.pending for server in active)
        family = GaugeMetricFamily("kernelhub_servers",
                                   "Servers that are not stopped, by what they are doing",
                                   labels=["state"])
        for value, state in SERVER_STATES.items():
            family.add_metric([state], pending[value])
        yield family
        routes = self.hub.routes.routes_in_proxy
        if routes is not None:
            yield GaugeMetricFamily("kernelhub_proxy_routes",
                                    "Hub routes in the proxy's routing table when last read",
                                    value=routes)

    def _active_user_counts(self) -> dict[str, int]:
        if time.monotonic() - self._counted_at >= self.active_users_interval:
            now = utcnow()
            cutoffs = {period: now - span for period, span in ACTIVE_PERIODS.items()}
            counts = dict.fromkeys(ACTIVE_PERIODS, 0)
            for user in self.hub.users:
                if user.last_activity is None:
                    continue
                for period, cutoff in cutoffs.items():
                    if user.last_activity >= cutoff:
                        counts[period] += 1
            self._active_counts = counts
            self._counted_at = time.monotonic()
        return self._active_counts
