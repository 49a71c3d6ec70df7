"""A real Prometheus server scrapes a real hub's /hub/metrics with a token, as in production."""

from __future__ import annotations

from kernel.testing.hub import running_hub
from tests.metrics.conftest import METRICS_READER, METRICS_TOKEN, running_prometheus, wait_for


def test_prometheus_scrapes_the_hub_and_sees_a_spawn(tmp_path):
    with running_hub(tmp_path / "hub", METRICS_READER) as hub, \
            running_prometheus(tmp_path / "prometheus", f"127.0.0.1:{hub.public_port}",
                               METRICS_TOKEN) as prometheus:
        wait_for(lambda: prometheus.target_health() == "up", 20, "the hub's target up")
        assert prometheus.query("jupyterhub_running_servers") == {"": 0.0}

        client = hub.client()
        client.login("alice")
        started = client.post("hub/api/users/alice/server",
                              headers={"X-XSRFToken": client.cookies["_xsrf"]})
        assert started.status_code in (201, 202)

        def after_the_spawn() -> dict[str, float] | None:
            counts = prometheus.query("jupyterhub_server_spawn_duration_seconds_count")
            # Prometheus drops empty labels: reason="" is no reason label at all.
            return counts if counts.get("status=success") == 1.0 else None

        spawns = wait_for(after_the_spawn, 15, "a successful spawn in Prometheus")
        assert spawns["status=failure"] == 0.0  # the series exists before the first failure
        assert spawns["reason=throttled,status=failure"] == 0.0
        assert prometheus.query("jupyterhub_running_servers") == {"": 1.0}
        logins = prometheus.query("jupyterhub_login_duration_seconds_count")
        assert logins == {"status=success": 1.0}
        assert prometheus.query("jupyterhub_total_users")[""] >= 2  # alice, metrics-reader
        assert prometheus.query("process_resident_memory_bytes")[""] > 0
