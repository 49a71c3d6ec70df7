"""/hub/metrics: JupyterHub 6.1.1's metric names, types and labels, and who may read them.

The hub runs in this process (starlette's TestClient); the exposition is
read back with prometheus_client's own parser.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from kernel.clock import utcnow
from kernel.testing.hub import PASSWORD, hub_app
from plugins.prometheus.registry import HubMetrics
from tests.metrics.conftest import METRICS_READER, METRICS_TOKEN

READER = {"Authorization": f"token {METRICS_TOKEN}"}
OTHER_TOKEN = "someone-elses-token-0123456789"

#: JupyterHub 6.1.1's metrics (jupyterhub/metrics.py): type and labels.
JUPYTERHUB_METRICS = {
    "request_duration_seconds": ("histogram", {"method", "handler", "code"}),
    "server_spawn_duration_seconds": ("histogram", {"status", "reason"}),
    "running_servers": ("gauge", set()),
    "total_users": ("gauge", set()),
    "active_users": ("gauge", {"period"}),
    "check_routes_duration_seconds": ("histogram", set()),
    "hub_startup_duration_seconds": ("histogram", set()),
    "init_spawners_duration_seconds": ("histogram", set()),
    "proxy_add_duration_seconds": ("histogram", {"status"}),
    "proxy_delete_duration_seconds": ("histogram", {"status"}),
    "proxy_poll_duration_seconds": ("histogram", set()),
    "server_poll_duration_seconds": ("histogram", {"status"}),
    "server_stop_seconds": ("histogram", {"status"}),
    "event_loop_interval_seconds": ("histogram", set()),
    "login_duration_seconds": ("histogram", {"status"}),
    "logout_duration_seconds": ("histogram", set()),
    "csp_reports": ("counter", set()),
}


def metrics_app(tmp_path, sections=None, installed=None):
    merged = {name: dict(items) for name, items in METRICS_READER.items()}
    merged["hub.api_tokens"][OTHER_TOKEN] = "someone"
    for name, items in (sections or {}).items():
        merged.setdefault(name, {}).update(items)
    return hub_app(tmp_path / "hub", merged, installed=installed)


def scrape(client: TestClient, path: str = "/hub/metrics") -> dict[str, Metric]:
    response = client.get(path, headers=READER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def login(client: TestClient, username: str) -> None:
    page = client.get("/hub/login")
    xsrf = page.text.split('name="_xsrf" value="', 1)[1].split('"', 1)[0]
    client.post("/hub/login", data={"username": username, "password": PASSWORD,
                                    "_xsrf": xsrf}, follow_redirects=False)


def samples(family: Metric, suffix: str = "") -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples
            if s.name == family.name + suffix}


# -- what is exported ------------------------------------------------------------------


def test_jupyterhubs_metrics_are_exported_with_their_types_and_labels(tmp_path):
    client = TestClient(metrics_app(tmp_path))
    login(client, "alice")
    families = scrape(client)
    for name, (kind, labels) in JUPYTERHUB_METRICS.items():
        family = families.get(f"jupyterhub_{name}")
        assert family is not None, f"jupyterhub_{name} is missing"
        assert family.type == kind, name
        seen = {key for s in family.samples for key in s.labels if key != "le"}
        assert seen == labels, name


def test_prometheus_clients_process_and_python_series_are_exported(tmp_path):
    families = scrape(TestClient(metrics_app(tmp_path)))
    assert families["process_resident_memory_bytes"].samples[0].value > 0
    assert "python_info" in families and "python_gc_objects_collected" in families


def test_requests_are_counted_by_method_handler_and_code(tmp_path):
    client = TestClient(metrics_app(tmp_path))
    client.get("/hub/api/")
    requests = samples(scrape(client)["jupyterhub_request_duration_seconds"], "_count")
    key = (("code", "200"), ("handler", "plugins.rest_api.root.api_root"), ("method", "GET"))
    assert requests[key] == 1


def test_spawn_durations_have_jupyterhubs_buckets_and_every_status_from_the_start(tmp_path):
    spawns = scrape(TestClient(metrics_app(tmp_path)))["jupyterhub_server_spawn_duration_seconds"]
    buckets = {s.labels["le"] for s in spawns.samples if s.name.endswith("_bucket")}
    assert buckets == {"0.5", "1.0", "2.5", "5.0", "10.0", "15.0", "30.0", "60.0", "120.0",
                       "180.0", "300.0", "600.0", "+Inf"}
    counts = samples(spawns, "_count")
    for status, reason in (("success", ""), ("failure", ""), ("error", ""),
                           ("failure", "throttled"), ("failure", "too-many-users"),
                           ("failure", "already-pending")):
        assert counts[(("reason", reason), ("status", status))] == 0


def test_the_prefix_and_buckets_come_from_jupyterhubs_environment_variables(
        tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_METRICS_PREFIX", "campus")
    monkeypatch.setenv("JUPYTERHUB_SERVER_SPAWN_DURATION_SECONDS_BUCKETS", "1,10,100")
    monkeypatch.setenv("JUPYTERHUB_SERVER_STOP_DURATION_SECONDS_BUCKETS", "2,+Inf")
    families = scrape(TestClient(metrics_app(tmp_path)))
    assert "jupyterhub_total_users" not in families
    assert "campus_total_users" in families
    spawn = families["campus_server_spawn_duration_seconds"]
    assert {s.labels["le"] for s in spawn.samples if s.name.endswith("_bucket")} == \
        {"1.0", "10.0", "100.0", "+Inf"}
    stop = families["campus_server_stop_seconds"]
    assert {s.labels["le"] for s in stop.samples if s.name.endswith("_bucket")} == \
        {"2.0", "+Inf"}


def test_a_malformed_bucket_variable_is_an_error_that_shows_the_expected_form():
    with pytest.raises(ValueError, match=r"\$JUPYTERHUB_SERVER_SPAWN_DURATION_SECONDS_BUCKETS: "
                                         r"expected increasing numbers of seconds separated "
                                         r"by commas, such as 1,5,30,\+Inf; got '10,1'"):
        HubMetrics({"JUPYTERHUB_SERVER_SPAWN_DURATION_SECONDS_BUCKETS": "10,1"})


def test_each_hub_has_its_own_registry(tmp_path):
    first = TestClient(metrics_app(tmp_path / "a"))
    second = TestClient(metrics_app(tmp_path / "b"))
    first.get("/hub/api/")
    api_root = (("code", "200"), ("handler", "plugins.rest_api.root.api_root"),
                ("method", "GET"))
    assert api_root in samples(scrape(first)["jupyterhub_request_duration_seconds"], "_count")
    assert api_root not in samples(scrape(second)["jupyterhub_request_duration_seconds"],
                                   "_count")


def test_gauges_are_read_from_the_hubs_users_at_each_scrape(tmp_path):
    app = metrics_app(tmp_path, {"prometheus": {"active_users_update_interval": "0"}})
    hub = app.state.hub
    now = utcnow()
    hub.users.get("metrics-reader").last_activity = now - timedelta(hours=1)
    hub.users.get("someone").last_activity = now - timedelta(days=3)
    families = scrape(TestClient(app))
    assert samples(families["jupyterhub_total_users"]) == {(): 2}
    assert samples(families["jupyterhub_running_servers"]) == {(): 0}
    assert samples(families["jupyterhub_active_users"]) == {
        (("period", "24h"),): 1, (("period", "7d"),): 2, (("period", "30d"),): 2}
    assert samples(families["kernelhub_servers"]) == {
        (("state", "ready"),): 0, (("state", "spawning"),): 0, (("state", "stopping"),): 0,
        (("state", "checking"),): 0}


def test_hook_calls_are_timed_by_hook_and_plugin(tmp_path):
    client = TestClient(metrics_app(tmp_path))
    login(client, "alice")
    hooks = scrape(client)["kernelhub_hook_duration_seconds"]
    assert hooks.type == "histogram"
    counts = samples(hooks, "_count")
    assert counts[(("hook", "authenticate"), ("plugin", "dummy"))] == 1
    assert counts[(("hook", "web_routes"), ("plugin", "rest-api"))] == 1


def test_the_proxys_route_count_follows_spawns_and_stops(tmp_path):
    with TestClient(metrics_app(tmp_path)) as client:  # started: the proxy was checked

        def routes() -> dict:
            return samples(scrape(client)["kernelhub_proxy_routes"])

        assert routes() == {(): 1}  # the hub's own
        login(client, "alice")
        headers = {"X-XSRFToken": client.cookies["_xsrf"]}
        assert client.post("/hub/api/users/alice/server", headers=headers).status_code == 201
        assert routes() == {(): 2}
        assert client.delete("/hub/api/users/alice/server", headers=headers).status_code == 204
        assert routes() == {(): 1}


def test_the_event_loop_interval_is_measured_while_the_hub_runs(tmp_path):
    app = metrics_app(tmp_path, {"prometheus": {"event_loop_interval_resolution": "0.01"}})
    with TestClient(app) as client:
        time.sleep(0.3)
        interval = scrape(client)["jupyterhub_event_loop_interval_seconds"]
    assert samples(interval, "_count")[()] >= 5


# -- who may read them -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/hub/metrics", "/hub/api/metrics"])
def test_reading_the_metrics_needs_the_read_metrics_scope(tmp_path, path):
    client = TestClient(metrics_app(tmp_path))
    refusal = {"status": 403, "message": "Access to metrics requires scope 'read:metrics'"}
    anonymous = client.get(path)
    assert (anonymous.status_code, anonymous.json()) == (403, refusal)
    without = client.get(path, headers={"Authorization": f"bearer {OTHER_TOKEN}"})
    assert (without.status_code, without.json()) == (403, refusal)
    assert "jupyterhub_running_servers" in client.get(path, headers=READER).text


def test_an_admins_login_session_may_read_the_metrics(tmp_path):
    client = TestClient(metrics_app(tmp_path, {"auth": {"admin_users": "boss"}}))
    login(client, "boss")
    assert client.get("/hub/metrics").status_code == 200


def test_the_metrics_are_open_without_authenticate_prometheus(tmp_path):
    client = TestClient(metrics_app(tmp_path, {"hub": {"authenticate_prometheus": "false"}}))
    response = client.get("/hub/metrics")
    assert response.status_code == 200
    assert "jupyterhub_total_users" in response.text


# -- observers never break requests --------------------------------------------------------


def test_a_failing_metrics_plugin_never_breaks_a_request(tmp_path, installed, caplog):
    app = metrics_app(tmp_path, {"hub": {"plugins": "raising-observer, prometheus"}},
                      installed=installed)
    client = TestClient(app)
    assert client.get("/hub/api/").status_code == 200
    assert "plugin 'raising-observer' failed in hook 'metrics'" in caplog.text
    # The plugins after the failing one were still told.
    requests = samples(scrape(client)["jupyterhub_request_duration_seconds"], "_count")
    key = (("code", "200"), ("handler", "plugins.rest_api.root.api_root"), ("method", "GET"))
    assert requests[key] == 1
