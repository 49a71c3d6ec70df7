"""Supervising a proxy process the hub runs: start, watch, take over, stop.

Both built-in proxies take configurable-http-proxy's command-line flags, so
``ProcessProxy`` starts, watches, takes over and stops either process; a
plugin only says which command to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kernel.proxy import ProxyError
from plugins.support.chp_client import RESTProxy

if TYPE_CHECKING:
    from kernel.hub import Hub

log = logging.getLogger("kernelhub.proxy")


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
            api_files, client_files = tls.proxy_api, tls.proxy_client
            args += ["--api-ssl-key", str(api_files.key), "--api-ssl-cert", str(api_files.cert),
                     "--api-ssl-ca", str(api_files.ca), "--api-ssl-request-cert",
                     "--api-ssl-reject-unauthorized",
                     "--client-ssl-key", str(client_files.key),
                     "--client-ssl-cert", str(client_files.cert),
                     "--client-ssl-ca", str(client_files.ca), "--client-ssl-request-cert",
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
