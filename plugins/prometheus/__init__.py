"""The `prometheus` plugin: JupyterHub's metrics at /hub/metrics, in the Prometheus text format.

It keeps one registry per hub (``plugins.prometheus.registry``), fed by the
``metrics`` hook, plus gauges read from the hub's state at each scrape
(``plugins.prometheus.hub_state``) and the event loop's responsiveness
(``plugins.prometheus.event_loop``). With ``[hub] authenticate_prometheus``
(the default), reading the metrics needs the ``read:metrics`` scope, from a
token or a login session, as in JupyterHub.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kernel import hookimpl
from kernel.config import Option, OptionRegistry
from kernel.config.types import Boolean, Integer, Number
from kernel.events import Measurement
from kernel.hub import Hub
from kernel.stash import StashKey
from kernel.web.identity import hub_of, identify
from plugins.prometheus.event_loop import watch_event_loop
from plugins.prometheus.hub_state import HubStateCollector
from plugins.prometheus.registry import HubMetrics

SCOPE = "read:metrics"

hub_metrics_key = StashKey[HubMetrics]()

SECTION = "prometheus"
AUTHENTICATE = Option("hub", "authenticate_prometheus", Boolean(), True,
                      f"Require a token or login with the {SCOPE} scope to read /hub/metrics. "
                      "Off: anyone who can reach the hub can read them.")
ACTIVE_USERS_ENABLED = Option(SECTION, "active_users_enabled", Boolean(), True,
                              "Export active_users: users active in the last 24h, 7d and 30d.")
ACTIVE_USERS_UPDATE_INTERVAL = Option(
    SECTION, "active_users_update_interval", Integer(minimum=0), 3600,
    "Seconds between counts of active users (a look at every user).")
EVENT_LOOP_INTERVAL_ENABLED = Option(
    SECTION, "event_loop_interval_enabled", Boolean(), True,
    "Measure event_loop_interval_seconds: how long the hub could not answer.")
EVENT_LOOP_INTERVAL_RESOLUTION = Option(
    SECTION, "event_loop_interval_resolution", Number(minimum=0.001), 0.05,
    "Seconds between two measurements of the event loop's responsiveness.")
EVENT_LOOP_INTERVAL_LOG_THRESHOLD = Option(
    SECTION, "event_loop_interval_log_threshold", Number(minimum=0), 1.0,
    "Log a warning when the event loop was unresponsive for this many seconds.")


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.declare(AUTHENTICATE, ACTIVE_USERS_ENABLED, ACTIVE_USERS_UPDATE_INTERVAL,
                    EVENT_LOOP_INTERVAL_ENABLED, EVENT_LOOP_INTERVAL_RESOLUTION,
                    EVENT_LOOP_INTERVAL_LOG_THRESHOLD)


def hub_metrics(hub: Hub) -> HubMetrics:
    """The hub's metrics, made on first use (a request may come before ``hub_startup``)."""
    metrics = hub.stash.get(hub_metrics_key)
    if metrics is None:
        metrics = hub.stash[hub_metrics_key] = HubMetrics()
        metrics.registry.register(HubStateCollector(
            hub, metrics.prefix, active_users=hub.config[ACTIVE_USERS_ENABLED],
            active_users_interval=hub.config[ACTIVE_USERS_UPDATE_INTERVAL]))
    return metrics


@hookimpl
def hub_startup(hub: Hub) -> None:
    metrics = hub_metrics(hub)  # a wrong bucket variable stops the hub here, not later
    config = hub.config
    if config[EVENT_LOOP_INTERVAL_ENABLED]:
        hub.background(watch_event_loop(metrics.histograms["event_loop_interval_seconds"],
                                        config[EVENT_LOOP_INTERVAL_RESOLUTION],
                                        config[EVENT_LOOP_INTERVAL_LOG_THRESHOLD]),
                       name="event loop interval")


@hookimpl
def metrics(hub: Hub, measurement: Measurement) -> None:
    hub_metrics(hub).record(measurement)


@hookimpl
def web_routes(hub: Hub) -> list[BaseRoute]:
    # JupyterHub serves both; Prometheus configurations use either.
    return [Route("/metrics", serve_metrics, methods=["GET"]),
            Route("/api/metrics", serve_metrics, methods=["GET"])]


async def serve_metrics(request: Request) -> Response:
    """Every metric, in the text format; 403 (JSON, as the REST API) without read:metrics."""
    hub = hub_of(request)
    if hub.config[AUTHENTICATE]:
        identity = await identify(request, services=True)
        if identity is None or not hub.permissions.scopes(identity).allows(SCOPE):
            return JSONResponse({"status": 403,
                                 "message": f"Access to metrics requires scope '{SCOPE}'"},
                                status_code=403)
    return Response(generate_latest(hub_metrics(hub).registry), media_type=CONTENT_TYPE_LATEST)
