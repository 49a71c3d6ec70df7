"""One hub's Prometheus registry: JupyterHub 6.1.1's metrics, fed by the hub's measurements.

Each metric JupyterHub exports is declared here with its name, help text,
labels and buckets, and the hub's measurement of the same name (without the
prefix) feeds it: ``server_spawn_duration_seconds`` becomes
``jupyterhub_server_spawn_duration_seconds``. Like JupyterHub, the series of
every known ``status`` exist from the start (at zero), so that dashboards and
alerts see them before the first failure. kernelhub's own histograms are
declared alike under the ``kernelhub`` prefix. The registry is the hub's own,
never prometheus_client's global one: a process may hold several hubs (tests do).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from kernel.events import Measurement

INF = float("inf")

#: A metric whose labelled child is a metric of the same kind.
M = TypeVar("M", Histogram, Counter)
#: JupyterHub's buckets for spawns, which take seconds to minutes.
SPAWN_BUCKETS = (0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 180, 300, 600, INF)
#: JupyterHub's buckets for the event loop interval: 5 ms steps from its 50 ms resolution.
EVENT_LOOP_BUCKETS = (50e-3, 55e-3, 60e-3, 65e-3, 70e-3, 75e-3, 0.1, 0.25, 0.5, 0.75, 1, 2.5,
                      5, 7.5, 10, INF)

_BOTH_OUTCOMES = (("success",), ("failure",))


@dataclass(frozen=True)
class Timing:
    """A histogram, observed for each measurement of the same name."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS
    #: The environment variable that overrides the buckets, as in JupyterHub.
    buckets_variable: str | None = None
    #: Label values whose series exist from the start.
    initial: tuple[tuple[str, ...], ...] = ()
    #: The metric's prefix; None: JupyterHub's (``jupyterhub`` or JUPYTERHUB_METRICS_PREFIX).
    namespace: str | None = None


TIMINGS = (
    Timing("request_duration_seconds", "Request duration for all HTTP requests",
           ("method", "handler", "code")),
    Timing("server_spawn_duration_seconds", "Time taken for server spawning operation",
           ("status", "reason"), SPAWN_BUCKETS, "JUPYTERHUB_SERVER_SPAWN_DURATION_SECONDS_BUCKETS",
           initial=(("success", ""), ("failure", ""), ("error", ""), ("failure", "throttled"),
                    ("failure", "too-many-users"), ("failure", "already-pending"))),
    Timing("check_routes_duration_seconds", "Time taken to validate all routes in proxy"),
    Timing("hub_startup_duration_seconds", "Time taken for Hub to start"),
    Timing("init_spawners_duration_seconds", "Time taken for spawners to initialize"),
    Timing("proxy_poll_duration_seconds", "Duration for polling all routes from proxy"),
    Timing("login_duration_seconds", "duration for all authentication attempts", ("status",)),
    Timing("logout_duration_seconds", "duration for all logout requests"),
    Timing("proxy_add_duration_seconds", "Duration for adding user routes to proxy",
           ("status",), initial=_BOTH_OUTCOMES),
    Timing("server_poll_duration_seconds", "Time taken to poll if server is running",
           ("status",), initial=(("running",), ("stopped",))),
    Timing("server_stop_seconds", "Time taken for server stopping operation", ("status",),
           buckets_variable="JUPYTERHUB_SERVER_STOP_DURATION_SECONDS_BUCKETS",
           initial=_BOTH_OUTCOMES),
    Timing("proxy_delete_duration_seconds", "Duration for deleting user routes from proxy",
           ("status",), initial=_BOTH_OUTCOMES),
    Timing("event_loop_interval_seconds", "Distribution of measured event loop intervals",
           buckets=EVENT_LOOP_BUCKETS),
    # kernelhub's own: which plugin makes logins, spawns or pages slow.
    Timing("hook_duration_seconds", "Time a plugin took to answer a hook call, awaiting "
           "included", ("hook", "plugin"), namespace="kernelhub"),
)

#: Counters: measurement name -> help text (exported with prometheus_client's ``_total``).
COUNTERS = {"csp_reports": "content security policy violation reports"}


class HubMetrics:
    """The registry of one hub, with JupyterHub's metrics and the process/python defaults."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.prefix = environ.get("JUPYTERHUB_METRICS_PREFIX", "jupyterhub")
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.histograms: dict[str, Histogram] = {}
        for timing in TIMINGS:
            histogram = Histogram(timing.name, timing.help, timing.labels,
                                  namespace=timing.namespace or self.prefix,
                                  registry=self.registry,
                                  buckets=_buckets(timing, environ))
            for values in timing.initial:
                histogram.labels(*values)
            self.histograms[timing.name] = histogram
        self.counters = {name: Counter(name, text, namespace=self.prefix,
                                       registry=self.registry)
                         for name, text in COUNTERS.items()}

    def record(self, measurement: Measurement) -> None:
        """Add a measurement to its metric; one JupyterHub has no metric for is not exported."""
        histogram = self.histograms.get(measurement.name)
        if histogram is not None:
            _child(histogram, measurement).observe(measurement.value)
            return
        counter = self.counters.get(measurement.name)
        if counter is not None:
            _child(counter, measurement).inc(measurement.value)


def _child(metric: M, measurement: Measurement) -> M:
    return metric.labels(**measurement.labels) if measurement.labels else metric


def _buckets(timing: Timing, environ: Mapping[str, str]) -> tuple[float, ...]:
    raw = environ.get(timing.buckets_variable, "").strip() if timing.buckets_variable else ""
    if not raw:
        return timing.buckets
    try:
        buckets = tuple(float(item) for item in raw.split(","))
    except ValueError:
        buckets = ()
    if not buckets or list(buckets) != sorted(buckets):
        raise ValueError(f"${timing.buckets_variable}: expected increasing numbers of seconds "
                         f"separated by commas, such as 1,5,30,+Inf; got {raw!r}")
    return buckets
