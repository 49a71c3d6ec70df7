"""Sharing in the browser: share a server with a person, who then opens it; share it through a
link that someone else accepts; take access away.

The test server (kernel.testing.mockserver) checks nobody's identity, so
whether a person may use a server is checked where real single-user servers
ask: the hub's OAuth authorize endpoint for that server's client.
"""

from __future__ import annotations

import pytest

from tests.pages.conftest import (
    admin_api,
    log_in,
    module_hub,
    new_page,
    screenshot,
    sections,
    wait_for_server,
)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    # Sharing is opt-in, as in JupyterHub: alice may share her servers.
    yield from module_hub(tmp_path_factory, sections(
        hub={"redirect_to_server": "false"},
        **{"role:sharers": {"scopes": "shares!user, read:users:name, read:groups:name",
                            "users": "alice"}}))


@pytest.fixture(scope="module")
def alice_server(hub):
    with admin_api(hub) as api:
        for name in ("alice", "bob", "carol"):
            api.post(f"/users/{name}")
        assert api.post("/users/alice/server").status_code in (201, 202)
        wait_for_server(api, "alice")


def may_use_alices_server(page) -> bool:
    """Whether the hub would let this browser's person into alice's server: it asks them to
    confirm (as JupyterHub does for someone else's server), or it refuses."""
    answer = page.context.request.get(
        "hub/api/oauth2/authorize", max_redirects=0,
        params={"client_id": "jupyterhub-user-alice", "response_type": "code",
                "redirect_uri": "/user/alice/oauth_callback"})
    assert answer.status in (200, 403), answer.status
    return answer.status == 200 and "Authorize access" in answer.text()


def test_share_a_server_with_a_person_who_opens_it_then_take_it_back(hub, browser,
                                                                     alice_server):
    bob = new_page(browser, hub)
    log_in(bob, "bob")
    assert not may_use_alices_server(bob)

    alice = new_page(browser, hub)
    log_in(alice, "alice")
    alice.locator("tr[data-server='']").get_by_role("link", name="Share").click()
    alice.wait_for_url("**/hub/share/alice")
    alice.select_option("#grant-kind", "user")
    alice.fill("#grant-name", "bob")
    alice.click("#grant-form button[type=submit]")
    row = alice.locator("#shares-table tbody tr[data-who='bob']")
    row.wait_for()
    assert "Use the server" in row.inner_text()
    screenshot(alice, "share-page")

    # Bob finds it on his home page and opens it.
    bob.goto("hub/home")
    shared = bob.locator("table.shared tr[data-owner='alice']")
    assert "Running" in shared.inner_text()
    screenshot(bob, "home-shared-with-me")
    with bob.expect_navigation():
        shared.get_by_role("link", name="Open").click()
    assert bob.url.endswith("/user/alice/")
    assert bob.locator("h1").inner_text() == "Hello, alice"
    assert may_use_alices_server(bob)

    # Alice takes it back.
    alice.get_by_role("button", name="Remove bob").click()
    alice.wait_for_selector("#shares-table tbody tr[data-who='bob']", state="detached")
    assert not may_use_alices_server(bob)
    bob.goto("hub/home")
    assert bob.locator("table.shared").count() == 0
    alice.context.close()
    bob.context.close()


def test_a_share_link_gives_access_to_the_person_who_accepts_it(hub, browser, alice_server):
    alice = new_page(browser, hub)
    log_in(alice, "alice")
    alice.goto("hub/share/alice")
    alice.select_option("#code-expires", label="1 hour")
    alice.click("#code-form button[type=submit]")
    alice.wait_for_selector("#code-result:not([hidden])")
    link = alice.input_value("#code-url")
    assert link.startswith(f"{hub.url}hub/accept-share?code=")
    alice.locator("#codes-table tbody tr").wait_for()
    assert alice.locator("#codes-table tbody tr").count() == 1

    # Carol opens the link, signs in, sees what she is given, and accepts.
    carol = new_page(browser, hub)
    carol.goto(link)
    carol.wait_for_url("**/hub/login?next=*")
    log_in(carol, "carol")
    carol.wait_for_url("**/hub/accept-share?code=*")
    assert carol.locator("h1").inner_text() == "alice shares a server with you"
    screenshot(carol, "accept-share")
    assert not may_use_alices_server(carol)
    with carol.expect_navigation():
        carol.get_by_role("button", name="Accept").click()
    # The server is running: straight to it.
    assert carol.url.endswith("/user/alice/")
    assert may_use_alices_server(carol)

    alice.reload()
    alice.locator("#shares-table tbody tr[data-who='carol']").wait_for()
    assert alice.locator("#codes-table tbody tr td").nth(1).inner_text().startswith("once")
    # Revoking the link stops new people, not carol.
    alice.locator("#codes-table").get_by_role("button", name="Revoke").first.click()
    alice.wait_for_selector("#codes-empty:not([hidden])")
    assert may_use_alices_server(carol)
    gone = carol.goto(link)
    assert gone.status == 404
    assert "not valid" in carol.locator("#error-message").inner_text()
    alice.context.close()
    carol.context.close()


def test_people_without_the_shares_scope_see_why_they_cannot_share(hub, browser,
                                                                   alice_server):
    bob = new_page(browser, hub)
    log_in(bob, "bob")
    bob.goto("hub/home")
    assert bob.locator("tr[data-server='']").get_by_role("link", name="Share").count() == 0
    bob.goto("hub/share/bob")
    assert "needs the shares scope" in bob.locator("main").inner_text()
    assert bob.locator("#grant-form").count() == 0
    bob.context.close()
