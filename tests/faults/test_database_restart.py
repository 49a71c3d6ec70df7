"""The database stops and starts under traffic: 503 with Retry-After meanwhile, then as before.

The hub runs on a private PostgreSQL cluster or MariaDB server
(``private_database``), while a client keeps creating users, reading them
and logging in. The server is shut down (which terminates the hub's
connections) until the client has seen the outage, then started again.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kernel.testing.hub import HubClient, HubProcess, running_hub, wait_until

ADMIN_TOKEN = "admin-token-for-the-database-restart"
#: What a request may get while the database comes and goes: success, or 503.
ANSWERS = {200, 201, 302, 503}


@dataclass
class Traffic:
    """A client creating users, reading them and logging in, one request after the other."""

    hub: HubProcess
    answers: list[httpx.Response] = field(default_factory=list)
    #: Users whose creation the hub acknowledged (201).
    acknowledged: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        api = httpx.Client(base_url=f"{self.hub.url}hub/api/", timeout=30,
                           headers={"Authorization": f"token {ADMIN_TOKEN}"})
        n = 0
        while not self.stop.is_set():
            n += 1
            name = f"user{n}"
            created = api.post(f"users/{name}")
            self.answers.append(created)
            if created.status_code == 201:
                self.acknowledged.append(name)
                self.answers.append(api.get(f"users/{name}"))
            self.answers.append(self.login(f"login{n}"))

    def login(self, name: str) -> httpx.Response:
        with HubClient(self.hub) as browser:
            return browser.login(name)

    def seen(self, status: int) -> int:
        return sum(1 for answer in list(self.answers) if answer.status_code == status)


def test_a_database_restart_answers_503_meanwhile_and_loses_no_acknowledged_write(
        tmp_path, private_database):
    sections = {"hub": {"db_url": private_database.url},
                "hub.api_tokens": {ADMIN_TOKEN: "admin"}, "auth": {"admin_users": "admin"}}
    with running_hub(tmp_path / "hub", sections) as hub:
        traffic = Traffic(hub)
        client = threading.Thread(target=traffic.run)
        client.start()
        try:
            wait_until(lambda: len(traffic.acknowledged) >= 3, 30, what="users created")
            private_database.stop()
            wait_until(lambda: traffic.seen(503) >= 3, 60, what="503s while the database is down")
            private_database.start()
            acknowledged_before = len(traffic.acknowledged)
            wait_until(lambda: len(traffic.acknowledged) >= acknowledged_before + 3, 60,
                       what="users created again once the database is back", log=tmp_path / "hub"
                       / "hub.log")
        finally:
            traffic.stop.set()
            client.join()
        log = hub.log

    assert {answer.status_code for answer in traffic.answers} <= ANSWERS, \
        sorted({(a.status_code, a.request.url.path) for a in traffic.answers})
    unavailable = [answer for answer in traffic.answers if answer.status_code == 503]
    assert {answer.headers.get("Retry-After") for answer in unavailable} == {"5"}
    for answer in unavailable:
        if answer.request.url.path.startswith("/hub/api/"):
            assert "database is unavailable" in answer.json()["message"]
    assert set(traffic.acknowledged) <= private_database.user_names()
    assert "is unavailable" in log and "answers again" in log
    assert "Unhandled error" not in log and "Traceback" not in log


def test_a_spawn_finishing_during_the_outage_ends_running_or_stopped(tmp_path,
                                                                      private_postgres):
    """PostgreSQL crashes while a server starts: its process runs, and its spawner waits
    10 s (as a batch job waits in a queue) before the hub records it. The server must not
    be left running behind the hub's back, nor the user pending."""
    sections = {"hub": {"db_url": private_postgres.url, "spawner_class": "queued-spawner"},
                "hub.api_tokens": {ADMIN_TOKEN: "admin"}, "auth": {"admin_users": "admin"},
                "spawner.environment": {"QUEUE_SECONDS": "10"},
                # The spawn request answers 202 at once; the spawn goes on in the hub.
                "hub.tornado_settings": {"slow_spawn_timeout": "0"}}
    with running_hub(tmp_path / "hub", sections,
                     plugins={"queued-spawner": "tests.fake_plugins.queued_spawner"}) as hub:
        api = httpx.Client(base_url=f"{hub.url}hub/api/", timeout=30,
                           headers={"Authorization": f"token {ADMIN_TOKEN}"})
        assert api.post("users/alice").status_code == 201
        assert api.post("users/alice/server").status_code == 202
        private_postgres.crash()
        wait_until(lambda: "Spawn of alice failed" in hub.log
                   and api.get("users/alice").json()["pending"] is None, 60,
                   what="alice's spawn failed and cleaned up", log=tmp_path / "hub" / "hub.log")
        after_outage = api.get("users/alice").json()
        orphans = servers_of(tmp_path / "hub" / "home" / "alice")
        private_postgres.start()
        wait_until(lambda: api.post("users/alice/server").status_code == 202, 30,
                   what="alice's spawn accepted again once PostgreSQL is back")
        ready = wait_until(lambda: api.get("users/alice").json()["servers"].get("", {})
                           .get("ready"), 60, what="alice's server ready")
        log = hub.log
    assert after_outage["pending"] is None
    assert not after_outage["servers"].get("", {}).get("ready"), after_outage
    assert orphans == [], "a server process runs that the hub does not know of"
    assert ready
    assert "Spawn of alice failed: The hub's database is unavailable" in log, log
    assert "Traceback" not in log, log


def servers_of(home: Path) -> list[int]:
    """The process ids of the mock servers running in ``home`` (the simple spawner's cwd)."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            command = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
            if (b"kernel.testing.mockserver" in command
                    and (proc / "cwd").resolve() == home.resolve()):
                found.append(int(proc.name))
    return found
