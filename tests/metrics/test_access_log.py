"""The hub's log: one access line per request with secrets redacted, and the logging options."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from kernel.config.errors import ConfigError
from kernel.logs import configure_logging
from kernel.testing.hub import hub_app

TOKEN = "access-log-token-0123456789"
#: The hub's peer is its proxy, on loopback, as in production.
FROM_THE_PROXY = ("127.0.0.1", 40000)


@pytest.fixture
def access_lines(caplog):
    """The access log lines written so far."""
    caplog.set_level(logging.DEBUG, logger="kernelhub.access")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "kernelhub.access"]


def test_a_line_has_status_method_path_user_client_and_duration(tmp_path, access_lines):
    app = hub_app(tmp_path, {"hub.api_tokens": {TOKEN: "alice"}})
    TestClient(app, client=FROM_THE_PROXY).get(
        "/hub/api/user", headers={"Authorization": f"token {TOKEN}"})
    (line,) = access_lines()
    assert line.startswith("200 GET /hub/api/user (alice@127.0.0.1) ")
    assert line.endswith("ms")


def test_credentials_in_the_query_are_redacted_and_oauth_state_is_not(tmp_path, access_lines):
    client = TestClient(hub_app(tmp_path))
    client.get("/hub/api/?token=t1&access_token=t2&_xsrf=x&code=c&client_secret=s"
               "&state=st&code_challenge=cc&next=/hub/home")
    (line,) = access_lines()
    assert ("GET /hub/api/?token=[secret]&access_token=[secret]&_xsrf=[secret]&code=[secret]"
            "&client_secret=[secret]&state=st&code_challenge=cc&next=/hub/home ") in line
    for secret in ("t1", "t2", "=x", "=c&", "=s&"):
        assert secret not in line


def test_a_token_in_the_path_of_an_authorization_check_is_redacted(tmp_path, access_lines):
    TestClient(hub_app(tmp_path)).get("/hub/api/authorizations/token/my-secret-token")
    (line,) = access_lines()
    assert "/hub/api/authorizations/token/[secret] " in line
    assert "my-secret-token" not in line


def test_a_redirect_shows_its_target_redacted(tmp_path, access_lines):
    TestClient(hub_app(tmp_path)).get("/elsewhere?code=abc&state=st", follow_redirects=False)
    (line,) = access_lines()
    assert line.startswith("302 GET /elsewhere?code=[secret]&state=st -> "
                           "/hub/elsewhere?code=[secret]&state=st (-@testclient) ")


@pytest.mark.parametrize(("trusted", "client"), [("", "10.1.2.3"),
                                                  ("10.0.0.0/8", "203.0.113.9")])
def test_the_client_address_comes_through_trusted_downstream_proxies(
        tmp_path, access_lines, trusted, client):
    app = hub_app(tmp_path, {"hub": {"trusted_downstream_ips": trusted}})
    # As the hub's proxy forwards it: under the hub route's secret path.
    via_the_proxy = app.state.hub.proxy_hop.target("") + "/hub/api/"
    TestClient(app, client=FROM_THE_PROXY).get(
        via_the_proxy, headers={"X-Forwarded-For": "203.0.113.9, 10.1.2.3"})
    (line,) = access_lines()
    assert line.startswith("200 GET /hub/api/ ")
    assert f"(-@{client})" in line


def test_extra_log_handlers_is_refused_with_a_pointer_to_the_log_hook(load_ini):
    with pytest.raises(ConfigError, match=r"\[hub\] extra_log_handlers: cannot be set in "
                                          r"kernelhub: ship events elsewhere with a plugin "
                                          r"implementing the `log` hook \(docs/hooks/log.md\)"):
        load_ini("[hub]\nauthenticator_class = dummy\nspawner_class = simple\n"
                 "extra_log_handlers = logging.StreamHandler\n")


@pytest.fixture
def restored_loggers():
    """configure_logging changes process-wide loggers: put them back afterwards."""
    loggers = [logging.getLogger(name) for name in ("kernelhub", "hypercorn.error", "peewee")]
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


def test_log_level_format_and_datefmt_shape_every_line(load_ini, capsys, restored_loggers):
    config = load_ini("[hub]\nauthenticator_class = dummy\nspawner_class = simple\n"
                      "log_level = WARNING\n"
                      "log_format = %(levelname)s|%(asctime)s|%(name)s|%(message)s\n"
                      "log_datefmt = %Y\n").config
    configure_logging(config)
    logging.getLogger("kernelhub.access").info("not shown: below log_level")
    logging.getLogger("kernelhub.access").warning("404 GET /nowhere")
    (line,) = capsys.readouterr().err.splitlines()
    level, year, name, message = line.split("|")
    assert (level, len(year), name, message) == ("WARNING", 4, "kernelhub.access",
                                                 "404 GET /nowhere")
