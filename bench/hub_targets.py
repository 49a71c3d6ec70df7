"""The two hubs bench/hub.py compares: kernelhub and JupyterHub 6.1.1, set up alike.

Both run on SQLite in a folder of their own, on free ports, with the dummy
authenticator (one shared password), their "simple" local-process spawner
running the same trivial server (``kernel.testing.mockserver``, or
``bench/hub_server.py``), no spawn limits, their own proxy (kernel-proxy,
configurable-http-proxy) started by the hub, and default log levels. An admin
user's API token comes from the hub's config; the benchmark uses it only to
ask the hub for ordinary (generated) tokens, so that every workload
authenticates the same way on both hubs.

Users are seeded straight into the database while the hub is stopped, with
each hub's own models: ``kernel.db.models`` for kernelhub, ``jupyterhub.orm``
(in JupyterHub's own venv) for JupyterHub, which also gets the role
assignment it gives every new user. JupyterHub's roles exist only after its
first start, so its database is made by starting it once on an empty file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import httpx
from hub_load import probe

from kernel.testing.hub import free_port, merge, render_ini

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password"
ADMIN = "admin"


def user_names(first: int, count: int) -> list[str]:
    return [f"user-{i:05d}" for i in range(first, first + count)]


class HubUnderTest(ABC):
    """One hub: its folder, ports, config, process; started and stopped by the benchmark."""

    name: str

    def __init__(self, directory: Path, kernelhub_python: str) -> None:
        self.directory = directory
        #: Runs kernelhub, and the trivial servers both hubs spawn.
        self.kernelhub_python = kernelhub_python
        self.servers = {
            "mockserver": [kernelhub_python, "-m", "kernel.testing.mockserver"],
            "bare server": [kernelhub_python, "-I", "-S", str(REPO / "bench" / "hub_server.py")],
        }
        #: Which of ``servers`` the spawner runs (the config is written at each start).
        self.server = "mockserver"
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "home").mkdir(exist_ok=True)
        self.public_port, self.hub_port, self.proxy_api_port = (free_port(), free_port(),
                                                                free_port())
        #: Read by the hub from its config at start-up; only used to make other tokens.
        self.config_token = secrets.token_hex(32)
        self.database = self.directory / "empty.sqlite"
        self.process: subprocess.Popen[bytes] | None = None
        #: The hub process's CPU seconds when it first answered (set by ``start``).
        self.startup_cpu: float | None = None
        self.log = self.directory / "hub.log"
        #: Config sections merged over the benchmark's own (kernelhub only), e.g. plugins.
        self.extra_sections: dict[str, dict[str, str]] = {}

    # -- what differs between the hubs --------------------------------------------------

    @abstractmethod
    def write_config(self) -> None:
        """The config file for ``self.database``."""

    @abstractmethod
    def command(self) -> list[str]:
        """How to start the hub."""

    @abstractmethod
    def create_database(self) -> None:
        """A database at ``self.database`` with the hub's schema, roles and admin, no users."""

    @abstractmethod
    def seed(self, names: list[str]) -> None:
        """Add users ``names`` to ``self.database`` (the hub is stopped)."""

    @abstractmethod
    def version(self) -> str:
        """The hub's version and its proxy's, for the table's header."""

    # -- shared ---------------------------------------------------------------------

    @property
    def api(self) -> str:
        """The REST API on the hub's own port, where services and servers call it."""
        return "/hub/api/"

    def use_database(self, path: Path) -> None:
        self.database = path
        self.write_config()

    def copy_database(self, target: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.database}{suffix}")
            if source.exists():
                shutil.copyfile(source, f"{target}{suffix}")

    def start(self, timeout: float = 60.0) -> float:
        """Start the hub; seconds from the process start to the first 200 from /hub/api/
        through the public port (proxy up, hub routed)."""
        self.write_config()
        env = {k: v for k, v in os.environ.items()
               if k not in ("JPY_COOKIE_SECRET", "CONFIGPROXY_AUTH_TOKEN")}
        with open(self.log, "ab") as log:
            began = time.perf_counter()
            self.process = subprocess.Popen(self.command(), cwd=self.directory, stdout=log,
                                            stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)
        deadline = began + timeout
        while time.perf_counter() < deadline:
            if probe(self.public_port, "/hub/api/", timeout=0.5) == 200:
                took = time.perf_counter() - began
                self.startup_cpu = cpu_seconds(self.process.pid)[0]
                return took
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        sys.exit(f"{self.name} did not answer /hub/api/ within {timeout:g} s; the end of its "
                 f"log ({self.log}):\n{tail}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @contextlib.contextmanager
    def running(self) -> Iterator[float]:
        """The hub running (its start-up time as the value) until the block ends."""
        took = self.start()
        try:
            yield took
        finally:
            self.stop()

    @property
    def hub_pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def proxy_pid(self) -> int | None:
        """The proxy the hub started: its child running kernel_proxy or node."""
        for child in _children(self.hub_pid):
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"kernel_proxy" in cmdline or b"configurable-http-proxy" in cmdline:
                return child
        return None

    def make_token(self, user: str, admin_token: str | None = None) -> str:
        """A new generated API token for ``user`` through the REST API."""
        answer = httpx.post(
            f"http://127.0.0.1:{self.hub_port}{self.api}users/{user}/tokens",
            headers={"Authorization": f"token {admin_token or self.config_token}"},
            json={"note": "bench"}, timeout=60)
        if answer.status_code != 201:
            sys.exit(f"{self.name}: making a token for {user} answered "
                     f"{answer.status_code}: {answer.text[:300]}")
        return answer.json()["token"]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(the process's own CPU time, its reaped children's), user plus system, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = int(fields[11]) + int(fields[12])
    children = int(fields[13]) + int(fields[14])
    return own / CLOCK_TICKS, children / CLOCK_TICKS


def rss_mib(pid: int | None) -> float | None:
    """The process's resident memory now (VmRSS), in MiB."""
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


# -- kernelhub ----------------------------------------------------------------------------------


class KernelHub(HubUnderTest):
    name = "kernelhub"

    def command(self) -> list[str]:
        return [self.kernelhub_python, "-m", "kernel", "serve", "-c",
                str(self.directory / "hub.ini")]

    def write_config(self) -> None:
        sections = {
            "hub": {
                "authenticator_class": "dummy",
                "spawner_class": "simple",
                "ip": "127.0.0.1",
                "port": str(self.public_port),
                "hub_port": str(self.hub_port),
                "db_url": f"sqlite:///{self.database}",
                "cookie_secret_file": str(self.directory / "cookie_secret"),
                "concurrent_spawn_limit": "0",
                "active_server_limit": "0",
            },
            "hub.api_tokens": {self.config_token: ADMIN},
            "auth": {"allow_all": "true", "admin_users": ADMIN},
            "dummy": {"password": PASSWORD},
            "spawner": {"cmd": shlex.join(self.servers[self.server]), "start_timeout": "60",
                        "http_timeout": "30"},
            "simple": {"home_dir_template": str(self.directory / "home")},
            "proxy": {"api_url": f"http://127.0.0.1:{self.proxy_api_port}"},
            "kernel-proxy": {"pid_file": str(self.directory / "proxy.pid")},
        }
        (self.directory / "hub.ini").write_text(render_ini(merge(sections,
                                                                 self.extra_sections)))

    def create_database(self) -> None:
        from kernel.db import schema
        from kernel.db.database import Database

        db = Database(f"sqlite:///{self.database}")
        db.call(schema.initialize, db.peewee)
        db.close()

    def seed(self, names: list[str]) -> None:
        from kernel.clock import utcnow
        from kernel.db import models as orm
        from kernel.db.database import Database

        db = Database(f"sqlite:///{self.database}")

        def insert() -> None:
            now = utcnow()
            with db.atomic():
                for start in range(0, len(names), 500):
                    orm.User.insert_many(
                        [{"name": n, "created": now, "cookie_id": orm.new_cookie_id()}
                         for n in names[start:start + 500]]).execute()

        db.call(insert)
        db.close()

    def version(self) -> str:
        from kernel import __version__
        return f"kernelhub {__version__} with kernel-proxy"


# -- JupyterHub -------------------------------------------------------------------------------

JUPYTERHUB_CONFIG = """\
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{public_port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = "sqlite:///{database}"
c.JupyterHub.cookie_secret_file = "{directory}/cookie_secret"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = {chp!r}
c.ConfigurableHTTPProxy.pid_file = "{directory}/proxy.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"{admin}"}}
c.JupyterHub.api_tokens = {{"{token}": "{admin}"}}
c.JupyterHub.spawner_class = "simple"
c.Spawner.cmd = {server!r}
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 30
c.SimpleLocalProcessSpawner.home_dir_template = "{directory}/home"
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.active_server_limit = 0
"""

#: Run with JupyterHub's python: add users as its handlers do (row + the `user` role).
JUPYTERHUB_SEED = textwrap.dedent("""\
    import sys
    import sqlalchemy as sa
    from jupyterhub import orm

    url, names = sys.argv[1], sys.stdin.read().split()
    engine = sa.create_engine(url)
    users, role_map = orm.User.__table__, orm._role_associations["user"].__table__
    with engine.begin() as conn:
        role = conn.execute(sa.select(orm.Role.id).where(orm.Role.name == "user")).scalar_one()
        conn.execute(sa.insert(users), [{"name": n} for n in names])
        ids = conn.execute(sa.select(users.c.id).where(users.c.name.in_(names))).scalars()
        conn.execute(sa.insert(role_map), [{"user_id": i, "role_id": role} for i in ids])
""")


class JupyterHub(HubUnderTest):
    name = "JupyterHub"

    def __init__(self, directory: Path, kernelhub_python: str, venv: Path, chp: str) -> None:
        super().__init__(directory, kernelhub_python)
        self.venv = venv
        self.chp = chp

    def command(self) -> list[str]:
        return [str(self.venv / "bin" / "jupyterhub"), "-f",
                str(self.directory / "jupyterhub_config.py")]

    def write_config(self) -> None:
        (self.directory / "jupyterhub_config.py").write_text(JUPYTERHUB_CONFIG.format(
            public_port=self.public_port, hub_port=self.hub_port, database=self.database,
            directory=self.directory, proxy_api_port=self.proxy_api_port, chp=[self.chp],
            password=PASSWORD, admin=ADMIN, token=self.config_token,
            server=self.servers[self.server]))

    def create_database(self) -> None:
        # The roles, the admin and its config token are made by JupyterHub's first start.
        with self.running():
            pass

    def seed(self, names: list[str]) -> None:
        subprocess.run([str(self.venv / "bin" / "python"), "-c", JUPYTERHUB_SEED,
                        f"sqlite:///{self.database}"], input="\n".join(names), text=True,
                       check=True)

    def version(self) -> str:
        jupyterhub = subprocess.run([*self.command()[:1], "--version"], capture_output=True,
                                    text=True).stdout.strip()
        chp = subprocess.run([self.chp, "--version"], capture_output=True,
                             text=True).stdout.strip()
        return f"JupyterHub {jupyterhub} with configurable-http-proxy {chp}"


def find_kernelhub_python(cache: Path) -> str:
    """kernelhub as its users install it: $KERNELHUB_BENCH_PYTHON, else a venv in ``cache``
    with a plain ``pip install -e`` of this repository (no test extras), made on first use
    and again whenever pyproject.toml changes."""
    given = os.environ.get("KERNELHUB_BENCH_PYTHON")
    if given:
        return given
    venv = cache / "kernelhub"
    stamp = venv / "pyproject.sha256"
    wanted = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != wanted:
        print(f"Installing kernelhub (pip install -e {REPO}) into {venv} ...",
              file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "-e", str(REPO)],
                       check=True)
        stamp.write_text(wanted)
    return str(venv / "bin" / "python")


def find_jupyterhub_venv(cache: Path) -> Path:
    """JupyterHub 6.1.1's venv: $KERNELHUB_JUPYTERHUB_VENV, CI's, or one made in ``cache``."""
    for candidate in (os.environ.get("KERNELHUB_JUPYTERHUB_VENV"), REPO / ".ci-jupyterhub",
                      cache / "jupyterhub-6.1.1"):
        if candidate and (Path(candidate) / "bin" / "jupyterhub").is_file():
            return Path(candidate)
    venv = cache / "jupyterhub-6.1.1"
    print(f"Installing JupyterHub 6.1.1 into {venv} ...", file=sys.stderr, flush=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "jupyterhub==6.1.1"],
                   check=True)
    return venv


def find_chp(given: str | None) -> str:
    """configurable-http-proxy: --chp, $KERNELHUB_CHP, PATH, CI's or /tmp/chp's npm install."""
    for candidate in (given, os.environ.get("KERNELHUB_CHP"),
                      shutil.which("configurable-http-proxy"),
                      REPO / ".ci-node" / "node_modules" / ".bin" / "configurable-http-proxy",
                      Path("/tmp/chp/node_modules/.bin/configurable-http-proxy")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    sys.exit("configurable-http-proxy not found: `npm install --prefix .ci-node "
             "configurable-http-proxy` in the repository, or pass --chp PATH "
             "(see bench/README.md)")
