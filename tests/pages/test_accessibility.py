"""Every page, in the states people see it in, passes axe-core with no serious or critical
violation, on a desktop and on a phone (where nothing may scroll sideways)."""

from __future__ import annotations

import httpx
import pytest

from tests.pages.conftest import (
    admin_api,
    check_accessibility,
    log_in,
    module_hub,
    new_page,
    screenshot,
    sections,
    wait_for_server,
)

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from module_hub(tmp_path_factory, sections(
        hub={"redirect_to_server": "false", "implicit_spawn_seconds": "30",
             "named_server_limit_per_user": "5"},
        spawner={"options_form": '<label for="size">Size</label>\n  '
                                 '<select id="size" name="size"><option>small</option>'
                                 "<option>large</option></select>"},
        **{"role:sharers": {"scopes": "shares!user, read:users:name", "users": "alice"}}))


@pytest.fixture(scope="module")
def setup(hub):
    """alice: a running default server, a stopped named one, shared with bob, a token."""
    with admin_api(hub) as api:
        assert api.post("/users", json={"usernames": ["alice", "bob", "carol"]}).status_code \
            == 201
        api.post("/users/alice/server")
        api.put("/users/alice/servers/analysis", json={"display_name": "Data analysis"})
        api.put("/users/alice/servers/broken", json={})
        api.put("/users/alice/servers/slow", json={})
        wait_for_server(api, "alice")
        api.post("/groups/physics", json={"users": ["alice", "bob"]})
        token = api.post("/users/alice/tokens",
                         json={"note": "backup script", "expires_in": 3600}).json()["token"]
    # Admins may not share users' servers (admin_access is off): alice does.
    with httpx.Client(base_url=f"{hub.url}hub/api",
                      headers={"Authorization": f"token {token}"}) as alice:
        assert alice.post("/shares/alice/", json={"user": "bob"}).status_code == 200
        code = alice.post("/share-codes/alice/", json={"expires_in": 3600}).json()
    yield code["accept_url"]


def audit(page, name: str, axe_script) -> None:
    screenshot(page, f"a11y-{name}")
    check_accessibility(page, name, axe_script)


def test_login_page(hub, browser, axe_script):
    page = new_page(browser, hub)
    page.goto("hub/login")
    audit(page, "login", axe_script)
    log_in(page, "alice", "wrong")
    audit(page, "login-error", axe_script)
    page.context.close()


def test_home_page(hub, browser, axe_script, setup):
    page = new_page(browser, hub)
    log_in(page, "bob")  # something shared with him
    audit(page, "home-shared", axe_script)
    page.context.close()
    page = new_page(browser, hub)
    log_in(page, "alice")
    page.click("#new-server button[type=submit]")  # empty name: the error is shown
    audit(page, "home", axe_script)
    page.context.close()


def test_spawn_pages(hub, browser, axe_script, setup):
    page = new_page(browser, hub)
    log_in(page, "alice")
    page.goto("hub/spawn/alice/slow")
    audit(page, "spawn-form", axe_script)
    page.click("#spawn_form button[type=submit]")
    page.wait_for_url("**/hub/spawn-pending/alice/slow")
    audit(page, "spawn-pending", axe_script)
    page.goto("hub/spawn/alice/broken")
    page.click("#spawn_form button[type=submit]")
    page.locator("#progress-error").wait_for(state="visible")
    audit(page, "spawn-failed", axe_script)
    page.context.close()
    page = new_page(browser, hub)
    log_in(page, "bob")
    page.goto("user/bob/lab")
    page.wait_for_url("**/hub/user/bob/lab")
    audit(page, "not-running", axe_script)
    page.context.close()


def test_token_page(hub, browser, axe_script, setup):
    page = new_page(browser, hub)
    log_in(page, "alice")
    page.goto("hub/token")
    page.fill("#token-note", "notebook sync")
    page.click("#request-token-form button[type=submit]")
    page.wait_for_selector("#token-area:not([hidden])")
    page.locator("#api-tokens-table tbody tr", has_text="backup script").wait_for()
    audit(page, "token", axe_script)
    page.context.close()


def test_sharing_pages(hub, browser, axe_script, setup):
    page = new_page(browser, hub)
    log_in(page, "alice")
    page.goto("hub/share/alice")
    page.locator("#shares-table tbody tr").first.wait_for()
    page.locator("#codes-table tbody tr").first.wait_for()
    audit(page, "share", axe_script)
    page.context.close()
    page = new_page(browser, hub)
    log_in(page, "carol")
    page.goto(setup.lstrip("/"))
    audit(page, "accept-share", axe_script)
    page.context.close()


def test_admin_pages(hub, browser, axe_script, setup):
    page = new_page(browser, hub)
    log_in(page, "admin")
    page.goto("hub/admin")
    page.wait_for_selector("#users-table tbody tr[data-user='alice']")
    page.check("#users-table tbody tr[data-user='bob'] input.select-user")
    audit(page, "admin", axe_script)
    page.click("#show-add-users")
    audit(page, "admin-add-users", axe_script)
    page.get_by_role("button", name="Edit alice").click()
    page.locator("#edit-group-list input").first.wait_for()
    audit(page, "admin-edit", axe_script)
    page.get_by_role("button", name="Cancel").last.click()
    page.goto("hub/admin/groups")
    page.locator("details.group summary").first.click()
    audit(page, "admin-groups", axe_script)
    page.context.close()


def test_error_pages(hub, browser, axe_script):
    page = new_page(browser, hub)
    page.goto("hub/error/404?url=/user/nobody/")
    audit(page, "error-404", axe_script)
    page.goto("hub/error/503?url=/user/alice/lab")
    audit(page, "error-503", axe_script)
    page.context.close()


@pytest.mark.parametrize("path", ["hub/home", "hub/token", "hub/admin", "hub/share/alice"])
def test_pages_fit_a_phone(hub, browser, axe_script, setup, path):
    page = new_page(browser, hub, **PHONE)
    log_in(page, "admin" if path == "hub/admin" else "alice")
    page.goto(path)
    page.wait_for_load_state("networkidle")
    name = "phone-" + path.split("/", 1)[1].replace("/", "-")
    audit(page, name, axe_script)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (
        f"{path} scrolls sideways on a phone")
    page.context.close()
