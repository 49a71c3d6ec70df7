"""`kernel import-config`: a JupyterHub config becomes a hub.ini the hub accepts and honours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from kernel.config.loader import load
from kernel.testing.hub import free_port, running_hub
from kernel.urls import hub_urls
from tests.api.helpers import wait_until

CONFIG = Path(__file__).parent / "data" / "jupyterhub_config.py"


def import_config(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", "import-config", str(CONFIG),
                           "-o", "hub.ini"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)


def test_every_translatable_option_lands_under_its_kernelhub_name(tmp_path):
    result = import_config(tmp_path)
    assert result.returncode == 0, result.stderr
    config = load(tmp_path / "hub.ini", environ={}).config
    hub, auth, spawner = config.hub, config.auth, config.spawner
    urls = hub_urls(config)
    assert (urls.base_url, urls.public_port, urls.public_ip) == ("/course/", 8000, "127.0.0.1")
    assert config.section("dummy").password == "classroom"
    assert sorted(auth.admin_users) == ["principal", "teacher"]
    assert sorted(auth.allowed_users) == ["student1", "student2"]
    assert spawner.cmd == [sys.executable, "-m", "kernel.testing.mockserver"]
    assert spawner.environment == {"COURSE": "physics-101"}
    assert (spawner.start_timeout, spawner.http_timeout, spawner.default_url,
            spawner.mem_limit) == (120, 45, "/lab", 2 * 1024**3)  # bytes, as JupyterHub
    assert (hub.concurrent_spawn_limit, hub.active_server_limit,
            hub.named_server_limit_per_user, hub.cookie_max_age_days) == (10, 50, 2, 1.0)
    assert hub.allow_named_servers is True and hub.cleanup_servers is False
    assert config.collection("group")["physics"].users == ["student1", "student2"]
    biology = config.collection("group")["biology"]
    assert (biology.users, biology.properties) == (["student2"], {"building": "B", "floor": 2})
    grader = config.collection("role")["grader"]
    assert grader.scopes == ["list:users", "admin:servers!group=physics"]
    assert grader.users == ["teacher"]
    culler = config.collection("service")["idle-culler"]
    assert culler.command == [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600"]
    assert (culler.environment, culler.info) == ({"CULL_LOG": "1"}, {"owner": "it"})
    assert config.collection("role")["idle-culler"].services == ["idle-culler"]
    assert hub.tornado_settings == {"slow_spawn_timeout": 5.0}
    assert config.proxy.api_url == "http://127.0.0.1:8001" and config.proxy.should_start
    assert hub.plugins == ["statsd"] and hub.statsd_host == "127.0.0.1"


def test_what_cannot_be_translated_is_named_with_what_to_do(tmp_path):
    result = import_config(tmp_path)
    advice = "c.Spawner.pre_spawn_hook: write a plugin implementing the pre_spawn_start hook"
    assert f"not translated: {advice}" in result.stderr
    assert f"#   {advice}" in (tmp_path / "hub.ini").read_text()


def test_the_imported_config_runs_a_hub_that_behaves_as_configured(tmp_path):
    import_config(tmp_path)
    text = (tmp_path / "hub.ini").read_text()
    # Free ports for this test run instead of the config's fixed ones.
    text = text.replace("bind_url = http://127.0.0.1:8000/course",
                        f"bind_url = http://127.0.0.1:{free_port()}/course")
    text = text.replace("api_url = http://127.0.0.1:8001",
                        f"api_url = http://127.0.0.1:{free_port()}")
    sections = _sections(text)
    sections["hub"].pop("bind_url")
    # running_hub's test defaults let everyone in; the imported config does not.
    sections["auth"]["allow_all"] = "false"
    with running_hub(tmp_path / "hub", {**sections, "hub": {**sections["hub"],
                                                            "base_url": "/course"}}) as hub:
        teacher = hub.client()
        assert teacher.login("teacher", "classroom").status_code == 302
        assert hub.client().login("stranger", "classroom").status_code == 403  # not allowed
        me = teacher.get("hub/api/user").json()
        assert me["admin"] is True and "grader" in me["roles"]
        headers = {"X-XSRFToken": teacher.cookies["_xsrf"]}
        assert teacher.put("hub/api/users/teacher/servers/lab1", headers=headers,
                           json={}).status_code == 201  # named servers on
        assert teacher.get("hub/api/groups/physics").json()["users"] == ["student1",
                                                                         "student2"]
        assert teacher.get("hub/api/groups/biology").json()["properties"] == {
            "building": "B", "floor": 2}
        env = _server_env(teacher, headers)
        assert env["COURSE"] == "physics-101" and env["MEM_LIMIT"] == "2147483648"
        # cleanup_servers = false would leave it running after the hub stops.
        teacher.delete("hub/api/users/teacher/server", headers=headers)
        wait_until(lambda: teacher.get("hub/api/users/teacher/server").json()["stopped"])


def _server_env(client: httpx.Client, headers: dict[str, str]) -> dict[str, str]:
    assert client.post("hub/api/users/teacher/server", headers=headers).status_code == 201
    return client.get("user/teacher/env").json()


def _sections(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif current is not None and " = " in line and not line.startswith("#"):
            key, value = line.split(" = ", 1)
            current[key] = value
    return sections


def test_internal_ssl_and_external_authorities_are_translated(tmp_path):
    source = tmp_path / "jupyterhub_config.py"
    source.write_text(
        "c = get_config()\n"
        "c.JupyterHub.internal_ssl = True\n"
        "c.JupyterHub.trusted_alt_names = ['DNS:hub.example.org']\n"
        "c.JupyterHub.external_ssl_authorities = {\n"
        "    'proxy-api-ca': {'key': '/etc/proxy/ca.key', 'cert': '/etc/proxy/ca.crt'}}\n")
    result = subprocess.run([sys.executable, "-m", "kernel", "import-config", str(source),
                             "-o", "hub.ini"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    config = load(tmp_path / "hub.ini", environ={}).config
    assert config.hub.plugins == ["internal-ssl"] and config.hub.internal_ssl is True
    assert config.hub.trusted_alt_names == ["DNS:hub.example.org"]
    authority = config.collection("external_ssl_authority")["proxy-api-ca"]
    assert (authority.key, authority.cert) == ("/etc/proxy/ca.key", "/etc/proxy/ca.crt")


def test_a_broken_hub_ini_is_replaced_by_the_imported_one(tmp_path):
    # The migration tool must work where the hub cannot start: it writes the working file.
    (tmp_path / "hub.ini").write_text("[hub]\nconcurrent_spawn_limit = ten\n")
    result = subprocess.run([sys.executable, "-m", "kernel", "import-config", str(CONFIG),
                             "-o", "hub.ini", "-y"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "concurrent_spawn_limit" in result.stderr  # the broken file's error is still shown
    assert load(tmp_path / "hub.ini", environ={}).config.hub.concurrent_spawn_limit == 10


def test_no_import_config_takes_the_command_away(tmp_path):
    (tmp_path / "hub.ini").write_text("[hub]\nplugins = no:import-config\n")
    result = subprocess.run([sys.executable, "-m", "kernel", "import-config", str(CONFIG),
                             "-o", "-"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "No such command 'import-config'" in result.stderr
