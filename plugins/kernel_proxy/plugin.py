"""The `kernel-proxy` plugin (the default proxy): the hub starts and drives kernelhub's proxy.

The proxy itself is a separate process (``python -m plugins.kernel_proxy``,
or ``kernel proxy``) that serves configurable-http-proxy's REST API and
command-line flags, so it also works in front of JupyterHub. This module is
the plugin side: it starts that process when ``[proxy] should_start`` is on,
watches it, and drives its routes through ``kernel.proxy.RESTProxy``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from kernel import hookimpl
from kernel.config import OptionRegistry
from kernel.config.types import Boolean, Command, Text
from kernel.hub import Hub
from kernel.proxy import ProxyError, RESTProxy

log = logging.getLogger("kernelhub.proxy")

SECTION = "kernel-proxy"


class KernelProxy(RESTProxy):
    """Starts and supervises the kernel-proxy process."""

    #: Seconds the new process has to answer its API.
    start_timeout = 15.0

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        options = hub.config.section(SECTION)
        self.command: list[str] = list(options.command) or [
            sys.executable, "-m", "plugins.kernel_proxy"]
        self.debug: bool = options.debug
        self.pid_file = Path(options.pid_file)
        self.process: asyncio.subprocess.Process | None = None

    def command_line(self) -> list[str]:
        urls = self.hub.urls
        api = urlsplit(self.api_url)
        args = [
            *self.command,
            "--ip", urls.public_ip, "--port", str(urls.public_port),
            "--api-ip", api.hostname or "127.0.0.1", "--api-port", str(api.port or 8001),
            "--error-target", f"{urls.hub_connect}{urls.hub_prefix}error",
            "--log-level", "debug" if self.debug else "info",
        ]
        options = self.hub.config.hub
        if options.ssl_cert:
            args += ["--ssl-cert", options.ssl_cert, "--ssl-key", options.ssl_key]
        return args

    async def start(self) -> None:
        if await self._adopt_previous():
            return
        env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": self.auth_token}
        command = self.command_line()
        log.info("Starting the proxy: %s", " ".join(command))
        self.process = await asyncio.create_subprocess_exec(
            *command, env=env, start_new_session=True)
        self.pid_file.write_text(f"{self.process.pid}\n")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        while not await self.api_is_up():
            if self.process.returncode is not None:
                raise ProxyError(f"the proxy exited with status {self.process.returncode} at "
                                 f"start-up (is port {self.hub.urls.public_port} or "
                                 f"{self.api_url} already in use?); its log is above")
            if loop.time() > deadline:
                raise ProxyError(f"the proxy did not answer at {self.api_url} within "
                                 f"{self.start_timeout:g} seconds")
            await asyncio.sleep(0.05)
        log.info("The proxy is up: public %s, API %s", self.hub.urls.public_url, self.api_url)

    async def _adopt_previous(self) -> bool:
        """Keep a proxy a previous hub left running (cleanup_proxy = false), if it is ours."""
        pid = self._previous_pid()
        if pid is None:
            return False
        if await self.api_is_up():
            log.info("Taking over the proxy left running by the previous hub (pid %d)", pid)
            return True
        log.warning("Stopping the old proxy (pid %d): its API does not accept our token", pid)
        await _terminate(pid)
        return False

    def _previous_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    async def is_running(self) -> bool:
        if self.process is not None and self.process.returncode is not None:
            return False
        return await self.api_is_up()

    async def stop(self) -> None:
        pid = self.process.pid if self.process is not None else self._previous_pid()
        if pid is not None:
            await _terminate(pid)
        if self.process is not None:
            await self.process.wait()
        self.pid_file.unlink(missing_ok=True)


async def _terminate(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout``."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        for _ in range(int(timeout / 0.05)):
            await asyncio.sleep(0.05)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return


@hookimpl
def declare_options(options: OptionRegistry) -> None:
    options.add(SECTION, "command", Command(), [],
                "The command that runs the proxy (default: this Python with "
                "-m plugins.kernel_proxy); the hub adds configurable-http-proxy's flags.")
    options.add(SECTION, "debug", Boolean(), False, "Log every proxied request.")
    options.add(SECTION, "pid_file", Text(), "kernelhub-proxy.pid",
                "Where the hub records the proxy's process id, to find it after a restart.")


@hookimpl
def route(hub: Hub) -> KernelProxy:
    return KernelProxy(hub)


@hookimpl
def cli_commands(cli: click.Group) -> None:
    @cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def proxy(args: tuple[str, ...]) -> None:
        """Run kernelhub's proxy (configurable-http-proxy's flags; --help lists them)."""
        from plugins.kernel_proxy.server import main

        main(list(args))
