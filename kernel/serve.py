"""`kernel serve`: prepare the hub, then run its web app with hypercorn until a signal.

Everything that can be wrong with the configuration or the database is found
before anything listens; then the hub's own server starts, and its lifespan
starts the proxy and takes over running servers. SIGINT or SIGTERM shut down
cleanly (honouring cleanup_servers and cleanup_proxy); a second signal exits
at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig
from hypercorn.utils import LifespanFailureError
from starlette.types import ASGIApp

from kernel.config.loader import Loaded
from kernel.hub import Hub
from kernel.logs import configure_logging
from kernel.web.app import build_app

log = logging.getLogger("kernelhub")


class StartupFailed(Exception):
    """The hub could not start (the proxy, a plugin's hub_startup, ...); says why."""


def serve(loaded: Loaded) -> None:
    """Run the hub until SIGINT/SIGTERM; errors before start-up propagate to the caller."""
    configure_logging(loaded.config)
    for warning in loaded.config.warnings:
        log.warning(warning)
    hub = Hub(loaded)
    hub.prepare_database()
    app = build_app(hub)
    with _pid_file(loaded.config.hub.pid_file):
        try:
            asyncio.run(_serve(app, hub, _hypercorn_config(hub)))
        except LifespanFailureError:
            error = getattr(app.state, "startup_error", None)
            raise StartupFailed(f"the hub could not start: {error}") from error


def _hypercorn_config(hub: Hub) -> HypercornConfig:
    config = HypercornConfig()
    host = hub.urls.hub_bind_ip or "0.0.0.0"
    config.bind = [f"[{host}]:{hub.urls.hub_bind_port}" if ":" in host
                   else f"{host}:{hub.urls.hub_bind_port}"]
    if hub.tls is not None:
        # Internal TLS: only clients with a certificate the hub trusts get in.
        config.certfile, config.keyfile = str(hub.tls.hub.cert), str(hub.tls.hub.key)
        config.ca_certs = str(hub.tls.hub.ca)
        config.verify_mode = ssl.CERT_REQUIRED
    config.accesslog = None  # kernel.web.middleware.AccessLog records every request
    config.errorlog = logging.getLogger("hypercorn.error")
    config.errorlog.addFilter(_AnnounceWhenListening(hub))
    # Start-up may wait for servers to be checked; shutdown may stop them all.
    config.startup_timeout = 600
    config.shutdown_timeout = 600
    config.graceful_timeout = 5
    return config


class _AnnounceWhenListening(logging.Filter):
    """Once the hub's own server listens, say where people open the hub, last.

    hypercorn then logs "Running on" the hub's private address, which only the
    proxy and the servers use; that line becomes a debug one, and the public
    address (JupyterHub's "JupyterHub is now running at") is the last line of
    start-up.
    """

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith("Running on "):
            return True
        address = message.removeprefix("Running on ").removesuffix(" (CTRL + C to quit)")
        log.debug("The hub's own server listens at %s (for the proxy and servers)", address)
        log.info("kernelhub %s is running at %s", self.hub.version, self.hub.urls.public_url)
        return False


async def _serve(app: ASGIApp, hub: Hub, config: HypercornConfig) -> None:
    loop = asyncio.get_running_loop()
    signalled = False

    def on_signal(signum: int) -> None:
        nonlocal signalled
        if signalled:
            log.warning("Second %s: exiting now", signal.Signals(signum).name)
            os._exit(1)
        signalled = True
        log.info("Received %s, shutting down", signal.Signals(signum).name)
        hub.request_shutdown()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    # starlette and hypercorn both speak ASGI 3 but type its scopes and messages
    # differently (plain mappings against TypedDicts).
    await hypercorn_serve(app, config,  # type: ignore[arg-type]
                          shutdown_trigger=hub.shutdown_requested)


@contextmanager
def _pid_file(path: str) -> Iterator[None]:
    if not path:
        yield
        return
    pid_path = Path(path)
    pid_path.write_text(f"{os.getpid()}\n")
    try:
        yield
    finally:
        pid_path.unlink(missing_ok=True)
