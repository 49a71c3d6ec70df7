"""Running a real hub in tests: `kernel serve` on free ports, and a browser-like client.

    with running_hub(tmp_path, {"hub": {"allow_named_servers": "true"}}) as hub:
        client = hub.client()
        client.login("alice")
        client.get(hub.url + "hub/spawn")

The hub runs with the ``dummy`` authenticator (password ``test-password``),
the ``simple`` spawner running ``kernel.testing.mockserver``, kernel-proxy,
and SQLite, all inside the given folder; pass sections to change any of it.
Its log is in ``hub.log`` in that folder and is printed when start-up fails.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

if TYPE_CHECKING:
    from starlette.applications import Starlette

PASSWORD = "test-password"
#: How many times running_hub picks new ports when one it picked was taken meanwhile.
START_ATTEMPTS = 3
#: What the hub and kernel-proxy log when a port they bind is taken (lower case).
PORT_TAKEN = "address already in use"


T = TypeVar("T")

#: What a condition may raise while the process it asks is still starting or restarting.
NOT_YET = (httpx.TransportError, OSError, ValueError)


def wait_until(condition: Callable[[], T], timeout: float = 20.0, *, interval: float = 0.05,
               what: str = "", log: Path | None = None) -> T:
    """The first truthy value of ``condition()``, asked every ``interval`` seconds.

    A refused connection or a half-written answer (``NOT_YET``) counts as not yet.
    After ``timeout`` seconds, an AssertionError says ``what`` was awaited, the last
    such error, and the end of ``log`` (a process's log file) when given.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except NOT_YET as e:
            last_error = e
        else:
            if value:
                return value
        time.sleep(interval)
    message = f"{what or condition}: not true within {timeout} s"
    if last_error is not None:
        message += f" (last error: {last_error!r})"
    if log is not None and log.exists():
        message += "\n" + log.read_text(errors="replace")[-5000:]
    raise AssertionError(message)


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0,
                 signum: int = signal.SIGTERM) -> int:
    """Signal ``process`` (SIGTERM), give it ``timeout`` seconds, then kill it; its status."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_ini(sections: dict[str, dict[str, str]]) -> str:
    return "".join(
        f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in items.items()) + "\n"
        for name, items in sections.items()
    )


def merge(base: dict[str, dict[str, str]],
          extra: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]]:
    """``base`` updated with ``extra``; the dummy, simple and kernel-proxy sections go when
    another plugin does their job."""
    merged = {name: dict(items) for name, items in base.items()}
    for name, items in (extra or {}).items():
        merged.setdefault(name, {}).update(items)
    hub = merged.get("hub", {})
    # (role, the plugin the defaults configure for it, the hub's own default for the role)
    for role, plugin, default in (("authenticator_class", "dummy", "pam"),
                                  ("spawner_class", "simple", "localprocess"),
                                  ("proxy_class", "kernel-proxy", "kernel-proxy")):
        if hub.get(role, default) != plugin and plugin not in (extra or {}):
            merged.pop(plugin, None)
    return merged


class PortTaken(RuntimeError):
    """The hub exited at start-up because a port it was to listen on was taken."""


@dataclass
class HubProcess:
    directory: Path
    public_port: int
    hub_port: int
    proxy_api_port: int
    process: subprocess.Popen[bytes] | None = None
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Plugins the hub finds as if installed: {name: "module" or "module:object"}.
    plugins: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The public address, through the proxy (ends with the base URL)."""
        base = self.sections.get("hub", {}).get("base_url", "/").strip("/")
        return f"http://127.0.0.1:{self.public_port}/" + (f"{base}/" if base else "")

    @property
    def hub_url(self) -> str:
        """The hub's own address, bypassing the proxy."""
        return f"http://127.0.0.1:{self.hub_port}/"

    @property
    def log(self) -> str:
        path = self.directory / "hub.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, **kwargs: Any) -> HubClient:
        return HubClient(self, **kwargs)

    def start(self, timeout: float = 30.0) -> None:
        """Start ``kernel serve`` and wait until ``/hub/health`` answers; PortTaken when
        one of the hub's ports was taken, RuntimeError when it fails otherwise."""
        ini = self.directory / "hub.ini"
        ini.write_text(render_ini(self.sections))
        log_path = self.directory / "hub.log"
        log_start = log_path.stat().st_size if log_path.exists() else 0
        log = open(log_path, "ab")  # noqa: SIM115 - the child keeps it
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.plugins:
            env["PYTHONPATH"] = os.pathsep.join(
                [*_installable(self.plugins, self.directory / "plugins"),
                 *filter(None, [os.environ.get("PYTHONPATH")])])
        env.pop("JPY_COOKIE_SECRET", None)
        env.pop("CONFIGPROXY_AUTH_TOKEN", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kernel", "serve", "-c", str(ini)],
            cwd=self.directory, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                this_start = log_path.read_bytes()[log_start:].decode(errors="replace")
                error = PortTaken if PORT_TAKEN in this_start.lower() else RuntimeError
                raise error(f"the hub exited with {self.process.returncode} at start-up; "
                            f"its log:\n{self.log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}hub/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the hub did not answer within {timeout} s; its log:\n{self.log}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> int | None:
        """Signal the hub and wait for it to exit; its exit status."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()


def _installable(plugins: dict[str, str], directory: Path) -> list[str]:
    """Folders that make ``plugins`` visible to a new Python process as installed ones.

    An entry-point record in ``directory`` (what ``pip install`` writes) names them
    in the ``kernelhub`` group; the folders their modules are imported from follow.
    """
    record = directory / "kernelhub_test_plugins-0.dist-info"
    record.mkdir(parents=True, exist_ok=True)
    (record / "METADATA").write_text("Metadata-Version: 2.1\nName: kernelhub-test-plugins\n"
                                     "Version: 0\n")
    (record / "entry_points.txt").write_text(
        "[kernelhub]\n" + "".join(f"{name} = {target}\n" for name, target in plugins.items()))
    folders = [str(directory)]
    for target in plugins.values():
        module_name = target.partition(":")[0]
        module = importlib.import_module(module_name)
        depth = module_name.count(".") + (1 if Path(module.__file__ or "").name ==
                                          "__init__.py" else 0)
        folders.append(str(Path(module.__file__ or "").parents[depth]))
    return list(dict.fromkeys(folders))


def default_sections(directory: Path, hub: HubProcess) -> dict[str, dict[str, str]]:
    return {
        "hub": {
            "authenticator_class": "dummy",
            "spawner_class": "simple",
            "ip": "127.0.0.1",
            "port": str(hub.public_port),
            "hub_port": str(hub.hub_port),
            "db_url": f"sqlite:///{directory / 'hub.sqlite'}",
            "cookie_secret_file": str(directory / "cookie_secret"),
        },
        "auth": {"allow_all": "true"},
        "dummy": {"password": PASSWORD},
        "spawner": {"cmd": f"{sys.executable} -m kernel.testing.mockserver",
                    "start_timeout": "20", "http_timeout": "20"},
        "simple": {"home_dir_template": str(directory / "home" / "{username}")},
        "proxy": {"api_url": f"http://127.0.0.1:{hub.proxy_api_port}"},
        "kernel-proxy": {"pid_file": str(directory / "proxy.pid")},
    }


@contextlib.contextmanager
def running_hub(directory: Path, sections: dict[str, dict[str, str]] | None = None,
                timeout: float = 30.0, *, public_port: int | None = None,
                plugins: dict[str, str] | None = None) -> Iterator[HubProcess]:
    """A hub serving from ``directory`` until the block ends (then SIGTERM); on
    ``public_port`` when a test must know it first (to name it in ``sections``);
    with ``plugins`` ({name: module}) found as if installed, for a test's own.

    The ports are free when picked, but another process (another test's hub, on a
    busy machine) may take one before the hub binds it: the hub then starts again
    on newly picked ports, up to START_ATTEMPTS times in all.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, START_ATTEMPTS + 1):
        hub = HubProcess(directory, public_port or free_port(), free_port(), free_port(),
                         plugins=dict(plugins or {}))
        hub.sections = merge(default_sections(directory, hub), sections)
        try:
            hub.start(timeout)
        except PortTaken:
            if attempt == START_ATTEMPTS:
                raise
        else:
            break
    try:
        yield hub
    finally:
        hub.stop()


_XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')


class HubClient(httpx.Client):
    """An httpx client that logs in through the form, as a browser does."""

    def __init__(self, hub: HubProcess, **kwargs: Any) -> None:
        """``kwargs`` go to ``httpx.Client`` as they are (headers, cookies, ...)."""
        super().__init__(base_url=hub.url, timeout=30, **kwargs)
        self.hub = hub

    def xsrf(self, page: str = "hub/login") -> str:
        """The XSRF token a page's forms carry (and the cookie that goes with it)."""
        response = self.get(page)
        match = _XSRF_FIELD.search(response.text)
        if match is None:
            raise AssertionError(f"no XSRF field on {page} ({response.status_code})")
        return match.group(1)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        token = self.xsrf("hub/login")
        return self.post("hub/login", data={"username": username, "password": password,
                                            "_xsrf": token})


def hub_app(directory: Path, sections: dict[str, dict[str, str]] | None = None,
            installed: dict[str, Any] | None = None) -> Starlette:
    """The hub's ASGI app, in this process, with the same defaults as ``running_hub``.

    Use it with starlette's TestClient: ``with TestClient(app) as client`` runs
    the lifespan (the proxy starts, servers can be spawned); without ``with``,
    only the routes answer. ``installed`` adds plugins that are not installed
    as packages (a dict of entry points).
    """
    from kernel.config.loader import load
    from kernel.hub import Hub
    from kernel.plugin_manager import installed_plugins
    from kernel.web.app import build_app

    directory.mkdir(parents=True, exist_ok=True)
    ports = HubProcess(directory, free_port(), free_port(), free_port())
    ini = directory / "hub.ini"
    ini.write_text(render_ini(merge(default_sections(directory, ports), sections)))
    loaded = load(ini, installed={**installed_plugins(), **(installed or {})})
    hub = Hub(loaded)
    hub.prepare_database()
    return build_app(hub)
