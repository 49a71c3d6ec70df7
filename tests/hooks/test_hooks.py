"""One test per hook: the hub calls each hook when its docstring says, with what it says.

The hub runs in this process (starlette's TestClient), with the `probe`
plugin (tests/fake_plugins/hook_probe.py) recording every call, the real
kernel-proxy, and real servers (kernel.testing.mockserver).
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from kernel import accounts
from kernel.cli import add_plugin_commands, cli
from kernel.config.loader import load
from kernel.db import models as orm
from kernel.db import plugin_data
from kernel.hookcall import PluginError
from kernel.scopes import ScopeError, parse
from kernel.testing.hub import PASSWORD, hub_app, merge
from plugins.internal_ssl.certs import CertificateStore
from tests.fake_plugins import auth_rules, hook_probe, notes, tls_provider
from tests.fake_plugins.hook_probe import calls

PROBE = {"hub": {"plugins": "probe"}, "probe": {"who": "the tests"}}


@pytest.fixture
def app(tmp_path, installed):
    hook_probe.CALLS.clear()
    return hub_app(tmp_path / "hub", PROBE, installed=installed)


def login(client: TestClient, username: str = "alice", password: str = PASSWORD):
    page = client.get("/hub/login")
    xsrf = page.text.split('name="_xsrf" value="', 1)[1].split('"', 1)[0]
    return client.post("/hub/login", data={"username": username, "password": password,
                                           "_xsrf": xsrf}, follow_redirects=False)


def api_xsrf(client: TestClient) -> dict[str, str]:
    return {"X-XSRFToken": client.cookies.get("_xsrf")}


def test_hook_declare_options(app):
    config = app.state.hub.config
    assert config.section("probe").who == "the tests"
    assert config.registry.get("probe", "who").owner == "probe"


def test_hook_web_routes(app):
    response = TestClient(app).get("/hub/probe")
    assert response.status_code == 200
    assert response.text == "probe says hello to the tests"


def test_hook_web_middleware(app):
    client = TestClient(app)
    assert client.get("/hub/probe").headers["x-probe"] == "seen"
    assert client.get("/hub/api/").headers["x-probe"] == "seen"


def test_hook_template_paths(app):
    client = TestClient(app)
    assert '<p id="probe">probe page for the tests</p>' in client.get("/hub/probe?html=1").text
    login_page = client.get("/hub/login").text
    assert "<title>Probe sign-in</title>" in login_page  # overridden ...
    assert 'name="password"' in login_page  # ... by extending the default


def test_hook_login_services(tmp_path, installed):
    sections = merge(PROBE, {"probe": {"login_service": "Probe ID"},
                             "auth": {"login_service": "Configured SSO",
                                      "login_url": "/sso/start"}})
    client = TestClient(hub_app(tmp_path / "hub", sections, installed=installed))
    page = client.get("/hub/login", params={"next": "/hub/token"}).text
    # [auth] login_service first, then the plugin's, each carrying next; no password form.
    assert re.findall(r'<a class="[^"]*login-service" href="([^"]*)">Sign in with ([^<]*)<',
                      page) == [
        ("/sso/start?next=%2Fhub%2Ftoken", "Configured SSO"),
        ("/hub/probe-login?next=%2Fhub%2Ftoken", "Probe ID"),
        ("https://sso.example.org/start?app=hub&amp;next=%2Fhub%2Ftoken", "Campus SSO"),
    ]
    assert 'name="password"' not in page
    # The plugin's callback finishes the login: a session, and on to next.
    answer = client.get("/hub/probe-login", params={"next": "/hub/token", "user": "carol"},
                        follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (302, "/hub/token")
    assert client.get("/hub/api/user").json()["name"] == "carol"


def test_hook_login_services_with_auto_login_goes_to_the_first(tmp_path, installed):
    sections = merge(PROBE, {"probe": {"login_service": "Probe ID"},
                             "auth": {"auto_login": "true"}})
    client = TestClient(hub_app(tmp_path / "hub", sections, installed=installed))
    answer = client.get("/hub/login", params={"next": "/hub/home"}, follow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["location"] == "/hub/probe-login?next=%2Fhub%2Fhome"


def test_hook_authenticate(tmp_path, installed):
    app = hub_app(tmp_path, {"hub": {"authenticator_class": "dict-authenticator"}},
                  installed=installed)
    client = TestClient(app)
    assert login(client, "Boss", "wrong").status_code == 403
    assert login(client, "Boss", "open sesame").status_code == 302
    boss = app.state.hub.users.get("boss")  # normalised to lower case
    assert boss is not None and boss.admin
    assert client.get("/hub/api/user").json()["name"] == "boss"


def test_hook_redirect(app):
    client = TestClient(app)
    login(client)
    probe = client.get("/hub/user-redirect/probe-page", follow_redirects=False)
    assert probe.headers["location"] == "/hub/probe?via=redirect"
    other = client.get("/hub/user-redirect/lab?x=1", follow_redirects=False)
    assert other.headers["location"] == "/user/alice/lab?x=1"  # the default, unchanged


def test_hook_log(app):
    client = TestClient(app)
    client.get("/hub/api/")
    login(client)
    assert "request" in calls("log")
    assert "login" in calls("log")


def test_hook_metrics(app):
    TestClient(app).get("/hub/api/")
    login(TestClient(app))
    assert "request_duration_seconds" in calls("metrics")
    assert "login_duration_seconds" in calls("metrics")


def test_hook_cli_commands(tmp_path, installed):
    loaded = load(tmp_path / "hub.ini", text="[hub]\nplugins = probe\n"
                  "authenticator_class = dummy\nspawner_class = simple\n", environ={},
                  installed=installed)
    group = type(cli)(name="kernel")
    add_plugin_commands(group, loaded)
    result = CliRunner().invoke(group, ["probe"])
    assert result.output == "probe command ran\n"
    assert "(From plugin probe.)" in group.commands["probe"].help


def test_hook_hub_startup(app):
    with TestClient(app):
        assert calls("hub_startup") == ["the tests"]
        assert calls("hub_shutdown") == []


def test_hook_hub_shutdown(app):
    with TestClient(app):
        pass
    assert calls("hub_shutdown") == [""]


def _start_and_stop(app) -> dict[str, str]:
    """Start alice's server through the API, read its environment, stop it."""
    with TestClient(app) as client:
        login(client)
        started = client.post("/hub/api/users/alice/server", headers=api_xsrf(client))
        assert started.status_code == 201, started.text
        hub = app.state.hub
        env = httpx.get(f"{hub.users.get('alice').server('').url}/user/alice/env").json()
        stopped = client.delete("/hub/api/users/alice/server", headers=api_xsrf(client))
        assert stopped.status_code == 204
    return env


def test_hook_pre_spawn_start(app):
    env = _start_and_stop(app)
    assert calls("pre_spawn_start") == ["alice/"]
    assert env["PROBE"] == "set by pre_spawn_start"


def test_hook_post_spawn_stop(app):
    _start_and_stop(app)
    assert calls("post_spawn_stop") == ["alice/"]


def test_hook_spawn(app):
    env = _start_and_stop(app)
    # The `simple` plugin's spawner ran the server: the hub's own user, its home folder.
    assert env["JUPYTERHUB_USER"] == "alice"
    assert env["HOME"].endswith("/home/alice")
    assert env["cwd"] == env["HOME"]


def test_hook_route(app):
    with TestClient(app) as client:
        login(client)
        assert client.post("/hub/api/users/alice/server",
                           headers=api_xsrf(client)).status_code == 201
        hub = app.state.hub
        # The proxy plugin (kernel-proxy, the default) added alice's route ...
        routes = httpx.get(f"{hub.proxy.api_url}/api/routes",
                           headers={"Authorization": f"token {hub.proxy.auth_token}"}).json()
        assert routes["/user/alice"]["target"] == hub.users.get("alice").server("").url
        assert routes["/user/alice"]["user"] == "alice"
        assert routes["/"]["hub"] is True
        # ... and the public port reaches her server through it.
        public = f"http://127.0.0.1:{hub.urls.public_port}"
        assert "Hello, alice" in httpx.get(f"{public}/user/alice/").text


def test_a_plugin_command_cannot_replace_another(tmp_path, installed):
    loaded = load(tmp_path / "hub.ini", text="[hub]\nplugins = probe\n"
                  "authenticator_class = dummy\nspawner_class = simple\n", environ={},
                  installed=installed)
    group = type(cli)(name="kernel")

    @group.command("probe")
    def builtin() -> None:
        """A command that was there first."""

    with pytest.raises(PluginError, match="plugin 'probe' failed in hook 'cli_commands': "
                                          "ValueError: the command name 'probe' is already"):
        add_plugin_commands(group, loaded)


def test_hook_post_auth(tmp_path, installed):
    app = hub_app(tmp_path, {"hub": {"plugins": "auth-rules"}}, installed=installed)
    client = TestClient(app)
    assert login(client, "alice").status_code == 302
    assert client.get("/hub/api/user").json()["user_info"] == {"checked_by": "auth-rules"}
    refused = login(TestClient(app), "mallory")
    assert refused.status_code == 403
    assert "mallory is not welcome here" in refused.text
    assert app.state.hub.users.get("mallory") is None


def test_hook_refresh_user(tmp_path, installed):
    auth_rules.REFRESHED.clear()
    app = hub_app(tmp_path, {"hub": {"plugins": "auth-rules"},
                             "auth": {"refresh_pre_spawn": "true"}}, installed=installed)
    with TestClient(app) as client:
        login(client, "alice")
        headers = api_xsrf(client)
        assert client.post("/hub/api/users/alice/server", headers=headers).status_code == 201
        assert client.get("/hub/api/user").json()["user_info"] == {"refreshed": True}
        eve = TestClient(app)
        login(eve, "eve")
        answer = eve.post("/hub/api/users/eve/server", headers=api_xsrf(eve))
        # 403, as JupyterHub answers when refresh_pre_spawn finds the login expired.
        assert answer.status_code == 403 and "log in again" in answer.json()["message"]
        assert eve.get("/hub/api/user").status_code == 403  # logged out everywhere
    assert auth_rules.REFRESHED == ["alice", "eve"]


def test_hook_internal_tls(tmp_path, installed):
    tls_provider.STORE = CertificateStore(tmp_path / "certs").prepare()
    try:
        app = hub_app(tmp_path / "hub", {"hub": {"plugins": "tls-provider"}},
                      installed=installed)
        hub = app.state.hub
        assert hub.tls is tls_provider.STORE
        assert hub.urls.hub_api_url.startswith("https://127.0.0.1:")
        command = hub.proxy.command_line()
        api = tls_provider.STORE.proxy_api
        assert command[command.index("--api-ssl-cert") + 1] == str(api.cert)
        assert "--client-ssl-reject-unauthorized" in command
        assert hub.proxy.api_url.startswith("https://")
        # Two plugins turning it on: which certificates would the hub use?
        with pytest.raises(PluginError, match="'tls-provider' and 'internal-ssl' both provide "
                                              "the internal TLS certificates"):
            hub_app(tmp_path / "second", {"hub": {"plugins": "tls-provider, internal-ssl",
                                                  "internal_ssl": "true",
                                                  "internal_certs_location":
                                                      str(tmp_path / "own")}},
                    installed=installed)
    finally:
        tls_provider.STORE = None


def test_hook_stored_data(tmp_path, installed):
    app = hub_app(tmp_path / "hub", {"hub": {"plugins": "notes"}}, installed=installed)
    hub = app.state.hub
    assert hub.db.call(plugin_data.versions, hub.db.peewee)["notes"] == 2
    alice = hub.db.call(orm.User.create, name="alice")
    hub.db.call(notes.Note.create, user=alice, text="kept in the plugin's table")
    assert hub.db.call(notes.Note.select().count) == 1
    hub.db.close()


def test_hook_declare_scopes(tmp_path, installed):
    hub = hub_app(tmp_path / "hub", {"hub": {"plugins": "badges"}}, installed=installed
                  ).state.hub
    assert "badges" in hub.permissions.role_scopes("admin")
    alice = asyncio.run(hub.users.add("alice"))
    own = hub.permissions.user_scopes(alice)
    assert own.allows("read:badges", user="alice", groups_of=hub.permissions.groups_of)
    assert not own.allows("badges", user="alice", groups_of=hub.permissions.groups_of)
    hub.db.close()
    # Without the plugin, nobody knows the scope.
    plain = hub_app(tmp_path / "plain", installed=installed).state.hub
    with pytest.raises(ScopeError, match="unknown scope 'badges'"):
        parse("badges")
    assert "badges" not in plain.permissions.role_scopes("admin")
    plain.db.close()


def test_hook_granted_scopes(tmp_path, installed):
    hub = hub_app(tmp_path / "hub", {"hub": {"plugins": "badges"}, "group:friends": {}},
                  installed=installed).state.hub
    bob, carol = asyncio.run(hub.users.add("bob")), asyncio.run(hub.users.add("carol"))
    assert "access:servers!server=alice/" in hub.permissions.user_scopes(bob).as_list()
    assert "access:servers!server=alice/" not in hub.permissions.user_scopes(carol).as_list()
    assert hub.permissions.group_scopes("friends") == ["access:servers!server=alice/"]
    hub.db.close()


async def _rename_then_delete(hub) -> None:
    alice = await hub.users.add("alice")
    await accounts.rename_user(hub, alice, "alicia")
    await accounts.delete_user(hub, alice)
    await hub.hooks.drain()


def test_hook_resource_renamed(app):
    asyncio.run(_rename_then_delete(app.state.hub))
    assert calls("resource_renamed") == ["alice -> alicia"]


def test_hook_resource_deleted(app):
    asyncio.run(_rename_then_delete(app.state.hub))
    assert calls("resource_deleted") == ["user alicia"]


def test_hook_extra_template_vars(app):
    client = TestClient(app)
    login(client)
    assert client.get("/hub/home").status_code == 200
    assert "home.html for alice" in calls("extra_template_vars")
