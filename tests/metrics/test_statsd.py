"""The statsd plugin sends JupyterHub's statsd metrics to the real statsd daemon."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from kernel.events import Measurement
from kernel.testing.hub import hub_app, running_hub
from plugins.statsd import NonBlockingStatsClient, send
from tests.metrics.conftest import wait_for


def test_logins_spawns_and_gauges_reach_statsd(tmp_path, statsd_daemon):
    sections = {"hub": {"plugins": "statsd", "statsd_host": "127.0.0.1",
                        "statsd_port": str(statsd_daemon.port), "statsd_prefix": "hub1",
                        "last_activity_interval": "1"}}
    with running_hub(tmp_path / "hub", sections) as hub:
        client = hub.client()
        assert client.login("alice", "wrong").status_code == 403
        client.login("alice")
        xsrf = {"X-XSRFToken": client.cookies["_xsrf"]}
        started = client.post("hub/api/users/alice/server", headers=xsrf)
        assert started.status_code in (201, 202)
        now = datetime.now(UTC).isoformat()
        assert client.post("hub/api/users/alice/activity", json={"last_activity": now},
                           headers=xsrf).status_code == 200

        counters = statsd_daemon.wait_for("counters", "hub1.login.success")
        assert counters["hub1.login.success"] == 1
        assert counters["hub1.login.failure"] == 1
        timers = statsd_daemon.wait_for("timers", "hub1.spawner.success")
        assert len(timers["hub1.login.authenticate.success"]) == 1
        assert len(timers["hub1.login.authenticate.failure"]) == 1
        # A spawn takes a while, and the timing is in milliseconds.
        assert timers["hub1.spawner.success"][0] > 50
        # Gauges are sent every last_activity_interval (1 s here), the first before the spawn.
        wait_for(lambda: statsd_daemon.ask("gauges").get("hub1.users.running") == 1, 5,
                 "users.running = 1 in statsd")
        wait_for(lambda: statsd_daemon.ask("gauges").get("hub1.users.active") == 1, 5,
                 "users.active = 1 in statsd")


def test_sending_to_a_statsd_that_is_not_there_neither_fails_nor_waits():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = NonBlockingStatsClient("127.0.0.1", port, "jupyterhub")
    try:
        assert not client._sock.getblocking()
        for _ in range(1000):
            send(client, Measurement("login_duration_seconds", "timing", 0.1,
                                     {"status": "success"}))
    finally:
        client.close()


def test_a_statsd_host_that_does_not_resolve_stops_the_hub_with_advice(tmp_path, monkeypatch):
    resolve = socket.getaddrinfo

    def no_such_host(host, *args, **kwargs):
        # Stands in for DNS, so that no query leaves the machine.
        if host == "statsd.example":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    app = hub_app(tmp_path, {"hub": {"plugins": "statsd", "statsd_host": "statsd.example"}})
    with pytest.raises(Exception, match=r"\[hub\] statsd_host: cannot resolve "
                                        r"'statsd.example' .*leave it empty"), TestClient(app):
        pass
