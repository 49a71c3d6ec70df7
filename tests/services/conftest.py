"""A hub with real services: a managed one the hub runs, and external ones the tests run.

Both are ``whoami_service.py``, a tornado app using JupyterHub 6.1.1's own
``HubOAuthenticated``, run by the single-user venv's Python (which has
jupyterhub installed), as an operator's service would be.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.testing.hub import HubProcess, free_port, running_hub
from kernel.testing.infra import singleuser_venv_file
from tests.api.helpers import ADMIN_TOKEN, api_client, wait_until

SERVICE = Path(__file__).parent / "whoami_service.py"
EXTERNAL_TOKEN = "external-service-token-0123456789"
SECOND_TOKEN = "external-second-token-0123456789"
ADMIN_SERVICE_TOKEN = "admin-service-token-0123456789"


@pytest.fixture(scope="module")
def service_python() -> str:
    """A Python with JupyterHub 6.1.1 (for its service helpers) and tornado."""
    return str(singleuser_venv_file("python"))


@pytest.fixture(scope="module")
def external_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, service_python: str,
        external_port: int) -> Iterator[HubProcess]:
    sections = {
        "hub": {"service_check_interval": "1"},
        "hub.api_tokens": {ADMIN_TOKEN: "admin"},
        "hub.service_tokens": {SECOND_TOKEN: "external"},
        "auth": {"admin_users": "admin"},
        "service:whoami": {"command": f"{service_python} {SERVICE}",
                           "url": f"http://127.0.0.1:{free_port()}"},
        "service:whoami.environment": {"EXTRA_SETTING": "from hub.ini"},
        "service:whoami.info": {"owner": "the tests"},
        "service:external": {"url": f"http://127.0.0.1:{external_port}",
                             "api_token": EXTERNAL_TOKEN, "oauth_no_confirm": "true"},
        "service:admin-tool": {"api_token": ADMIN_SERVICE_TOKEN, "admin": "true",
                               "display": "false"},
        "role:service-users": {"scopes": "access:services", "users": "alice"},
        "role:reader": {"scopes": "list:users, read:services", "services": "whoami"},
    }
    with running_hub(tmp_path_factory.mktemp("hub"), sections) as hub:
        with api_client(hub) as api:
            wait_until(lambda: api.get("services/whoami").json()["health"]["status"] == "up",
                       timeout=30)
        yield hub


@pytest.fixture
def external_service(hub: HubProcess, service_python: str,
                     external_port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The external service, run as its operator would: with its token and the hub's URLs."""
    env = {**os.environ,
           "JUPYTERHUB_API_TOKEN": EXTERNAL_TOKEN,
           "JUPYTERHUB_API_URL": f"{hub.hub_url}hub/api",
           "JUPYTERHUB_BASE_URL": "/",
           "JUPYTERHUB_CLIENT_ID": "service-external",
           "JUPYTERHUB_SERVICE_NAME": "external",
           "JUPYTERHUB_SERVICE_PREFIX": "/services/external/",
           "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{external_port}"}
    process = subprocess.Popen([service_python, str(SERVICE)], env=env,
                               start_new_session=True)
    with api_client(hub) as api:
        wait_until(lambda: api.get("services/external").json()["health"]["status"] == "up",
                   timeout=30)
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(10)
