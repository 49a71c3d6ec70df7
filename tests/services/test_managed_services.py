"""A managed service: started with JupyterHub's service environment, routed at
/services/NAME/, restarted when it crashes, stopped with the hub."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

import httpx

from kernel.testing.hub import free_port, running_hub
from plugins.support.process import process_alive
from tests.api.helpers import api_client, wait_until
from tests.services.conftest import SERVICE


def _env(hub) -> dict[str, str]:
    response = httpx.get(f"{hub.url}services/whoami/env", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_managed_service_gets_the_service_environment(hub):
    env = _env(hub)
    assert env["JUPYTERHUB_SERVICE_NAME"] == "whoami"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/services/whoami/"
    assert env["JUPYTERHUB_SERVICE_URL"] == hub.sections["service:whoami"]["url"]
    assert env["JUPYTERHUB_API_URL"] == f"{hub.hub_url}hub/api"
    assert env["JUPYTERHUB_CLIENT_ID"] == "service-whoami"
    assert env["JUPYTERHUB_BASE_URL"] == "/"
    assert env["JUPYTERHUB_USER"] == ""
    assert json.loads(env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"]) == [
        "access:services", "access:services!service=whoami"]
    assert env["JUPYTERHUB_OAUTH_CALLBACK_URL"] == "/services/whoami/oauth_callback"
    assert env["JPY_API_TOKEN"] == env["JUPYTERHUB_API_TOKEN"]
    assert "JUPYTERHUB_ACTIVITY_URL" not in env  # services report no activity
    with api_client(hub) as api:
        assert int(env["pid"]) == api.get("services/whoami").json()["pid"]


def test_the_environment_section_reaches_the_service(hub):
    response = httpx.get(f"{hub.url}services/whoami/env", timeout=10)
    assert os.environ.get("EXTRA_SETTING") is None
    # whoami_service.py shows only JUPYTERHUB_* variables; ask the process itself.
    pid = response.json()["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"EXTRA_SETTING=from hub.ini" in environ


def test_the_generated_token_is_the_service_s_own(hub):
    response = httpx.get(f"{hub.url}services/whoami/me", timeout=10)
    assert response.status_code == 200, response.text
    me = response.json()
    # read:services shows the service model, but not its roles (read:roles:services).
    assert (me["kind"], me["name"], me["admin"]) == ("service", "whoami", False)
    assert "roles" not in me and me["prefix"] == "/services/whoami/"
    assert {"list:users", "read:services", "read:services:name"} <= set(me["scopes"])
    assert "admin:users" not in me["scopes"]


def test_a_crashed_service_is_started_again(hub):
    with api_client(hub) as api:
        first = api.get("services/whoami").json()["pid"]
        with contextlib.suppress(httpx.HTTPError):  # it exits before answering
            httpx.get(f"{hub.url}services/whoami/crash", timeout=10)
        wait_until(lambda: api.get("services/whoami").json()["pid"] not in (0, first),
                   timeout=30)
        wait_until(lambda: httpx.get(f"{hub.url}services/whoami/env",
                                     timeout=10).status_code == 200, timeout=30)
    assert "Service whoami exited with status 3; starting it again in 1 s" in hub.log


def test_a_service_that_cannot_start_is_retried_with_growing_pauses(tmp_path):
    sections = {"service:broken": {"command": f"{sys.executable} -c 'raise SystemExit(7)'"}}
    with running_hub(tmp_path, sections) as hub:
        wait_until(lambda: "starting it again in 2 s" in hub.log, timeout=30)
        assert "Service broken exited with status 7; starting it again in 1 s" in hub.log
        assert httpx.get(f"{hub.url}hub/api/").status_code == 200  # the hub is unharmed


def test_managed_services_stop_with_the_hub(tmp_path, service_python):
    sections = {"service:whoami": {"command": f"{service_python} {SERVICE}",
                                   "url": f"http://127.0.0.1:{free_port()}"}}
    with running_hub(tmp_path, sections) as hub:
        wait_until(lambda: httpx.get(f"{hub.url}services/whoami/env",
                                     timeout=10).status_code == 200, timeout=30)
        pid = int(httpx.get(f"{hub.url}services/whoami/env", timeout=10).json()["pid"])
    assert not process_alive(pid, None)
    assert f"Stopping service whoami (pid {pid})" in hub.log


def test_a_managed_service_runs_as_its_user(tmp_path, service_python, unix_user):
    account = unix_user()
    # Where the account can read it (the checkout may be in a folder only root can enter).
    script = Path(account.pw_dir) / SERVICE.name
    shutil.copy(SERVICE, script)
    sections = {"service:as-user": {"command": f"{service_python} {script}",
                                    "url": f"http://127.0.0.1:{free_port()}",
                                    "user": account.pw_name, "cwd": account.pw_dir}}
    with running_hub(tmp_path, sections) as hub:
        wait_until(lambda: httpx.get(f"{hub.url}services/as-user/env",
                                     timeout=10).status_code == 200, timeout=30)
        env = httpx.get(f"{hub.url}services/as-user/env", timeout=10).json()
        status = Path(f"/proc/{env['pid']}/status").read_text()
    assert (env["USER"], env["HOME"], env["cwd"]) == (account.pw_name, account.pw_dir,
                                                      account.pw_dir)
    assert env["JUPYTERHUB_USER"] == account.pw_name
    assert f"Uid:\t{account.pw_uid}\t" in status


def test_no_cannot_reach_warning_while_a_managed_service_starts(tmp_path):
    port = free_port()
    sections = {"service:files": {
        "command": f"{sys.executable} -c 'import time, runpy, sys; time.sleep(1); "
                   f"sys.argv = [\"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]; "
                   "runpy.run_module(\"http.server\", run_name=\"__main__\")'",
        "url": f"http://127.0.0.1:{port}"}}
    with running_hub(tmp_path / "hub", sections) as hub:
        wait_until(lambda: "Managed service files answers at" in hub.log, timeout=20)
    assert "Cannot reach" not in hub.log
