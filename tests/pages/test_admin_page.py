"""The admin page with 10,000 users: find one by name, start and stop their server, make them
an admin, put them in a group, delete another, act on several at once, add users; the groups
page. Everything the page does goes through the REST API."""

from __future__ import annotations

import time

import pytest

from tests.pages.conftest import (
    ARTIFACTS,
    admin_api,
    log_in,
    module_hub,
    new_page,
    screenshot,
    sections,
    wait_for_server,
)

USERS = 10_000
CHUNK = 1_000
PAGINATED = {"Accept": "application/jupyterhub-pagination+json"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from module_hub(tmp_path_factory, sections(hub={"redirect_to_server": "false"}))


@pytest.fixture(scope="module")
def api(hub):
    """The admin's API client, once 10,000 users exist (made 1,000 per request)."""
    with admin_api(hub) as client:
        began = time.monotonic()
        for start in range(0, USERS, CHUNK):
            names = [f"user{n:05d}" for n in range(start, start + CHUNK)]
            answer = client.post("/users", json={"usernames": names})
            assert answer.status_code == 201, answer.text
        took = time.monotonic() - began
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "admin-users-created.txt").write_text(
            f"{USERS} users created through POST /hub/api/users, {CHUNK} per request, "
            f"in {took:.2f} s\n")
        assert client.post("/groups/staff").status_code == 201
        yield client


@pytest.fixture
def admin_page(hub, browser, api):
    page = new_page(browser, hub)
    log_in(page, "admin")
    page.get_by_role("link", name="Admin").click()
    page.wait_for_url("**/hub/admin")
    page.wait_for_selector("#users-table tbody tr[data-user]")
    yield page
    page.context.close()


def search(page, text: str) -> None:
    page.fill("#search", text)
    page.wait_for_function(
        "text => document.getElementById('admin-status').textContent.includes(text)",
        arg=f"matching \u201c{text}\u201d")


def row(page, name: str):
    return page.locator(f"#users-table tbody tr[data-user='{name}']")


def test_find_one_user_among_ten_thousand_and_start_then_stop_their_server(admin_page, api):
    page = admin_page
    assert page.locator("#admin-status").inner_text() == f"Users 1\u201350 of {USERS + 1:,}"
    search(page, "user07345")
    assert page.locator("#users-table tbody tr").count() == 1
    user = row(page, "user07345")
    user.get_by_role("button", name="Start user07345's server").click()
    user.locator(".badge:text('Running')").wait_for()
    assert wait_for_server(api, "user07345")["ready"]
    screenshot(page, "admin-search-running")
    user.get_by_role("button", name="Stop user07345's server").click()
    user.locator(".badge:text('Stopped')").wait_for()
    assert api.get("/users/user07345").json()["server"] is None


def test_make_a_user_admin_with_a_group_and_delete_another(admin_page, api):
    page = admin_page
    search(page, "user01234")
    row(page, "user01234").get_by_role("button", name="Edit user01234").click()
    dialog = page.locator("#edit-dialog")
    dialog.get_by_label("Admin").check()
    dialog.get_by_label("staff").check()
    screenshot(page, "admin-edit-user")
    dialog.get_by_role("button", name="Save").click()
    page.wait_for_selector("#edit-dialog", state="hidden")
    row(page, "user01234").locator(".badge.admin").wait_for()
    assert row(page, "user01234").locator(".groups").inner_text() == "staff"
    model = api.get("/users/user01234").json()
    assert model["admin"] is True and model["groups"] == ["staff"]

    search(page, "user05678")
    page.once("dialog", lambda confirm: confirm.accept())
    row(page, "user05678").get_by_role("button", name="Delete user05678").click()
    page.wait_for_function("document.getElementById('admin-status').textContent"
                           ".startsWith('Deleted user05678')")
    assert row(page, "user05678").count() == 0
    assert api.get("/users/user05678").status_code == 404


def test_start_and_stop_the_servers_of_several_users_at_once(admin_page, api):
    page = admin_page
    search(page, "user0000")  # user00000 to user00009
    assert page.locator("#users-table tbody tr").count() == 10
    page.check("#select-page")
    assert page.locator("#selection-count").inner_text() == "10 users selected"
    page.click("#bulk-start")
    page.wait_for_function("document.getElementById('admin-status').textContent"
                           ".startsWith('Asked to start 10 of 10')", timeout=60_000)
    for n in range(10):
        wait_for_server(api, f"user0000{n}")
    page.wait_for_function("document.querySelectorAll('#users-table .badge.ok').length === 10")
    screenshot(page, "admin-bulk-started")
    page.check("#select-page")
    page.click("#bulk-stop")
    page.wait_for_function("document.getElementById('admin-status').textContent"
                           ".startsWith('Asked to stop 10 of 10')", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('#users-table .badge.ok').length === 0")
    assert api.get("/users?state=active").json() == []


def test_sort_and_page_through_users(admin_page, api):
    page = admin_page
    total = api.get("/users?limit=1", headers=PAGINATED).json()["_pagination"]["total"]
    pages = (total + 49) // 50
    page.get_by_role("button", name="User", exact=True).click()  # name: Z to A
    page.wait_for_selector(f"#users-table tbody tr[data-user='user{USERS - 1:05d}']:first-child")
    assert page.locator("th[data-sort='name']").get_attribute("aria-sort") == "descending"
    page.click("#next-page")
    page.wait_for_function("document.getElementById('admin-status').textContent"
                           ".startsWith('Users 51\u2013100')")
    assert "offset=50" in page.url and "sort=-name" in page.url
    page.click("#last-page")
    page.wait_for_function(f"document.getElementById('page-info').textContent === "
                           f"'Page {pages} of {pages}'")
    # The last page ends with the first names in reverse order.
    assert page.locator("#users-table tbody tr").last.get_attribute("data-user") == "admin"
    page.get_by_role("button", name="Last activity", exact=True).click()
    page.wait_for_function("document.querySelector(\"th[data-sort='last_activity']\")"
                           ".getAttribute('aria-sort') === 'descending'")
    # The most recently active first, as the REST API sorts them (starting and stopping
    # servers, as earlier tests did, is activity too).
    latest = api.get("/users?sort=-last_activity&limit=1", headers=PAGINATED).json()
    page.wait_for_selector(f"#users-table tbody tr[data-user='{latest['items'][0]['name']}']"
                           ":first-child")


def test_add_users_then_manage_a_group(admin_page, api):
    page = admin_page
    page.click("#show-add-users")
    page.fill("#new-usernames", "newcomer1\nnewcomer2")
    page.click("#add-users button[type=submit]")
    page.wait_for_function("document.getElementById('admin-status').textContent"
                           ".startsWith('Added 2 users')")
    assert api.get("/users/newcomer2").status_code == 200

    page.get_by_role("link", name="Groups").click()
    page.wait_for_url("**/hub/admin/groups")
    page.fill("#group-name", "physics")
    page.click("#new-group button[type=submit]")
    group = page.locator("details.group[data-group='physics']")
    group.wait_for()
    group.get_by_label("Add a member").fill("newcomer1")
    group.get_by_role("button", name="Add", exact=True).click()
    page.locator("details.group[data-group='physics'] .members li",
                 has_text="newcomer1").wait_for()
    assert api.get("/groups/physics").json()["users"] == ["newcomer1"]
    screenshot(page, "admin-groups")
    page.get_by_role("button", name="Remove newcomer1 from physics").click()
    page.locator("details.group[data-group='physics'] .members li",
                 has_text="No members yet").wait_for()
    page.once("dialog", lambda confirm: confirm.accept())
    page.get_by_role("button", name="Delete group physics").click()
    page.locator("details.group[data-group='physics']").wait_for(state="detached")
    assert api.get("/groups/physics").status_code == 404


def test_people_without_admin_ui_get_no_admin_page(hub, browser, api):
    page = new_page(browser, hub)
    log_in(page, "user00042")
    assert page.get_by_role("link", name="Admin").count() == 0
    response = page.goto("hub/admin")
    assert response.status == 403
    page.context.close()
