"""kernelhub-hello in a real hub, through kernelhub's pytest fixtures (make_hub, load_hub_ini)."""

from __future__ import annotations

import pytest

from kernel.api import ConfigError


def test_a_user_is_greeted_by_name(make_hub):
    hub = make_hub({"hub": {"plugins": "hello"}})
    token = hub.new_token(hub.new_user("alice"))
    response = hub.api_as(token).get("hello")
    assert response.status_code == 200
    assert response.json() == {"greeting": "Hello, alice!"}


def test_the_greeting_comes_from_hub_ini(make_hub):
    hub = make_hub("[hub]\nplugins = hello\n[hello]\ngreeting = Welcome\n")
    assert hub.api.get("hello").json() == {"greeting": "Welcome, admin!"}


def test_nobody_is_greeted_without_a_token(make_hub):
    hub = make_hub({"hub": {"plugins": "hello"}})
    response = hub.api_as(None).get("hello")
    assert response.status_code == 403
    assert response.json() == {"status": 403, "message": "Log in or send a token to be greeted"}


def test_the_endpoint_is_not_there_unless_hub_ini_enables_the_plugin(make_hub):
    assert make_hub("").api.get("hello").status_code == 404


def test_an_unknown_option_is_an_error_before_the_hub_starts(load_hub_ini):
    with pytest.raises(ConfigError, match=r"\[hello\] greting: unknown option; did you mean "
                                          r"'greeting'\?"):
        load_hub_ini({"hub": {"plugins": "hello"}, "hello": {"greting": "Hi"}})
