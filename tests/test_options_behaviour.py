"""JupyterHub options that act on a real hub: extra_log_file, the API's page limits and
custom scopes, each with `kernel serve` running."""

from __future__ import annotations

import subprocess
import sys

import httpx

from kernel.testing.hub import running_hub, wait_until

TOKEN = "admin-token-1234567890"
PAGINATION = {"Accept": "application/jupyterhub-pagination+json"}


def api(hub, token: str = TOKEN) -> httpx.Client:
    return httpx.Client(base_url=f"{hub.url}hub/api/", timeout=30,
                        headers={"Authorization": f"token {token}"})


def test_extra_log_file_gets_the_hubs_log(tmp_path):
    log_file = tmp_path / "extra.log"
    with running_hub(tmp_path / "hub", {"hub": {"extra_log_file": str(log_file)}}) as hub:
        pass
    text = log_file.read_text()
    assert "extra_log_file is deprecated" in text
    assert "kernelhub" in text and "is running at" in text
    assert "\033[" not in text  # no terminal colours in a file
    # The hub's own lines, as on stderr (which has the proxy's and the servers' too).
    assert all(line in hub.log.splitlines() for line in text.splitlines())


def test_the_api_page_limits_apply(tmp_path):
    sections = {"hub": {"api_page_default_limit": "2", "api_page_max_limit": "3"},
                "hub.api_tokens": {TOKEN: "admin"}, "auth": {"admin_users": "admin"},
                "group:crowd": {"users": "u1, u2, u3, u4, u5"}}
    with running_hub(tmp_path / "hub", sections) as hub, api(hub) as client:
        page = client.get("users", headers=PAGINATION).json()
        assert page["_pagination"]["limit"] == 2 and len(page["items"]) == 2
        assert len(client.get("users").json()) == 3
        assert len(client.get("users", params={"limit": 100}).json()) == 3


def test_a_declared_custom_scope_is_granted_through_a_role(tmp_path):
    sections = {"custom_scope:custom:grader:read": {"description": "Read grades"},
                "custom_scope:custom:grader:write": {
                    "description": "Write grades", "subscopes": "custom:grader:read"},
                "role:graders": {"scopes": "custom:grader:write", "users": "alice"},
                "hub.api_tokens": {TOKEN: "alice"}}
    with running_hub(tmp_path / "hub", sections) as hub, api(hub) as client:
        # alice holds custom:grader:write, whose subscope custom:grader:read she may give.
        token = client.post("users/alice/tokens", json={"scopes": ["custom:grader:read"]})
        assert token.status_code == 201, token.text
        assert "custom:grader:read" in token.json()["scopes"]
        refused = client.post("users/alice/tokens", json={"scopes": ["custom:nope"]})
        assert refused.status_code == 400
        assert "Scope 'custom:nope' does not exist" in refused.json()["message"]


def test_a_role_with_an_undeclared_custom_scope_stops_the_hub(tmp_path):
    (tmp_path / "hub.ini").write_text(
        "[hub]\nauthenticator_class = dummy\nspawner_class = simple\n"
        "db_url = sqlite:///hub.sqlite\ncookie_secret_file = secret\n"
        "[role:graders]\nscopes = custom:grader:read\n")
    result = subprocess.run([sys.executable, "-m", "kernel", "serve", "-c", "hub.ini"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert ("[role:graders] scopes: Scope 'custom:grader:read' does not exist: declare it in "
            "a [custom_scope:custom:grader:read] section") in result.stderr


def test_a_custom_scope_declared_wrongly_is_a_config_error(tmp_path):
    (tmp_path / "hub.ini").write_text(
        "[hub]\nauthenticator_class = dummy\nspawner_class = simple\n"
        "db_url = sqlite:///hub.sqlite\ncookie_secret_file = secret\n"
        "[custom_scope:custom:a]\ndescription = x\nsubscopes = read:users\n")
    result = subprocess.run([sys.executable, "-m", "kernel", "serve", "-c", "hub.ini"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "[custom_scope:custom:a]: " in result.stderr
    assert "Invalid scope name: 'custom:a'" in result.stderr


def test_the_last_start_up_line_is_the_public_address(tmp_path):
    with running_hub(tmp_path / "hub") as hub:
        wait_until(lambda: "is running at" in hub.log)
    hubs_own = [line for line in hub.log.splitlines() if line.startswith("[")]
    last = hubs_own[hubs_own.index(next(line for line in hubs_own if "Received SIG" in line))
                    - 1]
    assert last.endswith(f"is running at {hub.url}")
    assert not any(f":{hub.hub_port}" in line for line in hubs_own[hubs_own.index(last):])
