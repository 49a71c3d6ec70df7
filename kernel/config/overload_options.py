"""The [hub] options of overload protection: how many requests the hub works on at once.

JupyterHub has no such options (Tornado takes every request it is sent and
slows down for all of them); kernelhub sheds what it cannot serve soon, with
an answer that tells the client when to come back. ``kernel.web.overload``
applies them; docs/operations.md explains how to size them.
"""

from __future__ import annotations

from kernel.config.options import Option, OptionRegistry
from kernel.config.types import Integer, Number

REQUEST_LIMIT = Option(
    "hub", "concurrent_request_limit", Integer(minimum=0), 64,
    "Requests the hub works on at once (pages, logins, REST API calls); more wait in a "
    "queue of request_queue_size. 0: no limit. The health checks, static files and "
    "progress streams are never limited, and users' servers' own calls to the hub have "
    "their own budget (concurrent_server_request_limit).")
PER_CLIENT_LIMIT = Option(
    "hub", "concurrent_request_limit_per_client", Integer(minimum=0), 16,
    "Requests one client may have in the hub at once, working or queued, within "
    "concurrent_request_limit; more get 429 with Retry-After. A client is its API token "
    "or login cookie; requests without one (the login form) are not limited per client, "
    "as many people may share one address. 0: no limit.")
SERVER_REQUEST_LIMIT = Option(
    "hub", "concurrent_server_request_limit", Integer(minimum=0), 32,
    "Requests from users' servers the hub works on at once, beside concurrent_request_limit: "
    "activity reports, OAuth token exchanges and identity checks (/hub/api/user, "
    "/hub/api/authorizations/), so that a burst of users cannot starve running servers "
    "nor the other way round. 0: no limit.")
QUEUE_SIZE = Option(
    "hub", "request_queue_size", Integer(minimum=0), 128,
    "Requests that may wait for a free place when the hub is at its limit (per budget); "
    "when the queue is full, more get 503 with Retry-After at once.")
QUEUE_TIMEOUT = Option(
    "hub", "request_queue_timeout", Number(minimum=0), 10.0,
    "Seconds a request may wait in the queue; then it gets 503 with Retry-After.")
RETRY_AFTER = Option(
    "hub", "overload_retry_after", Integer(minimum=1), 5,
    "Seconds a shed request's Retry-After header asks the client to wait.")

OVERLOAD_OPTIONS = (REQUEST_LIMIT, PER_CLIENT_LIMIT, SERVER_REQUEST_LIMIT, QUEUE_SIZE,
                    QUEUE_TIMEOUT, RETRY_AFTER)


def declare_overload_options(options: OptionRegistry) -> None:
    """Declare the overload protection options in [hub]."""
    options.declare(*OVERLOAD_OPTIONS)
