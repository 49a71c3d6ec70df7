"""The real JupyterHub 6.1.1 for the import test: started on a database, filled through its
REST API, its answers recorded, then stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kernel.testing.hub import free_port, stop_process, wait_until

CONFIG = Path(__file__).with_name("jupyterhub_config.py")
ROBOT_TOKEN = "importdb-robot-token-0123456789"
BOT_TOKEN = "importdb-bot-token-0123456789"
#: The auth state key both hubs get, so that alice's auth state comes along.
CRYPT_KEY = "0123456789abcdef" * 4
USERS = ("alice", "bob", "carol", "dave")
SERVERS = ("users/alice/servers/lab", "users/alice/servers/scratch", "users/bob/server")
#: The GETs whose answers kernelhub must repeat (as the robot service, an admin of sorts).
COMPARED = (
    "users", "users/alice", "users/bob", "users/carol", "users/dave",
    "users/alice?include_stopped_servers", "users/bob?include_stopped_servers",
    "groups", "groups/physics", "groups/chemistry",
    "users/alice/tokens", "users/bob/tokens", "users/dave/tokens",
    "shares/alice", "shares/alice/lab", "users/bob/shared", "groups/physics/shared",
    "services/bot",
)


@dataclass
class Recorded:
    """What JupyterHub answered before it stopped, and the tokens it made."""

    answers: dict[str, Any] = field(default_factory=dict)
    #: Each token JupyterHub made -> what `GET /hub/api/user` answered with it.
    tokens: dict[str, Any] = field(default_factory=dict)


class JupyterHub:
    def __init__(self, venv: Path, chp: Path, directory: Path, db_url: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        public = free_port()
        self.url = f"http://127.0.0.1:{public}/hub/api/"
        self.log = directory / "jupyterhub.log"
        env = {**os.environ, "IMPORTDB_DIR": str(directory), "IMPORTDB_DB_URL": db_url,
               "IMPORTDB_PUBLIC_PORT": str(public), "IMPORTDB_HUB_PORT": str(free_port()),
               "IMPORTDB_PROXY_API_PORT": str(free_port()), "IMPORTDB_PYTHON": sys.executable,
               "IMPORTDB_ROBOT_TOKEN": ROBOT_TOKEN,
               # JupyterHub starts `configurable-http-proxy` from PATH, as in a deployment.
               "PATH": f"{chp.parent}{os.pathsep}{os.environ['PATH']}"}
        env["JUPYTERHUB_CRYPT_KEY"] = CRYPT_KEY
        for inherited in ("CONFIGPROXY_AUTH_TOKEN", "JPY_COOKIE_SECRET"):
            env.pop(inherited, None)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(venv / "bin" / "jupyterhub"), "-f", str(CONFIG)], cwd=directory,
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.api = httpx.Client(base_url=self.url, timeout=60,
                                headers={"Authorization": f"token {ROBOT_TOKEN}"})
        wait_until(self._healthy, 120, interval=0.3, what="JupyterHub is up", log=self.log)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"JupyterHub exited:\n{self.log.read_text()[-4000:]}")
        try:
            return self.api.get("").status_code == 200
        except httpx.HTTPError:
            return False

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.api.request(method, path, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} " \
                                           f"{response.text}"
        return response.json() if response.content else None

    def populate(self) -> list[str]:
        """Users, groups, a service, tokens, running servers and shares; the tokens made."""
        self.call("POST", "users", json={"usernames": ["alice", "bob"]})
        self.call("PATCH", "users/alice", json={"auth_state": {"access_token": "from-idp"}})
        self.call("POST", "groups/physics/users", json={"users": ["alice", "bob"]})
        self.call("PUT", "groups/physics/properties", json={"lab": "B12", "floor": 3})
        self.call("POST", "groups/chemistry", json={"users": ["dave"]})
        tokens = [
            self.call("POST", "users/alice/tokens", json={
                "note": "ci", "scopes": ["read:users:name", "read:groups"],
                "expires_in": 86_400})["token"],
            self.call("POST", "users/bob/tokens", json={"note": "everything"})["token"],
            self.call("POST", "users/dave/tokens", json={
                "note": "admin script", "scopes": ["admin:users"]})["token"],
        ]
        self.call("POST", "services/bot", json={"api_token": BOT_TOKEN,
                                                "info": {"team": "data"}})
        tokens.append(BOT_TOKEN)
        for server in SERVERS:
            self.call("POST", server)
            wait_until(lambda s=server: self._ready(s), 60, interval=0.3,
                       what=f"{server} is ready", log=self.log)
        self.call("POST", "shares/alice/lab", json={"user": "bob"})
        self.call("POST", "shares/alice/lab", json={"group": "physics",
                                                    "scopes": ["read:servers"]})
        self.call("POST", "share-codes/alice/scratch", json={})
        return tokens

    def stop_servers(self) -> None:
        for server in SERVERS:
            self.call("DELETE", server)
        wait_until(self._all_stopped, 60, interval=0.3, what="servers stopped", log=self.log)

    def _ready(self, server: str) -> bool:
        user, _, name = server.removeprefix("users/").partition("/")
        model = self.call("GET", f"users/{user}")
        return bool(model["servers"].get(name.removeprefix("servers/").removeprefix("server"),
                                          {}).get("ready"))

    def _all_stopped(self) -> bool:
        return all(not self.call("GET", f"users/{user}")["servers"] for user in USERS)

    def record(self, tokens: list[str]) -> Recorded:
        recorded = Recorded()
        # Tokens first: using one records activity, which the answers then show.
        for token in tokens:
            recorded.tokens[token] = httpx.get(
                f"{self.url}user", headers={"Authorization": f"token {token}"}).json()
        for path in COMPARED:
            recorded.answers[path] = self.call("GET", path)
        return recorded

    def stop(self) -> None:
        stop_process(self.process, timeout=60)
        # Its proxy was its child: give it a moment to go with it.
        time.sleep(0.5)
