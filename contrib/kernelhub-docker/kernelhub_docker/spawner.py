"""``DockerSpawner``: each server is a container, found again by its id after a hub restart."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import socket
from typing import TYPE_CHECKING, Any

from docker.errors import NotFound

from kernel.api import CertFiles, HubError, Spawner

from .certs import CERTS_IN_CONTAINER, copy_for_container, in_container
from .engine import Engine, engine_of
from .options import (
    ALLOWED_IMAGES,
    EXTRA_HOST_CONFIG,
    HUB_LABEL,
    IMAGE,
    NAME_TEMPLATE,
    NETWORK,
    PULL,
    REMOVE,
    STOP_GRACE,
    USER,
    VOLUMES,
    WORK_DIR,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from kernel.api import Hub, Server, User

log = logging.getLogger("kernelhub.docker")

#: Labels on every container this plugin makes: which hub, whose server.
HUB_LABEL_KEY = "kernelhub.hub"
USER_LABEL_KEY = "kernelhub.user"
SERVER_LABEL_KEY = "kernelhub.server"
#: Where a server listens inside its container on a network other than the host's.
CONTAINER_PORT = 8888
#: What Docker allows in a container's name after its first character.
_UNSAFE_IN_NAME = re.compile(r"[^a-zA-Z0-9_.-]")


def container_name(template: str, username: str, servername: str) -> str:
    """The template filled in, characters Docker refuses escaped as ``_xx`` (their hex),
    and trailing dashes dropped (the default server's empty name)."""
    def safe(text: str) -> str:
        return _UNSAFE_IN_NAME.sub(lambda m: "".join(f"_{b:02x}" for b in
                                                     m.group(0).encode()), text)

    name = template.replace("{username}", safe(username)).replace("{servername}",
                                                                   safe(servername))
    return name.rstrip("-")


def free_port(ip: str) -> int:
    """A TCP port free on ``ip`` right now, for a server on the host's network."""
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


class DockerSpawner(Spawner):
    """One user's server as a Docker container (see the package's README)."""

    def __init__(self, hub: Hub, user: User, server: Server) -> None:
        super().__init__(hub, user, server)
        config = hub.config
        self.image: str = (config[ALLOWED_IMAGES] or [config[IMAGE]])[0]
        self.network: str = config[NETWORK]
        self.container_id: str = ""
        #: With internal TLS: the host folder of the certificate copies the container mounts.
        self.cert_folder: Path | None = None
        self._progress: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._starting = False

    @property
    def engine(self) -> Engine:
        return engine_of(self.hub)

    @property
    def container_name(self) -> str:
        return container_name(self.hub.config[NAME_TEMPLATE], self.user.name, self.name)

    # -- what the user chooses --------------------------------------------------

    async def options_form(self) -> str:
        allowed = self.hub.config[ALLOWED_IMAGES]
        if len(allowed) < 2:
            return await super().options_form()
        choices = "".join(f'<option value="{html.escape(image)}">{html.escape(image)}</option>'
                          for image in allowed)
        return (f'<label for="image">Image</label>\n'
                f'<select name="image" id="image" class="form-control">{choices}</select>')

    def options_from_form(self, form: dict[str, list[str]]) -> dict[str, Any]:
        chosen = form.get("image", [])
        return {"image": chosen[0]} if chosen else {}

    def load_user_options(self, options: dict[str, Any]) -> None:
        image = options.get("image")
        if image is not None:
            allowed = self.hub.config[ALLOWED_IMAGES]
            if image not in allowed:
                offered = ", ".join(allowed) if allowed else "none (this hub runs one image)"
                raise HubError(400, f"Image {image!r} is not allowed here; the images you may "
                                    f"choose are: {offered}")
            self.image = image
        super().load_user_options(options)

    # -- the contract -------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        self._starting = True
        try:
            return await self._start()
        finally:
            self._starting = False
            self._progress.put_nowait(None)

    async def _start(self) -> tuple[str, int]:
        if self.container_id and await self.engine.inspect(self.container_id):
            # The start a previous hub began and saved (save_state): continue with its
            # container; its environment holds this server's token, which the hub kept.
            log.info("Continuing the start of container %s of %s", self.container_id[:12],
                     self.server.log_name)
        else:
            await self._create_container()
        self._report(60, f"Starting container {self.container_name}")
        await self.engine.api("start", self.container_id)  # a running one stays as it is
        if self.network == "host":
            return self.ip, self.port
        return await self._address_on_network(), self.port

    async def _create_container(self) -> None:
        await self._ensure_image()
        await self._remove_stale_container()
        if self.network == "host":
            self.port = self.port or await self.engine.call(free_port, self.ip)
        else:
            self.ip, self.port = "0.0.0.0", self.port or CONTAINER_PORT
        self._report(30, f"Creating container {self.container_name}")
        # In a worker thread: building the host config may ask the engine its API version.
        config = await self.engine.call(self._container_config)
        created = await self.engine.api("create_container", **config)
        self.container_id = created["Id"]
        # A hub stopped from now on leaves the next one this container to continue with.
        await self.save_state()
        log.info("Created container %s (%s) for %s from %s", self.container_name,
                 self.container_id[:12], self.server.log_name, self.image)

    async def poll(self) -> int | None:
        if not self.container_id:
            return 0
        details = await self.engine.inspect(self.container_id)
        if details is None:
            return 0
        state = details["State"]
        return None if state["Running"] else int(state["ExitCode"])

    async def stop(self, now: bool = False) -> None:
        if not self.container_id:
            return
        grace = 0 if now else self.hub.config[STOP_GRACE]
        # Docker's own stop: SIGTERM (or the image's STOPSIGNAL), SIGKILL after the grace.
        await self._ignoring_gone("stop", self.container_id, timeout=int(grace))
        if self.hub.config[REMOVE]:
            await self._ignoring_gone("remove_container", self.container_id)
            log.info("Removed container %s of %s (volumes kept)", self.container_id[:12],
                     self.server.log_name)

    async def move_certs(self, files: CertFiles) -> CertFiles:
        """Copies owned by the container's user, in a folder it mounts read-only."""
        self.cert_folder = await asyncio.to_thread(copy_for_container, files,
                                                   self.hub.config[USER])
        return in_container(files)

    def get_state(self) -> dict[str, Any]:
        if not self.container_id:
            return {}
        return {"container_id": self.container_id, "port": self.port}

    def load_state(self, state: dict[str, Any]) -> None:
        self.container_id = state.get("container_id", "")
        self.port = state.get("port", self.port)
        if self.network != "host":
            self.ip = "0.0.0.0"

    def clear_state(self) -> None:
        self.container_id = ""

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        if not self._starting:
            return
        while (event := await self._progress.get()) is not None:
            yield event

    # -- what the server is given -------------------------------------------------

    def user_env(self) -> dict[str, str]:
        work_dir = self.hub.config[WORK_DIR]
        env = {"USER": self.user.name, "JUPYTER_IMAGE_SPEC": self.image,
               "JUPYTER_IMAGE": self.image}
        if work_dir:
            env["HOME"] = work_dir
        return env

    # -- the container ------------------------------------------------------------

    def _container_config(self) -> dict[str, Any]:
        """``create_container``'s arguments: command, environment, labels, mounts, limits."""
        config = self.hub.config
        host_config = self.engine.client.api.create_host_config(
            binds=self._binds(), network_mode=self.network, init=True,
            **self._limits(), **config[EXTRA_HOST_CONFIG])
        labels = {HUB_LABEL_KEY: config[HUB_LABEL], USER_LABEL_KEY: self.user.name,
                  SERVER_LABEL_KEY: self.name}
        container: dict[str, Any] = {
            "image": self.image, "name": self.container_name, "command": self.get_args(),
            "environment": self.get_env(), "labels": labels, "host_config": host_config,
            "working_dir": config[WORK_DIR] or None, "user": config[USER] or None,
        }
        if self.network != "host":
            container["ports"] = [self.port]
            container["networking_config"] = self.engine.client.api.create_networking_config(
                {self.network: self.engine.client.api.create_endpoint_config()})
        return container

    def _binds(self) -> dict[str, dict[str, str]]:
        """``[docker] volumes`` as the SDK's binds: named volumes and host paths alike."""
        binds = {}
        for source, target in self.hub.config[VOLUMES].items():
            path, _, mode = self.format(target).partition(":")
            binds[self.format(source)] = {"bind": path, "mode": mode or "rw"}
        if self.cert_folder is not None:
            binds[str(self.cert_folder)] = {"bind": str(CERTS_IN_CONTAINER), "mode": "ro"}
        return binds

    def _limits(self) -> dict[str, Any]:
        """The ``[spawner]`` limits as Docker's: memory, CPU quota, and their reservations."""
        limits: dict[str, Any] = {}
        if self.limits["MEM_LIMIT"]:
            limits["mem_limit"] = self.limits["MEM_LIMIT"]
        if self.limits["MEM_GUARANTEE"]:
            limits["mem_reservation"] = self.limits["MEM_GUARANTEE"]
        if self.limits["CPU_LIMIT"]:
            limits["nano_cpus"] = int(float(self.limits["CPU_LIMIT"]) * 1e9)
        if self.limits["CPU_GUARANTEE"]:
            # Docker has no CPU reservation: a share weight of 1024 per guaranteed CPU.
            limits["cpu_shares"] = int(float(self.limits["CPU_GUARANTEE"]) * 1024)
        return limits

    async def _ensure_image(self) -> None:
        policy = self.hub.config[PULL]
        if policy != "always" and await self.engine.has_image(self.image):
            return
        if policy == "never":
            raise RuntimeError(f"image {self.image} is not on the Docker host, and [docker] "
                               "pull_policy = never: build or load it there")
        self._report(10, f"Pulling image {self.image}")
        try:
            await self.engine.pull(self.image)
        except Exception as e:
            raise RuntimeError(f"cannot pull image {self.image} ({e}); build or load it on "
                               "the Docker host, or check [docker] image and pull_policy"
                               ) from e

    async def _remove_stale_container(self) -> None:
        """A container left under this server's name (kept by ``remove = false``, or by a
        hub that lost track of it) holds an old token: replace it."""
        details = await self.engine.inspect(self.container_name)
        if details is None:
            return
        log.info("Replacing the previous container %s of %s", details["Id"][:12],
                 self.server.log_name)
        await self._ignoring_gone("remove_container", details["Id"], force=True)

    async def _address_on_network(self) -> str:
        details = await self.engine.inspect(self.container_id)
        address = ((details or {}).get("NetworkSettings", {}).get("Networks", {})
                   .get(self.network, {}).get("IPAddress"))
        if not address:
            raise RuntimeError(f"container {self.container_name} has no address on network "
                               f"{self.network!r}: check [docker] network")
        return address

    async def _ignoring_gone(self, method: str, *args: Any, **kwargs: Any) -> None:
        try:
            await self.engine.api(method, *args, **kwargs)
        except NotFound:
            log.info("Container %s of %s is already gone", args[0][:12], self.server.log_name)

    def _report(self, percent: int, message: str) -> None:
        self._progress.put_nowait({"progress": percent, "message": message})
