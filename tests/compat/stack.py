"""The two hubs of the compatibility test, started from the same jupyterhub_config.py.

JupyterHub 6.1.1 runs the file itself, behind the configurable-http-proxy it
starts; kernelhub runs the hub.ini that ``kernel import-config`` writes from
the file, behind the kernel-proxy it starts. Both listen on loopback, on free
ports that the file reads from the environment.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from kernel.testing.hub import free_port, stop_process, wait_until

CONFIG = Path(__file__).with_name("jupyterhub_config.py")
PASSWORD = "compat-password"
ADMIN_TOKEN = "compat-admin-token-0123456789"
ROBOT_TOKEN = "compat-robot-token-0123456789"
CULLER_TOKEN = "compat-culler-token-0123456789"


@dataclass
class Hub:
    """One hub of the pair: its name (``jupyterhub`` or ``kernelhub``), public URL, folder."""

    name: str
    url: str
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        return self.directory / "hub.log"

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def config_environment(directory: Path, singleuser: Path) -> dict[str, str]:
    """What jupyterhub_config.py reads: free ports, the folder, the known secrets."""
    return {
        "COMPAT_DIR": str(directory),
        "COMPAT_PUBLIC_PORT": str(free_port()),
        "COMPAT_HUB_PORT": str(free_port()),
        "COMPAT_PROXY_API_PORT": str(free_port()),
        "COMPAT_PASSWORD": PASSWORD,
        "COMPAT_SINGLEUSER": str(singleuser),
        "COMPAT_ADMIN_TOKEN": ADMIN_TOKEN,
        "COMPAT_ROBOT_TOKEN": ROBOT_TOKEN,
        "COMPAT_CULLER_TOKEN": CULLER_TOKEN,
    }


def _started(command: list[str], directory: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(directory / "hub.log", "ab") as log:
        return subprocess.Popen(command, cwd=directory, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)


def start_jupyterhub(directory: Path, jupyterhub: Path, chp: Path, singleuser: Path) -> Hub:
    directory.mkdir(parents=True, exist_ok=True)
    config = config_environment(directory, singleuser)
    env = {**os.environ, **config,
           # JupyterHub starts `configurable-http-proxy` from PATH, as in a deployment.
           "PATH": f"{chp.parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CONFIGPROXY_AUTH_TOKEN", None)
    env.pop("JPY_COOKIE_SECRET", None)
    process = _started([str(jupyterhub), "-f", str(CONFIG)], directory, env)
    return Hub("jupyterhub", f"http://127.0.0.1:{config['COMPAT_PUBLIC_PORT']}", directory,
               process)


def import_config(directory: Path, singleuser: Path) -> tuple[Path, dict[str, str], str]:
    """hub.ini from jupyterhub_config.py, through `kernel import-config`; the file, the
    environment it was written with, and what import-config said it could not translate."""
    directory.mkdir(parents=True, exist_ok=True)
    config = config_environment(directory, singleuser)
    ini = directory / "hub.ini"
    done = subprocess.run(
        [sys.executable, "-m", "kernel", "import-config", str(CONFIG), "-o", str(ini), "-y"],
        env={**os.environ, **config}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"kernel import-config failed:\n{done.stdout}{done.stderr}")
    return ini, config, done.stderr


def start_kernelhub(directory: Path, singleuser: Path) -> tuple[Hub, str]:
    ini, config, skipped = import_config(directory, singleuser)
    env = {**os.environ, **config, "PYTHONUNBUFFERED": "1"}
    env.pop("CONFIGPROXY_AUTH_TOKEN", None)
    env.pop("JPY_COOKIE_SECRET", None)
    process = _started([sys.executable, "-m", "kernel", "serve", "-c", str(ini)], directory, env)
    return Hub("kernelhub", f"http://127.0.0.1:{config['COMPAT_PUBLIC_PORT']}", directory,
               process), skipped


def wait_healthy(hub: Hub, timeout: float = 90) -> None:
    def healthy() -> bool:
        if hub.process.poll() is not None:
            raise AssertionError(f"{hub.name} exited at start-up:\n{hub.tail()}")
        return httpx.get(f"{hub.url}/hub/health", timeout=2).status_code == 200

    wait_until(healthy, timeout, interval=0.2, what=f"{hub.name} is healthy", log=hub.log)


@contextlib.contextmanager
def both_hubs(directory: Path, jupyterhub: Path, chp: Path, singleuser: Path
              ) -> Iterator[tuple[Hub, Hub, str]]:
    """JupyterHub and kernelhub, healthy, until the block ends; with import-config's
    list of what it did not translate."""
    reference = start_jupyterhub(directory / "jupyterhub", jupyterhub, chp, singleuser)
    candidate: Hub | None = None
    try:
        candidate, skipped = start_kernelhub(directory / "kernelhub", singleuser)
        wait_healthy(reference)
        wait_healthy(candidate)
        yield reference, candidate, skipped
    finally:
        for hub in (candidate, reference):
            if hub is not None:
                stop_process(hub.process, timeout=30)
