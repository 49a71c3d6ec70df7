"""The Spawner contract: what a spawner plugin's objects must do, and the environment they pass on.

A spawner plugin implements the ``spawn`` hook and returns a ``Spawner``
subclass instance for one user's server. The hub drives it:

1. hands it what the user chose (``load_user_options``, which may refuse),
   sets ``api_token``, ``oauth_client_id`` and the OAuth scopes, runs
   ``pre_spawn_start`` hooks, then awaits ``start()`` (within
   ``start_timeout``), while forwarding what ``progress()`` yields;
2. saves ``get_state()`` so that a restarted hub can ``load_state()`` and
   find the server again (a slow ``start()`` saves it earlier itself, with
   ``save_state()``);
3. checks that the server answers HTTP, routes it, then calls ``poll()``
   every ``poll_interval`` seconds;
4. awaits ``stop()`` and runs ``post_spawn_stop`` hooks.

The same contract serves servers that run elsewhere: a batch job (Slurm), a
container (Docker) or a pod. ``start`` may take as long as the queue does
(report where it is through ``progress``); it returns the address where the
server can be reached, which needs not be local. ``kernel.testing.spawner``
holds the conformance tests every spawner plugin should pass.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from kernel.urls import escape_path_segment

if TYPE_CHECKING:
    from kernel.api import Hub
    from kernel.tls import CertFiles
    from kernel.users import Server, User

_FIELD = re.compile(r"\{(\w+)\}")


class Spawner(ABC):
    """One user's server, as a spawner plugin runs it.

    The common ``[spawner]`` options are read into attributes here, so a
    subclass (or a ``pre_spawn_start`` hook) can change them per server.
    """

    def __init__(self, hub: Hub, user: User, server: Server) -> None:
        self.hub = hub
        self.user = user
        self.server = server
        options = hub.config.spawner
        self.cmd: list[str] = list(options.cmd)
        self.args: list[str] = list(options.args)
        self.env_keep: list[str] = list(options.env_keep)
        #: Extra variables, applied last; `{username}`-style fields are filled in.
        self.environment: dict[str, str] = dict(options.environment)
        self.ip: str = options.ip
        self.port: int = options.port
        self.start_timeout: float = options.start_timeout
        self.http_timeout: float = options.http_timeout
        self.poll_interval: float = options.poll_interval
        self.poll_jitter: float = options.poll_jitter
        self.notebook_dir: str = options.notebook_dir
        self.default_url: str = options.default_url
        self.disable_user_config: bool = options.disable_user_config
        self.debug: bool = options.debug
        self.limits = {
            "MEM_LIMIT": options.mem_limit, "CPU_LIMIT": options.cpu_limit,
            "MEM_GUARANTEE": options.mem_guarantee, "CPU_GUARANTEE": options.cpu_guarantee,
        }
        #: Set by the hub before start(): the server's own API token (also its OAuth secret).
        self.api_token: str = ""
        #: Set by the hub before start(): the server's OAuth client id, e.g. jupyterhub-user-alice.
        self.oauth_client_id: str = ""
        #: Scopes that grant access to this server (JUPYTERHUB_OAUTH_ACCESS_SCOPES).
        self.oauth_access_scopes: list[str] = []
        #: Scopes the server may request for its users' tokens.
        self.oauth_client_allowed_scopes: list[str] = list(options.oauth_client_allowed_scopes)
        #: Scopes of the server's own token; empty means the `server` role's.
        self.server_token_scopes: list[str] = list(options.server_token_scopes)
        #: With internal TLS, the server's certificate, set before start() by the plugin
        #: that provides it (after ``move_certs``): the server then serves HTTPS and
        #: is told where its files are (JUPYTERHUB_SSL_KEYFILE, _CERTFILE, _CLIENT_CA).
        self.cert_files: CertFiles | None = None
        #: What the user chose for this start (the options form's or the REST API's),
        #: as ``load_user_options`` accepted it.
        self.user_options: dict[str, Any] = {}

    @property
    def name(self) -> str:
        """The server's name ("" for the default server)."""
        return self.server.name

    # -- the contract -------------------------------------------------------

    @abstractmethod
    async def start(self) -> str | tuple[str, int]:
        """Start the server; return where it answers, as a URL or (ip, port).

        Return once the process (job, container) is launched; the hub then
        waits for it to answer HTTP. Raise an exception with a message for the
        user if it cannot start.
        """

    @abstractmethod
    async def poll(self) -> int | None:
        """``None`` while the server runs; an exit status (0 when unknown) once it stopped.

        Must answer 0 for a spawner that never started, and must work after
        ``load_state`` in a hub that restarted.
        """

    @abstractmethod
    async def stop(self, now: bool = False) -> None:
        """Stop the server and wait until it is gone. ``now``: skip the gentle steps."""

    async def move_certs(self, files: CertFiles) -> CertFiles:
        """Put the server's certificate files where the server can read them; their paths.

        The default leaves them where they are, which is right when the server
        runs as the hub's own user on this machine. A spawner that runs servers
        as other accounts, or elsewhere, copies them there.
        """
        return files

    def get_state(self) -> dict[str, Any]:
        """What the hub must save to find this server again after a restart (JSON)."""
        return {}

    async def save_state(self) -> None:
        """Save ``get_state()`` now, while ``start()`` is still running.

        For a spawner whose start goes on long after it launched something (a
        batch job waiting in its queue, a container being created): call it
        as soon as the state names that thing. A hub that stops meanwhile
        (killed, or shut down without ``cleanup_servers``) then does not lose
        it: the next hub loads the state and, while ``poll()`` says it runs,
        calls ``start()`` again, which must continue with what the state names
        instead of launching another. The hub saves the state by itself once
        ``start()`` returns.
        """
        await self.hub.lifecycle.save_state(self.server)

    def load_state(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional to override
        """Restore what ``get_state`` returned (at hub start-up)."""

    def clear_state(self) -> None:  # noqa: B027 - optional to override
        """Forget the server after it stopped."""

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        """Progress while starting: yield ``{"progress": 0-100, "message": ...}`` dicts.

        The hub follows this while ``start()`` runs and shows each message to
        the user (a queued batch job, an image being pulled). The default
        reports nothing.
        """
        return
        yield  # an async generator that yields nothing

    # -- what the user chooses --------------------------------------------------

    async def options_form(self) -> str:
        """The HTML fields a user fills in before this server starts ("" for none).

        The default is ``[spawner] options_form``. A spawner that offers
        choices of its own (a cluster's partitions, a list of images) builds
        them here; the spawn page wraps the fields in its form.
        """
        return self.hub.config.spawner.options_form

    def options_from_form(self, form: dict[str, list[str]]) -> dict[str, Any]:
        """The submitted form (each field's values) as ``user_options``.

        The default follows ``[spawner] options_from_form``: ``passthrough``
        keeps every field as its list of values; ``simple`` makes a single
        value a string and a checked box (``on``) ``True``.
        """
        if self.hub.config.spawner.options_from_form == "passthrough":
            return dict(form)
        simple: dict[str, Any] = {}
        for key, values in form.items():
            value: Any = values[0] if len(values) == 1 else values
            simple[key] = True if value == "on" else value
        return simple

    def load_user_options(self, options: dict[str, Any]) -> None:
        """Check and take what the user chose, before anything starts.

        Raise ``HubError(400, why)`` to refuse a choice: the spawn then fails
        with that message (and the REST API answers 400). The default takes
        the options as they are.
        """
        self.user_options = dict(options)

    # -- what the server is given ---------------------------------------------

    def format(self, template: str) -> str:
        """Fill ``{username}``, ``{servername}``, ``{userid}`` and ``{base_url}`` into text.

        Other braces are left as they are, so a value such as ``{"a": 1}`` is safe.
        """
        fields = {"username": self.user.name, "servername": self.name,
                  "userid": str(self.user.id), "base_url": self.hub.urls.base_url}
        return _FIELD.sub(lambda m: fields.get(m.group(1), m.group(0)), template)

    @property
    def scheme(self) -> str:
        """"https" when the server has a certificate (internal TLS), else "http"."""
        return "https" if self.cert_files is not None else "http"

    @property
    def service_url(self) -> str:
        """Where the server listens, with its prefix (JUPYTERHUB_SERVICE_URL)."""
        return f"{self.scheme}://{self.ip}:{self.port}{self.prefix}"

    @property
    def prefix(self) -> str:
        return self.server.prefix(self.hub.urls.base_url)

    def get_env(self) -> dict[str, str]:
        """The server's environment: the hub's single-user contract, then ``environment``."""
        env = contract_env(
            self.hub, env_keep=self.env_keep, api_token=self.api_token,
            client_id=self.oauth_client_id, user=self.user.name,
            callback_url=f"{self.server.link(self.hub.urls)}oauth_callback",
            public_url=self.server.link(self.hub.urls),
            access_scopes=self.oauth_access_scopes,
            allowed_scopes=self.oauth_client_allowed_scopes)
        env.update({
            "JUPYTERHUB_ACTIVITY_URL":
                f"{self.hub.urls.hub_api_url}/users/{escape_path_segment(self.user.name)}/activity",
            "JUPYTERHUB_SERVICE_PREFIX": self.prefix,
            "JUPYTERHUB_SERVICE_URL": self.service_url,
            "JUPYTERHUB_SERVER_NAME": self.name,
        })
        if self.hub.config.hub.admin_access:
            env["JUPYTERHUB_ADMIN_ACCESS"] = "1"
        if self.cert_files is not None:
            env.update(cert_env(self.cert_files))
        if self.notebook_dir:
            env["JUPYTERHUB_ROOT_DIR"] = self.format(self.notebook_dir)
        if self.default_url:
            env["JUPYTERHUB_DEFAULT_URL"] = self.format(self.default_url)
        if self.debug:
            env["JUPYTERHUB_DEBUG"] = "1"
        if self.disable_user_config:
            env["JUPYTERHUB_DISABLE_USER_CONFIG"] = "1"
        env.update({key: str(value) for key, value in self.limits.items() if value})
        env.update(self.user_env())
        env.update({key: self.format(value) for key, value in self.environment.items()})
        return env

    def user_env(self) -> dict[str, str]:
        """Variables describing the account the server runs as (USER, HOME, SHELL)."""
        return {}

    def get_args(self) -> list[str]:
        """The command line: ``cmd`` then ``args`` (nothing else; the rest is environment)."""
        return [*self.cmd, *self.args]


def server_url(where: str | tuple[str, int], scheme: str = "http") -> str:
    """What ``Spawner.start`` returned, as a URL without a trailing slash."""
    if isinstance(where, tuple):
        ip, port = where
        host = f"[{ip}]" if ":" in ip else (ip or "127.0.0.1")
        return f"{scheme}://{host}:{port}"
    return where.rstrip("/")


def cert_env(files: CertFiles) -> dict[str, str]:
    """Where a server or service finds its certificate (JupyterHub's variables)."""
    return {"JUPYTERHUB_SSL_KEYFILE": str(files.key), "JUPYTERHUB_SSL_CERTFILE": str(files.cert),
            "JUPYTERHUB_SSL_CLIENT_CA": str(files.ca)}


def contract_env(hub: Hub, *, env_keep: list[str], api_token: str, client_id: str, user: str,
                 callback_url: str, public_url: str, access_scopes: list[str],
                 allowed_scopes: list[str]) -> dict[str, str]:
    """What every process the hub starts with a token is told (JupyterHub's single-user
    contract, shared by servers and managed services): the variables of ``env_keep``
    from the hub's own environment, its token and OAuth client, and where the hub is."""
    env = {key: os.environ[key] for key in env_keep if key in os.environ}
    env.update({
        "JUPYTERHUB_API_TOKEN": api_token,
        "JPY_API_TOKEN": api_token,
        "JUPYTERHUB_CLIENT_ID": client_id,
        "JUPYTERHUB_API_URL": hub.urls.hub_api_url,
        "JUPYTERHUB_BASE_URL": hub.urls.base_url,
        "JUPYTERHUB_USER": user,
        # With subdomains: where the hub is, for logins from the server's own host.
        "JUPYTERHUB_HOST": hub.urls.subdomain_host,
        "JUPYTERHUB_OAUTH_CALLBACK_URL": callback_url,
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps(access_scopes),
        "JUPYTERHUB_OAUTH_SCOPES": json.dumps(access_scopes),
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": json.dumps(allowed_scopes),
        "JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED": str(int(
            hub.config.hub.cookie_host_prefix_enabled)),
        # A full URL only when it is on a host of its own, as in JupyterHub.
        "JUPYTERHUB_PUBLIC_URL": public_url if "://" in public_url else "",
        "JUPYTERHUB_PUBLIC_HUB_URL": "",
    })
    return env
