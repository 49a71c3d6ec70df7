"""A managed service: the process the hub runs for a ``[service:NAME]`` with a command.

It starts once the hub's API answers (a service usually calls it at once),
with the single-user contract's environment adapted as JupyterHub adapts it
for services: no activity URL, ``JUPYTERHUB_SERVICE_NAME``, the service's
URL and prefix when it has a URL, access scopes ``access:services`` and
``access:services!service=NAME``, ``JUPYTERHUB_USER`` = the account it runs
as, with internal TLS a certificate of its own (``JUPYTERHUB_SSL_*``), and
the section's ``environment`` last. When it exits it is started
again after a pause that doubles with each quick exit (1 s up to a minute),
so a service that cannot start does not spin; a run that lasted a minute
resets the pause.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import shlex
import signal
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from kernel.config.core_options import DEFAULT_ENV_KEEP
from kernel.hub import Hub
from kernel.readiness import NotReady, wait_for_http
from kernel.services import Service
from kernel.spawner import cert_env, contract_env
from kernel.tls import copy_for_account
from plugins.services.health import record
from plugins.support.process import ChildProcess, ProcessError, switch_to, unix_account

log = logging.getLogger("kernelhub.services")

#: Pauses before a restart: the first, the longest, and how long a run must last to reset.
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 60.0
STEADY_RUN = 60.0
#: How a service is stopped: ask, then insist.
STOP_STEPS = ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0))


class ManagedService:
    """Runs one managed service until ``stop``."""

    def __init__(self, hub: Hub, service: Service) -> None:
        self.hub = hub
        self.service = service
        self.child = ChildProcess()
        self.restarts = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"service {self.service.name}")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.child.pid:
            log.info("Stopping service %s (pid %d)", self.service.name, self.child.pid)
            if not await self.child.stop(STOP_STEPS):
                log.error("Service %s (pid %d) did not exit after SIGKILL",
                          self.service.name, self.child.pid)
        self.child.forget()
        self.service.pid = 0

    async def _run(self) -> None:
        await self._hub_answers()
        pause = FIRST_PAUSE
        while True:
            began = time.monotonic()
            status = await self._run_once()
            if time.monotonic() - began >= STEADY_RUN:
                pause = FIRST_PAUSE
            log.error("Service %s %s; starting it again in %g s", self.service.name, status,
                      pause)
            self.service.health.set("down", status)
            self.hub.emit("service.exited", service=self.service.name, reason=status)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
            self.restarts += 1

    async def _run_once(self) -> str:
        """Start the process and wait for it to end; what happened, for the log."""
        spec = self.service.spec
        try:
            await self.child.start(list(spec.command), env=self._environment(),
                                   cwd=spec.cwd or None, as_user=self._account_switch())
        except ProcessError as e:
            return f"could not start: {e}"
        self.service.pid = self.child.pid
        log.info("Started service %s (pid %d): %s", spec.name, self.child.pid,
                 shlex.join(spec.command))
        self.hub.emit("service.started", service=spec.name, pid=self.child.pid)
        if spec.url:
            await self._wait_until_answering()
        assert self.child.process is not None
        code = await self.child.process.wait()
        self.child.forget()
        self.service.pid = 0
        return f"exited with status {code}"

    async def _wait_until_answering(self) -> None:
        """Wait for the service's URL, as JupyterHub does at start; only ever logs."""
        spec = self.service.spec
        assert self.hub.http is not None
        try:
            await wait_for_http(self.hub.http, spec.url, spec.timeout, self.child.poll)
        except NotReady as e:
            if not e.exited:  # an exit is reported when the process is reaped
                record(self.hub, self.service, f"no answer at {spec.url} within "
                                               f"{spec.timeout:g} s of starting")
            return
        record(self.hub, self.service, None)

    async def _hub_answers(self) -> None:
        """Wait until the hub's API answers: the web server listens only after start-up."""
        assert self.hub.http is not None
        while True:
            try:
                await wait_for_http(self.hub.http, f"{self.hub.urls.hub_api_url}/", 60.0)
                return
            except NotReady:
                log.warning("The hub's API does not answer yet; service %s waits for it",
                            self.service.name)

    def _environment(self) -> dict[str, str]:
        spec = self.service.spec
        prefix = self.service.prefix(self.hub.urls.base_url)
        env = contract_env(
            self.hub, env_keep=DEFAULT_ENV_KEEP, api_token=self.service.api_token or "",
            client_id=spec.oauth_client_id, user=spec.user,
            callback_url=spec.oauth_redirect_uri,
            public_url=self.service.link(self.hub.urls) if spec.url else "",
            access_scopes=["access:services", f"access:services!service={spec.name}"],
            allowed_scopes=list(spec.oauth_client_allowed_scopes))
        env["JUPYTERHUB_SERVICE_NAME"] = spec.name
        if spec.url:
            env["JUPYTERHUB_SERVICE_URL"] = spec.url
            env["JUPYTERHUB_SERVICE_PREFIX"] = prefix
        account = unix_account(spec.user) if spec.user else None
        if account is not None:
            env.update(USER=account.pw_name, HOME=account.pw_dir, SHELL=account.pw_shell)
        if self.hub.tls is not None:
            files = self.hub.tls.issue(spec.name, kind="service",
                                       alt_names=_alt_names(spec.url))
            env.update(cert_env(copy_for_account(files, account) if account else files))
        env.update(spec.environment)
        return env

    def _account_switch(self) -> Callable[[], None] | None:
        if not self.service.spec.user:
            return None
        return switch_to(unix_account(self.service.spec.user))


def _alt_names(url: str) -> list[str]:
    """The name of the host a service's URL points at, for its certificate."""
    host = urlsplit(url).hostname if url else None
    if not host:
        return []
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return [f"DNS:{host}"]
    return [f"IP:{host}"]
