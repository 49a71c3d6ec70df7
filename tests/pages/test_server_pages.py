"""A person's servers in the browser: the options form, the progress bar, the server, the home
page's Start, Stop, Create and Delete, a failed start, and the not-running page."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.pages.conftest import (
    admin_api,
    log_in,
    module_hub,
    new_page,
    screenshot,
    sections,
)

OPTIONS_FORM = """
<label for="flavour">Flavour</label>
<select id="flavour" name="flavour">
  <option value="small">Small: 1 CPU</option>
  <option value="large">Large: 4 CPUs</option>
</select>
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from module_hub(tmp_path_factory, sections(
        hub={"named_server_limit_per_user": "3", "implicit_spawn_seconds": "2"},
        # hub.ini continues a value on indented lines.
        spawner={"options_form": OPTIONS_FORM.strip().replace("\n", "\n  ")},
        # Slow enough to watch the progress bar move.
        **{"spawner.environment": {"MOCKSERVER_START_DELAY": "1.5"}}))


@pytest.fixture
def api(hub):
    with admin_api(hub) as client:
        yield client


#: Remembers every value the progress bar shows, across the page change that follows.
RECORD_PROGRESS = """
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.getElementById("progress-bar");
  if (!bar) return;
  const seen = () => JSON.parse(sessionStorage.getItem("progress") || "[]");
  const record = () => sessionStorage.setItem("progress", JSON.stringify([...seen(), bar.value]));
  record();
  new MutationObserver(record).observe(bar, {attributes: true, attributeFilter: ["value"]});
});
"""


def test_log_in_choose_options_watch_the_progress_open_the_server_and_stop_it(hub, browser,
                                                                               api):
    page = new_page(browser, hub)
    page.add_init_script(RECORD_PROGRESS)
    log_in(page, "alice")
    # redirect_to_server: the login goes on to start the server, which asks for options.
    page.wait_for_url("**/hub/spawn")
    screenshot(page, "spawn-options-form")
    page.select_option("#flavour", "large")
    page.click("#spawn_form button[type=submit]")
    page.wait_for_url("**/hub/spawn-pending/alice")
    screenshot(page, "spawn-pending")
    # The bar follows the event stream to its end, then the page opens the server.
    page.wait_for_url("**/user/alice/")
    assert page.locator("h1").inner_text() == "Hello, alice"
    shown = page.evaluate("JSON.parse(sessionStorage.getItem('progress'))")
    assert shown[0] == 0 and shown[-1] == 100 and shown == sorted(shown), shown
    # As JupyterHub passes a form on by default: every field as a list.
    assert api.get("/users/alice/server").json()["user_options"] == {"flavour": ["large"]}

    page.goto("hub/home")
    row = page.locator("tr[data-server='']")
    assert row.locator(".status").inner_text() == "Running"
    assert row.get_by_role("link", name="Open").get_attribute("href") == "/user/alice/"
    screenshot(page, "home-running")
    with page.expect_navigation():
        row.get_by_role("button", name="Stop").click()
    assert page.locator("tr[data-server=''] .status").inner_text() == "Stopped"
    assert api.get("/users/alice").json()["server"] is None
    page.context.close()


def test_create_start_and_delete_a_named_server(hub, browser, api):
    page = new_page(browser, hub)
    log_in(page, "bob")
    page.goto("hub/home")
    assert "You have 0 of the 3 named servers" in page.locator("#named-server-rules").inner_text()
    # A name that cannot be part of an address is refused before anything is sent.
    page.fill("#server-name", "Not OK")
    page.click("#new-server button[type=submit]")
    assert "lower-case letters" in page.locator("#home-error").inner_text()

    page.fill("#server-name", "gpu-1")
    page.fill("#server-display-name", "GPU experiments")
    with page.expect_navigation():
        page.click("#new-server button[type=submit]")
    row = page.locator("tr[data-server='gpu-1']")
    assert row.locator("th").inner_text().startswith("GPU experiments")
    assert row.locator(".status").inner_text() == "Stopped"
    assert "You have 1 of the 3" in page.locator("#named-server-rules").inner_text()

    row.get_by_role("link", name="Start").click()
    page.wait_for_url("**/hub/spawn/bob/gpu-1")  # the options form first
    page.click("#spawn_form button[type=submit]")
    page.wait_for_url("**/user/bob/gpu-1/")
    page.goto("hub/home")
    assert page.locator("tr[data-server='gpu-1'] .status").inner_text() == "Running"
    screenshot(page, "home-named-servers")

    page.locator("tr[data-server='gpu-1']").get_by_role("button", name="Stop").click()
    page.wait_for_selector("tr[data-server='gpu-1'] .badge:text('Stopped')")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator("tr[data-server='gpu-1']").get_by_role("button", name="Delete").click()
    assert page.locator("tr[data-server='gpu-1']").count() == 0
    assert api.get("/users/bob/servers/gpu-1").status_code == 404
    page.context.close()


def test_a_failed_start_says_why_and_offers_to_try_again(hub, browser, api):
    api.post("/users/carol")
    assert api.put("/users/carol/servers/broken", json={}).status_code == 201
    page = new_page(browser, hub)
    log_in(page, "carol")
    page.goto("hub/home")
    page.locator("tr[data-server='broken']").get_by_role("link", name="Start").click()
    page.click("#spawn_form button[type=submit]")
    page.wait_for_url("**/hub/spawn-pending/carol/broken")
    error = page.locator("#progress-error")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("Spawn failed:")
    assert page.locator("h1").inner_text() == "The server broken did not start"
    assert page.get_by_role("link", name="Try again").is_visible()
    screenshot(page, "spawn-failed")
    # Coming back later still says what happened.
    page.reload()
    assert page.locator("#progress-error").inner_text().startswith("Spawn failed:")
    page.context.close()


def test_the_not_running_page_counts_down_then_starts_the_server(hub, browser):
    page = new_page(browser, hub)
    log_in(page, "dave")
    page.wait_for_url("**/hub/spawn")
    # A link into dave's server while it is not running.
    page.goto("user/dave/tree/notes.ipynb")
    page.wait_for_url("**/hub/user/dave/tree/notes.ipynb")
    assert page.locator("h1").inner_text() == "Your server is not running"
    assert page.locator("#countdown").inner_text() in ("2", "1")
    screenshot(page, "not-running")
    # implicit_spawn_seconds = 2: it goes on by itself (to the options form, here), then
    # to where the link pointed.
    page.wait_for_url("**/hub/spawn/dave?next=*")
    page.click("#spawn_form button[type=submit]")
    page.wait_for_url("**/user/dave/tree/notes.ipynb")
    assert page.locator("h1").inner_text() == "Hello, dave"
    page.context.close()


def test_error_pages_are_html_for_people_and_json_for_the_api(hub, browser):
    api_error = httpx.get(f"{hub.url}hub/api/users/nobody",
                          headers={"Authorization": "token admin-token-for-the-page-tests"})
    assert api_error.status_code == 404
    assert api_error.json() == {"status": 404, "message": "No such user: nobody"}
    page = new_page(browser, hub)
    response = page.goto("hub/no-such-page")
    assert response.status == 404
    assert page.locator("h1").inner_text().startswith("Page not found")
    # The proxy's error target, for a server that stopped answering.
    response = page.goto("hub/error/503?url=/user/erin/lab")
    assert response.status == 503
    assert page.locator("h1").inner_text().startswith("Server not available")
    assert "/user/erin/lab" in page.locator("main").inner_text()
    screenshot(page, "error-503")
    assert re.search(r"Go to the home page", page.content())
    page.context.close()
