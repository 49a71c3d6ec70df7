"""[service:NAME] sections: what the database holds after start-up, and the mistakes that
stop the hub before it starts, each naming its section and key."""

from __future__ import annotations

import pytest

from kernel.config.errors import ConfigError
from kernel.db import models as orm
from kernel.testing.hub import hub_app

TOKEN = "a-service-token-0123456789"


def _services(app) -> dict[str, orm.Service]:
    return app.state.hub.db.call(lambda: {s.name: s for s in orm.Service.select()})


def test_config_services_follow_hub_ini_and_api_services_stay(tmp_path):
    sections = {"service:grades": {"url": "http://127.0.0.1:10101", "api_token": TOKEN},
                "service:report": {"oauth_redirect_uri": "https://example.org/callback"}}
    app = hub_app(tmp_path, sections)
    hub = app.state.hub
    grades = hub.services.get("grades")
    assert grades.spec.oauth_client_id == "service-grades"
    assert grades.spec.oauth_redirect_uri == "/services/grades/oauth_callback"
    client = hub.db.call(lambda: orm.OAuthClient.get(identifier="service-grades"))
    assert client.access_scopes == ["access:services!service=grades"]
    assert client.description == "JupyterHub service grades"
    # OAuth without a URL: a client, with the configured redirect and no secret.
    report = hub.db.call(lambda: orm.OAuthClient.get(identifier="service-report"))
    assert (report.redirect_uri, report.secret_hash) == ("https://example.org/callback", "")
    hub.db.call(lambda: orm.Service.create(name="from-api", from_config=False))
    hub.db.close()

    # grades leaves hub.ini: gone with its token and OAuth client; from-api stays.
    app = hub_app(tmp_path, {"service:report": sections["service:report"]})
    hub = app.state.hub
    assert set(_services(app)) == {"report", "from-api"}
    assert {s.name for s in hub.services} == {"report", "from-api"}
    assert hub.db.call(lambda: orm.APIToken.select().where(
        orm.APIToken.note == "from hub.ini").count()) == 0
    assert hub.db.call(lambda: orm.OAuthClient.get_or_none(identifier="service-grades")) is None
    hub.db.close()


def test_a_managed_service_gets_a_new_token_at_each_start(tmp_path):
    sections = {"service:cull": {"command": "true"}}
    first = hub_app(tmp_path, sections).state.hub
    token = first.services.get("cull").api_token
    first.db.close()
    second = hub_app(tmp_path, sections).state.hub
    assert second.services.get("cull").api_token not in (None, token)
    rows = second.db.call(lambda: list(orm.APIToken.select().where(
        orm.APIToken.service.is_null(False))))
    assert len(rows) == 1  # the last start's token replaced the one before
    second.db.close()


@pytest.mark.parametrize(("sections", "where", "message"), [
    ({"service:x": {"url": "ftp://files"}}, r"\[service:x\] url",
     "'ftp://files' is not an http"),
    ({"service:x": {"url": "http://127.0.0.1:1", "oauth_client_id": "x"}},
     r"\[service:x\] oauth_client_id", "must start with 'service-'"),
    ({"service:x": {"oauth_no_confirm": "true"}}, r"\[service:x\] oauth_redirect_uri",
     "needs oauth_redirect_uri"),
    ({"service:x": {"api_token": "short"}}, r"\[service:x\] api_token",
     "at least 8 characters"),
    ({"service:x": {"url": "http://127.0.0.1:1", "oauth_client_allowed_scopes": "read:nope"}},
     r"\[service:x\] oauth_client_allowed_scopes", "unknown scope 'read:nope'"),
    ({"service:a%2Fb": {"url": "http://127.0.0.1:1"}}, r"\[service:a%2Fb\]",
     "cannot be a service name"),
    ({"role:r": {"scopes": "read:hub", "services": "ghost"}}, r"\[role:r\] services",
     "there is no service 'ghost'"),
    ({"hub.service_tokens": {TOKEN: "ghost"}}, r"\[hub\] service_tokens",
     "there is no service 'ghost'"),
    ({"service:x": {"api_token": TOKEN}, "service:y": {"api_token": TOKEN}},
     r"\[service:y\] api_token", "already belongs to someone else"),
    ({"role:admin": {"scopes": "read:hub"}}, r"\[role:admin\] scopes",
     "the admin role's scopes cannot be changed"),
    ({"service:x": {"oauth_roles": "nobody", "url": "http://127.0.0.1:1"}},
     r"\[service:x\] oauth_roles", "there is no role 'nobody'"),
])
def test_a_service_mistake_stops_the_hub_naming_section_and_key(tmp_path, sections, where,
                                                                 message):
    with pytest.raises(ConfigError, match=where + r".*" + message):
        hub_app(tmp_path, sections)


def test_built_in_roles_may_be_redefined(tmp_path):
    app = hub_app(tmp_path, {"role:user": {"scopes": "self, access:services"},
                             "role:admin": {"users": "head"},
                             "service:grades": {"url": "http://127.0.0.1:10101"}})
    hub = app.state.hub
    hub.db.call(lambda: orm.User.get_or_create(name="alice"))
    hub.db.call(hub.users.load)
    hub.db.call(hub.permissions.load)
    alice = hub.users.get("alice")
    assert hub.permissions.user_scopes(alice).allows("access:services", service="grades")
    assert hub.users.get("head").admin is True
    hub.db.close()
