"""The token page: create a token with a note, an expiry and scopes; use it; see when it was
last used; revoke it."""

from __future__ import annotations

import httpx
import pytest

from tests.pages.conftest import log_in, module_hub, new_page, screenshot, sections


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from module_hub(tmp_path_factory, sections(hub={"redirect_to_server": "false"}))


def test_create_a_token_use_it_then_revoke_it(hub, browser):
    page = new_page(browser, hub)
    log_in(page, "dana")
    page.get_by_role("link", name="Token").click()
    page.wait_for_url("**/hub/token")
    page.wait_for_function("document.getElementById('tokens-status').textContent === "
                           "'You have no tokens.'")

    page.fill("#token-note", "nightly report")
    page.select_option("#token-expiration-seconds", label="1 day")
    page.check("#scopes-some")
    page.fill("#token-scopes", "read:users!user, read:servers!user")
    page.click("#request-token-form button[type=submit]")
    page.wait_for_selector("#token-area:not([hidden])")
    token = page.input_value("#token-result")
    assert len(token) >= 32
    row = page.locator("#api-tokens-table tbody tr", has_text="nightly report")
    assert row.locator("td").nth(2).inner_text() == "Never"  # last used
    assert row.locator("td").nth(3).inner_text() in ("in 24 hours", "tomorrow")
    screenshot(page, "token-created")

    # The token works, with just the scopes it was given.
    who = httpx.get(f"{hub.url}hub/api/user", headers={"Authorization": f"token {token}"})
    assert who.status_code == 200 and who.json()["name"] == "dana"
    assert "read:users!user=dana" in who.json()["scopes"]
    assert "tokens!user=dana" not in who.json()["scopes"]
    page.reload()
    row = page.locator("#api-tokens-table tbody tr", has_text="nightly report")
    assert row.locator("td").nth(2).inner_text() == "just now"

    row.get_by_role("button", name="Revoke token nightly report").click()
    page.wait_for_selector("#api-tokens-table tbody tr:has-text('nightly report')",
                           state="detached")
    assert httpx.get(f"{hub.url}hub/api/user",
                     headers={"Authorization": f"token {token}"}).status_code == 403
    page.context.close()


def test_a_scope_the_person_does_not_hold_is_refused_with_the_reason(hub, browser):
    page = new_page(browser, hub)
    log_in(page, "eve")
    page.goto("hub/token")
    page.check("#scopes-some")
    page.fill("#token-scopes", "admin:users")
    page.click("#request-token-form button[type=submit]")
    error = page.locator("#token-error")
    error.wait_for(state="visible")
    assert "admin:users" in error.inner_text() and "not held" in error.inner_text()
    assert page.locator("#token-area").is_hidden()
    page.context.close()


def test_a_token_made_without_a_note_says_it_came_from_the_token_page(hub, browser):
    page = new_page(browser, hub)
    log_in(page, "fay")
    page.goto("hub/token")
    page.click("#request-token-form button[type=submit]")
    page.wait_for_selector("#token-area:not([hidden])")
    page.wait_for_selector("#api-tokens-table tbody tr:has-text('Requested via token page')")
    assert page.locator("#api-tokens-table tbody tr", has_text="Requested via api").count() == 0
    page.context.close()
