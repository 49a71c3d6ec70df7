"""The login page: wrong passwords, the navigation a person then sees, an expired form,
external login services, auto_login, and logging out."""

from __future__ import annotations

import pytest

from kernel.testing.hub import running_hub
from tests.pages.conftest import (
    ADMIN_TOKEN,
    log_in,
    module_hub,
    new_page,
    screenshot,
    sections,
)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from module_hub(tmp_path_factory, sections(hub={"redirect_to_server": "false"}))


def test_a_wrong_password_says_so_and_keeps_the_name_then_the_right_one_lands_home(hub,
                                                                                   browser):
    page = new_page(browser, hub)
    page.goto("hub/home")
    page.wait_for_url("**/hub/login?next=%2Fhub%2Fhome")
    log_in(page, "frank", "not the password")
    assert page.locator("#login-error").inner_text() == "Invalid username or password."
    assert page.input_value("#username_input") == "frank"
    screenshot(page, "login-error")
    log_in(page, "frank")
    assert page.url.endswith("/hub/home")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == ["Home", "Token"]
    assert page.locator(".account .username").inner_text().endswith("frank")
    page.get_by_role("link", name="Log out").click()
    page.wait_for_url("**/hub/login")
    assert page.goto("hub/home").url.endswith("/hub/login?next=%2Fhub%2Fhome")
    page.context.close()


def test_admins_see_the_admin_link(hub, browser):
    page = new_page(browser, hub)
    log_in(page, "admin")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == ["Home", "Token", "Admin"]
    page.context.close()


def test_an_expired_login_form_asks_to_try_again(hub):
    client = hub.client()
    client.get("hub/login")
    answer = client.post("hub/login", data={"username": "gina", "password": "x",
                                            "_xsrf": "stale-token"})
    assert answer.status_code == 403
    assert "Login form invalid or expired. Try again." in answer.text
    assert 'name="_xsrf"' in answer.text  # a fresh form to try again with


def test_an_external_login_service_replaces_the_password_form(tmp_path):
    config = sections(auth={"login_service": "Example SSO", "login_url": "example-login"})
    with running_hub(tmp_path / "hub", config) as hub:
        page = hub.client().get("hub/login", params={"next": "/hub/token"})
    assert "Sign in with Example SSO" in page.text
    assert 'href="/hub/example-login?next=%2Fhub%2Ftoken"' in page.text
    assert 'id="password_input"' not in page.text


def test_auto_login_goes_straight_to_the_login_service(tmp_path):
    config = sections(auth={"auto_login": "true", "login_service": "Example SSO",
                            "login_url": "https://sso.example.org/start"})
    with running_hub(tmp_path / "hub", config) as hub:
        answer = hub.client().get("hub/login", params={"next": "/hub/home"})
    assert answer.status_code == 302
    assert answer.headers["location"] == "https://sso.example.org/start?next=%2Fhub%2Fhome"


def test_auto_login_without_a_login_service_asks_the_authenticator(tmp_path):
    # The dummy authenticator needs a password, which an automatic login cannot give.
    with running_hub(tmp_path / "hub", sections(auth={"auto_login": "true"})) as hub:
        answer = hub.client().get("hub/login")
        assert answer.status_code == 403
        assert "Automatic login failed" in answer.text
        # The API is unaffected.
        assert hub.client().get("hub/api/user", headers={
            "Authorization": f"token {ADMIN_TOKEN}"}).json()["name"] == "admin"
