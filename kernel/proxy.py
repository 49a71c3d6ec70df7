"""The Proxy contract, and a client for configurable-http-proxy's REST API.

A proxy plugin implements the ``route`` hook and returns a ``Proxy``. The hub
keeps the routing table right through ``add_route``, ``delete_route`` and
``get_all_routes`` (see ``kernel.routes``) and, when ``should_start`` is on,
starts and supervises the proxy with ``start``/``stop``/``is_running``.

A *routespec* is a URL path prefix with a trailing slash (``/user/alice/``),
or ``host/path/`` when routing by host (``subdomain_host``). A route's
*target* is the URL requests for that prefix go to; its *data* is a JSON dict
the hub stores with it (``{"user": "alice", "server_name": ""}``).

Both built-in proxies speak configurable-http-proxy's REST API, so
``RESTProxy`` implements the routing methods once for both, and both take
configurable-http-proxy's command-line flags, so ``ProcessProxy`` starts,
watches, takes over and stops either process; a plugin only says which
command to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shlex
import signal
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from kernel.urls import escape_path_segment

if TYPE_CHECKING:
    from kernel.hub import Hub

log = logging.getLogger("kernelhub.proxy")


class ProxyError(Exception):
    """The proxy could not be reached or refused a request; the message says which."""


class Proxy(ABC):
    """The routing table of the public address."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.should_start: bool = hub.config.proxy.should_start

    async def start(self) -> None:  # noqa: B027 - optional for proxies run separately
        """Start the proxy (only called when ``should_start``); return once it serves."""

    async def stop(self) -> None:  # noqa: B027
        """Stop a proxy the hub started."""

    async def is_running(self) -> bool:
        """Whether the proxy the hub started is still alive (True for external ones)."""
        return True

    @abstractmethod
    async def add_route(self, routespec: str, target: str, data: dict[str, Any]) -> None:
        """Route requests under ``routespec`` to ``target``; replaces an existing route."""

    @abstractmethod
    async def delete_route(self, routespec: str) -> None:
        """Remove a route; removing a route that does not exist is not an error."""

    @abstractmethod
    async def get_all_routes(self) -> dict[str, dict[str, Any]]:
        """The hub's routes: routespec -> {"routespec", "target", "data"}.

        Only routes the hub added; ``data`` carries what the hub stored plus
        the proxy's ``last_activity`` (ISO 8601) when it tracks one.
        """


class RESTProxy(Proxy):
    """A proxy driven through configurable-http-proxy's REST API at ``[proxy] api_url``."""

    #: How long a request to the proxy API keeps retrying connection errors and 5xx.
    api_retry_seconds = 30.0

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        options = hub.config.proxy
        self.api_url: str = options.api_url.rstrip("/")
        if hub.tls is not None and self.should_start and self.api_url.startswith("http://"):
            # The hub starts the proxy with its API on TLS (ProcessProxy).
            if options.is_set("api_url"):
                log.warning("[proxy] api_url: using https, as internal TLS is on")
            self.api_url = "https://" + self.api_url.removeprefix("http://")
        self.auth_token: str = (options.auth_token or os.environ.get("CONFIGPROXY_AUTH_TOKEN")
                                or (secrets.token_hex(32) if self.should_start else ""))
        if not self.auth_token:
            # As JupyterHub: without the token, every call to the proxy would be refused.
            raise hub.config.error(
                "a proxy the hub does not start needs the token it was started with: set "
                "[proxy] auth_token (or CONFIGPROXY_AUTH_TOKEN)", "proxy", "auth_token")
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            tls = self.hub.tls
            self._client = httpx.AsyncClient(
                headers={"Authorization": f"token {self.auth_token}"},
                timeout=httpx.Timeout(10.0), trust_env=False,
                verify=tls.hub.client_context() if tls is not None else True,
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def api_request(self, method: str, path: str, body: dict[str, Any] | None = None,
                          *, retry_seconds: float | None = None) -> httpx.Response:
        """One API call; connection errors and 5xx are retried with back-off."""
        url = f"{self.api_url}/api/routes{path}"
        deadline = asyncio.get_running_loop().time() + (
            self.api_retry_seconds if retry_seconds is None else retry_seconds)
        delay = 0.05
        while True:
            try:
                response = await self.client.request(method, url, json=body)
            except httpx.TransportError as e:
                problem = f"cannot reach the proxy API at {self.api_url}: {e!r}"
            else:
                if response.status_code < 500:
                    return response
                problem = f"the proxy API answered {response.status_code} to {method} {url}"
            if asyncio.get_running_loop().time() + delay > deadline:
                raise ProxyError(problem)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def add_route(self, routespec: str, target: str, data: dict[str, Any]) -> None:
        body = {**data, "target": target, "jupyterhub": True}
        response = await self.api_request("POST", api_path(routespec), body)
        if response.status_code >= 300:
            raise ProxyError(f"the proxy refused the route {routespec} -> {target}: "
                             f"{response.status_code} {response.text[:200]}")

    async def delete_route(self, routespec: str) -> None:
        response = await self.api_request("DELETE", api_path(routespec))
        if response.status_code >= 300 and response.status_code != 404:
            raise ProxyError(f"the proxy refused to delete the route {routespec}: "
                             f"{response.status_code}")

    async def get_all_routes(self) -> dict[str, dict[str, Any]]:
        response = await self.api_request("GET", "")
        if response.status_code != 200:
            raise ProxyError(f"the proxy API answered {response.status_code} when listing "
                             "routes (is [proxy] auth_token right?)")
        routes = {}
        for path, data in response.json().items():
            if not data.pop("jupyterhub", False):
                continue  # someone else's route: leave it alone
            target = data.pop("target", None)
            spec = routespec_from_api_path(path, host_routing=bool(self.hub.urls.subdomain_host))
            routes[spec] = {"routespec": spec, "target": target, "data": data}
        return routes

    async def api_is_up(self) -> bool:
        """Whether the API answers a route listing right now (no retries)."""
        try:
            response = await self.api_request("GET", "", retry_seconds=0)
        except ProxyError:
            return False
        return response.status_code == 200


class ProcessProxy(RESTProxy):
    """A proxy process the hub runs itself, with configurable-http-proxy's flags.

    ``start`` runs ``command`` with the flags JupyterHub gives
    configurable-http-proxy and ``CONFIGPROXY_AUTH_TOKEN`` in its environment,
    in a session of its own (a Ctrl-C meant for the hub does not reach it),
    writes its pid to ``pid_file`` and returns once its API answers (both
    proxies open their public port before their API). A live process named
    by the pid file was left running by a previous hub (``cleanup_proxy =
    false``): it is taken over when its API accepts our token, else stopped.
    When the process exits on its own, the route keeper hears at once and
    restarts it with every route.
    """

    #: Seconds a new process has to answer its API.
    start_timeout = 15.0
    #: Seconds a stopped process has between SIGTERM and SIGKILL.
    stop_timeout = 5.0

    def __init__(self, hub: Hub, *, name: str, command: list[str], pid_file: str,
                 log_level: str = "info", missing_hint: str = "") -> None:
        super().__init__(hub)
        self.name = name
        self.command = command
        self.pid_file = Path(pid_file)
        self.log_level = log_level
        #: What to tell the operator when ``command`` is not found.
        self.missing_hint = missing_hint
        self.process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None

    def command_line(self) -> list[str]:
        """``command`` and the flags, as JupyterHub's ConfigurableHTTPProxy passes them."""
        urls = self.hub.urls
        api = urlsplit(self.api_url)
        args = [
            *self.command,
            "--ip", urls.public_ip, "--port", str(urls.public_port),
            "--api-ip", api.hostname or "127.0.0.1", "--api-port", str(api.port or 8001),
            "--error-target", f"{urls.hub_connect}{urls.hub_prefix}error",
            "--log-level", self.log_level,
        ]
        options = self.hub.config.hub
        if urls.subdomain_host:
            args.append("--host-routing")  # routes are "host/path/", as JupyterHub's
        if options.ssl_key:
            args += ["--ssl-key", options.ssl_key]
        if options.ssl_cert:
            args += ["--ssl-cert", options.ssl_cert]
        tls = self.hub.tls
        if tls is not None:
            # Internal TLS, as JupyterHub configures it: the API takes only the hub's
            # certificate; the proxy shows its own to servers, services and the hub.
            api, client = tls.proxy_api, tls.proxy_client
            args += ["--api-ssl-key", str(api.key), "--api-ssl-cert", str(api.cert),
                     "--api-ssl-ca", str(api.ca), "--api-ssl-request-cert",
                     "--api-ssl-reject-unauthorized",
                     "--client-ssl-key", str(client.key), "--client-ssl-cert", str(client.cert),
                     "--client-ssl-ca", str(client.ca), "--client-ssl-request-cert",
                     "--client-ssl-reject-unauthorized"]
        return args

    async def start(self) -> None:
        self._stop_watching()
        if self.process is not None:
            await self._end_own_process()  # it stopped answering: replace it
        elif await self._take_over_previous():
            return
        command = self.command_line()
        log.info("Starting %s: %s", self.name, shlex.join(command))
        env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": self.auth_token}
        try:
            # umask as JupyterHub's: nothing the proxy creates is readable by others.
            process = await asyncio.create_subprocess_exec(
                *command, env=env, start_new_session=True, umask=0o007)
        except FileNotFoundError:
            raise ProxyError(f"cannot start {self.name}: {command[0]!r} was not found"
                             + (f"; {self.missing_hint}" if self.missing_hint else "")) from None
        self.process = process
        self.pid_file.write_text(f"{process.pid}\n")
        await self._wait_until_serving(process)
        self._watcher = asyncio.create_task(self._watch(process), name=f"watch {self.name}")
        log.info("%s is up (pid %d): public %s, API %s", self.name, process.pid,
                 self.hub.urls.public_url, self.api_url)

    async def _wait_until_serving(self, process: asyncio.subprocess.Process) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        while not await self.api_is_up():
            if process.returncode is not None:
                self.process = None
                self.pid_file.unlink(missing_ok=True)
                raise ProxyError(
                    f"{self.name} exited with status {process.returncode} at start-up (is port "
                    f"{self.hub.urls.public_port} or {self.api_url} already in use?); its log "
                    "is above")
            if loop.time() > deadline:
                await self._end_own_process()
                raise ProxyError(f"{self.name} did not answer at {self.api_url} within "
                                 f"{self.start_timeout:g} seconds, so it was stopped; its log "
                                 "is above")
            await asyncio.sleep(0.05)

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        """Have the route keeper restart the proxy as soon as it exits on its own."""
        status = await process.wait()
        log.error("%s (pid %d) exited with status %s", self.name, process.pid, status)
        self.hub.routes.check_soon()

    def _stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    async def _take_over_previous(self) -> bool:
        """Keep a proxy a previous hub left running if its API takes our token, else stop it."""
        pid = self._previous_pid()
        if pid is None:
            return False
        if await self.api_is_up():
            log.info("Taking over %s left running by the previous hub (pid %d)", self.name, pid)
            return True
        log.warning("Stopping the old %s (pid %d): it does not answer at %s with our token "
                    "(set [proxy] auth_token to keep a proxy across hub restarts)",
                    self.name, pid, self.api_url)
        await terminate(pid, self.stop_timeout)
        return False

    def _previous_pid(self) -> int | None:
        """The pid in ``pid_file``, if that process is alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if running(pid) else None

    async def _end_own_process(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), self.stop_timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def is_running(self) -> bool:
        if self.process is not None and self.process.returncode is not None:
            return False
        return await self.api_is_up()

    async def stop(self) -> None:
        self._stop_watching()
        if self.process is not None:
            log.info("Stopping %s (pid %d)", self.name, self.process.pid)
            await self._end_own_process()
        elif (pid := self._previous_pid()) is not None:
            log.info("Stopping %s (pid %d), taken over from the previous hub", self.name, pid)
            await terminate(pid, self.stop_timeout)
        self.pid_file.unlink(missing_ok=True)

    async def close(self) -> None:
        self._stop_watching()
        await super().close()


async def terminate(pid: int, timeout: float) -> None:
    """SIGTERM ``pid`` (not our child), then SIGKILL if it still runs after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await asyncio.sleep(0.05)
            if not running(pid):
                return


def running(pid: int) -> bool:
    """Whether ``pid`` is a process we may signal that has not exited.

    An exited process stays a zombie until its parent reaps it; for a proxy
    whose hub is gone that parent is init, which may take its time (or, as
    PID 1 in some containers, never do it), so a zombie counts as gone.
    """
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc here: the signal is all there is to go by
    return state != "Z"


def api_path(routespec: str) -> str:
    """``/user/alice/`` -> ``/user/alice``: the routespec as the path of its API URL.

    A routespec is already an escaped URL path (``/user/a%20b/``, as
    ``Server.prefix`` makes it): its escapes are kept, not escaped again. The
    proxy decodes the API path once, so its key for the route, ``/user/a b``,
    is what it matches decoded request paths against.
    """
    path = routespec if routespec == "/" else routespec.rstrip("/")
    if not path.startswith("/"):
        path = "/" + path  # host routing: "host/path/" -> "/host/path"
    return quote(path, safe="/%@:")


def routespec_from_api_path(key: str, *, host_routing: bool = False) -> str:
    """The inverse of ``api_path``: an API route key (decoded, no trailing slash) as a routespec.

    Escaped as ``Server.prefix`` escapes user and server names, so that the
    routes read back compare equal to the ones the hub wants. With host routing
    a key other than ``/`` starts with a host: ``/alice.hub.example.org/user/alice``
    is ``alice.hub.example.org/user/alice/``.
    """
    path = "/".join(escape_path_segment(segment) for segment in key.split("/"))
    if host_routing and path != "/":
        path = path.removeprefix("/")
    return path if path.endswith("/") else path + "/"
