"""Sharing is a plugin: a hub without it serves everything else, and a database made
before sharing was a plugin (kernel schema version 5) upgrades with its shares working."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from kernel.testing.hub import HubClient, merge, running_hub
from tests.api.helpers import HUB_SECTIONS, api_client, new_group, new_token, new_user

V5_DUMP = Path(__file__).parent.parent / "data" / "schema-v5.sql"
WITHOUT_SHARING = merge(HUB_SECTIONS, {"hub": {"plugins": "no:sharing"}})


def test_a_hub_without_sharing_has_no_share_endpoints_and_serves_the_rest(tmp_path):
    with running_hub(tmp_path, WITHOUT_SHARING) as hub, api_client(hub) as api:
        owner, guest = new_user(api), new_user(api)
        group = new_group(api, guest)
        for path in (f"shares/{owner}", f"shares/{owner}/", f"share-codes/{owner}/",
                     f"users/{guest}/shared", f"groups/{group}/shared"):
            assert api.get(path).status_code == 404, path
        assert api.post(f"shares/{owner}/", json={"user": guest}).status_code == 404
        # Everything else works: tokens, servers, groups, scopes without the share scopes.
        token = new_token(api, guest)
        with api_client(hub, token) as client:
            model = client.get("user").json()
        assert model["name"] == guest and not any("shares" in s for s in model["scopes"])
        assert api.post(f"users/{owner}/server").status_code in (201, 202)
        assert api.get(f"users/{owner}").json()["servers"][""]["name"] == ""
        assert api.post("users", json={"usernames": ["x-" + owner]}).status_code == 201

        browser = HubClient(hub)
        browser.login(owner)
        home = browser.get("hub/home")
        assert home.status_code == 200
        assert "/share/" not in home.text and "Shared with you" not in home.text
        assert browser.get(f"hub/share/{owner}").status_code == 404
        assert browser.get("hub/accept-share", params={"code": "x"}).status_code == 404
    # A new database without the plugin has no share tables at all.
    with sqlite3.connect(tmp_path / "hub.sqlite") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "users" in tables and not {"shares", "share_codes"} & tables


def test_with_sharing_the_home_page_has_share_buttons_and_what_is_shared(tmp_path):
    with running_hub(tmp_path, HUB_SECTIONS) as hub, api_client(hub) as api:
        owner, guest = new_user(api), new_user(api)
        api.post(f"shares/{owner}/", json={"user": guest})
        browser = HubClient(hub)
        browser.login(guest)
        home = browser.get("hub/home").text
        assert "Shared with you" in home and f'data-owner="{owner}"' in home


def kernel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120)


def test_a_database_from_before_the_plugin_upgrades_and_its_shares_still_work(tmp_path):
    with sqlite3.connect(tmp_path / "hub.sqlite") as db:
        db.executescript(V5_DUMP.read_text())
    with running_hub(tmp_path, merge(HUB_SECTIONS, {"hub": {"upgrade_db": "true"}})) as hub, \
            api_client(hub) as api:
        # The shares made before the upgrade: bob has alice's default server, the
        # physics group (carol) her gpu server.
        shares = api.get("shares/alice").json()["items"]
        assert [(s["server"]["name"], s["kind"], (s["user"] or s["group"])["name"])
                for s in shares] == [("", "user", "bob"), ("gpu", "group", "physics")]
        with api_client(hub, new_token(api, "bob")) as bob:
            assert "access:servers!server=alice/" in bob.get("user").json()["scopes"]
        with api_client(hub, new_token(api, "carol")) as carol:
            assert "access:servers!server=alice/gpu" in carol.get("user").json()["scopes"]
        codes = api.get("share-codes/alice/gpu").json()["items"]
        assert [c["exchange_count"] for c in codes] == [0]
        # The old share code still works: dave accepts it and gets the server.
        api.post("users/dave")
        dave = HubClient(hub)
        dave.login("dave")
        xsrf = dave.xsrf("hub/accept-share?code=v5-share-code")
        accepted = dave.post("hub/accept-share", data={"code": "v5-share-code", "_xsrf": xsrf},
                             follow_redirects=False)
        assert accepted.status_code == 302
        with api_client(hub, new_token(api, "dave")) as client:
            assert "access:servers!server=alice/gpu" in client.get("user").json()["scopes"]
    listing = kernel("plugins", "-c", str(tmp_path / "hub.ini"), cwd=tmp_path)
    assert "stored data: schema version 1 (shares, share_codes)" in listing.stdout
    with sqlite3.connect(tmp_path / "hub.sqlite") as db:
        assert db.execute("SELECT plugin, version FROM kernelhub_plugin_schema").fetchall() == [
            ("sharing", 1)]
