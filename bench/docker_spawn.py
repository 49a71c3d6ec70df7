"""Docker spawn storm: kernelhub's Docker spawner against DockerSpawner on JupyterHub 6.1.1.

    python bench/docker_spawn.py              # 20 containers, about three minutes
    python bench/docker_spawn.py --servers 5  # a quick look

Both hubs start the same containers (the local single-user image of
``kernelhub_docker.local_image``, the host's jupyterhub-singleuser venv mounted
read-only, host networking on 127.0.0.1) on the same private Docker engine,
one hub after the other. The storm is bench/hub_spawn.py's: every server
requested at once through the REST API, each followed to ready, reached
through the proxy, then all stopped at once. Then one server is started and
its container killed (``docker kill``). Prints one table: seconds to all
ready and to all stopped, the hub process's CPU time over the storm, and how
long the hub took to notice the killed container, with kernelhub's ratio to
JupyterHub. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import httpx
import hub_spawn
from hub_targets import (
    ADMIN,
    HubUnderTest,
    JupyterHub,
    KernelHub,
    cpu_seconds,
    find_chp,
    user_names,
)
from kernelhub_docker.local_image import import_image
from kernelhub_docker.private_engine import private_engine

from kernel.testing.hub import merge, render_ini
from kernel.testing.pytest_plugin import sections_of

SINGLEUSER_VENV = Path(os.environ.get("KERNELHUB_SINGLEUSER_VENV", "/opt/kernelhub-singleuser"))
#: JupyterHub 6.1.1 with DockerSpawner, in a venv of their own made on first use.
DOCKERSPAWNER_VENV = Path(os.environ.get("KERNELHUB_DOCKERSPAWNER_VENV",
                                         "/var/tmp/kernelhub-bench-dockerspawner"))
#: 20 JupyterLab servers starting at once on 2 cores take a while: no hub gives up first.
TIMEOUT = 600


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class KernelHubOnDocker(KernelHub):
    """kernelhub with ``spawner_class = docker`` (the bench's own sections on top)."""

    def __init__(self, directory: Path, python: str, docker_host: str, image: str) -> None:
        super().__init__(directory, python)
        singleuser = str(SINGLEUSER_VENV)
        self.docker_sections = {
            "hub": {"spawner_class": "docker"},
            "spawner": {"cmd": f"{singleuser}/bin/jupyterhub-singleuser",
                        "start_timeout": str(TIMEOUT), "http_timeout": str(TIMEOUT)},
            "docker": {"host": docker_host, "image": image},
            "docker.volumes": {"kernelhub-bench-{username}": "/home/jovyan",
                               singleuser: f"{singleuser}:ro"},
        }

    def write_config(self) -> None:
        super().write_config()
        ini = self.directory / "hub.ini"
        ini.write_text(render_ini(merge(sections_of(ini.read_text()), self.docker_sections)))


#: Appended to JupyterHub's config: DockerSpawner with the same containers. On the host's
#: network DockerSpawner needs a subclass that picks each server's port and says where it is
#: (its documentation says so of network_mode=host).
DOCKERSPAWNER_CONFIG = """
from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port


class HostNetworkDockerSpawner(DockerSpawner):
    async def start(self):
        self.port = random_port()
        return await super().start()

    async def get_ip_and_port(self):
        return self.host_ip, self.port


c.JupyterHub.spawner_class = HostNetworkDockerSpawner
c.DockerSpawner.client_kwargs = {{"base_url": {docker_host!r}}}
c.DockerSpawner.image = {image!r}
c.DockerSpawner.pull_policy = "never"
c.DockerSpawner.network_name = "host"
# Not the default for "host": otherwise it asks for port bindings, which host mode refuses.
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.host_ip = "127.0.0.1"
c.DockerSpawner.ip = "127.0.0.1"
c.DockerSpawner.cmd = [{singleuser!r} + "/bin/jupyterhub-singleuser"]
c.DockerSpawner.volumes = {{"jupyterhub-bench-{{username}}": "/home/jovyan",
                            {singleuser!r}: {{"bind": {singleuser!r}, "mode": "ro"}}}}
c.DockerSpawner.extra_host_config = {{"init": True}}
c.DockerSpawner.extra_create_kwargs = {{"user": "1000:100", "working_dir": "/home/jovyan"}}
c.DockerSpawner.remove = True
c.Spawner.start_timeout = {timeout}
c.Spawner.http_timeout = {timeout}
"""


class JupyterHubOnDocker(JupyterHub):
    """JupyterHub 6.1.1 with DockerSpawner."""

    def __init__(self, directory: Path, python: str, chp: str, docker_host: str,
                 image: str) -> None:
        super().__init__(directory, python, DOCKERSPAWNER_VENV, chp)
        self.docker_config = DOCKERSPAWNER_CONFIG.format(
            docker_host=docker_host, image=image, singleuser=str(SINGLEUSER_VENV),
            timeout=TIMEOUT)

    def write_config(self) -> None:
        super().write_config()
        with (self.directory / "jupyterhub_config.py").open("a") as config:
            config.write(self.docker_config)


def ensure_dockerspawner_venv() -> None:
    if (DOCKERSPAWNER_VENV / "bin" / "jupyterhub").is_file() and subprocess.run(
            [DOCKERSPAWNER_VENV / "bin" / "python", "-c", "import dockerspawner"],
            capture_output=True).returncode == 0:
        return
    progress(f"Installing JupyterHub 6.1.1 and DockerSpawner into {DOCKERSPAWNER_VENV} ...")
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(DOCKERSPAWNER_VENV)], check=True)
    subprocess.run([DOCKERSPAWNER_VENV / "bin" / "pip", "install", "--quiet",
                    "jupyterhub==6.1.1", "dockerspawner"], check=True)


def run_storm(hub: HubUnderTest, users: list[str], engine: docker.DockerClient
              ) -> dict[str, float | None]:
    """Start the hub, make the users, and run the storm; its figures."""
    with hub.running():
        admin = {"Authorization": f"token {hub.config_token}"}
        made = httpx.post(f"http://127.0.0.1:{hub.hub_port}/hub/api/users", headers=admin,
                          json={"usernames": users}, timeout=60)
        if made.status_code != 201:
            sys.exit(f"{hub.name}: creating users answered {made.status_code}: {made.text}")
        token = hub.make_token(ADMIN)
        progress(f"{hub.name}: {len(users)} containers at once ...")
        cpu_before = cpu_seconds(hub.hub_pid)[0]
        storm = hub_spawn.storm(hub.hub_port, hub.public_port, token, users)
        cpu = cpu_seconds(hub.hub_pid)[0] - cpu_before
        # The low-level listing: the high-level one inspects each, racing their removal.
        left = engine.api.containers(all=True, filters={"name": "jupyter-"})
        progress(f"{hub.name}: docker kill of a running server's container ...")
        noticed = kill_noticed(hub, token, users[0], engine)
    for failure in storm.failures[:5]:
        progress(f"  {hub.name}: {failure.strip()}")
    if left:
        progress(f"  {hub.name}: {len(left)} container(s) left after the stop storm")
    return {"all ready, s": storm.all_ready, "median ready, s": storm.median(storm.ready),
            "all stopped, s": storm.all_stopped, "hub CPU over the storm, s": cpu,
            "docker kill noticed after, s": noticed,
            "failures": float(len(storm.failures))}


def kill_noticed(hub: HubUnderTest, token: str, user: str, engine: docker.DockerClient
                 ) -> float | None:
    """Start ``user``'s server, ``docker kill`` its container, and time until the hub's REST
    API no longer lists the server (both hubs at their default poll_interval, 30 s)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{hub.hub_port}/hub/api/",
                      headers={"Authorization": f"token {token}"}, timeout=TIMEOUT) as api:
        api.post(f"users/{user}/server")

        def servers() -> dict[str, object]:
            return api.get(f"users/{user}").json()["servers"]

        deadline = time.monotonic() + TIMEOUT
        while not servers().get("", {}).get("ready"):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)
        engine.api.kill(engine.api.containers(filters={"name": "jupyter-"})[0]["Id"])
        killed = time.monotonic()
        while "" in servers():
            if time.monotonic() - killed > 120:
                return None
            time.sleep(0.02)
        return time.monotonic() - killed


def table(ours: dict[str, float | None], theirs: dict[str, float | None], servers: int,
          versions: tuple[str, str], load: float) -> str:
    def cell(value: float | None) -> str:
        return "failed" if value is None else f"{value:.2f}"

    lines = [f"Docker spawn storm: {servers} containers at once "
             f"(load average before: {load:.1f})",
             f"  kernelhub: {versions[0]}", f"  JupyterHub: {versions[1]}", "",
             f"| {'':28} | kernelhub | JupyterHub + DockerSpawner | ratio |",
             f"|{'-' * 30}|-----------|----------------------------|-------|"]
    for row in ours:
        ratio = (f"{ours[row] / theirs[row]:.3g}" if ours[row] is not None
                 and theirs[row] not in (None, 0) else "")
        lines.append(f"| {row:28} | {cell(ours[row]):>9} | {cell(theirs[row]):>26} "
                     f"| {ratio:>5} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--servers", type=int, default=20, help="containers at once")
    parser.add_argument("--chp", help="the configurable-http-proxy command JupyterHub runs")
    parser.add_argument("--keep", action="store_true",
                        help="keep the hubs' folders (logs, databases), as a failure does")
    args = parser.parse_args()
    ensure_dockerspawner_venv()
    chp = find_chp(args.chp)
    python = os.environ.get("KERNELHUB_BENCH_PYTHON", sys.executable)
    users = user_names(1, args.servers)
    load = os.getloadavg()[0]
    scratch = Path(tempfile.mkdtemp(prefix="docker-bench-"))
    with private_engine() as private:
        docker_host = private.address
        engine = docker.DockerClient(base_url=docker_host, version="auto")
        image = import_image(engine)
        progress(f"Engine {docker_host}, image {image}")
        ours = KernelHubOnDocker(scratch / "kernelhub", python, docker_host, image)
        theirs = JupyterHubOnDocker(scratch / "jupyterhub", python, chp, docker_host, image)
        theirs.create_database()
        results = {}
        for hub in (ours, theirs):
            results[hub.name] = run_storm(hub, users, engine)
            time.sleep(2)  # let the engine settle between the hubs
        versions = (ours.version() + ", kernelhub-docker", theirs.version() + ", DockerSpawner")
        engine.close()
    print(table(results[ours.name], results[theirs.name], args.servers, versions, load))
    if args.keep or any(figures["failures"] for figures in results.values()):
        progress(f"The hubs' folders (logs, databases) are kept in {scratch}")
    else:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
