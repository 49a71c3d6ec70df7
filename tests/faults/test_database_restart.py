"""PostgreSQL stops and starts again under traffic: 503 with Retry-After meanwhile, then as before.

The hub runs on a private cluster (``private_postgres``), while a client
keeps creating users, reading them and logging in. The cluster is stopped
(a fast shutdown, which terminates the hub's connections) until the client
has seen the outage, then started again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import httpx
import psycopg2

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


def stored_users(url: str) -> set[str]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT name FROM users")
        return {name for (name,) in cursor.fetchall()}


def test_a_postgresql_restart_answers_503_meanwhile_and_loses_no_acknowledged_write(
        tmp_path, private_postgres):
    sections = {"hub": {"db_url": private_postgres.url},
                "hub.api_tokens": {ADMIN_TOKEN: "admin"}, "auth": {"admin_users": "admin"}}
    with running_hub(tmp_path / "hub", sections) as hub:
        traffic = Traffic(hub)
        client = threading.Thread(target=traffic.run)
        client.start()
        try:
            wait_until(lambda: len(traffic.acknowledged) >= 3, 30, what="users created")
            private_postgres.stop()
            wait_until(lambda: traffic.seen(503) >= 3, 60, what="503s while PostgreSQL is down")
            private_postgres.start()
            acknowledged_before = len(traffic.acknowledged)
            wait_until(lambda: len(traffic.acknowledged) >= acknowledged_before + 3, 60,
                       what="users created again once PostgreSQL is back", log=tmp_path / "hub"
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
    assert set(traffic.acknowledged) <= stored_users(private_postgres.url)
    assert "is unavailable" in log and "answers again" in log
    assert "Unhandled error" not in log and "Traceback" not in log
